"""`tsunagu settings ...` (a municipality's security settings) and `tsunagu pledge ...` (its secrecy pledge)."""
from __future__ import annotations

from pathlib import Path

import click

from tsunagu.engine.admin import settings as engine_settings
from tsunagu.engine.admin.municipalities import find_municipality
from tsunagu.engine.admin.pledge import publish_pledge_text
from tsunagu.engine.casefile.governance import current_pledge
from tsunagu.engine.config import Settings

from .base import command_session, main, operator
from .organisations import municipality_option


def _show(town) -> None:
    installation = Settings.from_env().session_minutes
    click.echo(f"{town.name}（{town.code}）のセキュリティ設定")
    click.echo("  全職員の2段階認証: " + ("必須" if town.require_second_factor else "任意（管理者は常に必須）"))
    click.echo("  無操作時のサインアウト: " + (f"{town.idle_minutes} 分" if town.idle_minutes is not None
                                       else f"既定値（{installation} 分、TSUNAGU_SESSION_MINUTES）"))
    click.echo(f"  終結後、同意・協議会・主担当機関による閲覧が終わるまで: {town.closure_grace_days} 日")
    click.echo(f"  協議会の構成員が会議資料を閲覧できる期間: 会議後 {town.council_window_days} 日")


@main.group("settings")
def settings_group() -> None:
    """Security settings of a municipality: second factor for all staff, idle timeout, access periods."""


@settings_group.command("show")
@municipality_option
def settings_show(code: str) -> None:
    """Show the municipality's security settings."""
    with command_session() as (session, _clock):
        town = find_municipality(session, code)
        _show(engine_settings.security_settings(session, None, town.id))


@settings_group.command("set")
@municipality_option
@click.option("--require-second-factor/--no-require-second-factor", default=None,
              help="require a second factor (TOTP) of every staff member, not only administrators")
@click.option("--idle-minutes", default=None, metavar="N|default",
              help="sign out after N idle minutes (5-480); 'default' uses TSUNAGU_SESSION_MINUTES")
@click.option("--closure-grace-days", default=None, metavar="N",
              help="days after closure that consent-, council- and lead-body-based access ends (1-3650)")
@click.option("--council-window-days", default=None, metavar="N",
              help="days after a meeting that council members read its papers (1-3650)")
def settings_set(code: str, require_second_factor: bool | None, idle_minutes: str | None,
                 closure_grace_days: str | None, council_window_days: str | None) -> None:
    """Change one or more settings; the ones not given stay as they are."""
    if require_second_factor is None and idle_minutes is None and closure_grace_days is None \
            and council_window_days is None:
        raise click.ClickException("give --require-second-factor/--no-require-second-factor, --idle-minutes, "
                                   "--closure-grace-days and/or --council-window-days")
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        current = engine_settings.security_settings(session, None, town.id)
        if idle_minutes is None:
            minutes = current.idle_minutes
        else:
            minutes = None if idle_minutes.strip().lower() == "default" else idle_minutes
        town = engine_settings.set_security_settings(
            session, clock, None, town.id, operator=operator(), idle_minutes=minutes,
            closure_grace_days=closure_grace_days, council_window_days=council_window_days,
            require_second_factor=current.require_second_factor if require_second_factor is None
            else require_second_factor)
        _show(town)


@main.group()
def pledge() -> None:
    """The secrecy pledge (Act Article 18) every user of a municipality accepts before their first case."""


@pledge.command("show")
@municipality_option
def pledge_show(code: str) -> None:
    """Print the current version of the municipality's pledge."""
    with command_session() as (session, _clock):
        town = find_municipality(session, code)
        text = current_pledge(session, town.id)
        if text is None:
            click.echo(f"{town.name}の誓約文はまだありません: tsunagu pledge publish --municipality {town.code} FILE")
            return
        click.echo(f"第 {text.version} 版（{text.created_at.date().isoformat()} 公開）")
        click.echo(text.text)


@pledge.command("publish")
@municipality_option
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def pledge_publish(code: str, file: Path) -> None:
    """Publish FILE (UTF-8 text) as the next version; every user accepts it again at their next page."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise click.ClickException(f"{file}: cannot read it as UTF-8 text ({error.__class__.__name__})") from error
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        published = publish_pledge_text(session, clock, None, town.id, text, operator=operator())
        click.echo(f"第 {published.version} 版を公開しました。全員が次の画面で改めて誓約します。")
