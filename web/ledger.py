"""The coordinating body's progress ledger (進行管理台帳, /ledger) of every case tabled or to be tabled."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, g, render_template, request
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from tsunagu.engine.commands import queries
from tsunagu.engine.commands.ledger import (
    BASES,
    RISKS,
    ContactSource,
    LedgerFilters,
    LedgerRow,
    LedgerSort,
    ledger,
    ledger_export,
)

from .context import clock, login_required
from .extensions import db
from .labels import label_set

bp = Blueprint("ledger", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILTER_KEYS = ("lead_body", "risk", "basis", "overdue", "sort")
WIDTHS = (14, 28, 12, 22, 10, 40, 44, 14, 12, 12, 10)  # characters, per export column


def _number(value: str | None, limit: int = 10**9) -> int | None:
    """A positive whole number from a query string, or None for anything else (never an error)."""
    if value and value.isascii() and value.isdigit() and len(value) < 10 and 0 < int(value) <= limit:
        return int(value)
    return None


def _chosen() -> tuple[LedgerFilters, LedgerSort, int]:
    """The filters, sort and page the query string asks for; unknown values are ignored, not refused."""
    args = request.args
    risk, basis, sort = args.get("risk"), args.get("basis"), args.get("sort")
    filters = LedgerFilters(lead_body_id=_number(args.get("lead_body")), risk=risk if risk in RISKS else None,
                            overdue=args.get("overdue") == "1", basis=basis if basis in BASES else None)
    chosen = LedgerSort(sort) if sort in {s.value for s in LedgerSort} else LedgerSort.NEXT_REVIEW
    return filters, chosen, _number(args.get("page")) or 1


def _labels() -> dict[str, dict[str, str]]:
    risks = label_set("risk")
    return {"risk": {code: risks[code] for code in RISKS},  # the ledger's risks only (never "refer out")
            "basis": label_set("agenda_basis"), "action": label_set("action_status"),
            "source": {ContactSource.CONTACT.value: _("since the last contact"),
                       ContactSource.OPENED.value: _("since the case was opened (no contact yet)")}}


@bp.route("/ledger")
@login_required
def index():
    filters, sort, page = _chosen()
    found = ledger(db.session, clock(), g.user, filters, sort, page)
    args = {k: v for k, v in request.args.items() if k in FILTER_KEYS}
    return render_template("ledger.html", ledger=found, filters=filters, sort=sort, args=args, risks=RISKS,
                           bases=BASES, labels=_labels(),
                           bodies=queries.member_bodies(db.session, g.user.municipality_id))


def _header() -> list[str]:
    return [_("Reference"), _("Title"), _("Status"), _("Lead body"), _("Risk"), _("Plan summary"),
            _("Support actions"), _("Basis of sharing"), _("Last review"), _("Next review"),
            _("Days since last contact")]


def _cells(row: LedgerRow, labels: dict) -> list[str | int]:
    status = _("Waiting to be tabled") if row.waiting_to_be_tabled else _("Tabled")
    actions = "; ".join(f"{a.type_name}（{a.owner_body}・{labels['action'].get(a.status.value, a.status.value)}）" for a in row.actions)
    days = f"{row.days_since_contact}" + ("" if row.contact_source == ContactSource.CONTACT else "*")
    return [row.reference or "", row.title, status, row.lead_body or "", labels["risk"].get(row.risk or "", ""),
            row.plan_summary or "", actions, labels["basis"].get(row.basis or "", ""),
            row.last_review.isoformat() if row.last_review else "",
            row.next_review.isoformat() if row.next_review else "", days]


def _exported(file_format: str) -> tuple[list[LedgerRow], dict]:
    filters, sort, _page = _chosen()
    return ledger_export(db.session, clock(), g.user, filters, sort, file_format), _labels()


def _note() -> str:
    return _("* counted from the day the case was opened: no contact recorded yet. Plan summaries are not exported.")


@bp.route("/ledger.csv")
@login_required
def export_csv():
    rows, labels = _exported("csv")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_header())
    writer.writerows(_cells(row, labels) for row in rows)
    writer.writerow([_note()])
    body = "\ufeff" + out.getvalue()  # a BOM, so Excel opens the Japanese text as UTF-8
    return Response(body.encode("utf-8"), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=ledger.csv"})


@bp.route("/ledger.xlsx")
@login_required
def export_xlsx():
    rows, labels = _exported("xlsx")
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Progress ledger"))
    for index, width in enumerate(WIDTHS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title in _header():
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append(_cells(row, labels))
    sheet.append([_note()])
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), mimetype=XLSX,
                    headers={"Content-Disposition": "attachment; filename=ledger.xlsx"})
