"""`tsunagu team ...`: a municipality's teams, whose supervisors read the cases their caseworkers work.

Teams are named by their exact name within the municipality; people by their user name.
"""
from __future__ import annotations

import click

from tsunagu.engine.admin import teams
from tsunagu.engine.admin.municipalities import find_municipality
from tsunagu.engine.admin.staff_directory import user_by_username

from .base import command_session, main, operator
from .organisations import municipality_option


def _team_lines(session, team) -> list[str]:
    state = "有効" if team.active else "廃止"
    lines = [f"{team.id:>5}  {state}  {team.name}"]
    for member in teams.members(session, team):
        mark = "スーパーバイザー" if member.supervises else "担当職員"
        lines.append(f"         {mark}  {member.user.username}（{member.user.display_name}）")
    return lines


@main.group()
def team() -> None:
    """Teams: a supervisor marked in a team reads the cases its caseworkers work (basis 'supervision')."""


@team.command("list")
@municipality_option
def team_list(code: str) -> None:
    """Every team of the municipality with its supervisors and caseworkers."""
    with command_session() as (session, _clock):
        town = find_municipality(session, code)
        found = teams.list_teams(session, None, town.id)
        for one in found:
            click.echo("\n".join(_team_lines(session, one)))
        if not found:
            click.echo(f"{town.name}のチームはまだありません: tsunagu team add NAME --municipality {town.code}")


@team.command("add")
@click.argument("name")
@municipality_option
def team_add(name: str, code: str) -> None:
    """Add a team named NAME."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        added = teams.add_team(session, clock, None, town.id, name=name, operator=operator())
        click.echo("追加しました: " + _team_lines(session, added)[0].strip())


@team.command("rename")
@click.argument("name")
@click.argument("new_name")
@municipality_option
def team_rename(name: str, new_name: str, code: str) -> None:
    """Rename the team NAME to NEW_NAME."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        found = teams.team_named(session, town.id, name)
        renamed = teams.rename_team(session, clock, None, town.id, found.id, name=new_name, operator=operator())
        click.echo("名称を変更しました: " + _team_lines(session, renamed)[0].strip())


@team.command("retire")
@click.argument("name")
@municipality_option
def team_retire(name: str, code: str) -> None:
    """Retire the team NAME: its supervisors no longer read its cases on the supervision basis."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        found = teams.team_named(session, town.id, name)
        teams.retire_team(session, clock, None, town.id, found.id, operator=operator())
        click.echo(f"廃止しました: {found.name}")


@team.command("member")
@click.argument("name")
@click.argument("username")
@municipality_option
@click.option("--supervisor", "supervises", is_flag=True,
              help="the user supervises the team (needs the supervisor role)")
def team_member(name: str, username: str, code: str, supervises: bool) -> None:
    """Put USERNAME on the team NAME as a caseworker, or with --supervisor as its supervisor."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        found = teams.team_named(session, town.id, name)
        user = user_by_username(session, username)
        changed = teams.set_member(session, clock, None, town.id, found.id, user.id, supervises=supervises,
                                   operator=operator())
        click.echo("\n".join(_team_lines(session, changed)))


@team.command("remove")
@click.argument("name")
@click.argument("username")
@municipality_option
def team_remove(name: str, username: str, code: str) -> None:
    """Take USERNAME off the team NAME."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        found = teams.team_named(session, town.id, name)
        user = user_by_username(session, username)
        changed = teams.remove_member(session, clock, None, town.id, found.id, user.id, operator=operator())
        click.echo("\n".join(_team_lines(session, changed)))
