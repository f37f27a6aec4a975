"""marshmallow schemas of the operations routes (web/api/operations.py): message correlation, incidents,
deployments and process versions. camelCase on the wire, like the other API schemas."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from tsunagu.processes.deployment import NOTE_MAX_LENGTH

from .schemas import ID

# The messages a client may send a case from outside, each delivered by the command the case page's
# button calls (web/api/operations.py maps each name to it).
MESSAGE_NAMES = ("review_requested",)


class MessageSchema(Schema):
    """POST /message, Camunda's correlation body: the message, and the one case it is for, by id
    (`processInstanceId`) or by reference (`businessKey`)."""

    message_name = fields.Str(data_key="messageName", required=True, validate=validate.OneOf(MESSAGE_NAMES),
                              metadata={"description": "review_requested: bring the case's next monitoring "
                                                       "review forward to now (the case page's button)"})
    process_instance_id = fields.Int(data_key="processInstanceId", **ID, metadata={"description": "the case's id"})
    business_key = fields.Str(data_key="businessKey", validate=[validate.Length(min=1, max=32)],
                              metadata={"description": "the case's reference, e.g. 2026-000123"})

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def _one_case(self, _data: dict[str, Any], original: Any, **_kwargs: Any) -> None:
        # Which fields were sent, valid or not: a bad value is reported on its own field.
        if isinstance(original, Mapping) and ("processInstanceId" in original) == ("businessKey" in original):
            raise ValidationError(_("Give exactly one of processInstanceId and businessKey."), "processInstanceId")


class IncidentSchema(Schema):
    """A timer that kept failing and stopped its case, until an administrator retries it."""

    id = fields.Int(required=True)
    case_id = fields.Int(data_key="caseId", required=True)
    case_reference = fields.Str(data_key="caseReference", attribute="case.reference", allow_none=True)
    case_status = fields.Function(lambda incident: incident.case.status.value, data_key="caseStatus")
    element = fields.Str(allow_none=True, metadata={"description": "the BPMN element whose timer failed"})
    error = fields.Str(required=True)
    attempts = fields.Int(required=True)
    created = fields.AwareDateTime(attribute="created_at")
    resolved = fields.AwareDateTime(attribute="resolved_at", allow_none=True)
    resolved_by_id = fields.Int(data_key="resolvedById", allow_none=True)


class ProblemSchema(Schema):
    """One validator finding, located like the designer page shows it: file, line, BPMN element, code."""

    file = fields.Str(required=True)
    line = fields.Int(allow_none=True)
    element = fields.Str(allow_none=True, metadata={"description": "the BPMN element id"})
    element_name = fields.Str(data_key="elementName", allow_none=True)
    code = fields.Str(required=True, metadata={"description": "stable snake_case code, e.g. xml_invalid"})
    message = fields.Str(required=True, metadata={"description": "Japanese, or English by Accept-Language"})


class PackageCheckSchema(Schema):
    """A package the validator accepted: its process and the warnings that do not block it."""

    key = fields.Str(required=True, metadata={"description": "the BPMN process id"})
    name = fields.Str(required=True)
    warnings = fields.List(fields.Nested(ProblemSchema), required=True)


class DeploymentFormSchema(Schema):
    """The form fields of POST /deployments beside the package's files."""

    note = fields.Str(load_default=None, validate=validate.Length(max=NOTE_MAX_LENGTH),
                      metadata={"description": "why this version exists, shown in the version history"})


class DeploymentSchema(Schema):
    """What a deployment did: the process's live version now, and whether it is new."""

    id = fields.Int(required=True, metadata={"description": "the version's id"})
    key = fields.Str(required=True)
    name = fields.Str(required=True)
    version = fields.Int(required=True)
    outcome = fields.Str(required=True, validate=validate.OneOf(["created", "unchanged", "reactivated"]),
                         metadata={"description": "created: a new version; unchanged: the files are the live "
                                                  "version's; reactivated: an older version with these files"})
    deployed = fields.AwareDateTime(required=True)
    note = fields.Str(allow_none=True)
    warnings = fields.List(fields.Nested(ProblemSchema), required=True)


class ProcessVersionSchema(Schema):
    """One version of a process the municipality can see, with its cases in the municipality."""

    id = fields.Int(attribute="version.id", required=True)
    key = fields.Str(attribute="version.process_id", required=True)
    name = fields.Str(attribute="version.name", required=True)
    version = fields.Int(attribute="version.version_number", required=True)
    scope = fields.Str(required=True, metadata={"description": "template (national) or municipal"})
    live = fields.Bool(required=True, metadata={"description": "whether new cases start on this version"})
    open_cases = fields.Int(data_key="openCases", required=True)
    all_cases = fields.Int(data_key="allCases", required=True)
    deployed = fields.AwareDateTime(attribute="version.deployed_at")
    deployed_via = fields.Str(data_key="deployedVia", attribute="version.deployed_via")
    deployed_by = fields.Function(lambda usage: usage.version.deployed_by.display_name
                                  if usage.version.deployed_by else None, data_key="deployedBy", allow_none=True)
    note = fields.Str(attribute="version.note", allow_none=True)
