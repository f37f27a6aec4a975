"""`tsunagu catalogue ...`: the municipality's support-action catalogue (支援メニュー), types named by code."""
from __future__ import annotations

import click

from tsunagu.engine.admin import catalogue as engine_catalogue
from tsunagu.engine.admin.municipalities import find_municipality
from tsunagu.engine.admin.organisations import organisation_named
from tsunagu.engine.casefile.tables import OrganisationRecord

from .base import command_session, main, operator
from .organisations import municipality_option


def type_line(session, kind) -> str:
    """One action type as a list line: code, state, service days, default owner body and name."""
    owner = session.get(OrganisationRecord, kind.default_owner_body_id) if kind.default_owner_body_id else None
    state = "有効" if kind.active else "廃止"
    return f"{kind.code:<20}  {state}  {kind.service_days:>3}日  {owner.name if owner else '（担当機関なし）'}  {kind.name}"


@main.group()
def catalogue() -> None:
    """Support actions a council or caseworker can ask a member body to carry out."""


@catalogue.command("list")
@municipality_option
def catalogue_list(code: str) -> None:
    """Every action type: code, active or retired, service days, default owner body, name."""
    with command_session() as (session, _clock):
        town = find_municipality(session, code)
        rows = engine_catalogue.list_action_types(session, None, town.id)
        for kind, _owner in rows:
            click.echo(type_line(session, kind))
        if not rows:
            click.echo(f"支援メニューはまだありません: tsunagu catalogue add CODE NAME --owner BODY --days N "
                       f"--municipality {town.code}")


@catalogue.command("add")
@click.argument("type_code", metavar="CODE")
@click.argument("name")
@click.option("--owner", required=True, metavar="BODY", help="the default owner body's exact name")
@click.option("--days", required=True, metavar="N", help="service days until the action is due (1-365)")
@municipality_option
def catalogue_add(type_code: str, name: str, owner: str, days: str, code: str) -> None:
    """Add an action type CODE (a-z, 0-9, _) named NAME, carried out by BODY within N days."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        body = organisation_named(session, town.id, owner)
        kind = engine_catalogue.add_action_type(session, clock, None, town.id, code=type_code, name=name,
                                                owner_body_id=body.id, service_days=days, operator=operator())
        click.echo(f"追加しました: {type_line(session, kind)}")


def _change(code: str, type_code: str, done: str, **change) -> None:
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        kind = engine_catalogue.action_type_with_code(session, town.id, type_code)
        if "owner" in change:
            change = {"owner_body_id": organisation_named(session, town.id, change.pop("owner")).id}
        kind = engine_catalogue.update_action_type(session, clock, None, town.id, kind.id, operator=operator(),
                                                   **change)
        click.echo(f"{done}: {type_line(session, kind)}")


@catalogue.command("rename")
@click.argument("type_code", metavar="CODE")
@click.argument("new_name")
@municipality_option
def catalogue_rename(type_code: str, new_name: str, code: str) -> None:
    """Rename the action type CODE; actions that use it show the new name."""
    _change(code, type_code, "名称を変更しました", name=new_name)


@catalogue.command("set-owner")
@click.argument("type_code", metavar="CODE")
@click.option("--owner", required=True, metavar="BODY", help="the new default owner body's exact name")
@municipality_option
def catalogue_set_owner(type_code: str, owner: str, code: str) -> None:
    """Change the body new actions of type CODE are asked of by default."""
    _change(code, type_code, "担当機関を変更しました", owner=owner)


@catalogue.command("set-days")
@click.argument("type_code", metavar="CODE")
@click.argument("days", metavar="N")
@municipality_option
def catalogue_set_days(type_code: str, days: str, code: str) -> None:
    """Change the service days (1-365) new actions of type CODE are due within."""
    _change(code, type_code, "期間を変更しました", service_days=days)


@catalogue.command("retire")
@click.argument("type_code", metavar="CODE")
@municipality_option
def catalogue_retire(type_code: str, code: str) -> None:
    """Stop offering the action type CODE for new actions; existing actions keep it."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        kind = engine_catalogue.action_type_with_code(session, town.id, type_code)
        kind = engine_catalogue.retire_action_type(session, clock, None, town.id, kind.id, operator=operator())
        click.echo(f"廃止しました（既存の支援はそのままです）: {type_line(session, kind)}")


@catalogue.command("reactivate")
@click.argument("type_code", metavar="CODE")
@municipality_option
def catalogue_reactivate(type_code: str, code: str) -> None:
    """Offer the retired action type CODE again (its owner body must be active)."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        kind = engine_catalogue.action_type_with_code(session, town.id, type_code)
        kind = engine_catalogue.reactivate_action_type(session, clock, None, town.id, kind.id, operator=operator())
        click.echo(f"再び有効にしました: {type_line(session, kind)}")
