"""`tsunagu municipality add|list`: a municipality set up from an empty database."""
from __future__ import annotations

from pathlib import Path

import click

from tsunagu.engine.admin.municipalities import list_municipalities
from tsunagu.engine.config import Settings
from tsunagu.processes.catalogue import DEFAULT_CATALOGUE
from tsunagu.processes.municipality import set_up_municipality

from .base import command_session, main, operator


@main.group()
def municipality() -> None:
    """Municipalities (地方公共団体) using this installation."""


@municipality.command("add")
@click.option("--code", required=True, help="6-digit 全国地方公共団体コード with its check digit, e.g. 131016")
@click.option("--name", required=True, help="the municipality's name, e.g. 千代田区")
@click.option("--catalogue", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="member bodies and support-action catalogue (JSON); default: the shipped one")
def add(code: str, name: str, catalogue: Path | None) -> None:
    """Set up a municipality: member bodies, action catalogue, secrecy pledge, the national template."""
    settings = Settings.from_env()
    with command_session() as (session, clock):
        done = set_up_municipality(session, clock, code=code, name=name, process_dir=Path(settings.process_dir),
                                   catalogue=catalogue or DEFAULT_CATALOGUE, operator=operator())
        click.echo(f"{done.municipality.name}（{done.municipality.code}）を登録しました。")
        click.echo(f"  構成機関等: {len(done.bodies)} 件 ({'、'.join(b.name for b in done.bodies)})")
        click.echo(f"  支援メニュー: {done.action_types} 件")
        click.echo(f"  守秘義務の誓約文: 第 {done.pledge.version} 版")
        for result in done.processes:
            click.echo(f"  全国標準プロセス: {result.version.process_id} 版 {result.version.version_number}")
        click.echo(f"次に管理者を登録してください: tsunagu user add USERNAME --municipality {done.municipality.code} "
                   "--role admin")


@municipality.command("list")
def list_() -> None:
    """Every municipality with its code."""
    with command_session() as (session, _clock):
        towns = list_municipalities(session)
        for town in towns:
            click.echo(f"{town.code}  {town.name}" + ("  (デモ)" if town.is_demo else ""))
        if not towns:
            click.echo("まだ自治体は登録されていません: tsunagu municipality add --code CODE --name NAME")
