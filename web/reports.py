"""Reports (/reports): a municipality's counts per month of a fiscal year (年度) or of one month, each table
beside its chart, and the same tables as an Excel file (/reports.xlsx) and on the command line.

`sections(report, labels)` turns the engine's report into titled tables once; the page, the workbook and
`tsunagu report` all print those, so the three never disagree. Labels are built by `report_labels(_)`
from a gettext function: Flask-Babel's for a page, the compiled catalogue's for the command line.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, g, render_template, request
from flask_babel import gettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from sqlalchemy.orm import Session

from tsunagu.engine.commands.report_measures import InstrumentMeasure
from tsunagu.engine.commands.reports import (
    FIRST_FISCAL_YEAR,
    NOT_RECORDED,
    Period,
    PeriodInvalid,
    Report,
    Table,
    current_period,
    readable_towns,
    report,
)
from tsunagu.engine.db import make_engine, make_session_factory

from . import report_charts
from .context import clock, login_required, settings
from .extensions import db

bp = Blueprint("reports", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUPPRESSED = "x"  # e-Stat's mark for a cell kept secret
SMALL = (1, 2)  # counts that could point at a person in a published table
YEARS_SHOWN = 6  # fiscal years offered in the period selector, up to the current one
Cell = str | int | float | None


@dataclass
class Section:
    """One titled table of the report: the first column labels the rows; `kinds` says what each column
    holds ("label", "count" or "percent": a percentage of the count just before it)."""

    key: str
    title: str
    header: list[str]
    kinds: list[str]
    rows: list[list[Cell]]
    note: str = ""
    total_row: bool = False  # the last row is a total
    chart: report_charts.BarChart | None = None
    published: bool = False

    def suppressed(self) -> Section:
        """The table for publication: counts of 1 and 2, and their percentages, become `SUPPRESSED`."""
        rows = []
        for row in self.rows:
            cells: list[Cell] = []
            for i, (kind, value) in enumerate(zip(self.kinds, row, strict=True)):
                small = kind == "count" and value in SMALL
                hides_count = kind == "percent" and row[i - 1] in SMALL
                cells.append(SUPPRESSED if small or hides_count else value)
            rows.append(cells)
        return Section(self.key, self.title, self.header, self.kinds, rows, self.note, self.total_row, None, True)


def report_labels(_: Callable[[str], str]) -> dict:
    """Every label of the report in the language of `_`."""
    months = [_("Jan"), _("Feb"), _("Mar"), _("Apr"), _("May"), _("Jun"), _("Jul"), _("Aug"), _("Sep"), _("Oct"),
              _("Nov"), _("Dec")]
    return {
        "months": months,
        "fiscal_year": _("FY{year} (Reiwa {reiwa})"),
        "month_title": _("{month} {year}"),
        "channel": {"counter": _("Counter"), "phone": _("Telephone"), "sns": _("Social media or chat"),
                    "outreach": _("Outreach"), "minsei": _("Referred by a welfare volunteer"),
                    "supporter": _("Referred by a Tsunagari supporter"), "other": _("Other channel"),
                    NOT_RECORDED: _("Not recorded")},
        "closure": {"goal_reached": _("Goal reached"), "moved_away": _("Moved away"),
                    "declined": _("The person does not want support"), "died": _("Died"),
                    "transferred": _("Moved to another scheme"), NOT_RECORDED: _("Not recorded")},
        "status": {"proposed": _("Requested"), "accepted": _("Accepted"), "declined": _("Declined"),
                   "in_contact": _("First contact made"), "delivered": _("Delivered"),
                   "not_delivered": _("Not delivered")},
        "council": {"meetings": _("Meetings with cases of the municipality"), "tabled": _("Cases tabled")},
        "reviews": {"held": _("Reviews held"), "overdue": _("Reviews overdue")},
        "instrument": {"direct_loneliness_jp": _("Loneliness, direct question"),
                       "ucla3_jp": _("UCLA Loneliness Scale, 3 items (total 3-12)"),
                       "isolation_indicators": _("Isolation indicators (0-4)")},
        "direct_answers": [_("1 Never"), _("2 Hardly ever"), _("3 Occasionally"), _("4 Sometimes"),
                           _("5 Often or always")],
        "points": _("{low} points"), "points_range": _("{low}-{high} points"), "indicators": _("{n} of 4 indicators"),
        "titles": {"consultations": _("New consultations by channel"), "council": _("Council deliberation"),
                   "reviews": _("Follow-up reviews"), "closures": _("Closures by reason"),
                   "actions": _("Support actions by type and status"), "change": _("Change from intake to review")},
        "notes": {
            "consultations": _("By the consultation day recorded at intake."),
            "council": _("By meeting day: meetings at which a case of the municipality was on the agenda, and each "
                         "tabling of a case."),
            "reviews": _("Held: cases with a review completed in the month (a review's assessment and record count "
                         "once). Overdue: reviews due in the month completed late or still open after their due "
                         "date."),
            "closures": _("Cases closed in the period, by the reason recorded at closure."),
            "actions": _("Support actions added in the period, by their status today."),
            "measures": _("Only cases whose person consented to statistics. The person's own answers are grouped "
                          "as in the Cabinet Office's national survey on loneliness and isolation; answers given by "
                          "a supporter are counted separately and not compared. Intake: the first assessment, "
                          "recorded in the period. Review: the latest review in the period."),
            "change": _("Cases with their own answers at intake and at a review in the period: a lower score "
                        "is better on every instrument."),
            "published": _("Counts of 1 and 2 are shown as x, as e-Stat marks cells kept secret."),
        },
        "total": _("Total"), "count": _("Count"), "share": _("%"), "row": _("Item"),
        "intake": _("At intake"), "review": _("At review"), "own_total": _("Own answers"), "proxy": _("Answered by a supporter"),
        "other_scale": _("Outside the bands"), "improved": _("Improved"), "same": _("Unchanged"),
        "worse": _("Worse"), "persons": _("Cases compared"), "type": _("Action type"), "reason": _("Closure reason"),
        "channel_head": _("Channel"), "month": _("Month"),
    }


def period_title(period: Period, labels: dict) -> str:
    year = labels["fiscal_year"].format(year=period.fiscal_year, reiwa=period.fiscal_year - 2018)
    if period.month is None:
        return year
    first = period.months[0]
    return labels["month_title"].format(month=labels["months"][first.month - 1], year=first.year)


def _month_names(table: Table, labels: dict) -> list[str]:
    return [labels["months"][int(column[5:]) - 1] for column in table.columns]


def _monthly(key: str, table: Table, labels: dict, names: dict[str, str], head: str) -> Section:
    months = _month_names(table, labels)
    single = len(months) == 1
    header = [head, *months] + ([] if single else [labels["total"]])
    rows: list[list[Cell]] = [[names.get(r.code, r.code), *r.counts] + ([] if single else [r.total])
                              for r in table.rows]
    totals = table.column_totals()
    total_row = key in ("consultations", "closures")
    if total_row:
        rows.append([labels["total"], *totals] + ([] if single else [table.total]))
    series = [(names.get(r.code, r.code), r.counts) for r in table.rows]
    title = labels["titles"][key]
    if single or key == "closures":
        chart = report_charts.bars(title, [s[0] for s in series], [(labels["count"], [r.total for r in table.rows])])
    else:
        chart = report_charts.columns(title, months, [s for s in series if any(s[1])] or series[:1],
                                      stacked=key == "consultations")
    return Section(key, title, header, ["label"] + ["count"] * (len(header) - 1), rows, labels["notes"][key],
                   total_row, chart)


def _actions(table: Table, labels: dict) -> Section:
    statuses = [labels["status"][c] for c in table.columns]
    header = [labels["type"], *statuses, labels["total"]]
    rows: list[list[Cell]] = [[r.code, *r.counts, r.total] for r in table.rows]
    if rows:
        rows.append([labels["total"], *table.column_totals(), table.total])
    chart = report_charts.bars(labels["titles"]["actions"], [r.code for r in table.rows],
                               [(statuses[i], [r.counts[i] for r in table.rows]) for i in range(len(statuses))],
                               stacked=True) if table.rows else None
    return Section("actions", labels["titles"]["actions"], header, ["label"] + ["count"] * (len(header) - 1), rows,
                   labels["notes"]["actions"], True, chart)


def _percent(count: int, total: int) -> float | None:
    return round(count * 100 / total, 1) if total else None


def _band_name(measure: InstrumentMeasure, index: int, labels: dict) -> str:
    band = measure.bands[index]
    if measure.instrument == "direct_loneliness_jp" and band.low == band.high and 1 <= band.low <= 5:
        return str(labels["direct_answers"][band.low - 1])
    if measure.instrument == "isolation_indicators" and band.low == band.high:
        return str(labels["indicators"].format(n=band.low))
    if band.low == band.high:
        return str(labels["points"].format(low=band.low))
    return str(labels["points_range"].format(low=band.low, high=band.high))


def _measure(measure: InstrumentMeasure, labels: dict) -> Section:
    title = labels["instrument"].get(measure.instrument, measure.instrument)
    header = [labels["row"], labels["intake"], labels["share"], labels["review"], labels["share"]]
    names = [_band_name(measure, i, labels) for i in range(len(measure.bands))]
    rows: list[list[Cell]] = [[names[i], b.intake, _percent(b.intake, measure.intake_total), b.review,
                               _percent(b.review, measure.review_total)] for i, b in enumerate(measure.bands)]
    rows.append([labels["own_total"], measure.intake_total, 100.0 if measure.intake_total else None,
                 measure.review_total, 100.0 if measure.review_total else None])
    rows.append([labels["proxy"], measure.intake_proxy, None, measure.review_proxy, None])
    if measure.out_of_bands:
        rows.append([labels["other_scale"], measure.out_of_bands, None, None, None])
    chart = report_charts.bars(title, names, [(labels["intake"], [b.intake for b in measure.bands]),
                                              (labels["review"], [b.review for b in measure.bands])])
    return Section(f"measure-{measure.instrument}", title, header, ["label", "count", "percent", "count", "percent"],
                   rows, labels["notes"]["measures"], False, chart)


def _change(measures: list[InstrumentMeasure], labels: dict) -> Section:
    header = [labels["row"], labels["improved"], labels["same"], labels["worse"], labels["persons"]]
    rows: list[list[Cell]] = [[labels["instrument"].get(m.instrument, m.instrument), m.improved, m.same, m.worse,
                               m.changed_total] for m in measures]
    chart = report_charts.bars(labels["titles"]["change"], [str(r[0]) for r in rows],
                               [(labels[k], [getattr(m, k) for m in measures]) for k in ("improved", "same", "worse")],
                               stacked=True)
    return Section("change", labels["titles"]["change"], header, ["label"] + ["count"] * 4, rows,
                   labels["notes"]["change"], False, chart)


def sections(found: Report, labels: dict) -> list[Section]:
    """The report's tables, titled and labelled, in the order they are shown and exported; a table of
    zeros has no chart."""
    made = [
        _monthly("consultations", found.consultations, labels, labels["channel"], labels["channel_head"]),
        _monthly("council", found.council, labels, labels["council"], labels["row"]),
        _monthly("reviews", found.reviews, labels, labels["reviews"], labels["row"]),
        _monthly("closures", found.closures, labels, labels["closure"], labels["reason"]),
        _actions(found.actions, labels),
        *(_measure(m, labels) for m in found.measures),
        _change(found.measures, labels),
    ]
    for section in made:
        if not any(isinstance(v, int) and v for row in section.rows for v in row[1:]):
            section.chart = None
    return made


def workbook(found: Report, labels: dict, publish: bool) -> bytes:
    """The report as an .xlsx file: one sheet, each table under its title, a note row under each."""
    book = Workbook(write_only=True)
    title = f"{found.town.name[:12]} {period_title(found.period, labels)}"
    sheet = book.create_sheet("".join(" " if c in "[]:*?/\\" else c for c in title)[:31])
    sheet.column_dimensions["A"].width = 34
    for letter in "BCDEFGHIJKLMN":
        sheet.column_dimensions[letter].width = 10
    bold, wrap = Font(bold=True), Alignment(wrap_text=False)
    heading = WriteOnlyCell(sheet, value=f"{found.town.name}（{found.town.code}） {period_title(found.period, labels)}")
    heading.font = Font(bold=True, size=14)
    sheet.append([heading])
    if publish:
        sheet.append([labels["notes"]["published"]])
    for section in sections(found, labels):
        shown = section.suppressed() if publish else section
        sheet.append([])
        caption = WriteOnlyCell(sheet, value=shown.title)
        caption.font = Font(bold=True, size=12)
        sheet.append([caption])
        header = []
        for text in shown.header:
            cell = WriteOnlyCell(sheet, value=text)
            cell.font, cell.alignment = bold, wrap
            header.append(cell)
        sheet.append(header)
        for row in shown.rows:
            sheet.append(row)
        sheet.append([shown.note])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _number(value: str | None) -> int | None:
    if value and value.isascii() and value.isdigit() and len(value) <= 4:
        return int(value)
    return None


def chosen_period(args) -> tuple[Period, bool]:
    """The period the query string asks for, or the current fiscal year; True when a value was unusable."""
    default = current_period(clock())
    year_text, month_text = args.get("year", ""), args.get("month", "")
    year, month = _number(year_text), _number(month_text)
    odd = bool(year_text and year is None) or bool(month_text and month is None)
    try:
        return Period(year or default.fiscal_year, month), odd
    except PeriodInvalid:
        return default, True


def _town_code(args) -> str | None:
    code = args.get("municipality", "")
    return code if code.isascii() and code.isalnum() and len(code) <= 16 else None


@contextmanager
def replica_session() -> Iterator[Session | None]:
    """A session on the reports' read replica (TSUNAGU_REPORTS_DATABASE_URL), or None without one; its engine
    is made once per app."""
    url = settings().reports_database_url
    if not url:
        yield None
        return
    factory = current_app.extensions.get("tsunagu.reports_sessions")
    if factory is None:
        factory = current_app.extensions["tsunagu.reports_sessions"] = make_session_factory(
            make_engine(url, settings().sqlite_busy_ms))
    with factory() as reading:
        yield reading


@bp.route("/reports")
@login_required
def index():
    period, odd = chosen_period(request.args)
    with replica_session() as reading:
        found = report(db.session, clock(), g.user, period, _town_code(request.args), reading=reading)
    labels = report_labels(gettext)
    today = current_period(clock()).fiscal_year
    years = sorted({*range(max(FIRST_FISCAL_YEAR, today - YEARS_SHOWN + 1), today + 1), period.fiscal_year},
                   reverse=True)
    args = {"year": period.fiscal_year, **({"month": period.month} if period.month else {}),
            "municipality": found.town.code}
    return render_template("reports.html", report=found, sections=sections(found, labels), labels=labels,
                           title=period_title(found.period, labels), odd=odd, args=args,
                           years=[(y, labels["fiscal_year"].format(year=y, reiwa=y - 2018)) for y in years],
                           months=[(m, labels["months"][m - 1]) for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)],
                           towns=readable_towns(db.session, g.user, clock()()))


@bp.route("/reports.xlsx")
@login_required
def export_xlsx():
    period, _odd = chosen_period(request.args)
    publish = request.args.get("publish") == "1"
    with replica_session() as reading:
        found = report(db.session, clock(), g.user, period, _town_code(request.args), export="xlsx",
                       publish=publish, reading=reading)
    body = workbook(found, report_labels(gettext), publish)
    name = f"report-{found.town.code}-{period.fiscal_year}" + (f"-{period.month:02d}" if period.month else "")
    return Response(body, mimetype=XLSX,
                    headers={"Content-Disposition": f"attachment; filename={name}{'-published' if publish else ''}.xlsx"})

