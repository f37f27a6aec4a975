"""Commands that reach a running case from outside its tasks: messages, timers, reopening."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from .. import audit
from ..access import permissions
from ..casefile.records import member_body
from ..casefile.sharing import INFORMATION_SHARING, decide, disclose
from ..casefile.tables import (
    ActionStatus,
    ActionTypeRecord,
    ConsentRecord,
    SupportActionRecord,
)
from ..clock import DEFAULT_ZONE, Clock
from ..db import reserve_id, transaction
from ..errors import FieldError, FormInvalid, InvalidState, NotFound
from ..models import MAX_ID, CaseRecord, CaseStatus, ProcessVersionRecord, UserRecord
from ..runtime.forms import today_in_japan
from ..runtime.stored_versions import spec_of
from ..runtime.workflow import deliver_message, fire_timers, load_state
from .cases import advance, load_case_for_update, record_step, run_step, start_case
from .versions import live_version

ZONE = ZoneInfo(DEFAULT_ZONE)


def end_of_day(day: date) -> datetime:
    """A due date means the end of that day in Japan."""
    return datetime.combine(day, time(23, 59), ZONE)


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(9, 0), ZONE)


class ActionInput(Schema):
    action_type_id = fields.Integer(required=True)
    owner_body_id = fields.Integer(load_default=None)
    due_on = fields.Date(load_default=None)
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


def parse(schema: Schema, data: dict[str, Any], element: str | None = None) -> dict[str, Any]:
    """Load command input with marshmallow; errors become field errors with stable codes and limits."""
    try:
        loaded: dict[str, Any] = schema.load(data)
        return loaded
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise FormInvalid(_field_errors(schema, data, messages), element=element) from exc


def _field_errors(schema: Schema, data: object, messages: dict[Any, Any], prefix: str = "") -> list[FieldError]:
    """Name each failing field with the JSON-Schema-style code the web layer words (as for forms)."""
    errors = []
    data = data if isinstance(data, dict) else {}
    for name, problem in messages.items():
        definition = schema.fields.get(name)
        value = data.get(name)
        path = f"{prefix}{name}"
        if isinstance(problem, dict) and isinstance(definition, fields.List):
            items = value if isinstance(value, list) else []
            nested = definition.inner.schema  # type: ignore[attr-defined]  # a List of Nested
            for index, item_problem in problem.items():
                item = items[index] if isinstance(index, int) and index < len(items) else {}
                errors.extend(_field_errors(nested, item, item_problem, f"{path}.{index}."))
            continue
        errors.append(FieldError(path, *_code_for(definition, value)))
    return errors


def _code_for(definition: fields.Field[Any] | None, value: object) -> tuple[str, dict[str, Any]]:
    if value is None or value == "":
        return "required", {}
    if isinstance(definition, fields.Date):
        return "format", {"format": "date"}
    if isinstance(definition, fields.Integer):
        return "type", {"type": "integer"}
    for rule in getattr(definition, "validators", []):
        if isinstance(rule, validate.OneOf):
            return "enum", {}
        if isinstance(rule, validate.Length) and isinstance(value, str):
            if rule.max is not None and len(value) > rule.max:
                return "maxLength", {"limit": rule.max}
            if rule.min is not None and len(value) < rule.min:
                return ("required", {}) if rule.min == 1 else ("minLength", {"limit": rule.min})
    return "type", {}


def create_action(session: Session, clock: Clock, actor: UserRecord, case: CaseRecord, values: dict[str, Any],
                  decision_id: int | None = None) -> SupportActionRecord:
    """Add a support action row from the catalogue; the caller delivers `support_action_added`."""
    today = today_in_japan(clock())
    if values.get("due_on") is not None and values["due_on"] < today:  # a due date in the past is a slip
        raise FormInvalid([FieldError("due_on", "x_not_before", {"limit": today.isoformat()})])
    kind = session.get(ActionTypeRecord, values["action_type_id"])
    if kind is None or kind.municipality_id != case.municipality_id or not kind.active:
        raise FormInvalid([FieldError("action_type_id", "enum")])
    body = member_body(session, case.municipality_id, values.get("owner_body_id") or kind.default_owner_body_id,
                       "owner_body_id", "support_action")
    now = clock()
    basis = decide(session, case, body.id, INFORMATION_SHARING, now, field="owner_body_id", element="support_action",
                   body_name=body.name)
    due = end_of_day(values["due_on"]) if values.get("due_on") else now + timedelta(days=kind.service_days)
    action = SupportActionRecord(id=reserve_id(session, SupportActionRecord), case_id=case.id, action_type_id=kind.id, owner_body_id=body.id,
                                 decision_id=decision_id, status=ActionStatus.PROPOSED, note=values.get("note"),
                                 due_at=due, created_by_id=actor.id, created_at=now)
    session.add(action)
    disclose(session, clock, actor, case.id, body.name, basis, action_id=action.id, reason=kind.name)
    audit.record(session, clock, actor, "action.added", case_id=case.id, action_id=action.id, type=kind.code,
                 body=body.id)
    return action


def action_message(action: SupportActionRecord) -> dict[str, Any]:
    return {"action_id": action.id, "action_owner_body_id": action.owner_body_id,
            "action_due_at": action.due_at.isoformat() if action.due_at else None}


def add_support_action(session: Session, clock: Clock, actor: UserRecord, case_id: int,
                       data: dict[str, Any]) -> SupportActionRecord:
    """Add an action from the catalogue to a running case at any time; its owner body is asked to accept."""
    values = parse(ActionInput(), data, "support_action")
    with transaction(session):
        with session.no_autoflush:  # the action waits, with a reserved id, until the step has run
            case, workflow = load_case_for_update(session, clock, actor, case_id, permissions.require_case_coordination)
            action = create_action(session, clock, actor, case, values)
            failure = run_step(clock, workflow,
                               lambda: deliver_message(workflow, "support_action_added", action_message(action)))
        record_step(session, clock, actor, case, workflow, failure)
    return action


def withdraw_consent(session: Session, clock: Clock, actor: UserRecord, consent_id: int) -> ConsentRecord:
    """Record that the person withdrew a consent: consent-based sharing stops now.

    A closed case's consent can be withdrawn too (its bodies may still hold its data): the ledger and
    the audit record it, and no process runs any more to be told.
    """
    with transaction(session):
        consent = session.get(ConsentRecord, consent_id) if 0 < consent_id <= MAX_ID else None
        if consent is None:
            raise NotFound("no such consent", element=str(consent_id))
        case = session.get_one(CaseRecord, consent.case_id)
        if case.status == CaseStatus.COMPLETED:
            # Access first: whether a consent is in force is itself something only case staff may learn.
            permissions.require_case_coordination(actor, case, clock())
            _require_in_force(consent)
            consent.withdrawn_at = clock()
            audit.record(session, clock, actor, "consent.withdrawn", case_id=case.id, consent=consent.id,
                         case_closed=True)
            return consent
        case, workflow = load_case_for_update(session, clock, actor, consent.case_id, permissions.require_case_coordination)
        _require_in_force(consent)
        failure = run_step(clock, workflow,
                           lambda: deliver_message(workflow, "consent_withdrawn", {"consent_id": consent.id}))
        consent.withdrawn_at = clock()
        audit.record(session, clock, actor, "consent.withdrawn", case_id=case.id, consent=consent.id)
        record_step(session, clock, actor, case, workflow, failure)
    return consent


def _require_in_force(consent: ConsentRecord) -> None:
    if consent.decision != "given" or consent.withdrawn_at is not None:
        raise InvalidState("this consent is not in force", element=str(consent.id))


def request_review(session: Session, clock: Clock, actor: UserRecord, case_id: int) -> CaseRecord:
    """Bring the next follow-up review forward to now."""
    with transaction(session):
        case, workflow = load_case_for_update(session, clock, actor, case_id, permissions.require_case_coordination)
        failure = run_step(clock, workflow,
                           lambda: deliver_message(workflow, "review_requested", {"requested_by": actor.id}))
        audit.record(session, clock, actor, "review.requested", case_id=case.id)
        record_step(session, clock, actor, case, workflow, failure)
    return case


def deliver_case_timers(session: Session, clock: Clock, case_id: int) -> CaseRecord:
    """Fire the case's timers that are due on `clock` (the scheduler's command)."""
    with transaction(session):
        case = session.get(CaseRecord, case_id, options=[undefer(CaseRecord.workflow_state)])
        if case is None:
            raise NotFound("no such case", element=str(case_id))
        if case.status in (CaseStatus.ERROR, CaseStatus.COMPLETED, CaseStatus.SUSPENDED):
            return case
        workflow = load_state(spec_of(case.process_version), case.workflow_state)
        advance(session, clock, None, case, workflow, lambda: fire_timers(workflow))
    return case


def reopen_case(session: Session, clock: Clock, actor: UserRecord, case_id: int,
                version: ProcessVersionRecord | None = None) -> CaseRecord:
    """Open a new episode for the person of a closed case, on its municipality's live version of its process."""
    previous = session.get(CaseRecord, case_id)
    if previous is None:
        raise NotFound("no such case", element=str(case_id))
    # Not under break-glass: the new episode makes its opener case staff, which an emergency read must not.
    permissions.require_case_action(actor, previous, clock())
    if previous.status != CaseStatus.COMPLETED:
        raise InvalidState("only a closed case can be reopened", element=previous.reference)
    latest = previous.episode
    if previous.person_id is not None:
        latest = session.scalar(select(CaseRecord.episode).where(CaseRecord.person_id == previous.person_id)
                                .order_by(CaseRecord.episode.desc()).limit(1)) or latest
    episode = latest + 1
    version = version or live_version(session, previous.municipality_id, previous.process_version.process_id)
    return start_case(session, clock, actor, version, previous.title, person_id=previous.person_id,
                      episode=episode, previous_case_id=previous.id)
