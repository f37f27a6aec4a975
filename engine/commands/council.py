"""The regional council (協議会): meetings, their agenda and the decisions that move cases on."""
from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema, fields, validate
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit
from ..access import permissions
from ..casefile.records import member_body
from ..casefile.tables import AgendaItemRecord, CouncilDecisionRecord, CouncilMeetingRecord, SupportActionRecord
from ..clock import Clock
from ..db import reserve_id, transaction
from ..errors import FieldError, FormInvalid, InvalidState, NotFound
from ..models import CaseRecord, UserRecord
from ..runtime.workflow import deliver_message
from .cases import load_case_for_update, record_step, run_step
from .events import ActionInput, action_message, create_action, parse, start_of_day

RISK_LEVELS = ("normal", "high", "urgent")


class DecisionInput(Schema):
    situation = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    risk = fields.String(required=True, validate=validate.OneOf(RISK_LEVELS))
    plan = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    lead_body_id = fields.Integer(required=True)
    key_person = fields.String(load_default=None, validate=validate.Length(max=200))
    next_review_on = fields.Date(required=True)
    actions = fields.List(fields.Nested(ActionInput), load_default=list)


@dataclass
class AgendaEntry:
    item: AgendaItemRecord
    case: CaseRecord
    decision: CouncilDecisionRecord | None
    actions: list[SupportActionRecord]


@dataclass
class MeetingSummary:
    meeting: CouncilMeetingRecord
    tabled: int
    decided: int


def list_meetings(session: Session, user: UserRecord) -> list[MeetingSummary]:
    """The municipality's council meetings, newest first, with how many cases each tabled and decided."""
    permissions.require_council_work(user)
    meetings = list(session.scalars(select(CouncilMeetingRecord)
                                    .where(CouncilMeetingRecord.municipality_id == user.municipality_id)
                                    .order_by(CouncilMeetingRecord.held_on.desc())))
    counts = {
        meeting_id: (tabled, decided)
        for meeting_id, tabled, decided in session.execute(
            select(AgendaItemRecord.meeting_id, func.count(AgendaItemRecord.id),
                   func.count(AgendaItemRecord.decision_id))
            .where(AgendaItemRecord.meeting_id.in_([m.id for m in meetings]))
            .group_by(AgendaItemRecord.meeting_id))
    } if meetings else {}
    return [MeetingSummary(m, *counts.get(m.id, (0, 0))) for m in meetings]


def view_agenda(session: Session, clock: Clock, user: UserRecord, meeting_id: int) -> tuple:
    """A meeting with the cases tabled to it; each case shown is an audited read on the council basis."""
    with transaction(session):
        permissions.require_council_work(user)
        meeting = session.get(CouncilMeetingRecord, meeting_id)
        if meeting is None or meeting.municipality_id != user.municipality_id:
            raise NotFound("no such meeting", element=str(meeting_id))
        items = session.scalars(select(AgendaItemRecord).where(AgendaItemRecord.meeting_id == meeting.id)
                                .order_by(AgendaItemRecord.tabled_at, AgendaItemRecord.id)).all()
        entries = []
        for item in items:
            case = session.get(CaseRecord, item.case_id)
            decision = session.get(CouncilDecisionRecord, item.decision_id) if item.decision_id else None
            actions = list(session.scalars(select(SupportActionRecord).where(
                SupportActionRecord.decision_id == item.decision_id))) if decision else []
            audit.record(session, clock, user, "case.viewed", case_id=case.id, part="agenda",
                         basis=item.basis, meeting=meeting.id)
            entries.append(AgendaEntry(item, case, decision, actions))
    return meeting, entries


def record_decision(session: Session, clock: Clock, actor: UserRecord, meeting_id: int, case_id: int,
                    data: dict) -> CouncilDecisionRecord:
    """Record the council's decision on one tabled case; the case moves on and its actions start."""
    values = parse(DecisionInput(), data, "council_decision")
    with transaction(session):
        with session.no_autoflush:  # rows wait, with reserved ids, until the step has run
            permissions.require_council_work(actor)
            item = session.scalar(select(AgendaItemRecord).where(AgendaItemRecord.meeting_id == meeting_id,
                                                                 AgendaItemRecord.case_id == case_id))
            if item is None:
                raise NotFound("the case is not on this meeting's agenda", element=str(case_id))
            if item.decision_id is not None:
                raise InvalidState("the council already recorded its decision on this case at this meeting",
                                   element=str(case_id))
            meeting = item.meeting
            if values["next_review_on"] < meeting.held_on:
                raise FormInvalid([FieldError("next_review_on", "minimum", {"limit": meeting.held_on.isoformat()})],
                                  element="council_decision")
            case, workflow = load_case_for_update(session, clock, actor, case_id, permissions.require_council_case)
            lead = member_body(session, case.municipality_id, values["lead_body_id"], "lead_body_id",
                               "council_decision")
            revised = session.scalar(select(CouncilDecisionRecord.id).where(
                CouncilDecisionRecord.case_id == case.id).limit(1)) is not None
            decision = CouncilDecisionRecord(
                id=reserve_id(session, CouncilDecisionRecord), meeting_id=meeting.id, case_id=case.id,
                situation=values["situation"], risk=values["risk"],
                plan=values["plan"], lead_body_id=lead.id, key_person=values["key_person"],
                next_review_on=values["next_review_on"], recorded_by_id=actor.id, recorded_at=clock())
            session.add(decision)
            item.decision_id = decision.id
            actions = [_numbered(index, lambda a=a: create_action(session, clock, actor, case, a, decision.id))
                       for index, a in enumerate(values["actions"])]
            audit.record(session, clock, actor, "council.decided", case_id=case.id, meeting=meeting.id,
                         decision=decision.id, actions=len(actions))
            payload = {"decision_id": decision.id, "plan_revised": revised,
                       "next_review_at": start_of_day(values["next_review_on"]).isoformat()}

            def step():
                deliver_message(workflow, "council_decision", payload)
                for action in actions:
                    deliver_message(workflow, "support_action_added", action_message(action))

            failure = run_step(clock, workflow, step)
        record_step(session, clock, actor, case, workflow, failure)
    return decision


def _numbered(index: int, make):
    """Run `make`; a field error from it names the action row it came from (actions.N.field)."""
    try:
        return make()
    except FormInvalid as invalid:
        raise FormInvalid([FieldError(f"actions.{index}.{e.field}", e.code, e.params) for e in invalid.errors],
                          element=invalid.element) from invalid
