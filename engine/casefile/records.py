"""Case-file writers: a user task's `record` property names one; it stores the submitted form in
domain tables and returns the few values the process flow needs (ids, flags, scores)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit
from ..clock import Clock
from ..db import reserve_id
from ..errors import FieldError, FormInvalid, InvalidState
from ..models import CaseRecord, ProcessVersionRecord, TaskRecord, UserRecord
from ..runtime.forms import today_in_japan
from .governance import council_of
from .names import search_key
from .sharing import (
    COUNCIL,
    INFORMATION_SHARING,
    Basis,
    SharingRefused,
    consent_for,
    consent_recorded_after,
    decide,
    disclose,
)
from .tables import (
    CLOSED_ACTION_STATUSES,
    ActionStatus,
    AgendaItemRecord,
    AssessmentRecord,
    ConsentRecord,
    CouncilMeetingRecord,
    OrganisationKind,
    OrganisationRecord,
    PersonRecord,
    SupportActionRecord,
)


@dataclass
class RecordContext:
    session: Session
    clock: Clock
    actor: UserRecord
    case: CaseRecord
    task: TaskRecord
    version: ProcessVersionRecord


Data = dict[str, Any]
Writer = Callable[[RecordContext, Data], Data]
WRITERS: dict[str, Writer] = {}


def writer(name: str) -> Callable[[Writer], Writer]:
    def register(fn: Writer) -> Writer:
        WRITERS[name] = fn
        return fn
    return register


def write_record(ctx: RecordContext, name: str, data: Data) -> Data:
    """Run the named writer; an unknown name is a definition error the loader should have caught."""
    if name not in WRITERS:
        raise InvalidState(f"unknown record writer '{name}'", element=ctx.task.element_id)
    return WRITERS[name](ctx, data)


def member_body(session: Session, municipality_id: int, body_id: object, field: str, element: str) -> OrganisationRecord:
    """An active member body of the municipality (a retired one takes no new work), or a field error naming `field`."""
    body = session.get(OrganisationRecord, body_id) if isinstance(body_id, int) else None
    if body is None or body.municipality_id != municipality_id or body.kind != OrganisationKind.MEMBER_BODY \
            or not body.active:
        raise FormInvalid([FieldError(field, "enum")], element=element)
    return body


def _flags(data: Data) -> list[str]:
    return list(data.get("special_care") or [])


# Intake form fields that identify the person (当事者), and the person columns they fill.
PERSON_FIELDS = {"person_name": "name", "person_kana": "kana", "birth_year": "birth_year"}


def person_answers(person: PersonRecord) -> Data:
    """The intake answers a known person's new episode starts from."""
    return {name: getattr(person, column) for name, column in PERSON_FIELDS.items()
            if getattr(person, column) not in (None, "")}


@writer("intake")
def record_intake(ctx: RecordContext, data: Data) -> Data:
    case = ctx.case
    if case.person_id is None:
        person = PersonRecord(id=reserve_id(ctx.session, PersonRecord), municipality_id=case.municipality_id,
                              created_at=ctx.clock(),
                              **{column: data.get(name) for name, column in PERSON_FIELDS.items()})
        person.name = person.name or ""
        person.name_key, person.kana_key = search_key(person.name), search_key(person.kana)
        ctx.session.add(person)
        case.person_id = person.id
    flags = _flags(data)
    case.channel = str(data["channel"])[:16] if data.get("channel") else None
    case.opened_on = _date(data.get("consultation_date")) or today_in_japan(ctx.clock())
    return {
        "person_id": case.person_id,
        "special_care": flags,
        "suicidal_thoughts": bool(data.get("suicidal_thoughts")) or "suicidal_thoughts" in flags,
        "immediate_danger": bool(data.get("immediate_danger")),
        "existing_scheme": data.get("existing_scheme", "none"),
    }


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


# Instruments and their versions: the national survey's wording (内閣府 孤独・孤立の実態把握に関する全国調査).
DIRECT = ("direct_loneliness_jp", "2021")
UCLA3 = ("ucla3_jp", "2021")
ISOLATION = ("isolation_indicators", "2021")
UCLA_ITEMS = ("ucla_1", "ucla_2", "ucla_3")
ISOLATION_ITEMS = ("contact_frequency", "participation", "support_received", "helps_others")


def isolation_count(answers: Data) -> int:
    """How many of the four objective isolation indicators are present (0-4)."""
    return sum((
        answers.get("contact_frequency") in ("monthly", "rarely"),
        answers.get("participation") in (False, "no"),
        answers.get("support_received") in (False, "no"),
        answers.get("helps_others") in (False, "no"),
    ))


@writer("assessment")
def record_assessment(ctx: RecordContext, data: Data) -> Data:
    session, case = ctx.session, ctx.case
    earlier = session.scalar(select(AssessmentRecord.id).where(AssessmentRecord.case_id == case.id).limit(1))
    stage = "review" if earlier else "baseline"
    ucla = {k: data[k] for k in UCLA_ITEMS if k in data}
    isolation = {k: data[k] for k in ISOLATION_ITEMS if k in data}
    rows = [
        (DIRECT, {"loneliness_direct": data.get("loneliness_direct")}, data.get("loneliness_direct")),
        (UCLA3, ucla, sum(ucla.values()) if len(ucla) == len(UCLA_ITEMS) else None),
        (ISOLATION, isolation, isolation_count(isolation) if isolation else None),
    ]
    for (instrument, version), answers, score in rows:
        session.add(AssessmentRecord(case_id=case.id, person_id=case.person_id, task_id=ctx.task.id,
                                     instrument=instrument, instrument_version=version, stage=stage,
                                     respondent=data.get("respondent", "self"),
                                     answers=answers, score=score, recorded_by_id=ctx.actor.id,
                                     recorded_at=ctx.clock()))
    return {"loneliness_direct": rows[0][2], "ucla_total": rows[1][2], "isolation_count": rows[2][2]}


@writer("crisis")
def record_crisis(ctx: RecordContext, data: Data) -> Data:
    recipient = data.get("bodies_informed") or data.get("shared_with")
    if recipient:
        disclose(ctx.session, ctx.clock, ctx.actor, ctx.case.id, recipient, "life_protection",
                 reason=data.get("life_protection_reason"))
    return {"crisis_recorded": True}


def _consent(ctx: RecordContext, data: Data) -> Data:
    decision = data.get("consent_decision", data.get("decision"))
    consent = ConsentRecord(id=reserve_id(ctx.session, ConsentRecord), case_id=ctx.case.id,
                            person_id=ctx.case.person_id, decision=decision,
                            purposes=list(data.get("purposes") or []), recipient_bodies=data.get("recipient_bodies"),
                            recipient_body_ids=[member_body(ctx.session, ctx.case.municipality_id, body_id,
                                                            "recipient_body_ids", ctx.task.element_id).id
                                                for body_id in data.get("recipient_body_ids") or []],
                            method=data.get("method"), witness=data.get("witness"),
                            form_version=ctx.version.content_hash,
                            valid_from=date.fromisoformat(data["consent_date"]) if data.get("consent_date") else None,
                            recorded_by_id=ctx.actor.id, recorded_at=ctx.clock())
    ctx.session.add(consent)
    return {"consent_status": "given" if decision == "given" else "refused", "consent_id": consent.id}


writer("consent")(_consent)
writer("consent_renewal")(_consent)


TABLING_NOTES = (("issues", "検討事項"), ("wishes_summary", "本人の意向"), ("members_needed", "参加が必要な構成機関等"))


@writer("tabling")
def record_tabling(ctx: RecordContext, data: Data) -> Data:
    session, case = ctx.session, ctx.case
    basis = data.get("basis", "council_art16")
    consent_id = _council_consent(ctx) if basis == "consent" else None
    held_on = date.fromisoformat(data["meeting_date"])
    meeting = session.scalar(select(CouncilMeetingRecord).where(
        CouncilMeetingRecord.municipality_id == case.municipality_id, CouncilMeetingRecord.held_on == held_on))
    if meeting is None:
        meeting = CouncilMeetingRecord(id=reserve_id(session, CouncilMeetingRecord),
                                       municipality_id=case.municipality_id, held_on=held_on,
                                       title=f"個別ケース検討会議 {held_on.isoformat()}", created_at=ctx.clock())
        council = council_of(session, case.municipality_id)
        meeting.council_id = council.id if council is not None else None
        session.add(meeting)
    elif session.scalar(select(AgendaItemRecord.id).where(
            AgendaItemRecord.meeting_id == meeting.id, AgendaItemRecord.case_id == case.id)) is not None:
        raise FormInvalid([FieldError("meeting_date", "already_tabled")], element=ctx.task.element_id)
    note = "\n".join(f"{label}: {data[key]}" for key, label in TABLING_NOTES if data.get(key))
    session.add(AgendaItemRecord(meeting_id=meeting.id, case_id=case.id, basis=basis, note=note or None,
                                 tabled_at=ctx.clock()))
    disclose(session, ctx.clock, ctx.actor, case.id, meeting.title, "consent" if consent_id else "council",
             consent_id=consent_id, purpose=COUNCIL)
    audit.record(session, ctx.clock, ctx.actor, "case.tabled", case_id=case.id, meeting=meeting.id, basis=basis)
    return {"meeting_id": meeting.id, "council_basis": basis}


def _council_consent(ctx: RecordContext) -> int:
    """The consent in force (since any switch to the council's secrecy) that lists tabling at the council."""
    consents = [c for c in ctx.session.scalars(select(ConsentRecord).where(
        ConsentRecord.case_id == ctx.case.id, ConsentRecord.decision == "given",
        ConsentRecord.withdrawn_at.is_(None)).order_by(ConsentRecord.id.desc()))
        if ctx.case.secrecy_since is None or consent_recorded_after(c, ctx.case.secrecy_since)]
    if not consents:
        raise FormInvalid([FieldError("basis", "consent_not_in_force")], element=ctx.task.element_id)
    for consent in consents:
        if COUNCIL in (consent.purposes or []):
            return consent.id
    raise SharingRefused("consent_lacks_purpose", "basis", element=ctx.task.element_id, purpose=COUNCIL)


def current_consent_id(session: Session, case_id: int) -> int | None:
    """The newest consent given on a case and not withdrawn."""
    return session.scalar(select(ConsentRecord.id).where(
        ConsentRecord.case_id == case_id, ConsentRecord.decision == "given", ConsentRecord.withdrawn_at.is_(None)
    ).order_by(ConsentRecord.id.desc()).limit(1))


def _action(ctx: RecordContext) -> SupportActionRecord:
    action = ctx.session.get(SupportActionRecord, ctx.task.subject_id) if ctx.task.subject_id else None
    if action is None or action.case_id != ctx.case.id:
        raise InvalidState("this task is not about a support action of the case", element=ctx.task.element_id)
    return action


@writer("action_response")
def record_action_response(ctx: RecordContext, data: Data) -> Data:
    action = _action(ctx)
    accepted = data.get("response") == "accept"
    action.status = ActionStatus.ACCEPTED if accepted else ActionStatus.DECLINED
    action.decline_reason = None if accepted else data.get("decline_reason")
    return {"action_accepted": accepted}


@writer("action_reassign")
def record_action_reassign(ctx: RecordContext, data: Data) -> Data:
    action = _action(ctx)
    body = member_body(ctx.session, ctx.case.municipality_id, data.get("owner_body_id"), "owner_body_id",
                       ctx.task.element_id)
    basis = decide(ctx.session, ctx.case, body.id, INFORMATION_SHARING, ctx.clock(), field="owner_body_id",
                   element=ctx.task.element_id, body_name=body.name)
    action.owner_body_id, action.status = body.id, ActionStatus.PROPOSED
    disclose(ctx.session, ctx.clock, ctx.actor, ctx.case.id, body.name, basis, action_id=action.id,
             reason=action.action_type.name)
    return {"action_owner_body_id": body.id}


@writer("action_contact")
def record_action_contact(ctx: RecordContext, data: Data) -> Data:
    action = _action(ctx)
    action.status = ActionStatus.IN_CONTACT
    action.first_contact_on = date.fromisoformat(data["contacted_on"]) if data.get("contacted_on") else None
    return {}


@writer("action_outcome")
def record_action_outcome(ctx: RecordContext, data: Data) -> Data:
    action = _action(ctx)
    delivered = data.get("outcome") == "delivered"
    action.status = ActionStatus.DELIVERED if delivered else ActionStatus.NOT_DELIVERED
    action.outcome_note, action.closed_at = data.get("outcome_note"), ctx.clock()
    return {"action_delivered": delivered}


def close_open_actions(session: Session, clock: Clock, case_id: int) -> None:
    """A closed case ends its unfinished actions, and with them their owner bodies' access."""
    for action in session.scalars(select(SupportActionRecord).where(
            SupportActionRecord.case_id == case_id, SupportActionRecord.status.not_in(CLOSED_ACTION_STATUSES))):
        action.status, action.closed_at = ActionStatus.NOT_DELIVERED, clock()
        action.outcome_note = action.outcome_note or "ケースの終結により終了"


@writer("review")
def record_review(ctx: RecordContext, data: Data) -> Data:
    return {"review_decision": data.get("review_decision", "continue")}


@writer("referral_out")
def record_referral_out(ctx: RecordContext, data: Data) -> Data:
    """Handing over to another scheme's body: on a consent listing information sharing, or a named statute."""
    choice, receiving = data.get("referral_basis"), data.get("receiving_body")
    if choice == "no_sharing" or not receiving:
        return {}
    element = ctx.task.element_id
    if choice == "other_statute":
        basis = decide(ctx.session, ctx.case, None, INFORMATION_SHARING, ctx.clock(), explicit="statute",
                       statute=data.get("referral_statute"), field="referral_statute", element=element,
                       body_name=receiving)
    else:
        consent = consent_for(ctx.session, ctx.case, INFORMATION_SHARING)
        if consent is None:
            raise SharingRefused("referral_needs_consent_or_statute", "referral_basis", element=element,
                                 body=receiving, purpose=INFORMATION_SHARING)
        basis = Basis("consent", INFORMATION_SHARING, consent_id=consent.id)
    disclose(ctx.session, ctx.clock, ctx.actor, ctx.case.id, receiving, basis, reason=data.get("scheme"))
    return {}


@writer("watch_arrangement")
def record_watch_arrangement(ctx: RecordContext, data: Data) -> Data:
    """見守り: the watcher learns of the person, so the arrangement is a sharing with its own basis."""
    element = ctx.task.element_id
    body_id = data.get("watcher_body_id")
    body = member_body(ctx.session, ctx.case.municipality_id, body_id, "watcher_body_id", element) \
        if body_id is not None else None
    recipient = f"{body.name}（{data.get('watcher_name')}）" if body is not None else str(data.get("watcher_name"))
    explicit = "life_protection" if data.get("watch_sharing_basis") == "life_protection" else None
    basis = decide(ctx.session, ctx.case, body.id if body is not None else None, INFORMATION_SHARING, ctx.clock(),
                   explicit=explicit, reason=data.get("watch_basis_reason"),
                   field="watch_basis_reason" if explicit else "watch_sharing_basis", element=element,
                   body_name=recipient)
    disclose(ctx.session, ctx.clock, ctx.actor, ctx.case.id, recipient, basis)
    return {"watch_basis": basis.basis}


@writer("withdrawal")
def record_withdrawal(ctx: RecordContext, data: Data) -> Data:
    """After a withdrawal, the choice to go on under the council's secrecy switches the case to Art. 16."""
    secrecy = data.get("withdrawal_table_under_secrecy") == "yes"
    if secrecy:
        ctx.case.secrecy_since = ctx.clock()
        ctx.case.secrecy_wishes = data.get("withdrawal_note")
        audit.record(ctx.session, ctx.clock, ctx.actor, "case.secrecy_basis", case_id=ctx.case.id)
    return {"table_under_secrecy": secrecy}


@writer("closure")
def record_closure(ctx: RecordContext, data: Data) -> Data:
    ctx.case.closure_reason = data.get("closure_reason")
    return {"closure_reason": ctx.case.closure_reason}
