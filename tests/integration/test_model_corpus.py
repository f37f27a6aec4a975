"""Models made elsewhere deploy unchanged and run through every human task, or are refused at upload with
the element and the reason named, and nothing is stored.

The corpus is tests/fixtures/models (origins and licences in its SOURCES.md). Each package runs with form
data generated from its forms, completed by a user holding the task's role, until the case ends or waits
where the model waits by design.
"""
from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tsunagu.engine.access import users
from tsunagu.engine.commands import cases
from tsunagu.engine.commands.queries import open_tasks_of_case
from tsunagu.engine.errors import DefinitionInvalid
from tsunagu.engine.models import CaseStatus, ProcessDraftRecord, ProcessVersionRecord
from tsunagu.processes.deployment import deploy, deploy_folder_tree
from tsunagu.processes.loader import check_package
from tsunagu.processes.package import read_package
from tsunagu.web.cli import main

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"
MAX_STEPS = 30

RUNS, REFUSED = "runs", "refused"
# package -> (outcome, the case's status at the end or the refusal's (code, element) pairs, extra checks)
EXPECTED: dict[str, tuple[str, Any, dict[str, Any]]] = {
    "spiffarena-intake-folder": (RUNS, CaseStatus.COMPLETED, {"name": "相談受付（SpiffArena 形式）"}),
    "spiffarena-intake-folder.zip": (RUNS, CaseStatus.COMPLETED, {"name": "相談受付（SpiffArena 形式）"}),
    "manual-task": (RUNS, CaseStatus.COMPLETED, {"roles": {"post_letter": "caseworker"}}),
    "user-task-no-form": (RUNS, CaseStatus.COMPLETED, {"roles": {"approve_visit": "supervisor",
                                                                "note_visit": "caseworker"}}),
    "send-receive": (RUNS, CaseStatus.COMPLETED, {}),
    "message-start-form": (RUNS, CaseStatus.COMPLETED, {}),
    "call-activity-dmn": (RUNS, CaseStatus.COMPLETED, {}),
    "array-of-objects-form": (RUNS, CaseStatus.COMPLETED, {}),
    "camunda-form-fields": (RUNS, CaseStatus.COMPLETED, {"roles": {"Task_review": "supervisor"}}),
    "camunda-lanes-mapped": (RUNS, CaseStatus.COMPLETED, {"roles": {"Activity_A1": "caseworker",
                                                                   "Activity_B1": "supervisor"}}),
    "camunda-decision-form": (RUNS, CaseStatus.COMPLETED, {"roles": {"Task_income": "caseworker",
                                                                     "Task_confirm": "supervisor"}}),
    "camunda-no-form": (RUNS, CaseStatus.COMPLETED, {}),
    # SpiffWorkflow's own test hands `x` to the workflow before it starts; a case starts with no data, so
    # the first gateway fails: the case stops in its error state naming the gateway, never a 500.
    "camunda-decision-ref": (RUNS, CaseStatus.ERROR, {"error_element": "ExclusiveGateway_1gdg120"}),
    "spiff-business-rule": (RUNS, CaseStatus.COMPLETED, {}),
    "spiff-human-task-metadata": (RUNS, CaseStatus.COMPLETED, {}),
    "spiff-approvals": (RUNS, CaseStatus.COMPLETED, {}),
    "spiff-service-task": (REFUSED, {("service_task_unsupported", "Activity-1inxqgx"),
                                     ("service_task_unsupported", "Activity_12erefa")}, {}),
    "camunda-java-service": (REFUSED, {("service_task_unsupported", "Task_charge"),
                                       ("service_task_unsupported", "Task_notify")}, {}),
    "camunda-juel": (REFUSED, {("juel_unsupported", "Flow_large")}, {}),
    "self-calling": (REFUSED, {("call_cycle", "call_again")}, {}),
    # Level3 calls itself, and two call activities call Level2b, whose file declares the id Level2 again
    "spiff-nested-call-cycle": (REFUSED, {("call_cycle", "Activity_12zat0d"),
                                          ("call_target_missing", "Activity_0rkbhbz"),
                                          ("call_target_missing", "Activity_1cmkdc8")}, {}),
    "script-import-time": (REFUSED, {("script_refused", "stamp_time")}, {"message": "imports are not allowed"}),
    "dmn-several-decisions": (REFUSED, {("dmn_several_decisions", "contact_table")}, {}),
    "broken-xml": (REFUSED, {("xml_invalid", None)}, {"line": 7}),
    "lane-mapping-unknown-role": (REFUSED, {("lane_mapping_unknown_role", "相談支援員"),
                                            ("lane_mapping_unknown_lane", "窓口"),
                                            ("lane_unknown_role", "enter_value"),
                                            ("lane_unknown_role", "show_result")}, {}),
}


def test_the_corpus_has_every_package_in_the_table_and_at_least_fifteen():
    folders = {p.name for p in MODELS.iterdir() if p.is_dir()}
    assert folders == {name for name in EXPECTED if not name.endswith(".zip")}
    assert len(EXPECTED) >= 15


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"{folder.name}/{path.name}")  # as a zip tool packs a folder
    return buffer.getvalue()


def package_source(name: str) -> Path | bytes:
    return zipped(MODELS / name.removesuffix(".zip")) if name.endswith(".zip") else MODELS / name


def sample(schema: dict[str, Any], today: date, root: dict[str, Any] | None = None) -> Any:
    """Valid data for a JSON Schema: required fields, first choices, today's date, minimums, one array item."""
    root = root or schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        return sample(target, today, root)
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for keyword in ("oneOf", "anyOf"):
        if schema.get(keyword):
            return sample(schema[keyword][0], today, root)
    kind = schema.get("type", "object")
    kind = next((k for k in kind if k != "null"), "null") if isinstance(kind, list) else kind
    if kind == "object":
        properties = schema.get("properties", {})
        return {key: sample(properties.get(key, {}), today, root) for key in schema.get("required", [])}
    if kind == "array":
        return [sample(schema.get("items", {}), today, root) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind in ("integer", "number"):
        if "minimum" in schema:
            return schema["minimum"]
        return schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else 1
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    fmt = schema.get("format")
    if fmt == "date":
        return today.isoformat()
    if fmt == "date-time":
        return f"{today.isoformat()}T09:00:00+09:00"
    if fmt == "email":
        return "taro@example.jp"
    return "あ" * max(1, schema.get("minLength", 1))


@pytest.fixture
def people(session, clock, municipality):
    """One active user per role of the municipality, made when a task first needs it."""
    made: dict[str, Any] = {}

    def holding(role: str):
        if role not in made:
            made[role] = users.create_user(session, clock, municipality_id=municipality.id,
                                           username=f"corpus-{role}", display_name=role,
                                           password="corpus-password-1", roles=[role])
            session.commit()
        return made[role]

    return holding


def stored_rows(session) -> int:
    return sum(session.scalar(select(func.count()).select_from(model)) or 0
               for model in (ProcessVersionRecord, ProcessDraftRecord))


@pytest.mark.parametrize("name", [n for n, (outcome, *_rest) in EXPECTED.items() if outcome == RUNS])
def test_a_model_made_elsewhere_deploys_and_runs_through_every_task(name, session, clock, municipality, people):
    _outcome, final_status, checks = EXPECTED[name]
    definition, errors, _warnings = check_package(read_package(package_source(name)))
    assert errors == [] and definition is not None, [str(e) for e in errors]
    version = deploy(session, clock, definition, municipality_id=municipality.id, note="corpus").version
    session.commit()
    if "name" in checks:
        assert version.name == checks["name"]

    case = cases.start_case(session, clock, people("caseworker"), version, f"corpus {name}")
    today = (clock() + timedelta(hours=9)).date()
    seen_roles: dict[str, str | None] = {}
    for _step in range(MAX_STEPS):
        tasks = open_tasks_of_case(session, case.id)
        if not tasks:
            break
        task = tasks[0]
        seen_roles[task.element_id] = task.role
        assert task.role, f"task {task.element_id} of {name} has no role"
        schema = json.loads(version.files[task.form_file]) if task.form_file else {"type": "object"}
        cases.complete_task(session, clock, people(task.role), task.id, sample(schema, today))
        session.refresh(case)
        if case.status == CaseStatus.ERROR:
            break
    session.refresh(case)
    assert case.status == final_status, (name, case.status, case.error_element, case.error_message)
    if final_status == CaseStatus.ERROR:
        assert case.error_element == checks["error_element"]
    for element, role in checks.get("roles", {}).items():
        assert seen_roles.get(element) == role, (element, seen_roles)


@pytest.mark.parametrize("name", [n for n, (outcome, *_rest) in EXPECTED.items() if outcome == REFUSED])
def test_a_model_the_engine_cannot_run_is_refused_naming_element_and_reason_and_nothing_is_stored(
        name, session, clock, municipality):
    _outcome, expected, checks = EXPECTED[name]
    definition, errors, _warnings = check_package(read_package(package_source(name)))

    assert definition is None
    assert {(p.code, p.element) for p in errors} == expected, [str(p) for p in errors]
    assert all(p.file and p.message for p in errors)
    assert all(p.line for p in errors if p.element and p.file.endswith(".bpmn"))  # placed in the file
    if "message" in checks:
        assert any(checks["message"] in p.message for p in errors)
    if "line" in checks:
        assert [p.line for p in errors] == [checks["line"]]

    with pytest.raises(DefinitionInvalid) as refused:
        deploy_folder_tree(session, clock, MODELS / name, municipality_id=municipality.id, note="corpus")
    session.rollback()
    assert {p.code for p in refused.value.problems} == {code for code, _element in expected}
    assert stored_rows(session) == 0


def test_a_zipped_folder_is_read_like_the_folder():
    folder, packed = read_package(MODELS / "spiffarena-intake-folder"), read_package(
        zipped(MODELS / "spiffarena-intake-folder"))
    assert packed.problems == []
    assert packed.files == folder.files
    assert packed.meta["primary_process_id"] == "Process_intake_x7k2p"


def test_a_user_task_without_due_time_is_a_warning_that_does_not_block():
    definition, errors, warnings = check_package(read_package(MODELS / "send-receive"))
    assert definition is not None and errors == []
    no_due = read_package(MODELS / "camunda-no-form")
    definition, errors, warnings = check_package(no_due)
    assert definition is not None and errors == []
    assert [(w.code, w.severity) for w in warnings] == [("due_missing", "warning")]
    assert warnings[0].line and warnings[0].file == "no_form.bpmn"


def test_tsunagu_validate_reads_a_zip_and_prints_file_line_element_and_warnings(tmp_path):
    packed = tmp_path / "juel.zip"
    packed.write_bytes(zipped(MODELS / "camunda-juel"))
    result = CliRunner().invoke(main, ["validate", str(packed), str(MODELS / "camunda-no-form")])

    assert result.exit_code == 1
    assert f"{packed}:juel.bpmn:9 [Flow_large] (large): juel_unsupported:" in result.output
    assert "warning: " in result.output and "[Task_Not_A_Darn_Thing]" in result.output
    assert "due_missing" in result.output
