"""The OpenAPI 3 document of /api/v1, generated from the marshmallow schemas by apispec, served at
/api/v1/openapi.json (readable without a token: it holds no data)."""
from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app
from werkzeug.wrappers import Response

from .base import bp
from .schemas import (
    CaseRefSchema,
    CompleteSchema,
    CountSchema,
    ErrorSchema,
    TaskFormSchema,
    TaskQuerySchema,
    TaskSchema,
)

ERRORS = {"401": "no token, or one that signs nobody in (code names why)",
          "403": "the token's user may not do this", "404": "no such item, or none this user may know of",
          "409": "someone else changed it first", "422": "the request's fields are wrong: each one is listed"}
TASK_ID = {"in": "path", "name": "task_id", "required": True, "schema": {"type": "integer", "minimum": 1}}


def _json(schema: Any, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(summary: str, ok: dict[str, Any], *, refusals: tuple[str, ...] = ("401", "403", "404"),
               **more: Any) -> dict[str, Any]:
    responses = {"200": ok, **{code: _json("Error", ERRORS[code]) for code in refusals}}
    return {"summary": summary, "responses": responses, **more}


@cache
def document() -> dict[str, Any]:
    spec = APISpec(title="Tsunagu API", version="1.0.0", openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "Case management for loneliness and isolation support. Every request "
                                        "sends an API token: `Authorization: Bearer tsunagu_...` (created by "
                                        "an administrator); it acts as its staff member, with the token's roles, "
                                        "under the same access rules and audit as the pages."},
                   servers=[{"url": "/api/v1"}], security=[{"token": []}])
    spec.components.security_scheme("token", {"type": "http", "scheme": "bearer"})
    for name, schema in (("Error", ErrorSchema), ("Task", TaskSchema), ("TaskWithForm", TaskFormSchema),
                         ("Count", CountSchema), ("Complete", CompleteSchema), ("CaseAfterStep", CaseRefSchema)):
        spec.components.schema(name, schema=schema)
    query = [{"in": "query", "schema": TaskQuerySchema}]
    spec.path(path="/tasks", operations={"get": _operation(
        "Open tasks the user may work, filtered, sorted and paged",
        _json({"type": "array", "items": "Task"}, "the tasks of this page"), refusals=("401", "422"),
        parameters=query)})
    spec.path(path="/tasks/count", operations={"get": _operation(
        "How many tasks GET /tasks lists with the same filters", _json("Count", "the number"),
        refusals=("401", "422"), parameters=query)})
    spec.path(path="/tasks/{task_id}", operations={"get": _operation(
        "One task with its form's JSON Schema (the read is audited)", _json("TaskWithForm", "the task"),
        parameters=[TASK_ID])})
    for action, summary in (("claim", "Take the task so that nobody else works it"),
                            ("unclaim", "Give a claimed task back to its role")):
        spec.path(path=f"/tasks/{{task_id}}/{action}", operations={"post": _operation(
            summary, _json("Task", "the task"), refusals=("401", "403", "404", "409"), parameters=[TASK_ID])})
    spec.path(path="/tasks/{task_id}/complete", operations={"post": _operation(
        "Complete the task with its form's answers", _json("CaseAfterStep", "the case and its open tasks"),
        refusals=("401", "403", "404", "409", "422"), parameters=[TASK_ID],
        requestBody={"required": False, "content": {"application/json": {"schema": "Complete"}}})})
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return current_app.json.response(document())
