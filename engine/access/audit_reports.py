"""Reading the audit trail: who accessed a case (for the coordinating body), and the full export."""
from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..clock import Clock
from ..db import transaction
from ..errors import Forbidden, NotFound
from ..models import AuditRecord, CaseRecord, UserRecord
from ..roles import Role
from . import permissions

ACCESS_ACTIONS = ("case.viewed", "case.view_refused", "task.viewed", "task.view_refused", "case.break_glass",
                  "case.exported", "case.export_refused", "case.printed", "case.access_log_viewed",
                  "case.access_log_refused")


def access_log(session: Session, clock: Clock, user: UserRecord, case_id: int) -> tuple[CaseRecord, list[AuditRecord]]:
    """`who_accessed` together with the case it is about, for the access-log page."""
    rows = who_accessed(session, clock, user, case_id)
    return session.get_one(CaseRecord, case_id), rows


def who_accessed(session: Session, clock: Clock, user: UserRecord, case_id: int) -> list[AuditRecord]:
    """Every read of a case, newest first: for the coordinating body and supervisors with a basis."""
    with transaction(session):
        case = session.get(CaseRecord, case_id)
        if case is None:
            raise NotFound("no such case", element=str(case_id))
        allowed = bool(user.role_codes & {Role.COORDINATOR.value, Role.SUPERVISOR.value}) and \
            permissions.access_to(user, case, clock()).full
        audit.record(session, clock, user, "case.access_log_viewed" if allowed else "case.access_log_refused",
                     case_id=case.id)
    if not allowed:  # refused after the transaction, so the refusal itself stays on record
        permissions.require_case_view(user, case, clock())  # no basis at all: as if there were no such case
        raise Forbidden("only the coordinating body and supervisors with a basis see who accessed a case",
                        element=case.reference)
    return list(session.scalars(select(AuditRecord).where(
        AuditRecord.case_id == case.id, AuditRecord.action.in_(ACCESS_ACTIONS))
        .order_by(AuditRecord.at.desc(), AuditRecord.id.desc())))


EXPORT_COLUMNS = ("id", "at", "actor_id", "actor", "action", "case_id", "case_reference", "task_id", "detail")
# The command line has no signed-in user: its rows name the operating-system account in `detail`.


def export_audit_csv(session: Session, clock: Clock, admin: UserRecord) -> str:
    """The municipality's whole audit log as CSV, for an administrator; the export itself is logged."""
    permissions.require_admin(admin)
    with transaction(session):
        audit.record(session, clock, admin, "audit.exported")
    rows = session.execute(
        select(AuditRecord, UserRecord.username, CaseRecord.reference)
        .outerjoin(UserRecord, UserRecord.id == AuditRecord.actor_id)
        .outerjoin(CaseRecord, CaseRecord.id == AuditRecord.case_id)
        .where((AuditRecord.municipality_id == admin.municipality_id)
               | (CaseRecord.municipality_id == admin.municipality_id)
               | (UserRecord.municipality_id == admin.municipality_id))
        .order_by(AuditRecord.at, AuditRecord.id))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for record, username, reference in rows:
        writer.writerow((record.id, record.at.isoformat(), record.actor_id or "", username or "", record.action,
                         record.case_id or "", reference or "", record.task_id or "",
                         json.dumps(record.detail, ensure_ascii=False, sort_keys=True)))
    return out.getvalue()
