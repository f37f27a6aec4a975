"""marshmallow schemas of the API's requests and responses, one per resource; the OpenAPI document is
generated from them. Names are camelCase on the wire (Camunda 7's convention), snake_case in Python."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

MAX_RESULTS = 200  # the largest page any list answers
MAX_ID = 2**31 - 1
ID = {"validate": validate.Range(min=1, max=MAX_ID)}


class ErrorSchema(Schema):
    """Every failure: the HTTP status, a stable code, a sentence in the client's language, what it concerns."""

    status = fields.Int(required=True)
    code = fields.Str(required=True, metadata={"description": "stable snake_case code, e.g. form_invalid"})
    message = fields.Str(required=True, metadata={"description": "Japanese, or English by Accept-Language"})
    details = fields.List(fields.Dict(), required=True,
                          metadata={"description": "each bad field (field, code, message) or the BPMN element"})


class TaskSchema(Schema):
    """An open task (a BPMN user task waiting for a person), as the inbox lists it."""

    id = fields.Int(required=True)
    name = fields.Str(required=True)
    element_id = fields.Str(data_key="elementId", required=True, metadata={"description": "the BPMN element id"})
    case_id = fields.Int(data_key="caseId", required=True)
    case_reference = fields.Str(data_key="caseReference", attribute="case.reference", allow_none=True)
    process_key = fields.Str(data_key="processKey", attribute="case.process_version.process_id")
    role = fields.Str(required=True)
    kind = fields.Str(allow_none=True)
    assignee_id = fields.Int(data_key="assigneeId", allow_none=True)
    candidate_body_id = fields.Int(data_key="candidateBodyId", allow_none=True)
    status = fields.Function(lambda task: task.status.value, required=True)
    priority = fields.Int()
    created = fields.AwareDateTime(attribute="created_at")
    due = fields.AwareDateTime(attribute="due_at", allow_none=True)
    follow_up = fields.AwareDateTime(data_key="followUp", attribute="follow_up_at", allow_none=True)


class TaskFormSchema(TaskSchema):
    """One task with the JSON Schema of its form (and its uiSchema), to fill in and complete it."""

    form_schema = fields.Dict(data_key="formSchema", metadata={"description": "JSON Schema of the form"})
    ui_schema = fields.Dict(data_key="uiSchema")


class PagingSchema(Schema):
    """`firstResult` and `maxResults` of a list (Camunda's names; at most MAX_RESULTS a page)."""

    first_result = fields.Int(data_key="firstResult", load_default=0, validate=validate.Range(min=0, max=MAX_ID))
    max_results = fields.Int(data_key="maxResults", load_default=50,
                             validate=validate.Range(min=1, max=MAX_RESULTS))


class TaskQuerySchema(PagingSchema):
    """Filters, sorting and paging of GET /tasks (Camunda's names)."""

    assignee = fields.Int(**ID, metadata={"description": "only tasks claimed by this user id"})
    unassigned = fields.Bool(metadata={"description": "only tasks nobody has claimed"})
    role = fields.Str(validate=validate.Length(max=32))
    case_id = fields.Int(data_key="caseId", **ID)
    process_key = fields.Str(data_key="processKey", validate=validate.Length(max=200))
    due_before = fields.AwareDateTime(data_key="dueBefore")
    follow_up_before = fields.AwareDateTime(data_key="followUpBefore")
    sort_by = fields.Str(data_key="sortBy", load_default="due",
                         validate=validate.OneOf(["due", "followUp", "created", "priority", "id"]))
    sort_order = fields.Str(data_key="sortOrder", load_default="asc", validate=validate.OneOf(["asc", "desc"]))


class CountSchema(Schema):
    count = fields.Int(required=True)


class CompleteSchema(Schema):
    """POST /tasks/{id}/complete: the form's answers, checked against the task's JSON Schema."""

    data = fields.Dict(load_default=dict, metadata={"description": "the form's fields by name"})


class CaseRefSchema(Schema):
    """Where a completed task left its case, and the tasks it now waits on."""

    id = fields.Int(required=True)
    reference = fields.Str(allow_none=True)
    status = fields.Str(required=True)
    open_tasks = fields.List(fields.Nested(TaskSchema), data_key="openTasks")
