"""Helpers each API resource module uses to describe its routes in the OpenAPI document (`describe(spec)`)."""
from __future__ import annotations

from typing import Any

ERRORS = {"401": "no token, or one that signs nobody in (code names why)",
          "403": "the token's user may not do this", "404": "no such item, or none this user may know of",
          "409": "someone else changed it first, or the item's state does not allow it",
          "422": "the request's fields are wrong: each one is listed"}


def path_id(name: str) -> dict[str, Any]:
    """An integer id in the path, e.g. `path_id("task_id")` for `/tasks/{task_id}`."""
    return {"in": "path", "name": name, "required": True, "schema": {"type": "integer", "minimum": 1,
                                                                     "maximum": 2**31 - 1}}


def json_content(schema: Any, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def operation(summary: str, ok: dict[str, Any], *, refusals: tuple[str, ...] = ("401", "403", "404"),
              status: str = "200", **more: Any) -> dict[str, Any]:
    """One operation: its summary, its answer `ok` under `status`, and the error answers it can give."""
    responses = {status: ok, **{code: json_content("Error", ERRORS[code]) for code in refusals}}
    return {"summary": summary, "responses": responses, **more}
