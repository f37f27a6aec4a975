"""`tsunagu organisation ...` and `tsunagu council ...`: a municipality's bodies and its regional councils.

Bodies are named by their exact name within the municipality; councils by the id `council list` shows.
"""
from __future__ import annotations

import click

from tsunagu.engine.admin import councils, organisations
from tsunagu.engine.admin.municipalities import find_municipality

from .base import command_session, main, operator

KIND_LABELS = {"member_body": "構成機関等", "department": "庁内部署"}

municipality_option = click.option("--municipality", "code", required=True, metavar="CODE",
                                   help="the municipality's 6-digit code, e.g. 131016")


def body_line(body) -> str:
    """One body as a list line: id, kind, state, name and the coordinating-body mark."""
    state = "有効" if body.active else "廃止"
    mark = "  ★調整機関" if body.is_coordinating_body else ""
    return f"{body.id:>5}  {KIND_LABELS.get(body.kind.value, body.kind.value)}  {state}  {body.name}{mark}"


@main.group()
def organisation() -> None:
    """Departments and member bodies (構成機関等) of a municipality."""


@organisation.command("list")
@municipality_option
def organisation_list(code: str) -> None:
    """Every body of the municipality: id, kind, active or retired, name (★ the coordinating body)."""
    with command_session() as (session, _clock):
        town = find_municipality(session, code)
        bodies = organisations.list_organisations(session, None, town.id)
        for body in bodies:
            click.echo(body_line(body))
        if not bodies:
            click.echo(f"{town.name}の機関はまだありません: tsunagu organisation add NAME --municipality {town.code}")


@organisation.command("add")
@click.argument("name")
@municipality_option
@click.option("--kind", default="member_body", show_default=True, metavar="KIND",
              help="member_body (構成機関等) or department (庁内部署)")
def organisation_add(name: str, code: str, kind: str) -> None:
    """Add a body named NAME to the municipality."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        body = organisations.add_organisation(session, clock, None, town.id, name=name, kind=kind,
                                              operator=operator())
        click.echo(f"追加しました: {body_line(body)}")


@organisation.command("rename")
@click.argument("name")
@click.argument("new_name")
@municipality_option
def organisation_rename(name: str, new_name: str, code: str) -> None:
    """Rename the body NAME to NEW_NAME; its history follows it."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        body = organisations.organisation_named(session, town.id, name)
        body = organisations.update_organisation(session, clock, None, town.id, body.id, name=new_name,
                                                 operator=operator())
        click.echo(f"名称を変更しました: {body_line(body)}")


@organisation.command("set-kind")
@click.argument("name")
@click.argument("kind", metavar="KIND")
@municipality_option
def organisation_set_kind(name: str, kind: str, code: str) -> None:
    """Make the body NAME a member_body (構成機関等) or a department (庁内部署)."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        body = organisations.organisation_named(session, town.id, name)
        body = organisations.update_organisation(session, clock, None, town.id, body.id, kind=kind,
                                                 operator=operator())
        click.echo(f"種別を変更しました: {body_line(body)}")


@organisation.command("retire")
@click.argument("name")
@municipality_option
def organisation_retire(name: str, code: str) -> None:
    """Stop offering the body NAME for new work (refused while a council or an action type relies on it)."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        body = organisations.organisation_named(session, town.id, name)
        body = organisations.retire_organisation(session, clock, None, town.id, body.id, operator=operator())
        click.echo(f"廃止しました（記録は残ります）: {body_line(body)}")


@organisation.command("reactivate")
@click.argument("name")
@municipality_option
def organisation_reactivate(name: str, code: str) -> None:
    """Offer the retired body NAME for new work again."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        body = organisations.organisation_named(session, town.id, name)
        body = organisations.reactivate_organisation(session, clock, None, town.id, body.id, operator=operator())
        click.echo(f"再び有効にしました: {body_line(body)}")


@main.group()
def council() -> None:
    """Regional councils (協議会), single or joint (共同設置), their members and coordinating body."""


@council.command("list")
@municipality_option
def council_list(code: str) -> None:
    """The councils the municipality belongs to, with their founders, coordinating body and members."""
    with command_session() as (session, _clock):
        town = find_municipality(session, code)
        found = councils.councils_of(session, None, town.id)
        for record, towns in found:
            view = councils.council_view(session, None, town.id, record.id)
            click.echo(f"{record.id:>5}  {record.name}（{record.established_on.isoformat()} 設置、"
                       + "・".join(f"{t.name}({t.code})" for t in towns) + "）")
            coordinating = record.coordinating_body
            day = record.coordinating_designated_on
            click.echo("       調整機関: " + (f"{coordinating.name}" + (f"（{day.isoformat()} 指定）" if day else "")
                                          if coordinating else "指定なし"))
            click.echo("       構成機関等: " + ("、".join(m.name for m in view.members) or "なし"))
        if not found:
            click.echo(f"{town.name}の協議会はまだありません: tsunagu council add NAME --municipality {town.code} "
                       "--established YYYY-MM-DD")


@council.command("add")
@click.argument("name")
@municipality_option
@click.option("--established", required=True, metavar="YYYY-MM-DD", help="the date the council was set up")
@click.option("--joint-with", "joint_with", multiple=True, metavar="CODE",
              help="another municipality that set it up jointly (共同設置); repeat for each")
def council_add(name: str, code: str, established: str, joint_with: tuple[str, ...]) -> None:
    """Register a council named NAME, set up by the municipality alone or jointly with others."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        record = councils.create_council(session, clock, None, town.id, name=name, established_on=established,
                                         joint_with=list(joint_with), operator=operator())
        click.echo(f"協議会を登録しました: {record.id}  {record.name}（{record.established_on.isoformat()} 設置）")
        click.echo(f"次に構成機関等を加えてください: tsunagu council add-member {record.id} --body NAME "
                   f"--municipality {town.code}")


def _council_body(session, town_id: int, council_id: str, name: str):
    councils.council_view(session, None, town_id, council_id)  # an unknown council is named before the body
    return councils.organisation_in_council(session, int(council_id), name)


@council.command("add-member")
@click.argument("council_id")
@click.option("--body", "body_name", required=True, metavar="NAME", help="the body's exact name")
@municipality_option
def council_add_member(council_id: str, body_name: str, code: str) -> None:
    """Make the body NAME (of any of the council's municipalities) a member of council COUNCIL_ID."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        body = _council_body(session, town.id, council_id, body_name)
        councils.add_council_member(session, clock, None, town.id, council_id, body.id, operator=operator())
        click.echo(f"構成機関等に加えました: {body.name}")


@council.command("remove-member")
@click.argument("council_id")
@click.option("--body", "body_name", required=True, metavar="NAME", help="the body's exact name")
@municipality_option
def council_remove_member(council_id: str, body_name: str, code: str) -> None:
    """Take the body NAME off council COUNCIL_ID (not its coordinating body)."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        body = _council_body(session, town.id, council_id, body_name)
        councils.remove_council_member(session, clock, None, town.id, council_id, body.id, operator=operator())
        click.echo(f"構成機関等から外しました: {body.name}")


@council.command("designate")
@click.argument("council_id")
@click.option("--body", "body_name", required=True, metavar="NAME", help="a member body's exact name")
@click.option("--on", "designated_on", required=True, metavar="YYYY-MM-DD", help="the date of the designation")
@municipality_option
def council_designate(council_id: str, body_name: str, designated_on: str, code: str) -> None:
    """Designate the member NAME as the one coordinating body (調整機関) of council COUNCIL_ID (Art. 17)."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        body = _council_body(session, town.id, council_id, body_name)
        record = councils.designate_coordinating_body(session, clock, None, town.id, council_id, body.id,
                                                      designated_on, operator=operator())
        click.echo(f"調整機関に指定しました: {body.name}（{record.coordinating_designated_on.isoformat()} 指定）")
