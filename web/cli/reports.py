"""`tsunagu report`: the tables of /reports on the command line, and the same Excel file with `--xlsx`."""
from __future__ import annotations

import unicodedata
from contextlib import nullcontext
from pathlib import Path

import click
from babel.support import Translations

from tsunagu.engine.admin.staff_directory import user_by_username
from tsunagu.engine.commands.reports import Period, current_period, report
from tsunagu.engine.config import Settings
from tsunagu.engine.db import make_engine, make_session_factory

from ..reports import Cell, Section, period_title, report_labels, sections, workbook
from .base import command_session, main, operator

TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _shown(kind: str, value: Cell) -> str:
    if value is None:
        return "—"
    if kind == "percent" and isinstance(value, float):
        return f"{value:.1f}%"
    return str(value)


def render(section: Section) -> list[str]:
    """A section as aligned text: labels left, numbers right, East Asian wide characters counted double."""
    table = [section.header] + [[_shown(k, v) for k, v in zip(section.kinds, row, strict=True)]
                                for row in section.rows]
    widths = [max(_width(str(row[i])) for row in table) for i in range(len(section.header))]
    lines = [f"■ {section.title}"]
    for row in table:
        cells = [str(row[0]) + " " * (widths[0] - _width(str(row[0])))]
        cells += [" " * (widths[i] - _width(str(v))) + str(v) for i, v in enumerate(row) if i]
        lines.append("  ".join(cells).rstrip())
    if section.note:
        lines.append(f"  ※ {section.note}")
    return lines


@main.command("report")
@click.option("--year", type=click.IntRange(2000, 2200), default=None, metavar="YYYY",
              help="the fiscal year (年度, April to March); default: the current one")
@click.option("--month", type=click.IntRange(1, 12), default=None, metavar="M",
              help="one calendar month of that fiscal year (1-3 fall in the next calendar year)")
@click.option("--municipality", "code", default=None, metavar="CODE",
              help="the municipality's code (default: the staff member's own)")
@click.option("--by", "username", required=True, metavar="USERNAME",
              help="the supervisor, administrator or coordinating body's staff member on whose behalf it is read")
@click.option("--xlsx", "out", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              metavar="OUT", help="also write the Excel file to OUT")
@click.option("--publish", is_flag=True, help="in the Excel file, show counts of 1 and 2 as x (for publication)")
@click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True, help="language of the tables")
def report_command(year: int | None, month: int | None, code: str | None, username: str, out: Path | None,
                   publish: bool, lang: str) -> None:
    """Print a municipality's report for a fiscal year or one month (audited in USERNAME's name)."""
    labels = report_labels(Translations.load(str(TRANSLATIONS), [lang]).gettext)
    replica = Settings.from_env().reports_database_url
    with command_session() as (session, clock), \
            (make_session_factory(make_engine(replica))() if replica else nullcontext()) as reading:
        period = Period(year if year is not None else current_period(clock).fiscal_year, month)
        found = report(session, clock, user_by_username(session, username), period, code,
                       export="xlsx" if out is not None else None, publish=publish, operator=operator(),
                       reading=reading)
        click.echo(f"{found.town.name}（{found.town.code}） {period_title(found.period, labels)}")
        for section in sections(found, labels):
            click.echo("")
            click.echo("\n".join(render(section)))
        if out is not None:
            out.write_bytes(workbook(found, labels, publish))
            click.echo(f"\n{out} に書き出しました" if lang == "ja" else f"\nwrote {out}")
