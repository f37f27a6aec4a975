"""`tsunagu user add|import|edit|deactivate|reactivate|reset|list`: staff accounts from the command line.

The same engine commands as the administrators' pages, run as the operator (actor None); each is
audited with `via: cli` and the operating-system account.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from tsunagu.engine.admin.municipalities import find_municipality
from tsunagu.engine.admin.staff import (
    KEEP,
    create_staff_user,
    deactivate_user,
    reactivate_user,
    reset_credentials,
    update_staff_user,
)
from tsunagu.engine.admin.staff_directory import (
    list_staff,
    organisation_names,
    user_by_username,
)
from tsunagu.engine.admin.staff_import import decode_csv, import_staff_csv
from tsunagu.engine.errors import FormInvalid
from tsunagu.engine.models import UserRecord
from tsunagu.engine.roles import Role

from .base import command_session, describe, main, operator

ROLE_NAMES = {Role.CASEWORKER.value: "相談支援員", Role.SUPERVISOR.value: "スーパーバイザー",
              Role.COORDINATOR.value: "調整機関職員", Role.COUNCIL_MEMBER.value: "協議会構成員",
              Role.PARTNER.value: "構成機関等職員", Role.DESIGNER.value: "プロセス設計者",
              Role.ADMIN.value: "システム管理者", Role.REFERRER.value: "つながりサポーター"}
ROLE_HELP = "役割コード（繰り返し指定可）: " + ", ".join(f"{code}={name}" for code, name in ROLE_NAMES.items())
def roles_text(codes) -> str:
    return "、".join(ROLE_NAMES.get(code, code) for code in sorted(codes)) or "—"


@main.group()
def user() -> None:
    """Staff accounts (職員アカウント): add, import, edit, deactivate, reactivate, reset, list."""


@user.command("add")
@click.argument("username")
@click.option("--municipality", "code", required=True, metavar="CODE", help="municipality code, e.g. 131016")
@click.option("--role", "roles", multiple=True, metavar="ROLE", help=ROLE_HELP)
@click.option("--organisation", default=None, metavar="NAME", help="body or department, by its exact name")
@click.option("--team", default=None, help="係 (team), e.g. 地域福祉係")
@click.option("--display-name", default=None, help="name shown to others (default: the user name)")
@click.option("--email", default=None, metavar="ADDR", help="e-mail address for notifications")
@click.option("--password-stdin", is_flag=True, help="read a password (12+ characters) from standard input "
              "instead of giving a one-time password")
def add(username: str, code: str, roles: tuple[str, ...], organisation: str | None, team: str | None,
        display_name: str | None, email: str | None, password_stdin: bool) -> None:
    """Create a staff account; prints a one-time password to change at first sign-in."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        created, initial = create_staff_user(
            session, clock, None, municipality_id=town.id, username=username, roles=list(roles),
            display_name=display_name, email=email, team=team, password=password, operator=operator(),
            organisation_name=organisation)
        click.echo(f"{created.display_name}（{created.username}）を{town.name}に登録しました。"
                   f"役割: {roles_text(created.role_codes)}")
        if initial:
            click.echo(f"初回パスワード（この一度だけ表示します）: {initial}")
            click.echo("初回ログイン時にパスワードの変更が必要です。本人に安全な方法で渡してください。")


@user.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--municipality", "code", required=True, metavar="CODE", help="municipality code, e.g. 131016")
def import_(file: Path, code: str) -> None:
    """Create the staff of a CSV file (username,display_name,email,roles,organisation,team); all rows or none."""
    try:
        data = file.read_bytes()
    except OSError as error:
        raise click.ClickException(f"{file}: {error.strerror or error}") from error
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        try:
            created = import_staff_csv(session, clock, None, town.id, decode_csv(data), operator=operator())
        except FormInvalid as error:
            raise click.ClickException(f"取り込みませんでした（1人も登録していません）。{len(error.errors)} 件の誤り:\n"
                                       + describe(error)) from error
        click.echo(f"{len(created)} 人を{town.name}に登録しました。初回パスワード（この一度だけ表示します）:")
        for person, initial in created:
            click.echo(f"  {person.username}\t{initial}")
        click.echo("初回ログイン時にパスワードの変更が必要です。本人に安全な方法で渡してください。")


@user.command("edit")
@click.argument("username")
@click.option("--role", "roles", multiple=True, metavar="ROLE", help=ROLE_HELP + "; replaces every role")
@click.option("--organisation", default=None, metavar="NAME", help="body or department by name; '' for none")
@click.option("--team", default=None, help="係 (team); '' for none")
@click.option("--display-name", default=None, help="name shown to others")
@click.option("--email", default=None, metavar="ADDR", help="e-mail address; '' for none")
def edit(username: str, roles: tuple[str, ...], organisation: str | None, team: str | None,
         display_name: str | None, email: str | None) -> None:
    """Change a user's roles, organisation, team, name or e-mail; options not given stay as they are."""
    with command_session() as (session, clock):
        found = user_by_username(session, username)
        changed = update_staff_user(
            session, clock, None, found.id, roles=list(roles) if roles else KEEP,
            organisation_name=KEEP if organisation is None else organisation,
            team=KEEP if team is None else team, display_name=KEEP if display_name is None else display_name,
            email=KEEP if email is None else email, operator=operator())
        click.echo(f"{changed.username} を更新しました。")
        _describe(changed, organisation_names(session, changed.municipality_id))


@user.command("deactivate")
@click.argument("username")
def deactivate(username: str) -> None:
    """Close an account: it can no longer sign in and its sessions end now; its history stays."""
    with command_session() as (session, clock):
        done = deactivate_user(session, clock, None, user_by_username(session, username).id, operator=operator())
        click.echo(f"{done.username} を無効にしました。ログイン中のセッションも終了しました。")


@user.command("reactivate")
@click.argument("username")
def reactivate(username: str) -> None:
    """Open a deactivated account again, with its roles as they were."""
    with command_session() as (session, clock):
        done = reactivate_user(session, clock, None, user_by_username(session, username).id, operator=operator())
        click.echo(f"{done.username} を再び有効にしました。")


@user.command("reset")
@click.argument("username")
def reset(username: str) -> None:
    """Give a new one-time password and clear the second factor and recovery codes (lost phone, forgotten password)."""
    with command_session() as (session, clock):
        found = user_by_username(session, username)
        initial = reset_credentials(session, clock, None, found.id, operator=operator())
        click.echo(f"{found.username} のパスワードと2段階認証をリセットしました。"
                   "ログイン中のセッションも終了しました。")
        click.echo(f"初回パスワード（この一度だけ表示します）: {initial}")
        click.echo("次のログイン時にパスワードの変更と2段階認証の再設定が必要です。本人に安全な方法で渡してください。")


@user.command("list")
@click.option("--municipality", "code", required=True, metavar="CODE", help="municipality code, e.g. 131016")
def list_(code: str) -> None:
    """Every staff account of a municipality, active first."""
    with command_session() as (session, _clock):
        town = find_municipality(session, code)
        people = list_staff(session, town.id)
        if not people:
            click.echo(f"{town.name}にはまだ職員が登録されていません: tsunagu user add USERNAME --municipality {code} "
                       "--role admin")
            return
        bodies = organisation_names(session, town.id)
        click.echo("\t".join(COLUMNS))
        for person in people:
            _describe(person, bodies, row=True)


COLUMNS = ("ユーザー名", "氏名", "役割", "所属", "係", "状態", "2段階認証", "パスワード")


def _describe(person: UserRecord, bodies: dict[int, str], row: bool = False) -> None:
    cells = (person.username, person.display_name, roles_text(person.role_codes),
             bodies.get(person.organisation_id, "—") if person.organisation_id else "—",
             person.team or "—", "有効" if person.active else "無効", "オン" if person.totp_enabled else "オフ",
             "要変更" if person.must_change_password else "設定済み")
    if row:
        click.echo("\t".join(cells))
        return
    for label, value in zip(COLUMNS, cells, strict=True):
        click.echo(f"  {label}: {value}")
