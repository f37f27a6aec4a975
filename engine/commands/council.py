"""The regional council (協議会): meetings, their agenda and the decisions that move cases on."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from marshmallow import Schema, fields, validate
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from .. import audit
from ..access import permissions
from ..access.policy import attending_bodies, meetings_of_councils
from ..casefile.governance import CouncilMemberRecord, CouncilMunicipalityRecord, council_of
from ..casefile.records import member_body
from ..casefile.sharing import COUNCIL, decide, disclose, window_end
from ..casefile.tables import (
    AgendaAttendeeRecord,
    AgendaItemRecord,
    CouncilDecisionRecord,
    CouncilMeetingRecord,
    MeetingBodyRecord,
    OrganisationKind,
    OrganisationRecord,
    SupportActionRecord,
)
from ..clock import Clock
from ..db import reserve_id, transaction
from ..errors import FieldError, FormInvalid, InvalidState, NotFound
from ..models import CaseRecord, MunicipalityRecord, UserRecord
from ..runtime.forms import today_in_japan
from ..runtime.workflow import NotWaiting, deliver_message
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


MEETING_KINDS = ("case", "review")
KIND_TITLES = {"case": "個別ケース検討会議", "review": "定例会（全ケースの進行管理）"}
MINUTES_MAX_LENGTH = 20000


class MeetingInput(Schema):
    held_on = fields.Date(required=True)
    kind = fields.String(load_default="case", validate=validate.OneOf(MEETING_KINDS))
    title = fields.String(load_default=None, validate=validate.Length(max=200))
    council_id = fields.Integer(load_default=None, strict=False)


def schedule_meeting(session: Session, clock: Clock, actor: UserRecord, data: dict[str, Any], *,
                     operator: str | None = None) -> CouncilMeetingRecord:
    """Schedule a meeting of a council the actor's body coordinates: an individual case meeting or the
    regular review of every case. Tabling a case for that date puts it on this meeting's agenda."""
    values = parse(MeetingInput(), data, "meeting")
    with transaction(session):
        councils = permissions.require_council_work(session, actor, clock())
        council_id = values["council_id"] if values["council_id"] is not None else councils[0]
        if council_id not in councils:
            raise FormInvalid([FieldError("council_id", "enum")], element="meeting")
        today = today_in_japan(clock())
        if values["held_on"] < today:
            raise FormInvalid([FieldError("held_on", "x_not_before", {"limit": today.isoformat()})], element="meeting")
        if session.scalar(select(CouncilMeetingRecord.id).where(
                CouncilMeetingRecord.municipality_id == actor.municipality_id,
                CouncilMeetingRecord.held_on == values["held_on"])) is not None:
            raise FormInvalid([FieldError("held_on", "meeting_exists", {"limit": values["held_on"].isoformat()})],
                              element="meeting")
        title = (values["title"] or "").strip() or f"{KIND_TITLES[values['kind']]} {values['held_on'].isoformat()}"
        if "\x00" in title:
            raise FormInvalid([FieldError("title", "pattern")], element="meeting")
        meeting = CouncilMeetingRecord(id=reserve_id(session, CouncilMeetingRecord),
                                       municipality_id=actor.municipality_id, council_id=council_id, title=title,
                                       held_on=values["held_on"], kind=values["kind"], created_at=clock())
        session.add(meeting)
        audit.record(session, clock, actor, "council.meeting_scheduled", meeting=meeting.id, council=council_id,
                     held_on=values["held_on"].isoformat(), kind=values["kind"], **_via(operator))
    return meeting


def record_minutes(session: Session, clock: Clock, actor: UserRecord, meeting_id: int, minutes: str | None,
                   present_body_ids: Sequence[object], *, operator: str | None = None) -> CouncilMeetingRecord:
    """Record a held meeting's minutes (議事録) and which invited bodies were present; audited."""
    text = (minutes or "").strip()
    errors = []
    if len(text) > MINUTES_MAX_LENGTH:
        errors.append(FieldError("minutes", "maxLength", {"limit": MINUTES_MAX_LENGTH}))
    if "\x00" in text:
        errors.append(FieldError("minutes", "pattern"))
    with transaction(session):
        meeting = _coordinated_meeting(session, clock, actor, meeting_id)
        if today_in_japan(clock()) < meeting.held_on:
            errors.append(FieldError("minutes", "minutes_before_meeting", {"limit": meeting.held_on.isoformat()}))
        invited = {row.organisation_id: row for row in session.scalars(
            select(MeetingBodyRecord).where(MeetingBodyRecord.meeting_id == meeting.id))}
        ids = [b for b in present_body_ids if isinstance(b, int) and not isinstance(b, bool)]
        present = set(ids)
        if len(ids) != len(present_body_ids) or not present <= set(invited):
            errors.append(FieldError("present_body_ids", "enum"))
        if errors:
            raise FormInvalid(errors, element="minutes")
        for body_id, row in invited.items():
            row.present = body_id in present
        meeting.minutes = text or None
        meeting.minutes_recorded_at, meeting.minutes_recorded_by_id = clock(), actor.id
        audit.record(session, clock, actor, "council.minutes_recorded", meeting=meeting.id,
                     municipality=meeting.municipality_id, present=sorted(present), length=len(text), **_via(operator))
    return meeting


def _via(operator: str | None) -> dict[str, Any]:
    """How a council command arrived, for its audit row: the page, or the command line and its OS account."""
    return {"via": "cli", "operator": operator} if operator is not None else {"via": "web"}


def invited_bodies(session: Session, meeting: CouncilMeetingRecord) -> list[tuple[OrganisationRecord, bool | None]]:
    """The bodies invited to a meeting, with their recorded attendance (None before the minutes)."""
    return [(body, present) for body, present in session.execute(
        select(OrganisationRecord, MeetingBodyRecord.present)
        .join(MeetingBodyRecord, MeetingBodyRecord.organisation_id == OrganisationRecord.id)
        .where(MeetingBodyRecord.meeting_id == meeting.id).order_by(OrganisationRecord.name, OrganisationRecord.id))]


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
    """The meetings of the councils the user's body coordinates (a joint council's from every municipality
    in it), newest first, with how many cases each tabled and decided."""
    councils = permissions.require_council_work(session, user)
    meetings = list(session.scalars(select(CouncilMeetingRecord).where(meetings_of_councils(councils))
                                    .order_by(CouncilMeetingRecord.held_on.desc(), CouncilMeetingRecord.id.desc())))
    counts = {
        meeting_id: (tabled, decided)
        for meeting_id, tabled, decided in session.execute(
            select(AgendaItemRecord.meeting_id, func.count(AgendaItemRecord.id),
                   func.count(AgendaItemRecord.decision_id))
            .where(AgendaItemRecord.meeting_id.in_([m.id for m in meetings]))
            .group_by(AgendaItemRecord.meeting_id))
    } if meetings else {}
    return [MeetingSummary(m, *counts.get(m.id, (0, 0))) for m in meetings]


def view_agenda(session: Session, clock: Clock, user: UserRecord,
                meeting_id: int) -> tuple[CouncilMeetingRecord, list[AgendaEntry]]:
    """A meeting with the cases tabled to it; each case shown is an audited read on the council basis."""
    with transaction(session):
        meeting = _coordinated_meeting(session, clock, user, meeting_id)
        items = session.scalars(select(AgendaItemRecord).where(AgendaItemRecord.meeting_id == meeting.id)
                                .order_by(AgendaItemRecord.tabled_at, AgendaItemRecord.id)).all()
        entries = []
        for item in items:
            case = session.get_one(CaseRecord, item.case_id)
            decision = session.get(CouncilDecisionRecord, item.decision_id) if item.decision_id else None
            actions = list(session.scalars(select(SupportActionRecord).where(
                SupportActionRecord.decision_id == item.decision_id))) if decision else []
            audit.record(session, clock, user, "case.viewed", case_id=case.id, part="agenda",
                         basis=item.basis, meeting=meeting.id)
            entries.append(AgendaEntry(item, case, decision, actions))
    return meeting, entries


def record_decision(session: Session, clock: Clock, actor: UserRecord, meeting_id: int, case_id: int,
                    data: dict[str, Any]) -> CouncilDecisionRecord:
    """Record the council's decision on one tabled case; the case moves on and its actions start."""
    values = parse(DecisionInput(), data, "council_decision")
    with transaction(session):
        with session.no_autoflush:  # rows wait, with reserved ids, until the step has run
            _coordinated_meeting(session, clock, actor, meeting_id)
            item = session.scalar(select(AgendaItemRecord).where(AgendaItemRecord.meeting_id == meeting_id,
                                                                 AgendaItemRecord.case_id == case_id))
            if item is None:
                raise NotFound("the case is not on this meeting's agenda", element=str(case_id))
            if item.decision_id is not None:
                raise InvalidState("the council already recorded its decision on this case at this meeting",
                                   element=str(case_id))
            meeting = item.meeting
            if today_in_japan(clock()) < meeting.held_on:  # a decision is not recorded before its meeting
                raise FormInvalid([FieldError("meeting", "before_meeting", {"limit": meeting.held_on.isoformat()})],
                                  element="council_decision")
            if values["next_review_on"] < meeting.held_on:
                raise FormInvalid([FieldError("next_review_on", "minimum", {"limit": meeting.held_on.isoformat()})],
                                  element="council_decision")
            if values["next_review_on"] < today_in_japan(clock()):  # a next review is not in the past
                raise FormInvalid([FieldError("next_review_on", "x_not_before",
                                              {"limit": today_in_japan(clock()).isoformat()})],
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
            case.latest_decision_id, case.risk = decision.id, decision.risk
            case.next_review_on = decision.next_review_on
            actions = [_numbered(index, partial(create_action, session, clock, actor, case, a, decision.id))
                       for index, a in enumerate(values["actions"])]
            audit.record(session, clock, actor, "council.decided", case_id=case.id, meeting=meeting.id,
                         decision=decision.id, actions=len(actions))
            payload = {"decision_id": decision.id, "plan_revised": revised,
                       "next_review_at": start_of_day(values["next_review_on"]).isoformat()}

            def step() -> None:
                if item.purpose == REVIEW_ITEM:
                    review_step(workflow, payload, meeting)
                else:
                    deliver_message(workflow, "council_decision", payload)
                for action in actions:
                    deliver_message(workflow, "support_action_added", action_message(action))

            failure = run_step(clock, workflow, step)
        record_step(session, clock, actor, case, workflow, failure)
    return decision


REVIEW_ITEM = "review"  # AgendaItemRecord.purpose of a case the coordinating body put on for its review


def review_step(workflow: BpmnWorkflow, payload: dict[str, Any], meeting: CouncilMeetingRecord) -> None:
    """The process's part of a decision on a case put on the agenda for its review.

    A case tabled again by its caseworker waits for the decision as usual. A case waiting for its next
    follow-up review is asked for that review now (the process's own on-demand path, `review_requested`),
    so the caseworker reviews it against the council's plan (the case's next review stays the one under
    way until that review sets the next). A case already under review goes on as it is: the decision
    (plan, lead body, actions) stands on the case file either way.
    """
    try:
        deliver_message(workflow, "council_decision", payload)
        return
    except NotWaiting:
        pass
    try:
        deliver_message(workflow, "review_requested", {"requested_by": "council", "meeting_id": meeting.id,
                                                       "decision_id": payload["decision_id"]})
    except NotWaiting:
        pass


def _numbered(index: int, make: Callable[[], SupportActionRecord]) -> SupportActionRecord:
    """Run `make`; a field error from it names the action row it came from (actions.N.field)."""
    try:
        return make()
    except FormInvalid as invalid:
        raise FormInvalid([FieldError(f"actions.{index}.{e.field}", e.code, e.params) for e in invalid.errors],
                          element=invalid.element) from invalid


def _coordinated_meeting(session: Session, clock: Clock, user: UserRecord, meeting_id: int) -> CouncilMeetingRecord:
    """A meeting of a council the user's body coordinates, or refused as missing."""
    councils = permissions.require_council_work(session, user, clock())
    meeting = session.scalar(select(CouncilMeetingRecord).where(
        CouncilMeetingRecord.id == meeting_id, meetings_of_councils(councils)))
    if meeting is None:
        raise NotFound("no such meeting", element=str(meeting_id))
    return meeting


@dataclass
class Attendance:
    """Who deliberates at one meeting: the meeting's bodies, each tabled case's own choice, and who may attend."""

    meeting: CouncilMeetingRecord
    bodies: list[OrganisationRecord]  # the meeting's bodies (they attend every case without its own choice)
    cases: list[tuple[AgendaItemRecord, CaseRecord, list[OrganisationRecord]]]  # item, case, chosen for it
    candidates: list[OrganisationRecord]  # the council's active member bodies


def view_attendance(session: Session, clock: Clock, user: UserRecord, meeting_id: int) -> Attendance:
    """The attendees of a meeting and of each case tabled to it, for the coordinating body."""
    with transaction(session):
        meeting = _coordinated_meeting(session, clock, user, meeting_id)
        attendance = _attendance(session, meeting)
        for item, case, _chosen in attendance.cases:  # the page names each tabled case: an audited read
            audit.record(session, clock, user, "case.viewed", case_id=case.id, part="attendance",
                         basis=item.basis, meeting=meeting.id)
        return attendance


def _attendance(session: Session, meeting: CouncilMeetingRecord) -> Attendance:
    bodies = _bodies(session, select(MeetingBodyRecord.organisation_id).where(
        MeetingBodyRecord.meeting_id == meeting.id))
    cases = []
    for item in session.scalars(select(AgendaItemRecord).where(AgendaItemRecord.meeting_id == meeting.id)
                                .order_by(AgendaItemRecord.tabled_at, AgendaItemRecord.id)):
        chosen = _bodies(session, select(AgendaAttendeeRecord.organisation_id).where(
            AgendaAttendeeRecord.agenda_item_id == item.id))
        cases.append((item, session.get_one(CaseRecord, item.case_id), chosen))
    return Attendance(meeting, bodies, cases, council_bodies(session, meeting))


def _bodies(session: Session, ids: Select[Any]) -> list[OrganisationRecord]:
    return list(session.scalars(select(OrganisationRecord).where(OrganisationRecord.id.in_(ids))
                                .order_by(OrganisationRecord.name, OrganisationRecord.id)))


def council_bodies(session: Session, meeting: CouncilMeetingRecord) -> list[OrganisationRecord]:
    """The bodies that may attend a meeting: the active member bodies of the council it belongs to (of
    every municipality of a joint council); a council without registered members offers its
    municipalities' member bodies."""
    council_id = meeting.council_id
    if council_id is None:
        council = council_of(session, meeting.municipality_id)
        council_id = council.id if council is not None else None
    active = (OrganisationRecord.active.is_(True), OrganisationRecord.kind == OrganisationKind.MEMBER_BODY)
    if council_id is None:
        return list(session.scalars(select(OrganisationRecord).where(
            OrganisationRecord.municipality_id == meeting.municipality_id, *active)
            .order_by(OrganisationRecord.name, OrganisationRecord.id)))
    members = list(session.scalars(select(OrganisationRecord).join(
        CouncilMemberRecord, CouncilMemberRecord.organisation_id == OrganisationRecord.id).where(
        CouncilMemberRecord.council_id == council_id, *active)
        .order_by(OrganisationRecord.name, OrganisationRecord.id)))
    if members:
        return members
    towns = select(CouncilMunicipalityRecord.municipality_id).where(CouncilMunicipalityRecord.council_id == council_id)
    return list(session.scalars(select(OrganisationRecord).where(OrganisationRecord.municipality_id.in_(towns), *active)
                                .order_by(OrganisationRecord.name, OrganisationRecord.id)))


def set_attendees(session: Session, clock: Clock, actor: UserRecord, meeting_id: int,
                  body_ids: Sequence[object], case_id: int | None = None, *,
                  operator: str | None = None) -> list[OrganisationRecord]:
    """Choose the bodies attending a meeting, or, with `case_id`, the deliberation of one tabled case (an
    empty choice for a case leaves it to the meeting's bodies). Council members of these bodies read the
    papers within the meeting's window, so each body newly reaching a tabled case's papers is a disclosure.
    `operator` names the operating-system account when the coordinating body's staff member `actor` acts
    through the command line (audited `via: cli`)."""
    with transaction(session):
        meeting = _coordinated_meeting(session, clock, actor, meeting_id)
        allowed = {b.id: b for b in council_bodies(session, meeting)}
        chosen: list[OrganisationRecord] = []
        for body_id in body_ids:
            body = allowed.get(body_id) if isinstance(body_id, int) and not isinstance(body_id, bool) else None
            if body is None:
                raise FormInvalid([FieldError("organisation_ids", "enum")], element="attendees")
            if body not in chosen:
                chosen.append(body)
        ids = [b.id for b in chosen]
        items = list(session.scalars(select(AgendaItemRecord).where(AgendaItemRecord.meeting_id == meeting.id)
                                     .order_by(AgendaItemRecord.id)))
        if case_id is not None:
            items = [i for i in items if i.case_id == case_id]
            if not items:
                raise NotFound("the case is not on this meeting's agenda", element=str(case_id))
        reaching = {item.id: attending_bodies(session, item.id, meeting.id) for item in items}
        if case_id is None:
            before = sorted(session.scalars(select(MeetingBodyRecord.organisation_id).where(
                MeetingBodyRecord.meeting_id == meeting.id)))
            session.execute(delete(MeetingBodyRecord).where(MeetingBodyRecord.meeting_id == meeting.id))
            session.add_all(MeetingBodyRecord(meeting_id=meeting.id, organisation_id=i) for i in ids)
        else:
            before = sorted(reaching[items[0].id])
            session.execute(delete(AgendaAttendeeRecord).where(AgendaAttendeeRecord.agenda_item_id == items[0].id))
            session.add_all(AgendaAttendeeRecord(agenda_item_id=items[0].id, organisation_id=i) for i in ids)
        session.flush()
        for item in items:
            for body_id in sorted(attending_bodies(session, item.id, meeting.id) - reaching[item.id]):
                _disclose_papers(session, clock, actor, item, meeting, allowed[body_id])
        audit.record(session, clock, actor, "council.attendees_set", case_id=case_id, meeting=meeting.id,
                     municipality=meeting.municipality_id, before=before, bodies=sorted(ids),
                     names=[b.name for b in chosen], **_via(operator))
    return chosen


def _disclose_papers(session: Session, clock: Clock, actor: UserRecord, item: AgendaItemRecord,
                     meeting: CouncilMeetingRecord, body: OrganisationRecord) -> None:
    """Log that a body attending a case's deliberation receives its tabled papers, on the basis `decide`
    finds (a consent naming the body for the council, else the council's exchange under Art. 16); nothing
    reaches a body once the meeting's window has closed."""
    case = session.get_one(CaseRecord, item.case_id)
    if clock() > window_end(session, case, meeting):
        return
    basis = decide(session, case, body.id, COUNCIL, clock(), field="organisation_ids", element="attendees",
                   body_name=body.name)
    held_on = meeting.held_on.isoformat()
    label = meeting.title if held_on in meeting.title else f"{meeting.title}（{held_on}）"
    disclose(session, clock, actor, case.id, body.name, basis, reason=f"{label} の出席機関として検討資料を提供")


def window_days(session: Session, meeting: CouncilMeetingRecord) -> int:
    """How many days after the meeting its attending members keep reading the papers (a municipal setting)."""
    return session.get_one(MunicipalityRecord, meeting.municipality_id).council_window_days
