"""`tsunagu backup PATH` and `tsunagu restore PATH`: the whole database to one file and back.

SQLite is copied with its online backup API, PostgreSQL with its own pg_dump and pg_restore
(`engine/ops/backup.py`). Both run as the operator (no signed-in user) and are audited `via: cli` with
the operating-system account, in every municipality's log, since a backup holds all of them. A restore
replaces everything, so it asks first unless `--yes` is given. See docs/operations.md.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click

from tsunagu.engine.clock import local, system_clock
from tsunagu.engine.config import Settings
from tsunagu.engine.errors import TsunaguError
from tsunagu.engine.ops.backup import POSTGRESQL, SQLITE, BackupInfo, inspect_backup, restore_backup, take_backup

from .base import describe, main, operator, safe_url

# Each refusal's code in the operator's words (the code itself is printed too).
HINTS = {
    "backup_missing": "そのパスにファイルがありません",
    "backup_unrecognised": "SQLiteのデータベースでも pg_dump --format=custom のダンプでもありません",
    "backup_wrong_kind": "バックアップと今のデータベースの種類（SQLite / PostgreSQL）が違います",
    "backup_damaged": "ファイルが壊れているか、途中までしか書かれていません",
    "backup_not_tsunagu": "Tsunaguのデータベースのバックアップではありません",
    "backup_too_new": "このTsunaguより新しい版で作られたバックアップです。作った版のTsunaguで復元してください",
    "backup_changed": "確認の後にファイルが変わりました",
    "backup_exists": "同じ名前のファイルがあります。バックアップは上書きしません",
    "backup_folder_missing": "保存先のフォルダがありません",
    "backup_folder_unwritable": "保存先のフォルダに書き込めません（実行しているアカウントの権限を確かめてください）",
    "backup_is_database": "復元するファイルがデータベースそのものです",
    "backup_schema_mismatch": "ダンプとデータベースのスキーマ名が違います",
    "database_missing": "データベースがありません（PostgreSQLは先に createdb で作ってください）",
    "database_not_tsunagu": "データベースにTsunaguの表がまだありません（tsunagu init-db）",
    "database_newer": "データベースの方が新しい版です。空のデータベースに復元してください",
    "database_unsupported": "SQLiteのファイルかPostgreSQLだけに対応しています",
    "pg_tool_missing": "PostgreSQLのクライアント（pg_dump / pg_restore）が見つかりません",
    "pg_tool_failed": "PostgreSQLのツールが失敗しました",
}
KINDS = {POSTGRESQL: "PostgreSQL（pg_dump カスタム形式）", SQLITE: "SQLite"}


@contextmanager
def _refusals(what: str) -> Iterator[None]:
    try:
        yield
    except TsunaguError as error:
        hint = f"（{HINTS[error.code]}）" if error.code in HINTS else ""
        raise click.ClickException(f"{what}\n{describe(error)}{hint}") from error


@main.command("backup")
@click.argument("path", type=click.Path(path_type=Path), metavar="PATH")
def backup(path: Path) -> None:
    """Copy the whole database to PATH: a new file, or a folder to name one in (tsunagu-YYYYMMDD-HHMMSS).

    Safe while Tsunagu runs: SQLite's online backup API or pg_dump read one consistent snapshot.
    The file holds every municipality's case records: encrypt it and keep a copy off site.
    """
    settings = Settings.from_env()
    with _refusals("バックアップを作りませんでした。"):
        info = take_backup(settings.database_url, path, system_clock, operator=operator())
    click.echo(f"バックアップを作りました: {info.path}")
    click.echo(f"  種類 {KINDS[info.kind]}、スキーマ版 {info.revision}、{info.size:,} バイト")
    click.echo(f"  SHA-256 {info.sha256}")
    click.echo("  要配慮個人情報を含みます。暗号化して保管し、別の場所にも写してください。")


@main.command("restore")
@click.argument("path", type=click.Path(path_type=Path), metavar="PATH")
@click.option("--yes", is_flag=True, help="do not ask before replacing the whole database")
def restore(path: Path, yes: bool) -> None:
    """Replace the whole database with the backup at PATH, after checking it is a sound Tsunagu backup.

    Stop the web app and the scheduler first. Everything written since the backup is lost; timers that
    fell due meanwhile fire once on the scheduler's next pass. An older backup is upgraded afterwards.
    """
    settings = Settings.from_env()
    url = settings.database_url
    with _refusals("復元しませんでした。何も変えていません。"):
        info = inspect_backup(url, path)
    _describe(info, settings.time_zone)
    if not yes:
        click.confirm(f"{safe_url(url)} の内容をすべて、このバックアップの時点に置き換えます。"
                      "その後に書かれた記録は失われます。続けますか", default=False, abort=True)
    with _refusals("復元できませんでした。"):
        restored = restore_backup(url, info, system_clock, operator=operator())
    click.echo(f"復元しました: {safe_url(url)}")
    if restored.upgraded_from is not None:
        click.echo(f"  スキーマを版 {restored.upgraded_from} から最新に更新しました（tsunagu init-db と同じ）。")
    click.echo("  Webとスケジューラーを起動してください。バックアップの後に期限が来たタイマーは、"
               "次の巡回で一度だけ動きます。")


def _describe(info: BackupInfo, zone: str) -> None:
    click.echo(f"バックアップ: {info.path}")
    click.echo(f"  種類 {KINDS[info.kind]}、スキーマ版 {info.revision}、{info.size:,} バイト、"
               f"作成 {_moment(info.taken_at, zone)}")
    click.echo(f"  SHA-256 {info.sha256}")
    if info.outdated:
        click.echo("  このTsunaguより古い版のバックアップです。復元の後、スキーマを最新に更新します。")


def _moment(moment: datetime | None, zone: str) -> str:
    shown = local(moment, zone)
    return shown.strftime("%Y-%m-%d %H:%M:%S") if shown is not None else "不明（tsunagu backup 以外で作成）"
