"""Everything held on one person, for a disclosure request (開示請求, privacy law Art. 76).

`compile` gathers every record of the request's person across all their cases and episodes: the person,
each case's summary, its form submissions (with the form's own field titles), assessments, consents,
support actions, the disclosures made of it, and its council items. Records are found through the
person's cases only (`cases.person_id`), so nothing of another person is ever read into the document.

What is held but not disclosed is listed in `withheld`, each with its ground. The rule, fixed so that
it can be explained to the requester and checked by anyone:

- Other individuals (privacy law Art. 78(1)(ii)). The form fields that exist to name another person are
  withheld: the referrer (`referrer`), the watcher (`watcher_name`), the consent's witness (`witness`), the
  council's key person (キーパーソン), and any field a form marks `"x-third-party": true`; so is who
  referred a case (a lay referrer's identity). The recipients of consents and disclosures are bodies
  (構成機関等), not individuals, and are disclosed.
- Deliberation of public bodies (Art. 78(1)(vi): information on deliberation, examination or consultation
  within or between public bodies whose disclosure would unduly harm the frank exchange of opinions; the
  council's members also owe secrecy under Act Art. 18). The minutes of a meeting the case was tabled at
  (which also record other persons' cases) and the supervisors' after-the-fact reviews of an emergency
  sharing (the review form and the review note) are withheld. What the caseworker tabled (the tabling
  form, of which the agenda item's note is a copy) and the council's decision on the person (situation,
  risk, plan, lead body, next review, actions) are what was put and decided about them, and are disclosed.
- Free text written by staff in the person's own forms is disclosed: it was written about this person for
  their case, and whether a passage names someone else cannot be told by a program. The supervisor reads
  the document before it is released and records a partial disclosure (`requests.decide(... 'partly', note)`)
  for anything further they withhold, e.g. under Art. 78(1)(i) (harm to the person's life or health).

Each case read for the document is audited as a read on the basis of the request (`case.viewed`, part
`subject_request`), and the compilation itself as `subject_request.compiled`.
"""
from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .. import audit
from ..casefile.tables import (
    AgendaItemRecord,
    AssessmentRecord,
    ConsentRecord,
    CouncilDecisionRecord,
    DisclosureRecord,
    OrganisationRecord,
    SupportActionRecord,
)
from ..clock import Clock
from ..db import transaction
from ..models import CaseRecord, FormSubmissionRecord, ProcessVersionRecord, UserRecord
from ..runtime.stored_versions import files_of
from .requests import acting_on

# The grounds (privacy law Art. 78(1)) and their fixed wording (translated by the pages).
THIRD_PARTY = "art78_1_ii"
DELIBERATION = "art78_1_vi"
THIRD_PARTY_REASON = ("Information about an individual other than the requester by which that individual can be "
                      "identified (privacy law Art. 78(1)(ii)).")
DELIBERATION_REASON = ("Deliberation or examination within or between public bodies whose disclosure would unduly "
                       "harm the frank exchange of opinions (privacy law Art. 78(1)(vi); council secrecy, Act Art. 18).")
MINUTES_REASON = ("The minutes record the council's deliberation and other persons' cases (privacy law "
                  "Art. 78(1)(ii) and (vi); council secrecy, Act Art. 18).")
REASONS = {THIRD_PARTY: THIRD_PARTY_REASON, DELIBERATION: DELIBERATION_REASON}

WHAT_FIELD = "A form answer naming another person"
WHAT_REFERRER = "Who referred the person"
WHAT_KEY_PERSON = "The key person named by the council"
WHAT_MINUTES = "Minutes of a council meeting"
# Not withheld: the agenda item's note copies the tabling form, which is disclosed (named for the pages' words).
WHAT_AGENDA_NOTE = "The coordinating body's note on the agenda item"
WHAT_REVIEW_FORM = "A supervisor's review of an emergency sharing"
WHAT_REVIEW_NOTE = "The review note on an emergency sharing"

THIRD_PARTY_KEY = "x-third-party"  # a form's mark on a field that names another individual
THIRD_PARTY_FIELDS = frozenset({"referrer", "watcher_name", "witness"})
REVIEW_FORMS = frozenset({"crisis-review-schema.json"})  # internal reviews: withheld whole
REFERRAL_FORM = "concern-schema.json"


@dataclass(frozen=True)
class Withheld:
    """Something held but not disclosed: `what` (a fixed phrase), `detail` (which one: a meeting, a field's
    title), and the exemption it falls under (`ground`, e.g. 'art78_1_ii', with its fixed `reason`)."""

    what: str
    reason: str
    ground: str
    detail: str | None = None
    case_reference: str | None = None


@dataclass(frozen=True)
class PersonPart:
    id: int
    name: str
    kana: str | None
    birth_year: int | None
    created_at: datetime


@dataclass(frozen=True)
class FieldPart:
    name: str
    title: str  # the form's own title of the field (the schema's, as the caseworker saw it)
    value: Any
    display: str | None = None  # the choices' titles for a choice field, else None (show `value`)


@dataclass(frozen=True)
class SubmissionPart:
    id: int
    form_id: str
    form_title: str
    task_name: str | None
    submitted_at: datetime
    fields: list[FieldPart]


@dataclass(frozen=True)
class AssessmentPart:
    id: int
    instrument: str
    instrument_version: str
    stage: str
    respondent: str
    answers: dict[str, Any]
    score: int | None
    recorded_at: datetime


@dataclass(frozen=True)
class ConsentPart:
    id: int
    decision: str  # given, refused
    purposes: list[str]
    recipients: list[str]  # the member bodies' names, then any recipient written in by hand
    method: str | None
    valid_from: date | None
    withdrawn_at: datetime | None
    recorded_at: datetime


@dataclass(frozen=True)
class ActionPart:
    id: int
    action_type: str  # the catalogue's name of the action
    owner_body: str
    status: str
    note: str | None
    due_at: datetime | None
    decline_reason: str | None
    first_contact_on: date | None
    outcome_note: str | None
    created_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class DisclosurePart:
    id: int
    recipient: str  # a body, never a person
    basis: str
    purpose: str | None
    statute: str | None
    reason: str | None
    recorded_at: datetime


@dataclass(frozen=True)
class CouncilPart:
    """The case's tabling at one meeting and, once made, the council's decision on it (the meeting's minutes
    are withheld: see the module's docstring)."""

    meeting_title: str
    held_on: date
    basis: str
    purpose: str  # tabling, review
    tabled_at: datetime
    situation: str | None = None
    risk: str | None = None
    plan: str | None = None
    lead_body: str | None = None
    next_review_on: date | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class CasePart:
    id: int
    reference: str | None
    episode: int
    title: str
    status: str
    channel: str | None
    risk: str | None
    opened_on: date | None
    created_at: datetime
    completed_at: datetime | None
    closure_reason: str | None
    suspended_at: datetime | None
    suspended_reason: str | None
    secrecy_wishes: str | None
    submissions: list[SubmissionPart] = field(default_factory=list)
    assessments: list[AssessmentPart] = field(default_factory=list)
    consents: list[ConsentPart] = field(default_factory=list)
    actions: list[ActionPart] = field(default_factory=list)
    disclosures: list[DisclosurePart] = field(default_factory=list)
    council_items: list[CouncilPart] = field(default_factory=list)


@dataclass(frozen=True)
class SubjectFile:
    request_id: int
    compiled_at: datetime
    compiled_by: str | None  # the supervisor's display name
    person: PersonPart
    cases: list[CasePart]  # every episode, oldest first
    withheld: list[Withheld]


def compile(session: Session, clock: Clock, actor: UserRecord, request_id: int) -> SubjectFile:  # noqa: A001
    """Everything held on the request's person, with what is withheld and why; every case read is audited."""
    with transaction(session):
        request, person = acting_on(session, actor, request_id)
        cases = list(session.scalars(select(CaseRecord).where(
            CaseRecord.person_id == person.id, CaseRecord.municipality_id == request.municipality_id)
            .order_by(CaseRecord.episode, CaseRecord.created_at, CaseRecord.id)))
        withheld: list[Withheld] = []
        reader = _Reader(session)
        parts = [reader.case_part(case, withheld) for case in cases]
        for case in cases:
            audit.record(session, clock, actor, "case.viewed", case_id=case.id, part="subject_request",
                         basis="subject_request", on=f"request:{request.id}")
        audit.record(session, clock, actor, "subject_request.compiled", request=request.id, person=person.id,
                     cases=[c.id for c in cases], withheld=len(withheld))
        return SubjectFile(
            request_id=request.id, compiled_at=clock(), compiled_by=actor.display_name,
            person=PersonPart(person.id, person.name, person.kana, person.birth_year, person.created_at),
            cases=parts, withheld=withheld)


def as_json(file: SubjectFile) -> dict[str, Any]:
    """The document as JSON-ready data: dates and times in ISO 8601, enums by their value."""
    plain: dict[str, Any] = _plain(dataclasses.asdict(file))
    return plain


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def submission_schema(session: Session, case: CaseRecord, submission: FormSubmissionRecord) -> dict[str, Any]:
    """The schema a submission was made with: its form in the process version it was submitted on (the case
    may have moved to a newer version since), else in the case's version; `{}` when neither has it."""
    version = case.process_version
    if submission.form_version != version.content_hash:
        found = session.scalar(select(ProcessVersionRecord).where(
            ProcessVersionRecord.content_hash == submission.form_version,
            ProcessVersionRecord.process_id == version.process_id,
            or_(ProcessVersionRecord.municipality_id.is_(None),
                ProcessVersionRecord.municipality_id == case.municipality_id))
            .order_by(ProcessVersionRecord.id.desc()).limit(1))
        if found is not None and submission.form_id in files_of(found):
            version = found
    text = files_of(version).get(submission.form_id)
    if text is None:
        return {}
    schema: dict[str, Any] = json.loads(text)
    return schema


def choice_display(prop: dict[str, Any], value: Any) -> str | None:
    """The titles of the chosen options of a choice field (a list joined with '、'), else None."""
    options = prop.get("oneOf") or (prop.get("items") or {}).get("oneOf")
    if not isinstance(options, list):
        return None
    titles = {json.dumps(o.get("const")): o.get("title") for o in options if isinstance(o, dict) and "const" in o}
    chosen = value if isinstance(value, list) else [value]
    shown = [str(titles.get(json.dumps(v)) or v) for v in chosen if v is not None]
    return "、".join(shown) if shown else None


def names_another_person(name: str, prop: dict[str, Any]) -> bool:
    """Whether a form field exists to name an individual other than the person (withheld, Art. 78(1)(ii))."""
    return name in THIRD_PARTY_FIELDS or prop.get(THIRD_PARTY_KEY) is True


class _Reader:
    """Reads one person's cases for the document; body names and schemas are looked up once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.bodies: dict[int, str] = {}

    def body(self, body_id: int | None) -> str:
        if body_id is None:
            return ""
        if body_id not in self.bodies:
            found = self.session.get(OrganisationRecord, body_id)
            self.bodies[body_id] = found.name if found is not None else str(body_id)
        return self.bodies[body_id]

    def rows(self, model: Any, case_id: int, order: Any) -> list[Any]:
        return list(self.session.scalars(select(model).where(model.case_id == case_id).order_by(order, model.id)))

    def case_part(self, case: CaseRecord, withheld: list[Withheld]) -> CasePart:
        ref = case.reference
        return CasePart(
            id=case.id, reference=ref, episode=case.episode, title=case.title, status=case.status.value,
            channel=case.channel, risk=case.risk, opened_on=case.opened_on, created_at=case.created_at,
            completed_at=case.completed_at, closure_reason=case.closure_reason, suspended_at=case.suspended_at,
            suspended_reason=case.suspended_reason, secrecy_wishes=case.secrecy_wishes,
            submissions=self.submissions(case, withheld),
            assessments=[AssessmentPart(a.id, a.instrument, a.instrument_version, a.stage, a.respondent,
                                        dict(a.answers), a.score, a.recorded_at)
                         for a in self.rows(AssessmentRecord, case.id, AssessmentRecord.recorded_at)],
            consents=[ConsentPart(c.id, c.decision, list(c.purposes or []),
                                  [self.body(b) for b in c.recipient_body_ids or []]
                                  + ([c.recipient_bodies] if c.recipient_bodies else []),
                                  c.method, c.valid_from, c.withdrawn_at, c.recorded_at)
                      for c in self.rows(ConsentRecord, case.id, ConsentRecord.recorded_at)],
            actions=[ActionPart(a.id, a.action_type.name, a.owner_body.name, a.status.value, a.note, a.due_at,
                                a.decline_reason, a.first_contact_on, a.outcome_note, a.created_at, a.closed_at)
                     for a in self.rows(SupportActionRecord, case.id, SupportActionRecord.created_at)],
            disclosures=self.disclosures(case, withheld),
            council_items=self.council_items(case, withheld),
        )

    def submissions(self, case: CaseRecord, withheld: list[Withheld]) -> list[SubmissionPart]:
        parts = []
        for submission in self.rows(FormSubmissionRecord, case.id, FormSubmissionRecord.submitted_at):
            schema = submission_schema(self.session, case, submission)
            title = str(schema.get("title") or submission.form_id)
            when = f"{title} ({submission.submitted_at.date().isoformat()})"
            if submission.form_id in REVIEW_FORMS:
                withheld.append(Withheld(WHAT_REVIEW_FORM, DELIBERATION_REASON, DELIBERATION, when, case.reference))
                continue
            if submission.task_id is None and submission.form_id == REFERRAL_FORM:
                withheld.append(Withheld(WHAT_REFERRER, THIRD_PARTY_REASON, THIRD_PARTY, when, case.reference))
            props: dict[str, Any] = schema.get("properties") or {}
            names = [n for n in props if n in submission.data] + [n for n in submission.data if n not in props]
            fields = []
            for name in names:
                found = props.get(name)
                prop: dict[str, Any] = found if isinstance(found, dict) else {}
                field_title = str(prop.get("title") or name)
                if names_another_person(name, prop):
                    if submission.data[name] not in (None, "", []):
                        withheld.append(Withheld(WHAT_FIELD, THIRD_PARTY_REASON, THIRD_PARTY,
                                                 f"{title}: {field_title}", case.reference))
                    continue
                value = submission.data[name]
                fields.append(FieldPart(name, field_title, value, choice_display(prop, value)))
            parts.append(SubmissionPart(submission.id, submission.form_id, title,
                                        submission.task.name if submission.task_id else None,
                                        submission.submitted_at, fields))
        return parts

    def disclosures(self, case: CaseRecord, withheld: list[Withheld]) -> list[DisclosurePart]:
        parts = []
        for d in self.rows(DisclosureRecord, case.id, DisclosureRecord.recorded_at):
            parts.append(DisclosurePart(d.id, d.recipient, d.basis, d.purpose, d.statute, d.reason, d.recorded_at))
            if d.review_note:
                withheld.append(Withheld(WHAT_REVIEW_NOTE, DELIBERATION_REASON, DELIBERATION,
                                         f"{d.recipient} ({d.recorded_at.date().isoformat()})", case.reference))
        return parts

    def council_items(self, case: CaseRecord, withheld: list[Withheld]) -> list[CouncilPart]:
        decisions = {d.id: d for d in self.rows(CouncilDecisionRecord, case.id, CouncilDecisionRecord.recorded_at)}
        parts = []
        for item in self.rows(AgendaItemRecord, case.id, AgendaItemRecord.tabled_at):
            meeting = item.meeting
            where = f"{meeting.title} ({meeting.held_on.isoformat()})"
            decision = decisions.get(item.decision_id) if item.decision_id else None
            if meeting.minutes:
                withheld.append(Withheld(WHAT_MINUTES, MINUTES_REASON, DELIBERATION, where, case.reference))
            if decision is not None and decision.key_person:
                withheld.append(Withheld(WHAT_KEY_PERSON, THIRD_PARTY_REASON, THIRD_PARTY, where, case.reference))
            parts.append(CouncilPart(
                meeting_title=meeting.title, held_on=meeting.held_on, basis=item.basis, purpose=item.purpose,
                tabled_at=item.tabled_at,
                situation=decision.situation if decision else None, risk=decision.risk if decision else None,
                plan=decision.plan if decision else None,
                lead_body=decision.lead_body.name if decision else None,
                next_review_on=decision.next_review_on if decision else None,
                decided_at=decision.recorded_at if decision else None))
        return parts
