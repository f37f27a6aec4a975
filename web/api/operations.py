"""Operating the engine through the API, in Camunda 7's shape where it fits: correlating a message to a
waiting case, the administrators' incidents and their retry, validating and deploying a process package
as the designer's upload page does, and the versions of a process. Each route calls the command or query
of the page that does the same, under the same permissions and with the same audit rows."""
from __future__ import annotations

from typing import Any

from apispec import APISpec
from flask import g, request
from flask_babel import gettext as _
from marshmallow import Schema
from werkzeug.wrappers import Response

from tsunagu.engine.access import permissions
from tsunagu.engine.commands import events, queries, scheduler
from tsunagu.engine.errors import DefinitionInvalid, DefinitionProblem, NotFound
from tsunagu.engine.models import unstorable
from tsunagu.processes import drafts
from tsunagu.processes.deployment import NOTE_MAX_LENGTH
from tsunagu.processes.package import MAX_TOTAL_BYTES, read_package
from tsunagu.processes.registry import process_overview

from ..context import clock
from ..designer import problem_text
from ..extensions import db
from .base import InvalidInput, bp, json_body, page_of, parsed, respond
from .errors import api_error
from .operation_schemas import (
    DeploymentFormSchema,
    DeploymentSchema,
    IncidentSchema,
    MessageSchema,
    PackageCheckSchema,
    ProblemSchema,
    ProcessVersionSchema,
)
from .schemas import PagingSchema
from .spec import json_content, operation, path_id
from .tasks import after_step

MESSAGE, PAGING = MessageSchema(), PagingSchema()
INCIDENT, INCIDENTS, VERSIONS = IncidentSchema(), IncidentSchema(many=True), ProcessVersionSchema(many=True)
DEPLOYMENT_FORM, DEPLOYMENT, PACKAGE_CHECK = DeploymentFormSchema(), DeploymentSchema(), PackageCheckSchema()
PROBLEMS = ProblemSchema(many=True)
CHECK_FORM = Schema()  # validating takes the files alone: any other form field is refused

# Each message a client may send, and the command the case page's button delivers it with.
DELIVERED_BY = {"review_requested": events.request_review}


@bp.post("/message")
def correlate_message() -> Response:
    """Deliver a message to the one case named by id or reference: 404 when the user knows no such case,
    409 when the case does not wait for the message now (or is closed, stopped or suspended)."""
    body = parsed(MESSAGE, json_body())
    case_id = body.get("process_instance_id") or queries.case_id_by_reference(db.session, g.user,
                                                                              body["business_key"])
    if case_id is None:
        raise NotFound("no such case", element=body["business_key"])
    return after_step(DELIVERED_BY[body["message_name"]](db.session, clock(), g.user, case_id))


@bp.get("/incidents")
def list_incidents() -> Response:
    """The municipality's open incidents, oldest first, as the administrators' incident page lists them."""
    return respond(INCIDENTS, page_of(scheduler.open_incidents(db.session, g.user), parsed(PAGING, request.args)))


@bp.post("/incidents/<int:incident_id>/retry")
def retry_incident(incident_id: int) -> Response:
    """Put the incident's case back to work (its timer fires on the next scheduler pass), as the page's button."""
    return respond(INCIDENT, scheduler.retry_incident(db.session, clock(), g.user, incident_id))


def _designer_town() -> int:
    """The token's municipality, if its user designs processes there (the designer pages' rule)."""
    permissions.require_designer(g.user, g.user.municipality_id)
    return int(g.user.municipality_id)


def _uploaded_files() -> dict[str, str]:
    """The files of the uploaded zip or process folder (`package`), read as the designer's upload page reads
    them; `DefinitionInvalid` names everything unreadable."""
    uploads = [f for f in request.files.getlist("package") if f and f.filename]
    if not uploads:
        raise DefinitionInvalid([DefinitionProblem("", None, "package_empty", "choose a zip or a folder's files")])
    if any(unstorable(f.filename or "") for f in uploads):
        raise InvalidInput({"package": [_("The input contains a character that cannot be used (NUL). "
                                          "Remove it and try again.")]})
    raw: dict[str, bytes] = {}
    left = MAX_TOTAL_BYTES
    for upload in uploads:  # read no further than a package may be: a larger one is refused, never held
        data = upload.read(left + 1)
        if len(data) > left:
            raise DefinitionInvalid([DefinitionProblem("", None, "package_too_large", "the package is too large")])
        raw[upload.filename or ""], left = data, left - len(data)
    only = next(iter(raw)) if len(raw) == 1 else ""
    found = read_package(raw[only] if only.lower().endswith(".zip") else raw)
    if found.problems:
        raise DefinitionInvalid(found.problems)
    return dict(found.files)


def _findings(problems: list[DefinitionProblem]) -> list[dict[str, Any]]:
    """The validator's findings as the designer page words them, in the client's language."""
    return [{**drafts.problem_dict(p), "message": problem_text(p.code, p.message)} for p in problems]


def _refused(invalid: DefinitionInvalid) -> Response:
    return api_error(422, "definition_invalid", _("The package has problems; each is listed in details."),
                     PROBLEMS.dump(_findings(invalid.problems)))


@bp.post("/deployments/validate")
def validate_package() -> Response:
    """Check a package as the upload page does, storing nothing: its process and warnings, or 422 with
    every problem (file, line, BPMN element, code)."""
    _designer_town()
    parsed(CHECK_FORM, request.form)
    try:
        checked = drafts.check_files(_uploaded_files())
    except DefinitionInvalid as invalid:
        return _refused(invalid)
    return respond(PACKAGE_CHECK, {"key": checked.definition.process_id, "name": checked.definition.name,
                                   "warnings": _findings(checked.warnings)})


@bp.post("/deployments")
def create_deployment() -> Response:
    """Deploy a package as the designer does it: upload (checked, kept as the process's draft), then deploy
    the draft with a note. Each step is the page's command with its audit row; a package refused in the
    first stores nothing."""
    town = _designer_town()
    form = parsed(DEPLOYMENT_FORM, request.form)
    try:
        draft = drafts.save_draft(db.session, clock(), g.user, town, _uploaded_files(), via="api")
        key, warnings = draft.process_id, [DefinitionProblem(**w) for w in draft.warnings]
        result = drafts.deploy_draft(db.session, clock(), g.user, town, key, form["note"], via="api")
    except DefinitionInvalid as invalid:
        return _refused(invalid)
    version = result.version
    return respond(DEPLOYMENT, {"id": version.id, "key": version.process_id, "name": version.name,
                                "version": version.version_number, "outcome": result.outcome,
                                "deployed": version.deployed_at, "note": version.note, "warnings": _findings(warnings)})


@bp.get("/process-definitions/key/<key>/versions")
def list_versions(key: str) -> Response:
    """Every version of the process the municipality can see (the national template's and its own), with
    its cases there, as the designer's process page lists them."""
    overview = next((p for p in process_overview(db.session, _designer_town()) if p.process_id == key), None)
    if overview is None:
        raise NotFound("no such process", element=key[:200])
    return respond(VERSIONS, page_of(overview.versions, parsed(PAGING, request.args)))


TOO_LARGE = json_content("Error", "the form fields are larger than the server takes")
PACKAGE_FILES = {"type": "array", "items": {"type": "string", "format": "binary"},
                 "description": "one .zip of the process folder, or the folder's .bpmn, .dmn and .json files"}


def _upload(*fields: str) -> dict[str, Any]:
    properties: dict[str, Any] = {"package": PACKAGE_FILES}
    if "note" in fields:
        properties["note"] = {"type": "string", "maxLength": NOTE_MAX_LENGTH,
                              "description": "why this version exists, shown in the version history"}
    return {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["package"], "properties": properties, "additionalProperties": False}}}}


def describe(spec: APISpec) -> None:
    """The operations routes in the OpenAPI document."""
    for name, schema in (("Message", MessageSchema), ("Incident", IncidentSchema), ("DefinitionProblem", ProblemSchema),
                         ("PackageCheck", PackageCheckSchema), ("Deployment", DeploymentSchema),
                         ("ProcessVersion", ProcessVersionSchema)):
        spec.components.schema(name, schema=schema)
    paging = [{"in": "query", "schema": PagingSchema}]
    spec.path(path="/message", operations={"post": operation(
        "Deliver a message to a case waiting for it (by case id or reference)",
        json_content("CaseAfterStep", "the case and its open tasks"), refusals=("401", "403", "404", "409", "422"),
        requestBody={"required": True, "content": {"application/json": {"schema": "Message"}}})})
    spec.path(path="/incidents", operations={"get": operation(
        "The municipality's open incidents, oldest first (administrators)",
        json_content({"type": "array", "items": "Incident"}, "the incidents of this page"),
        refusals=("401", "403", "422"), parameters=paging)})
    spec.path(path="/incidents/{incident_id}/retry", operations={"post": operation(
        "Put the incident's case back to work; 409 when the incident is resolved or unknown (administrators)",
        json_content("Incident", "the resolved incident"), refusals=("401", "403", "404", "409"),
        parameters=[path_id("incident_id")])})
    check = operation("Check a process package without storing it (process designers)",
                      json_content("PackageCheck", "the package's process and its warnings"),
                      refusals=("401", "403", "422"), requestBody=_upload())
    deploy = operation("Deploy a process package as the municipality's next live version (process designers)",
                       json_content("Deployment", "the live version"), refusals=("401", "403", "409", "422"),
                       requestBody=_upload("note"))
    for upload in (check, deploy):
        upload["responses"]["413"] = TOO_LARGE
    spec.path(path="/deployments/validate", operations={"post": check})
    spec.path(path="/deployments", operations={"post": deploy})
    spec.path(path="/process-definitions/key/{key}/versions", operations={"get": operation(
        "Every version of a process the municipality can see, with its cases (process designers)",
        json_content({"type": "array", "items": "ProcessVersion"}, "the versions of this page"),
        refusals=("401", "403", "404", "422"),
        parameters=[{"in": "path", "name": "key", "required": True, "schema": {"type": "string", "maxLength": 200}},
                    *paging])})
