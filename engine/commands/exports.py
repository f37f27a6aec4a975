"""Taking a case file out of the system: an export is an audited read, and special-care data stays
out unless the reader's role needs it and they ask for it explicitly."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from .. import audit
from ..access import permissions
from ..access.policy import Basis
from ..casefile.tables import AssessmentRecord, ConsentRecord, SupportActionRecord
from ..clock import Clock
from ..db import transaction
from ..errors import Forbidden, NotFound
from ..models import CaseRecord, FormSubmissionRecord, UserRecord
from ..runtime.forms import mask_special_care
from ..runtime.stored_versions import files_of
from .queries import rows

# An export takes the whole file out of the system: case staff only (and their supervisors). Neither the
# council's basis (Act Art. 16: the information the deliberation needs) nor a consent, a lead body's or an
# emergency opening's reading allows a copy.
EXPORT_BASES = frozenset({Basis.STAFF, Basis.SUPERVISION})


def export_case(session: Session, clock: Clock, user: UserRecord, case_id: int, *,
                include_special_care: bool = False) -> dict[str, Any]:
    """The case file as a JSON-ready dict: submissions, assessments, consents and actions."""
    with transaction(session):
        case = session.get(CaseRecord, case_id)
        if case is None:
            raise NotFound("no such case", element=str(case_id))
        found = permissions.access_to(user, case, clock())
        staff = found.basis in EXPORT_BASES
        allowed = found.full and staff and (found.special_care or not include_special_care)
        audit.record(session, clock, user, "case.exported" if allowed else "case.export_refused", case_id=case.id,
                     basis=found.basis.value if found.basis else None, special_care=include_special_care)
    if not allowed:  # refused after the transaction, so the refusal itself stays on record
        permissions.require_case_action(user, case, clock())
        if found.full and not staff:
            raise Forbidden("only case staff may export the case file", element=case.reference)
        if found.full:
            raise Forbidden("your role may not export special-care information", element=case.reference)
        permissions.require_case_file(user, case, clock())
    files = files_of(case.process_version)
    submissions = []
    for submission in rows(session, FormSubmissionRecord, FormSubmissionRecord.case_id == case.id,
                            FormSubmissionRecord.submitted_at):
        data = submission.data if include_special_care else mask_special_care(
            json.loads(files.get(submission.form_id, "{}")), submission.data)
        submissions.append({"form": submission.form_id, "submitted_at": submission.submitted_at.isoformat(),
                            "data": data})
    return {
        "reference": case.reference, "title": case.title, "status": case.status.value, "episode": case.episode,
        "process": case.process_version.process_id, "process_version": case.process_version.content_hash,
        "submissions": submissions,
        "assessments": [{"instrument": a.instrument, "version": a.instrument_version, "stage": a.stage,
                         "respondent": a.respondent, "answers": a.answers, "score": a.score,
                         "recorded_at": a.recorded_at.isoformat()}
                        for a in rows(session, AssessmentRecord, AssessmentRecord.case_id == case.id,
                                       AssessmentRecord.recorded_at)],
        "consents": [{"decision": c.decision, "purposes": c.purposes, "recipient_body_ids": c.recipient_body_ids,
                      "method": c.method, "valid_from": c.valid_from.isoformat() if c.valid_from else None,
                      "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None}
                     for c in rows(session, ConsentRecord, ConsentRecord.case_id == case.id, ConsentRecord.recorded_at)],
        "actions": [{"type": a.action_type.code, "owner_body": a.owner_body.name, "status": a.status.value,
                     "due_at": a.due_at.isoformat() if a.due_at else None}
                    for a in rows(session, SupportActionRecord, SupportActionRecord.case_id == case.id,
                                   SupportActionRecord.created_at)],
    }
