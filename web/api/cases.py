"""Cases: the summary, the timeline and the case file, each read through `queries.view_case` like the case
page, so the read is audited with its basis and part, refused as missing without a basis, and a member body
whose basis covers only its support action gets that action's packet, never more than its page shows."""
from __future__ import annotations

from typing import Any

from apispec import APISpec
from flask import g
from werkzeug.wrappers import Response

from tsunagu.engine.access import permissions
from tsunagu.engine.commands import queries
from tsunagu.engine.models import TaskStatus

from ..context import clock
from ..extensions import db
from .base import bp, respond
from .case_schemas import PACKET_FIELDS, CaseFileSchema, CaseSummarySchema, HistoryEntrySchema
from .spec import json_content, operation, path_id

SUMMARY, HISTORY = CaseSummarySchema(), HistoryEntrySchema(many=True)
CASE_FILE, PACKET = CaseFileSchema(), CaseFileSchema(only=PACKET_FIELDS)


@bp.get("/cases/<int:case_id>")
def get_case(case_id: int) -> Response:
    """The case's summary and the open tasks the reader's page lists (only the body's own, for a packet)."""
    case_file = queries.view_case(db.session, clock(), g.user, case_id, part="summary")
    return respond(SUMMARY, _summary(case_file))


def _summary(case_file: queries.CaseFile) -> dict[str, Any]:
    case, access = case_file.case, case_file.access
    full = access is not None and access.full
    return {"id": case.id, "reference": case.reference, "title": case.title, "status": case.status.value,
            "process_key": case.process_version.process_id, "version": case.process_version.version_number,
            "episode": case.episode, "opened": case.created_at, "updated": case.updated_at,
            "completed": case.completed_at, "closure_reason": case.closure_reason, "access": access,
            # The council's view of the case: the packet's page shows its latest decision, not the case's risk.
            "risk": case.risk if full else None, "next_review_on": case.next_review_on if full else None,
            "open_tasks": [t for t in case_file.tasks if t.status == TaskStatus.OPEN]}


@bp.get("/cases/<int:case_id>/history")
def get_history(case_id: int) -> Response:
    """What happened to the case, oldest first; a reader who sees only an action's packet is refused (403),
    as the page shows them no timeline."""
    case_file = queries.view_case(db.session, clock(), g.user, case_id, part="history")
    permissions.require_case_file(g.user, case_file.case, clock()())
    return respond(HISTORY, case_file.timeline)


@bp.get("/cases/<int:case_id>/file")
def get_file(case_id: int) -> Response:
    """The whole case file for a reader with full access, else the packet of the body's support action."""
    case_file = queries.view_case(db.session, clock(), g.user, case_id, part="file")
    full = case_file.access is not None and case_file.access.full
    return respond(CASE_FILE if full else PACKET, case_file)


def describe(spec: APISpec) -> None:
    """The case routes in the OpenAPI document."""
    for name, schema in (("CaseSummary", CaseSummarySchema), ("HistoryEntry", HistoryEntrySchema),
                         ("CaseFile", CaseFileSchema)):
        spec.components.schema(name, schema=schema)
    case_id = path_id("case_id")
    spec.path(path="/cases/{case_id}", operations={"get": operation(
        "A case's summary and open tasks (the read is audited)", json_content("CaseSummary", "the case"),
        refusals=("401", "404"), parameters=[case_id])})
    spec.path(path="/cases/{case_id}/history", operations={"get": operation(
        "A case's timeline, oldest first (the read is audited)",
        json_content({"type": "array", "items": "HistoryEntry"}, "the case's events"),
        refusals=("401", "403", "404"), parameters=[case_id])})
    spec.path(path="/cases/{case_id}/file", operations={"get": operation(
        "The case file as the reader's basis allows: whole, or a support action's packet (the read is audited)",
        json_content("CaseFile", "the case file"), refusals=("401", "404"), parameters=[case_id])})
