"""marshmallow schemas of the commands the API takes on a case and its tasks: withdrawing a consent, adding
a support action and assigning a task. Their answers reuse the resource schemas (`ConsentSchema`,
`ActionSchema`, `TaskSchema`). Names are camelCase on the wire, snake_case in Python and in the engine."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, post_load, validate

from tsunagu.engine.commands.events import ActionInput
from tsunagu.engine.commands.handover import REASON_MAX

from .schemas import ID

NOTE_MAX = next(rule.max for rule in ActionInput().fields["note"].validators if isinstance(rule, validate.Length))


def _filled(text: str) -> None:
    if not text.strip():
        raise ValidationError("Missing data for required field.")  # read as the code "required" (base._CODES)


def _confirmed(value: bool) -> None:
    if value is not True:
        raise ValidationError(_("Confirm that the person asked to withdraw their consent."))


class WithdrawalSchema(Schema):
    """POST /cases/{case_id}/consents/{consent_id}/withdraw: the confirmation the page's checkbox asks for."""

    confirmed = fields.Bool(required=True, validate=_confirmed,
                            metadata={"description": "must be true: the person told staff they withdraw this "
                                                     "consent"})


class SupportActionInputSchema(Schema):
    """POST /cases/{case_id}/actions: the case page's 「支援を追加」 form. The owner body is asked to accept."""

    action_type_id = fields.Int(data_key="actionTypeId", required=True, strict=True, **ID,
                                metadata={"description": "an active action of the municipality's catalogue"})
    owner_body_id = fields.Int(data_key="ownerBodyId", allow_none=True, strict=True, **ID,
                               metadata={"description": "an active member body; omitted or null: the action's "
                                                        "usual body"})
    due_on = fields.Date(data_key="dueOn", allow_none=True,
                         metadata={"description": "today or later (Japan's calendar); omitted or null: the "
                                                  "action's usual service period"})
    note = fields.Str(allow_none=True, validate=[validate.Length(max=NOTE_MAX)])

    @post_load
    def engine_input(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        """The values as the page's form hands them to `events.add_support_action`: empty ones left out."""
        values = {name: value.isoformat() if isinstance(value, date) else value for name, value in data.items()}
        if isinstance(values.get("note"), str):
            values["note"] = values["note"].strip()
        return {name: value for name, value in values.items() if value not in (None, "")}


class AssigneeSchema(Schema):
    """POST /tasks/{task_id}/assignee: Camunda's `userId`, and the reason the supervisor's hand-over records."""

    user_id = fields.Int(data_key="userId", required=True, strict=True, **ID,
                         metadata={"description": "an active staff member who may work the task"})
    reason = fields.Str(required=True, validate=[_filled, validate.Length(max=REASON_MAX)],
                        metadata={"description": "why the task is handed to this person (kept in the audit "
                                                 "trail)"})


def wire_names(schema: Schema) -> dict[str, str]:
    """Each field's name in the engine and in Python, mapped to its name on the wire."""
    return {name: field.data_key or name for name, field in schema.fields.items()}
