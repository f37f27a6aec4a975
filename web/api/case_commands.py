"""Commands on a case and its tasks, each through the same engine command as the pages, with its audit:
the consent ledger (read like the case page; a consent is recorded only by the process's consent task,
so the API, like the page, offers its withdrawal), adding a support action, and a supervisor assigning a
task (Camunda's POST /task/{id}/assignee)."""
from __future__ import annotations

from collections.abc import Callable

from apispec import APISpec
from flask import g, request
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from tsunagu.engine.access import permissions
from tsunagu.engine.casefile.tables import ConsentRecord
from tsunagu.engine.commands import events, handover, queries, supervision
from tsunagu.engine.errors import FieldError, FormInvalid, NotFound, TsunaguError

from ..context import clock
from ..extensions import db
from ..messages import HTTP_STATUS, error_message, field_message
from .base import bp, json_body, page_of, parsed, respond
from .case_schemas import ActionSchema, ConsentSchema
from .command_schemas import (
    AssigneeSchema,
    SupportActionInputSchema,
    WithdrawalSchema,
    wire_names,
)
from .errors import api_error, details_of
from .schemas import PagingSchema, TaskSchema
from .spec import json_content, operation, path_id

PAGING, CONSENTS, CONSENT = PagingSchema(), ConsentSchema(many=True), ConsentSchema()
WITHDRAWAL, ACTION_INPUT, ACTION = WithdrawalSchema(), SupportActionInputSchema(), ActionSchema()
ASSIGNEE, TASK = AssigneeSchema(), TaskSchema()
# The engine's field names of each command, as the request names them.
ACTION_FIELDS = wire_names(ACTION_INPUT)
HANDOVER_FIELDS = {"assignee": "userId", "reason": "reason"}


@bp.get("/cases/<int:case_id>/consents")
def case_consents(case_id: int) -> Response:
    """The case's consent ledger, oldest first, read like the case page (audited); a reader who sees only an
    action's packet is refused (403), as the page shows them no ledger."""
    paging = parsed(PAGING, request.args)
    case_file = queries.view_case(db.session, clock(), g.user, case_id, part="consents")
    permissions.require_case_file(g.user, case_file.case, clock()())
    return respond(CONSENTS, page_of(case_file.consents, paging))


@bp.post("/cases/<int:case_id>/consents/<int:consent_id>/withdraw")
def withdraw_case_consent(case_id: int, consent_id: int) -> Response:
    """Record that the person withdrew the consent (`{"confirmed": true}`): consent-based sharing stops now."""
    parsed(WITHDRAWAL, json_body())
    # The engine names a consent by its id alone: one of another case is refused as missing, not withdrawn.
    consent = db.session.get(ConsentRecord, consent_id)
    if consent is None or consent.case_id != case_id:
        raise NotFound("no such consent", element=str(consent_id))
    return respond(CONSENT, events.withdraw_consent(db.session, clock(), g.user, consent_id))


@bp.post("/cases/<int:case_id>/actions")
def add_case_action(case_id: int) -> Response:
    """Add a support action from the catalogue; its owner body is asked to accept it (201 with the action)."""
    values = parsed(ACTION_INPUT, json_body())
    try:
        action = events.add_support_action(db.session, clock(), g.user, case_id, values)
    except FormInvalid as invalid:
        return refused_fields(invalid, ACTION_FIELDS)
    return respond(ACTION, action, status=201)


@bp.post("/tasks/<int:task_id>/assignee")
def set_task_assignee(task_id: int) -> Response:
    """A supervisor gives an unassigned task of their team to a person who may work it, with a reason."""
    body = parsed(ASSIGNEE, json_body())
    try:
        task = handover.assign_task(db.session, clock(), g.user, task_id, body["user_id"], body["reason"])
    except FormInvalid as invalid:
        return refused_fields(invalid, HANDOVER_FIELDS, _handover_sentence)
    return respond(TASK, task)


def refused_fields(invalid: FormInvalid, names: dict[str, str],
                   sentence: Callable[[FieldError], str] = field_message) -> Response:
    """The engine's refusal of the command's input, each field named as the request names it."""
    return api_error(HTTP_STATUS.get(invalid.code, 422), invalid.code, error_message(invalid),
                     details_of(invalid, names, sentence))


def _handover_sentence(error: FieldError) -> str:
    if error.code == "not_eligible":
        return _("This person cannot work this task (it needs their role, and for a partner task their body).")
    if error.code == "same_assignee":
        return _("This person already has the task.")
    return field_message(error)


def refused_handover(error: TsunaguError) -> Response:
    """A hand-over refused for the supervisor's team or the task's state, worded as the supervision pages do."""
    db.session.rollback()
    messages = {
        "supervisor_only": _("Only supervisors can see the team's work and hand its tasks on."),
        "task_not_in_team": _("This task's case is not worked by your team."),
        "task_already_claimed": _("Someone has already taken this task: reassign it instead."),
    }
    status = 409 if error.code == "task_already_claimed" else 403
    return api_error(status, error.code, messages[error.code], details_of(error))


for _refused in (supervision.SupervisorOnly, handover.NotInTeam, handover.TaskAlreadyClaimed):
    bp.register_error_handler(_refused, refused_handover)


def describe(spec: APISpec) -> None:
    """The consent, support action and assignee routes in the OpenAPI document."""
    for name, schema in (("Withdrawal", WithdrawalSchema), ("SupportActionInput", SupportActionInputSchema),
                         ("Assignee", AssigneeSchema)):
        spec.components.schema(name, schema=schema)
    case_id, task_id = path_id("case_id"), path_id("task_id")
    spec.path(path="/cases/{case_id}/consents", operations={"get": operation(
        "A case's consent ledger, oldest first, paged (the read is audited)",
        json_content({"type": "array", "items": ConsentSchema}, "the consents of this page"),
        refusals=("401", "403", "404", "422"),
        parameters=[case_id, {"in": "query", "schema": PagingSchema}])})
    spec.path(path="/cases/{case_id}/consents/{consent_id}/withdraw", operations={"post": operation(
        "Record that the person withdrew a consent in force (a consent is recorded by the process's consent "
        "task)", json_content(ConsentSchema, "the withdrawn consent"), refusals=("401", "403", "404", "409", "422"),
        parameters=[case_id, path_id("consent_id")],
        requestBody={"required": True, "content": {"application/json": {"schema": "Withdrawal"}}})})
    spec.path(path="/cases/{case_id}/actions", operations={"post": operation(
        "Add a support action from the catalogue; its owner body is asked to accept it",
        json_content(ActionSchema, "the new action"), status="201", refusals=("401", "403", "404", "409", "422"),
        parameters=[case_id],
        requestBody={"required": True, "content": {"application/json": {"schema": "SupportActionInput"}}})})
    spec.path(path="/tasks/{task_id}/assignee", operations={"post": operation(
        "Assign an unassigned task of the supervisor's team to a person who may work it",
        json_content(TaskSchema, "the task"), refusals=("401", "403", "404", "409", "422"), parameters=[task_id],
        requestBody={"required": True, "content": {"application/json": {"schema": "Assignee"}}})})
