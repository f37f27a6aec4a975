"""marshmallow schemas of a case as the API shows it: its summary, its timeline and its case file. Each holds
the fields the case page shows the same reader and nothing more (no assessment answers, no free-text
reasons from the audit trail, submissions only as `CaseFile.submission_data` masks them)."""
from __future__ import annotations

from dataclasses import fields as dataclass_fields
from typing import Any

from marshmallow import Schema, fields, pre_dump

from tsunagu.engine.commands.queries import CaseFile
from tsunagu.engine.runtime.forms import MASK


class PersonRefSchema(Schema):
    """A staff member as the page names them."""

    id = fields.Int(required=True)
    display_name = fields.Str(data_key="displayName", required=True)


class BodyRefSchema(Schema):
    """A member body or department."""

    id = fields.Int(required=True)
    name = fields.Str(required=True)


class AccessSchema(Schema):
    """The basis the reader sees the case on, as the page's 「閲覧の根拠」 names it."""

    basis = fields.Function(lambda access: access.basis.value if access.basis else None, allow_none=True,
                            metadata={"description": "staff, supervision, council, lead_body, action, consent "
                                                     "or break_glass"})
    scope = fields.Function(lambda access: "full" if access.full else "packet",
                            metadata={"description": "full: the whole case file; packet: only what the body's "
                                                     "support action needs"})
    until = fields.AwareDateTime(allow_none=True, metadata={"description": "when an emergency opening ends"})


class CaseTaskSchema(Schema):
    """A task of the case, with the columns of the page's task table."""

    id = fields.Int(required=True)
    name = fields.Str(required=True)
    element_id = fields.Str(data_key="elementId", required=True, metadata={"description": "the BPMN element id"})
    role = fields.Str(allow_none=True)
    status = fields.Function(lambda task: task.status.value, required=True)
    due = fields.AwareDateTime(attribute="due_at", allow_none=True)
    completed = fields.AwareDateTime(attribute="completed_at", allow_none=True)
    completed_by = fields.Nested(PersonRefSchema, data_key="completedBy", allow_none=True)


class CaseSummarySchema(Schema):
    """The head of the case page: what the case is, where it stands and the tasks it waits on. Risk and next
    review are the council's view of the case and are null for a reader who sees only an action's packet."""

    id = fields.Int(required=True)
    reference = fields.Str(allow_none=True)
    title = fields.Str(required=True)
    status = fields.Str(required=True)
    process_key = fields.Str(data_key="processKey", required=True)
    version = fields.Int(required=True, metadata={"description": "the process version the case runs on"})
    episode = fields.Int(required=True)
    opened = fields.AwareDateTime(required=True)
    updated = fields.AwareDateTime(required=True)
    completed = fields.AwareDateTime(allow_none=True)
    risk = fields.Str(allow_none=True)
    next_review_on = fields.Date(data_key="nextReviewOn", allow_none=True)
    closure_reason = fields.Str(data_key="closureReason", allow_none=True)
    access = fields.Nested(AccessSchema, required=True)
    open_tasks = fields.List(fields.Nested(CaseTaskSchema), data_key="openTasks", required=True,
                             metadata={"description": "the open tasks the reader's page lists"})


class HistoryEntrySchema(Schema):
    """One event of the case's timeline (reads are audited but not listed)."""

    id = fields.Int(required=True)
    action = fields.Str(required=True, metadata={"description": "e.g. case.started, task.completed"})
    at = fields.AwareDateTime(required=True)
    actor = fields.Nested(PersonRefSchema, allow_none=True, metadata={"description": "null for the system"})
    task_id = fields.Int(data_key="taskId", allow_none=True)
    element = fields.Function(lambda row: row.detail.get("element"), allow_none=True,
                              metadata={"description": "the BPMN element concerned, if any"})
    name = fields.Function(lambda row: row.detail.get("name"), allow_none=True,
                           metadata={"description": "the task's name, if the event concerns a task"})


class CasePersonSchema(Schema):
    name = fields.Str(required=True)
    kana = fields.Str(allow_none=True)
    birth_year = fields.Int(data_key="birthYear", allow_none=True)


class SubmissionSchema(Schema):
    """A submitted form. `data` holds what this reader may see: special-care fields carry the marker
    unless the reader's role needs them. Dumped only from `CaseFileSchema`, which gives each submission
    its `CaseFile.submission_data` (a stored record has no `shown_data`, so its answers never pass)."""

    id = fields.Int(required=True)
    form_id = fields.Str(data_key="formId", required=True)
    task_name = fields.Str(data_key="taskName", allow_none=True, metadata={"description": "null for a referral"})
    submitted = fields.AwareDateTime(attribute="submitted_at", required=True)
    submitted_by = fields.Nested(PersonRefSchema, data_key="submittedBy", required=True)
    data = fields.Dict(attribute="shown_data", required=True,
                       metadata={"description": f"the answers by field name; a special-care answer hidden "
                                                f"from this reader reads {MASK}"})


class AssessmentSchema(Schema):
    """One instrument's score, as the page's chart lists it (the answers stay in the file)."""

    id = fields.Int(required=True)
    case_id = fields.Int(data_key="caseId", required=True, metadata={"description": "the episode's case"})
    instrument = fields.Str(required=True)
    stage = fields.Str(required=True)
    respondent = fields.Str(required=True)
    score = fields.Int(allow_none=True)
    recorded = fields.AwareDateTime(attribute="recorded_at", required=True)


class ConsentSchema(Schema):
    """A row of the consent ledger."""

    id = fields.Int(required=True)
    decision = fields.Str(required=True)
    purposes = fields.List(fields.Str(), required=True)
    recipient_body_ids = fields.List(fields.Int(), data_key="recipientBodyIds")
    recipient_bodies = fields.Str(data_key="recipientBodies", allow_none=True)
    method = fields.Str(allow_none=True)
    witness = fields.Str(allow_none=True)
    valid_from = fields.Date(data_key="validFrom", allow_none=True)
    withdrawn = fields.AwareDateTime(attribute="withdrawn_at", allow_none=True)
    recorded = fields.AwareDateTime(attribute="recorded_at", required=True)


class ActionSchema(Schema):
    """A support action, with the columns of the page's action table."""

    id = fields.Int(required=True)
    action_type = fields.Str(data_key="actionType", attribute="action_type.name", required=True)
    owner_body = fields.Nested(BodyRefSchema, data_key="ownerBody", required=True)
    status = fields.Function(lambda action: action.status.value, required=True)
    due = fields.AwareDateTime(attribute="due_at", allow_none=True)
    note = fields.Str(allow_none=True)
    decline_reason = fields.Str(data_key="declineReason", allow_none=True)
    first_contact_on = fields.Date(data_key="firstContactOn", allow_none=True)
    outcome_note = fields.Str(data_key="outcomeNote", allow_none=True)


class DecisionSchema(Schema):
    """A council decision: situation, risk, plan, lead body, key person, next review."""

    id = fields.Int(required=True)
    situation = fields.Str(required=True)
    risk = fields.Str(required=True)
    plan = fields.Str(required=True)
    lead_body = fields.Nested(BodyRefSchema, data_key="leadBody", required=True)
    key_person = fields.Str(data_key="keyPerson", allow_none=True)
    next_review_on = fields.Date(data_key="nextReviewOn", required=True)
    recorded = fields.AwareDateTime(attribute="recorded_at", required=True)


# What a member body acting on a support action sees: the person, their wishes, the plan and its own actions.
PACKET_FIELDS = ("id", "reference", "access", "person", "wishes", "tasks", "actions", "decisions")


class CaseFileSchema(Schema):
    """The case file as the reader's basis allows. With `access.scope` full: every part below; with packet,
    only the person, their wishes, the body's own tasks and actions and the latest decision (the other
    keys are absent, not empty)."""

    id = fields.Int(attribute="case.id", required=True)
    reference = fields.Str(attribute="case.reference", allow_none=True)
    access = fields.Nested(AccessSchema, required=True)
    person = fields.Nested(CasePersonSchema, allow_none=True)
    wishes = fields.Str(allow_none=True, metadata={"description": "the person's wishes (意向)"})
    tasks = fields.List(fields.Nested(CaseTaskSchema))
    submissions = fields.List(fields.Nested(SubmissionSchema))
    assessments = fields.List(fields.Nested(AssessmentSchema))
    consents = fields.List(fields.Nested(ConsentSchema))
    actions = fields.List(fields.Nested(ActionSchema))
    decisions = fields.List(fields.Nested(DecisionSchema))

    @pre_dump
    def shown_to_reader(self, case_file: CaseFile, **_kwargs: Any) -> dict[str, Any]:
        """The case file with each submission's answers as `submission_data` shows them to this reader."""
        shown = [{"id": s.id, "form_id": s.form_id, "task_name": s.task.name if s.task else None,
                  "submitted_at": s.submitted_at, "submitted_by": s.submitted_by,
                  "shown_data": case_file.submission_data[s.id]} for s in case_file.submissions]
        return {**{f.name: getattr(case_file, f.name) for f in dataclass_fields(case_file)}, "submissions": shown}
