"""Process definitions, as Camunda 7's REST API names them: the live versions a municipality starts cases
on, and starting a case of a process by its key (the first task is then waiting, as after the page's
"new consultation")."""
from __future__ import annotations

from apispec import APISpec
from flask import g
from marshmallow import Schema, fields, validate
from werkzeug.wrappers import Response

from tsunagu.engine.access import permissions
from tsunagu.engine.commands import cases, opening, persons
from tsunagu.engine.errors import NotFound
from tsunagu.processes.registry import startable_versions

from ..context import clock
from ..extensions import db
from .base import bp, json_body, parsed, respond
from .schemas import MAX_ID
from .spec import json_content, operation
from .tasks import after_step


class ProcessDefinitionSchema(Schema):
    """A process's live version: the one new cases start on."""

    id = fields.Int(required=True, metadata={"description": "the version's id"})
    key = fields.Str(attribute="process_id", required=True, metadata={"description": "the BPMN process id"})
    name = fields.Str(required=True)
    version = fields.Int(attribute="version_number", required=True)
    scope = fields.Function(lambda v: "municipal" if v.municipality_id is not None else "template")
    deployed = fields.AwareDateTime(attribute="deployed_at")


class StartSchema(Schema):
    """POST .../start: the case's title, the person's record for a returning person's next episode, and the
    first task's form, which completes that task in the same command."""

    title = fields.Str(load_default="", validate=validate.Length(max=300))
    person_id = fields.Int(data_key="personId", validate=validate.Range(min=1, max=MAX_ID))
    form = fields.Dict(keys=fields.Str(), metadata={
        "description": "the first task's form (its JSON Schema: GET /tasks/{id} of a case started without it); "
                       "the case opens only if the form is valid, with that task completed"})


DEFINITIONS, START = ProcessDefinitionSchema(many=True), StartSchema()


@bp.get("/process-definitions")
def list_definitions() -> Response:
    """The live version of every process the token's municipality may use."""
    return respond(DEFINITIONS, startable_versions(db.session, g.user.municipality_id))


@bp.post("/process-definitions/key/<key>/start")
def start(key: str) -> Response:
    """Open a case on the process's live version and run it to its first task (one audited command)."""
    body = parsed(START, json_body())
    permissions.require_case_start(g.user)
    version = next((v for v in startable_versions(db.session, g.user.municipality_id) if v.process_id == key), None)
    if version is None:
        raise NotFound("no such process", element=key[:200])
    if "person_id" in body:
        case = persons.start_for_person(db.session, clock(), g.user, version, body["title"], body["person_id"],
                                        body.get("form"))
    elif "form" in body:
        case = opening.open_with_form(db.session, clock(), g.user, version, body["title"], body["form"])
    else:
        case = cases.start_case(db.session, clock(), g.user, version, body["title"])
    return after_step(case, status=201)


def describe(spec: APISpec) -> None:
    """The process definition routes in the OpenAPI document."""
    spec.components.schema("ProcessDefinition", schema=ProcessDefinitionSchema)
    spec.components.schema("Start", schema=StartSchema)
    spec.path(path="/process-definitions", operations={"get": operation(
        "The live version of every process the municipality may start cases on",
        json_content({"type": "array", "items": "ProcessDefinition"}, "the definitions"), refusals=("401",))})
    spec.path(path="/process-definitions/key/{key}/start", operations={"post": operation(
        "Open a case of the process and run it to its first task (completed with `form` if given)", json_content("CaseAfterStep", "the new case"),
        status="201", refusals=("401", "403", "404", "409", "422"),
        parameters=[{"in": "path", "name": "key", "required": True, "schema": {"type": "string", "maxLength": 200}}],
        requestBody={"required": False, "content": {"application/json": {"schema": "Start"}}})})
