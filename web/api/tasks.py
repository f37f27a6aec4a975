"""Tasks, as Camunda 7's REST API shapes them: list and count with filters, one task with its form,
claim, unclaim and complete. Each goes through the same engine command as the pages, with its audit."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from apispec import APISpec
from flask import g, request
from werkzeug.wrappers import Response

from tsunagu.engine.commands import cases, queries
from tsunagu.engine.commands.task_search import TaskFilters, workable_tasks
from tsunagu.engine.models import CaseRecord, TaskRecord
from tsunagu.engine.runtime.stored_versions import files_of

from ..context import clock
from ..extensions import db
from .base import bp, json_body, parsed, respond
from .schemas import CaseRefSchema, CompleteSchema, CountSchema, TaskFormSchema, TaskQuerySchema, TaskSchema
from .spec import json_content, operation, path_id

QUERY, TASKS, TASK_FORM = TaskQuerySchema(), TaskSchema(many=True), TaskFormSchema()
COUNT, COMPLETE, CASE_REF, TASK = CountSchema(), CompleteSchema(), CaseRefSchema(), TaskSchema()


def _search() -> tuple[list[TaskRecord], dict]:
    args = parsed(QUERY, request.args)
    paging = {"first": args.pop("first_result"), "max": args.pop("max_results")}
    return workable_tasks(db.session, g.user, TaskFilters(**args), clock()()), paging


@bp.get("/tasks")
def list_tasks() -> Response:
    """Open tasks the token's user may work, filtered, sorted and paged (`firstResult`, `maxResults`)."""
    found, paging = _search()
    return respond(TASKS, found[paging["first"]:paging["first"] + paging["max"]])


@bp.get("/tasks/count")
def count_tasks() -> Response:
    """How many open tasks `GET /tasks` would list with the same filters (paging ignored)."""
    found, _paging = _search()
    return respond(COUNT, {"count": len(found)})


@bp.get("/tasks/<int:task_id>")
def get_task(task_id: int) -> Response:
    """One task with its form's JSON Schema; the read is audited like the task page."""
    task = queries.view_task(db.session, clock(), g.user, task_id)
    files = files_of(task.case.process_version)
    form = json.loads(files[task.form_file]) if task.form_file else {"type": "object", "properties": {}}
    ui = json.loads(files[task.ui_file]) if task.ui_file and task.ui_file in files else {}
    return respond(TASK_FORM, _TaskWithForm(task, form, ui))


@dataclass(frozen=True)
class _TaskWithForm:
    """What TaskFormSchema reads: the task's own attributes, and its form."""

    task: TaskRecord
    form_schema: dict
    ui_schema: dict

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)


@bp.post("/tasks/<int:task_id>/claim")
def claim(task_id: int) -> Response:
    return respond(TASK, cases.claim_task(db.session, clock(), g.user, task_id))


@bp.post("/tasks/<int:task_id>/unclaim")
def unclaim(task_id: int) -> Response:
    return respond(TASK, cases.unclaim_task(db.session, clock(), g.user, task_id))


@bp.post("/tasks/<int:task_id>/complete")
def complete(task_id: int) -> Response:
    """Complete the task with its form's answers (`{"data": {...}}`): 422 listing every bad field, 409 when
    someone else completed or changed it first. Answers the case and the tasks it now waits on."""
    body = parsed(COMPLETE, json_body())
    return after_step(cases.complete_task(db.session, clock(), g.user, task_id, body["data"]))


def after_step(case: CaseRecord, status: int = 200) -> Response:
    """The answer of a command that moved a case on: where it stands and the tasks it now waits on."""
    return respond(CASE_REF, {"id": case.id, "reference": case.reference, "status": case.status.value,
                              "open_tasks": queries.open_tasks_of_case(db.session, case.id)}, status=status)


def describe(spec: APISpec) -> None:
    """The task routes in the OpenAPI document."""
    for name, schema in (("Task", TaskSchema), ("TaskWithForm", TaskFormSchema), ("Count", CountSchema),
                         ("Complete", CompleteSchema), ("CaseAfterStep", CaseRefSchema)):
        spec.components.schema(name, schema=schema)
    query, task_id = [{"in": "query", "schema": TaskQuerySchema}], path_id("task_id")
    spec.path(path="/tasks", operations={"get": operation(
        "Open tasks the user may work, filtered, sorted and paged",
        json_content({"type": "array", "items": "Task"}, "the tasks of this page"), refusals=("401", "422"),
        parameters=query)})
    spec.path(path="/tasks/count", operations={"get": operation(
        "How many tasks GET /tasks lists with the same filters", json_content("Count", "the number"),
        refusals=("401", "422"), parameters=query)})
    spec.path(path="/tasks/{task_id}", operations={"get": operation(
        "One task with its form's JSON Schema (the read is audited)", json_content("TaskWithForm", "the task"),
        parameters=[task_id])})
    for action, summary in (("claim", "Take the task so that nobody else works it"),
                            ("unclaim", "Give a claimed task back to its role")):
        spec.path(path=f"/tasks/{{task_id}}/{action}", operations={"post": operation(
            summary, json_content("Task", "the task"), refusals=("401", "403", "404", "409"),
            parameters=[task_id])})
    spec.path(path="/tasks/{task_id}/complete", operations={"post": operation(
        "Complete the task with its form's answers", json_content("CaseAfterStep", "the case and its open tasks"),
        refusals=("401", "403", "404", "409", "422"), parameters=[task_id],
        requestBody={"required": False, "content": {"application/json": {"schema": "Complete"}}})})
