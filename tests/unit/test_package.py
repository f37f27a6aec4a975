"""Reading an uploaded process package: folders, zips and uploaded files, never an exception on bad input."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tsunagu.engine.runtime.roles_map import candidate_role, read_role_map, task_role
from tsunagu.engine.runtime.workflow import new_workflow
from tsunagu.processes.loader import check_files, check_package, lane_problems, lanes_of
from tsunagu.processes.package import MAX_FILES, read_package

MODELS = Path(__file__).resolve().parents[1] / "fixtures" / "models"
INTAKE = MODELS / "spiffarena-intake-folder"


def zip_of(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def folder_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_spiffarena_folder_gives_its_display_name_and_primary_process_whatever_the_folder_is_called():
    package = read_package(INTAKE)
    definition, errors, _warnings = check_package(package)

    assert package.meta["primary_process_id"] == "Process_intake_x7k2p"
    assert errors == []
    assert definition is not None
    assert (definition.process_id, definition.name) == ("Process_intake_x7k2p", "相談受付（SpiffArena 形式）")


def test_an_uploaded_folder_with_paths_and_a_byte_order_mark_reads_like_the_folder():
    upload = {f"my-model/{name}": data for name, data in folder_files(INTAKE).items()}
    upload["my-model/intake.bpmn"] = b"\xef\xbb\xbf" + upload["my-model/intake.bpmn"]
    upload["my-model/.DS_Store"] = b"\x00\x01"
    upload["__MACOSX/my-model/._intake.bpmn"] = b"\x00\x05"

    package = read_package(upload)

    assert package.problems == []
    assert package.files == read_package(INTAKE).files


def test_a_zip_whose_subfolders_share_a_file_name_is_refused_naming_the_file():
    data = INTAKE.joinpath("intake.bpmn").read_bytes()
    package = read_package(zip_of({"a/intake.bpmn": data, "b/intake.bpmn": data}))

    assert [(p.file, p.code) for p in package.problems] == [("intake.bpmn", "file_name_ambiguous")]
    assert "a/intake.bpmn" in package.problems[0].message and "b/intake.bpmn" in package.problems[0].message


@pytest.mark.parametrize("name", ["../evil.bpmn", "/etc/evil.bpmn", "a/../../evil.bpmn", "C:/evil.bpmn"])
def test_a_zip_member_outside_the_package_is_refused(name):
    package = read_package(zip_of({name: b"<x/>"}))

    assert [p.code for p in package.problems] == ["zip_path_unsafe"]
    assert package.files == {}


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    package = read_package(zip_of({"big.bpmn": b" " * 4_000_000}))

    assert [p.code for p in package.problems] == ["zip_ratio_too_high"]
    assert package.files == {}


def test_too_many_files_or_too_many_bytes_are_refused():
    many = read_package(zip_of({f"f{i}.json": b"{}" for i in range(MAX_FILES + 1)}, zipfile.ZIP_STORED))
    large = read_package(zip_of({"a.json": b"1" * 3_000_000, "b.json": b"2" * 3_000_000}, zipfile.ZIP_STORED))

    assert [p.code for p in many.problems] == ["package_too_many_files"]
    assert [p.code for p in large.problems] == ["package_too_large"]


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04broken", zip_of({"a.bpmn": b"x"})[:30]])
def test_bytes_that_are_no_zip_are_one_problem_not_an_exception(data):
    package = read_package(data)

    assert [p.code for p in package.problems] == ["zip_invalid"]


def test_a_file_that_is_not_utf8_is_named():
    package = read_package({"form.json": "{\"title\": \"相談\"}".encode("shift_jis"), "a.bpmn": b"<x/>"})

    assert [(p.file, p.code) for p in package.problems] == [("form.json", "file_unreadable")]
    assert "UTF-8" in package.problems[0].message


def test_a_refused_package_gives_no_definition_even_when_its_diagrams_are_sound():
    upload = folder_files(INTAKE) | {"notes.json": b"\xff\xfe"}

    definition, errors, _warnings = check_package(read_package(upload))

    assert definition is None
    assert [p.code for p in errors] == ["file_unreadable"]


def test_every_problem_of_a_package_is_listed_at_once_with_file_line_and_element_name():
    files = read_package(MODELS / "camunda-java-service").files | read_package(MODELS / "camunda-juel").files

    _definition, errors, _warnings = check_files(files, preferred_id="Process_java")

    assert {(p.file, p.line, p.element, p.element_name, p.code) for p in errors} == {
        ("java_service.bpmn", 6, "Task_charge", "Charge card", "service_task_unsupported"),
        ("java_service.bpmn", 10, "Task_notify", "Notify", "service_task_unsupported"),
        ("juel.bpmn", 9, "Flow_large", "large", "juel_unsupported"),
    }
    assert "org.example.ChargeCardDelegate" in next(p.message for p in errors if p.element == "Task_charge")


def test_lanes_and_their_mapping_are_listed_for_the_upload_page():
    files = read_package(MODELS / "lane-mapping-unknown-role").files

    assert lanes_of(files) == ["相談支援員"]
    assert {(p.element, p.code) for p in lane_problems(files)} == {
        ("相談支援員", "lane_mapping_unknown_role"), ("窓口", "lane_mapping_unknown_lane")}


def test_a_lane_mapped_to_a_role_is_accepted_and_the_role_map_says_who_works_each_task():
    files = read_package(MODELS / "lane-mapping-unknown-role").files
    files["tsunagu.json"] = json.dumps({"lane_roles": {"相談支援員": "supervisor"}})

    definition, errors, _warnings = check_files(files)

    assert errors == [] and definition is not None
    assert task_role(read_role_map(definition.files), "enter_value", "相談支援員") == "supervisor"
    assert task_role(read_role_map(definition.files), "enter_value", None) is None  # the default role


def test_a_camunda_candidate_group_naming_a_role_is_the_tasks_role_and_its_form_fields_become_a_schema():
    definition, errors, _warnings = check_package(read_package(MODELS / "camunda-form-fields"))

    assert errors == [] and definition is not None
    spec = new_workflow(definition.spec_json).spec.task_specs["Task_review"]
    assert candidate_role(spec.extensions["candidateGroups"]) == "supervisor"
    assert task_role(read_role_map(definition.files), "Task_review", None) is None  # no lane: groups decide
    schema = json.loads(definition.files["Task_review.camunda-form.json"])
    assert schema["required"] == ["days", "decision"]
    assert schema["properties"]["days"] == {"type": "integer", "title": "日数", "minimum": 1}
    assert [c["const"] for c in schema["properties"]["decision"]["oneOf"]] == ["approve", "reject"]
    assert schema["properties"]["decision"]["default"] == "approve"


def test_a_parser_failure_of_any_kind_becomes_a_problem_naming_the_file():
    files = {"odd.bpmn": '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
                         '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/>'
                         '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="nowhere"/></bpmn:process>'
                         '</bpmn:definitions>'}

    definition, errors, _warnings = check_files(files)

    assert definition is None
    assert errors and all(p.file == "odd.bpmn" for p in errors)


def test_tasks_outside_any_lane_are_refused_only_when_the_municipality_has_no_default_role():
    package = read_package(MODELS / "manual-task")

    assert check_package(package)[1] == []
    errors = check_package(package, default_role_known=False)[1]
    assert [(p.element, p.code) for p in errors] == [("post_letter", "lane_missing")]


@pytest.mark.parametrize("script", ["print(total)", "first = next(iter(items))", "size = getattr(items, 'size')"])
def test_a_script_using_a_builtin_the_sandbox_lacks_is_refused_at_upload_not_in_a_case(script):
    files = read_package(MODELS / "script-import-time").files
    files["stamp.bpmn"] = files["stamp.bpmn"].replace("import time\nstamped_at = time.time()", script)

    _definition, errors, _warnings = check_files(files)

    assert [(p.element, p.code) for p in errors] == [("stamp_time", "script_refused")]
    assert "the sandbox does not provide" in errors[0].message


def test_a_call_activity_calling_a_process_missing_from_the_package_names_the_call_and_what_is_there():
    files = read_package(MODELS / "call-activity-dmn").files
    del files["priority.bpmn"]

    definition, errors, _warnings = check_files(files)

    assert definition is None
    assert [(p.file, p.element, p.element_name, p.code) for p in errors] == [
        ("main.bpmn", "call_priority", "優先度の判定", "call_target_missing")]
    assert "decide_priority" in errors[0].message and errors[0].line
