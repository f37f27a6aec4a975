"""Domain exceptions: each carries a stable snake_case code and the element or field it concerns."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


class TsunaguError(Exception):
    """Base of every error the engine raises on purpose; `code` is stable for API clients."""

    code = "tsunagu_error"

    def __init__(self, message: str, *, element: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.element = element
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """Describe the error for an API response or a log line."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.element:
            body["element"] = self.element
        body.update({k: v for k, v in self.details.items() if v is not None})
        return body


class ConfigError(TsunaguError):
    code = "config_invalid"

    def __init__(self, variable: str, message: str):
        super().__init__(f"{variable}: {message}", element=variable)


class NotFound(TsunaguError):
    code = "not_found"


class Forbidden(TsunaguError):
    code = "forbidden"


class BreakGlassReadOnly(Forbidden):
    """An emergency (break-glass) opening lets a supervisor read the case, never act on it."""

    code = "break_glass_read_only"


class Conflict(TsunaguError):
    """Someone else changed the case or task first; reload and try again."""

    code = "conflict"


class InvalidState(TsunaguError):
    code = "invalid_state"


class InUse(InvalidState):
    """A body or setting cannot change while something still relies on it; `used_by` names each use."""

    code = "in_use"


class DemoRefused(TsunaguError):
    code = "demo_refused"


class CannotDemoteSelf(InvalidState):
    """An administrator tried to take away their own access; another administrator has to do it."""

    code = "cannot_demote_self"


class LastAdmin(InvalidState):
    """The change would leave a municipality without an active administrator."""

    code = "last_admin"


@dataclass(frozen=True)
class FieldError:
    """One problem with one form field; `code` names the JSON Schema keyword that failed."""

    field: str
    code: str
    # `dataclasses.field`, because the attribute `field` above shadows the bare name for type checkers
    params: dict[str, Any] = dataclasses.field(default_factory=dict)


class FormInvalid(TsunaguError):
    code = "form_invalid"

    def __init__(self, errors: list[FieldError], *, element: str | None = None):
        super().__init__("the submitted form has errors", element=element)
        self.errors = errors

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["fields"] = [{"field": e.field, "code": e.code, **e.params} for e in self.errors]
        return body


@dataclass(frozen=True)
class DefinitionProblem:
    """One problem in a process definition, located by file and BPMN element id."""

    file: str
    element: str | None
    code: str
    message: str
    line: int | None = None
    element_name: str | None = None
    severity: str = "error"  # or "warning": shown, but it does not block an upload

    def __str__(self) -> str:
        where = f"{self.file}" + (f":{self.line}" if self.line else "")
        if self.element:
            where += f" [{self.element}]" + (f" ({self.element_name})" if self.element_name else "")
        return f"{where}: {self.code}: {self.message}"


class DefinitionInvalid(TsunaguError):
    code = "definition_invalid"

    def __init__(self, problems: list[DefinitionProblem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class WorkflowFailed(TsunaguError):
    """A script, expression or decision failed; the case is now in the error state."""

    code = "workflow_error"
