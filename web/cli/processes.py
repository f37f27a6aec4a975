"""`tsunagu deploy` and `tsunagu processes`: process versions for the whole installation or one municipality."""
from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import click
from sqlalchemy.orm import Session

from tsunagu.engine.admin.municipalities import find_municipality
from tsunagu.engine.clock import local
from tsunagu.engine.config import Settings
from tsunagu.engine.db import transaction
from tsunagu.engine.errors import NotFound
from tsunagu.engine.models import MunicipalityRecord
from tsunagu.processes.deployment import CREATED, UNCHANGED, DeployResult
from tsunagu.processes.deployment import deploy as deploy_definition
from tsunagu.processes.loader import load_path
from tsunagu.processes.registry import ProcessOverview, process_overview

from .base import command_session, main, operator

TEMPLATE = "全国標準テンプレート"
SCOPES = {"template": "全国標準", "municipal": "自治体独自"}


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--municipality", "code", default=None, metavar="CODE",
              help="deploy for this municipality only (全国地方公共団体コード, e.g. 131016); "
                   "without it: the national template for every municipality")
@click.option("--note", default=None, help="why this version exists, shown in `tsunagu processes`")
def deploy(path: Path, code: str | None, note: str | None) -> None:
    """Check and deploy a process folder (or a folder of process folders, like bpmn/).

    Files identical to the live version change nothing; files identical to an older version make that
    version live again (a rollback); anything else becomes the next version. Running cases keep theirs.
    """
    definitions, problems = load_path(path)
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s) found: 何も登録していません", err=True)
        sys.exit(1)
    with command_session() as (session, clock):
        town = _municipality(session, code)
        with transaction(session):
            results = [deploy_definition(session, clock, definition, municipality_id=town.id if town else None,
                                         note=note, operator=operator(), via="cli")
                       for definition in definitions]
        for result in results:
            click.echo(_outcome(result, town))


@main.command()
@click.option("--municipality", "code", default=None, metavar="CODE",
              help="the versions this municipality sees and its cases on them; without it: the template's")
def processes(code: str | None) -> None:
    """List process versions: the live one of each process, who deployed it, and cases per version."""
    zone = Settings.from_env().time_zone
    with command_session() as (session, _clock):
        town = _municipality(session, code)
        overview = process_overview(session, town.id if town else None)
        if town:
            click.echo(f"{town.name} ({town.code}) が使うプロセス（ケース数はこの自治体のもの）")
        else:
            click.echo(f"{TEMPLATE}（ケース数は全自治体の合計）")
        if not overview:
            click.echo("まだプロセスは登録されていません: tsunagu deploy PATH")
        for item in overview:
            click.echo("")
            click.echo(_describe(item, zone))


def _municipality(session: Session, code: str | None) -> MunicipalityRecord | None:
    if code is None:
        return None
    try:
        return find_municipality(session, code)
    except NotFound as missing:
        shown = missing.element
        raise click.ClickException(f"not_found [{shown}]: 自治体コード {shown} は登録されていません"
                                   "（tsunagu municipality list で確かめてください）") from None


def _scope_name(town: MunicipalityRecord | None) -> str:
    return f"{town.name} ({town.code})" if town else TEMPLATE


def _outcome(result: DeployResult, town: MunicipalityRecord | None) -> str:
    version = result.version
    if result.outcome == UNCHANGED:
        return f"{version.process_id}: 変更はありません（版 {version.version_number} と同じ内容です）"
    if result.outcome == CREATED:
        return f"{version.process_id}: {_scope_name(town)} の版 {version.version_number} として登録しました"
    return (f"{version.process_id}: {_scope_name(town)} の版 {version.version_number} を再び有効にしました"
            "（新しいケースはこの版で始まります）")


def _describe(item: ProcessOverview, zone: str) -> str:
    live = item.live.version
    lines = [
        f"{item.process_id}  {live.name}",
        f"  有効な版: 版 {live.version_number}（{SCOPES[item.live.scope]}）"
        f"  登録: {item.deployed_by or 'コマンドライン'}  {_when(item.deployed_at, zone)}"
        + (f"  メモ: {_one_line(item.note)}" if item.note else ""),
    ]
    rows = [("", "版", "範囲", "登録日時", "進行中", "全件", "メモ")]
    rows += [("*" if usage.live else "", str(usage.version.version_number), SCOPES[usage.scope],
              _when(usage.version.deployed_at, zone), str(usage.open_cases), str(usage.all_cases),
              _one_line(usage.version.note or ""))
             for usage in item.versions]
    widths = [max(_width(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines += ["  " + "  ".join(_pad(cell, width) for cell, width in zip(row, widths, strict=True)).rstrip()
              for row in rows]
    return "\n".join(lines)


def _when(moment, zone: str) -> str:
    return local(moment, zone).strftime("%Y-%m-%d %H:%M")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _width(text: str) -> int:
    # Kanji and kana take two columns in a terminal.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
