"""`tsunagu token create|list|revoke`: API tokens for machine clients from the command line.

The same engine commands as the administrators' pages, run as the operator (actor None); each is
audited with `via: cli` and the operating-system account. A token's secret is printed once, at creation.
"""
from __future__ import annotations

from datetime import datetime

import click

from tsunagu.engine.access.tokens import (
    EXPIRES_MAX_DAYS,
    ApiTokenRecord,
    create_token,
    revoke_token,
    token_of_municipality,
    tokens_of_municipality,
)
from tsunagu.engine.admin.municipalities import find_municipality, list_municipalities
from tsunagu.engine.admin.staff_directory import user_by_username
from tsunagu.engine.clock import local
from tsunagu.engine.config import Settings
from tsunagu.engine.errors import FormInvalid

from .base import command_session, describe, main, operator
from .users import ROLE_HELP, roles_text

# The field problems only tokens have, in the operator's words (the shared ones are in base.WORDING).
HINTS = {"role_not_held": "利用者が持っていない役割はトークンに付けられません",
         "user_inactive": "無効にされたアカウントにはトークンを作れません"}
COLUMNS = ("ID", "先頭", "名前", "ユーザー名", "役割", "作成", "有効期限", "最終使用", "失効")


@main.group()
def token() -> None:
    """API tokens (APIトークン) for machine clients: create, list, revoke."""


@token.command("create")
@click.argument("username")
@click.option("--name", default=None, help="what the token is for, e.g. 相談窓口システム (default: USERNAME and today)")
@click.option("--expires", "days", type=click.IntRange(1, EXPIRES_MAX_DAYS), default=None, metavar="DAYS",
              help="days until the token stops working (default: never)")
@click.option("--role", "roles", multiple=True, metavar="ROLE",
              help=ROLE_HELP + "; the token carries only these of the user's roles (default: all of them)")
def create(username: str, name: str | None, days: int | None, roles: tuple[str, ...]) -> None:
    """Create an API token acting as USERNAME; its secret is printed this once."""
    with command_session() as (session, clock):
        person = user_by_username(session, username)
        zone = Settings.from_env().time_zone
        if name is None:
            name = f"{person.username} {_day(clock(), zone)}"
        try:
            record, secret = create_token(session, clock, None, person, name, expires_days=days, roles=roles,
                                          operator=operator())
        except FormInvalid as error:
            lines = [describe(FormInvalid([e])) + (f" — {HINTS[e.code]}" if e.code in HINTS else "")
                     for e in error.errors]
            raise click.ClickException("トークンを作りませんでした。\n" + "\n".join(lines)) from error
        click.echo(f"{person.username} のAPIトークン「{record.name}」（ID {record.id}）を作りました。"
                   f"役割: {roles_text(record.role_scope) if record.role_scope else 'ユーザーのすべての役割'}"
                   f"、有効期限: {_day(record.expires_at, zone)}")
        click.echo("トークン（この一度だけ表示します。再表示はできません）:")
        click.echo(secret)
        click.echo("接続するシステムの設定に安全に保存してください。漏れたときは tsunagu token revoke "
                   f"{record.id} で失効させてください。")


@token.command("list")
@click.option("--municipality", "code", default=None, metavar="CODE",
              help="municipality code, e.g. 131016 (default: every municipality)")
def list_(code: str | None) -> None:
    """Every API token, newest first: never its secret, only the start of it for recognising it."""
    zone = Settings.from_env().time_zone
    with command_session() as (session, clock):
        towns = [find_municipality(session, code)] if code is not None else list_municipalities(session)
        rows = [t for town in towns for t in tokens_of_municipality(session, None, town.id)]
        if not rows:
            click.echo("APIトークンはまだありません: tsunagu token create USERNAME --name NAME")
            return
        click.echo("\t".join(COLUMNS))
        now = clock()
        for row in rows:
            click.echo("\t".join(_cells(row, now, zone)))


def _cells(row: ApiTokenRecord, now: datetime, zone: str) -> tuple[str, ...]:
    roles = roles_text(row.role_scope) if row.role_scope else "すべて"
    if row.revoked_at is not None:
        state = _moment(row.revoked_at, zone)
    else:
        state = "期限切れ" if row.expired(now) else "—"
    return (str(row.id), row.prefix + "…", row.name, row.user.username, roles, _moment(row.created_at, zone),
            _day(row.expires_at, zone), _moment(row.last_used_at, zone), state)


@token.command("revoke")
@click.argument("token_id", type=click.IntRange(1, None), metavar="ID")
def revoke(token_id: int) -> None:
    """Revoke the API token with this ID (see `tsunagu token list`): no request signs in with it again."""
    with command_session() as (session, clock):
        already = token_of_municipality(session, None, token_id).revoked_at is not None
        record = revoke_token(session, clock, None, token_id, operator=operator())
        click.echo(f"APIトークン「{record.name}」（{record.prefix}…）は既に失効しています。" if already
                   else f"APIトークン「{record.name}」（{record.prefix}…）を失効させました。")


def _day(moment: datetime | None, zone: str) -> str:
    shown = local(moment, zone)
    return shown.strftime("%Y-%m-%d") if shown is not None else "なし"


def _moment(moment: datetime | None, zone: str) -> str:
    shown = local(moment, zone)
    return shown.strftime("%Y-%m-%d %H:%M") if shown is not None else "—"
