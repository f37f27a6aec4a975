"""The case list and search (/cases): every case the user may see, found by what they know of it."""
from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, g, render_template, request
from flask_babel import gettext as _
from openpyxl import Workbook

from tsunagu.engine.clock import local
from tsunagu.engine.commands import case_list, queries
from tsunagu.engine.commands.case_list import CaseRow

from .context import clock, login_required, settings
from .extensions import db

bp = Blueprint("case_list", __name__)

# The query arguments a page, a paging link and an export carry over.
FILTER_NAMES = ("q", "born", "status", "process", "element", "lead_body", "caseworker", "risk", "overdue", "sort",
                "size")


def _field_errors(codes: dict[str, str]) -> dict[str, str]:
    messages = {
        "too_long": _("This is too long."),
        "not_an_id": _("Choose a value from the list."),
        "not_a_date": _("Enter a year (e.g. 1956) or a date (e.g. 1956-04-01)."),
        "unknown_status": _("Choose a status from the list."),
        "unknown_risk": _("Choose a risk level from the list."),
        "unknown_sort": _("Choose an order from the list."),
    }
    return {name: messages.get(code, code) for name, code in codes.items()}


def _page_number(name: str, default: int, limit: int) -> int:
    value = request.args.get(name, "")
    if not (value.isascii() and value.isdigit() and 0 < len(value) <= 6 and int(value) > 0):
        return default
    return min(int(value), limit)


@bp.route("/cases")
@login_required
def index():
    filters, codes = case_list.parse_filters(request.args)
    page = case_list.search_cases(db.session, clock(), g.user, filters, _page_number("page", 1, case_list.MAX_PAGE),
                                  _page_number("size", case_list.DEFAULT_PAGE_SIZE, case_list.MAX_PAGE_SIZE))
    query = {k: v[:200] for k, v in request.args.items() if k in FILTER_NAMES and v}
    return render_template("cases.html", page=page, filters=filters, errors=_field_errors(codes), query=query,
                           bodies=queries.member_bodies(db.session, g.user.municipality_id),
                           may_export=case_list.may_export(g.user))


def _headers() -> list[str]:
    return [_("Case number"), _("Title"), _("Status"), _("Current step"), _("Caseworkers"), _("Lead body"),
            _("Risk"), _("Next due"), _("Overdue"), _("Updated")]


def _status_label(status: str) -> str:
    return {"running": _("In progress"), "waiting": _("Waiting"), "completed": _("Closed"), "error": _("Error"),
            "suspended": _("Suspended")}.get(status, status)


def _risk_label(risk: str | None) -> str:
    return {"normal": _("Normal"), "high": _("High"), "urgent": _("Urgent")}.get(risk or "", risk or "")


def _safe(value: str) -> str:
    """A typed text never runs as a spreadsheet formula (openpyxl writes a leading '=' as one, Excel too)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _cells(row: CaseRow) -> list[Any]:
    zone = settings().time_zone
    due = local(row.next_due, zone)
    updated = local(row.updated_at, zone)
    return [row.reference or "", _safe(row.title), _status_label(row.status.value), _safe("、".join(row.stages)),
            _safe("、".join(row.caseworkers)), _safe(row.lead_body or ""), _risk_label(row.risk),
            due.strftime("%Y-%m-%d %H:%M") if due else "", _("Yes") if row.overdue else "",
            updated.strftime("%Y-%m-%d %H:%M") if updated else ""]


def _exported(fmt: str) -> list[CaseRow]:
    filters, _codes = case_list.parse_filters(request.args)
    return case_list.export_cases(db.session, clock(), g.user, filters, fmt)


def _attachment(body: bytes, mimetype: str, name: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/cases.csv")
@login_required
def export_csv():
    rows = _exported("csv")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_headers())
    writer.writerows(_cells(row) for row in rows)
    # A byte-order mark, so that Excel opens the UTF-8 file as UTF-8 (Japanese would otherwise be garbled).
    return _attachment(("\ufeff" + out.getvalue()).encode("utf-8"), "text/csv; charset=utf-8", "cases.csv")


@bp.route("/cases.xlsx")
@login_required
def export_xlsx():
    rows = _exported("xlsx")
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Cases"))
    sheet.append(_headers())
    for row in rows:
        sheet.append(_cells(row))
    out = io.BytesIO()
    book.save(out)
    return _attachment(out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       "cases.xlsx")
