"""The `tsunagu` command group and what its subcommands share: one session per command, clear errors.

Commands run as the operator who holds the database (the command line has no signed-in user); the
engine records them in the audit log as `via: cli` with the operating-system account that ran them.
"""
from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from tsunagu.engine.clock import Clock, system_clock
from tsunagu.engine.config import Settings
from tsunagu.engine.db import make_engine, make_session_factory, schema_problem
from tsunagu.engine.errors import DefinitionInvalid, FieldError, FormInvalid, TsunaguError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Tsunagu: case management for loneliness and isolation support."""


@contextmanager
def command_session() -> Iterator[tuple[Session, Clock]]:
    """A database session and the clock for one command; engine errors become a clean exit 1."""
    settings = Settings.from_env()
    problem = schema_problem(settings.database_url)
    if problem is not None:
        raise click.ClickException(f"{SCHEMA_WORDING[problem]}: {safe_url(settings.database_url)}\n"
                                   "先に tsunagu init-db を実行してください (TSUNAGU_DATABASE_URL を確かめてください)")
    engine = make_engine(settings.database_url, settings.sqlite_busy_ms)
    session = make_session_factory(engine)()
    try:
        yield session, system_clock
    except TsunaguError as error:
        session.rollback()
        raise click.ClickException(describe(error)) from error
    finally:
        session.close()
        engine.dispose()


def operator() -> str:
    """The operating-system account running the command, recorded in the audit log."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers): still record the command
        return "unknown"


SCHEMA_WORDING = {
    "missing": "データベースに接続できないか、存在しません",
    "not_initialised": "データベースにTsunaguの表がまだありません",
    "outdated": "データベースの版が古いままです",
}
# What each stable code means in the operator's words; the code itself is always printed too.
WORDING = {
    "required": "入力してください", "maxLength": "長すぎます", "pattern": "改行や制御文字など、使えない文字があります",
    "enum": "使えない値です（--help を参照）", "type": "形式が違います", "range": "範囲外の値です",
    "duplicate": "重複しています", "not_found": "見つかりません", "forbidden": "権限がありません",
    "municipality_code_format": "全国地方公共団体コードは検査数字を含む6桁の数字です",
    "prefecture_code_unknown": "都道府県コード（先頭2桁）は01から47です",
    "check_digit_wrong": "検査数字（6桁目）が一致しません。コードを確かめてください",
    "municipality_exists": "この団体コードは登録済みです",
    "seed_refused": "本物のケースがある自治体には見本のケースを追加しません（見本専用の自治体を使ってください）",
    "unknown_municipality": "その団体コードの自治体は登録されていません",
    "unreadable": "ファイルを読めません（UTF-8のJSONが必要です）",
    "unknown_member_body": "構成機関等のkeyに見つかりません",
    "name_taken": "同じ名前が既にあります", "code_taken": "同じコードが既にあります",
    "in_use": "使われているため変更できません", "already_member": "既に構成機関等です",
    "owner_retired": "担当機関が廃止されています",
    "username_invalid": "ユーザー名は3〜80文字の半角英数字と . _ @ - で指定してください",
    "username_taken": "このユーザー名は既に使われています", "email_invalid": "メールアドレスの形式ではありません",
    "organisation_unknown": "この自治体にその名前の機関・部署はありません",
    "organisation_inactive": "廃止された機関・部署は選べません",
    "password_too_short": "パスワードは12文字以上にしてください",
    "password_is_username": "ユーザー名と同じパスワードは使えません",
    "password_unchanged": "今のパスワードと同じです",
    "cannot_demote_self": "自分自身の管理者権限は外せません", "last_admin": "最後の有効なシステム管理者は外せません",
    "duplicate_in_file": "ファイルの中で同じユーザー名が重複しています",
    "unknown_column": "知らない列です（列: username,display_name,email,roles,organisation,team）",
    "missing_column": "必要な列がありません", "duplicate_column": "同じ列が2回あります",
    "too_many_fields": "列の数が見出しより多い行です", "too_many_rows": "一度に取り込める人数を超えています",
    "file_empty": "取り込む行がありません", "csv_invalid": "CSVとして読めません",
    "encoding_not_utf8": "UTF-8で保存してください（Excelでは「CSV UTF-8（コンマ区切り）」）",
    "file_too_large": "ファイルが大きすぎます",
    "not_supervisor": "スーパーバイザーの役割がありません", "not_caseworker": "担当職員（ケースワーカー）の役割がありません",
    "retired": "廃止されています", "minimum": "小さすぎます", "maximum": "大きすぎます",
}


def describe(error: TsunaguError) -> str:
    """One readable line per problem, each with its stable code and the field or element it concerns."""
    if isinstance(error, FormInvalid):
        return "\n".join(_field_line(e) for e in error.errors)
    if isinstance(error, DefinitionInvalid):
        return "\n".join(str(p) for p in error.problems) + f"\n{len(error.problems)} problem(s) found"
    where = f" [{error.element}]" if error.element else ""
    wording = f"（{WORDING[error.code]}）" if error.code in WORDING else ""
    return f"{error.code}{where}{wording}: {error.message}"


def _field_line(error: FieldError) -> str:
    hint = WORDING.get(error.code, "")
    if error.code == "duplicate_in_file" and error.params.get("line"):
        hint += f"（最初は {error.params['line']} 行目）"
    params = {k: v for k, v in error.params.items() if k != "line"} if error.code == "duplicate_in_file" else error.params
    return f"{error.field}: {error.code}" + (f" — {hint}" if hint else "") + (f" {params}" if params else "")


def safe_url(url: str) -> str:
    """A database URL fit to print: never show its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
