"""`tsunagu process ...`: what a designer does in /designer, from the command line: upload a package as a
draft, deploy or discard the draft, roll back to an earlier version, read the history, download a version."""
from __future__ import annotations

from pathlib import Path

import click

from tsunagu.engine.errors import DefinitionInvalid
from tsunagu.engine.models import MunicipalityRecord
from tsunagu.processes import drafts, loader

from .base import command_session, main, operator
from .processes import _municipality, _outcome

MUNICIPALITY = click.option("--municipality", "code", required=True, metavar="CODE",
                            help="the municipality (全国地方公共団体コード, e.g. 131016)")


@main.group()
def process() -> None:
    """A municipality's process drafts, versions and rollback (the designer's page /designer)."""


def _town(session, code: str) -> MunicipalityRecord:
    town = _municipality(session, code)
    assert town is not None  # noqa: S101 (the option is required)
    return town


@process.command("draft")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@MUNICIPALITY
def draft(path: Path, code: str) -> None:
    """Check PATH (a process folder or a .zip) and keep it as the municipality's draft of its process."""
    files = _read(path)
    with command_session() as (session, clock):
        town = _town(session, code)
        try:
            saved = drafts.save_draft(session, clock, None, town.id, files, preferred_id=path.stem if path.is_dir()
                                      else None, via="cli", operator=operator())
        except DefinitionInvalid as invalid:
            for problem in invalid.problems:
                click.echo(str(problem), err=True)
            raise click.ClickException(f"{len(invalid.problems)} problem(s) found: 何も登録していません") from None
        click.echo(f"{saved.process_id}: {town.name} の下書きとして保存しました（{len(saved.files)} ファイル、"
                   f"注意 {len(saved.warnings)} 件）")
        for warning in saved.warnings:
            click.echo(f"  注意: {warning.get('element') or warning.get('file')}: {warning.get('code')}: "
                       f"{warning.get('message')}")


def _read(path: Path) -> dict[str, str]:
    read_package = getattr(loader, "read_package_path", None)
    if read_package is not None:
        return read_package(path)
    if path.is_dir():
        return loader.read_folder(path)
    raise click.ClickException(f"{path}: フォルダを指定してください")


@process.command("deploy-draft")
@click.argument("key")
@MUNICIPALITY
@click.option("--note", default=None, help="why this version exists (shown in the history)")
def deploy_draft(key: str, code: str, note: str | None) -> None:
    """Make the draft of process KEY the municipality's live version."""
    with command_session() as (session, clock):
        town = _town(session, code)
        result = drafts.deploy_draft(session, clock, None, town.id, key, note, via="cli", operator=operator())
        click.echo(_outcome(result, town))


@process.command("discard-draft")
@click.argument("key")
@MUNICIPALITY
def discard_draft(key: str, code: str) -> None:
    """Throw away the draft of process KEY."""
    with command_session() as (session, clock):
        town = _town(session, code)
        drafts.discard_draft(session, clock, None, town.id, key, via="cli", operator=operator())
        click.echo(f"{key}: 下書きを破棄しました")


@process.command("rollback")
@click.argument("key")
@click.argument("number", type=int)
@MUNICIPALITY
@click.option("--template", is_flag=True, help="NUMBER is a version of the national template")
@click.option("--note", default=None, help="why (shown in the history)")
def rollback(key: str, number: int, code: str, template: bool, note: str | None) -> None:
    """Make version NUMBER of process KEY live again for the municipality."""
    with command_session() as (session, clock):
        town = _town(session, code)
        result = drafts.roll_back(session, clock, None, town.id, key, number, note, template=template, via="cli",
                                  operator=operator())
        click.echo(_outcome(result, town))


@process.command("history")
@click.argument("key")
@MUNICIPALITY
def history(key: str, code: str) -> None:
    """Every deployment and rollback of process KEY in the municipality, newest first."""
    with command_session() as (session, _clock):
        town = _town(session, code)
        entries = drafts.history(session, town.id, key)
        if not entries:
            click.echo(f"{key}: {town.name} ではまだ登録していません")
        for entry in entries:
            what = "再び有効化" if entry.action == "process.reactivated" else "登録"
            click.echo(f"{entry.at:%Y-%m-%d %H:%M}  版 {entry.version_number} {what}  {entry.actor or '—'}"
                       f"  {entry.note or ''}".rstrip())


@process.command("download")
@click.argument("key")
@click.argument("number", type=int)
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@MUNICIPALITY
@click.option("--template", is_flag=True, help="NUMBER is a version of the national template")
def download(key: str, number: int, out: Path, code: str, template: bool) -> None:
    """Write version NUMBER of process KEY as a zip to OUT."""
    with command_session() as (session, _clock):
        town = _town(session, code)
        version = drafts.version_of(session, town.id, key, number, template=template)
        out.write_bytes(drafts.package_zip(version.files))
        click.echo(f"{out}: {len(version.files)} ファイル")
