"""Process folders become checked, hashable definitions; a broken diagram names the element to fix."""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tsunagu.engine.errors import DefinitionInvalid
from tsunagu.engine.runtime.workflow import new_workflow, parse_duration, ready_user_tasks, run_engine_steps
from tsunagu.processes.loader import content_hash, load_definition, read_folder, validate_path

ROOT = Path(__file__).resolve().parents[2]
STANDARD = ROOT / "bpmn" / "kodoku_koritsu_case"
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"


def test_the_shipped_process_loads_with_all_its_files(standard_definition):
    assert standard_definition.process_id == "kodoku_koritsu_case"
    assert standard_definition.name == "孤独・孤立 相談支援ケース"
    assert set(standard_definition.files) == {p.name for p in STANDARD.iterdir() if p.is_file()}
    assert standard_definition.content_hash == content_hash(read_folder(STANDARD))
    workflow = new_workflow(standard_definition.spec_json)
    run_engine_steps(workflow)
    assert [t.element_id for t in ready_user_tasks(workflow)] == ["intake"]


def test_the_shipped_process_tree_has_no_problems():
    assert validate_path(ROOT / "bpmn") == []


def test_a_user_task_naming_a_missing_form_file_is_reported_on_that_task():
    problems = validate_path(FIXTURES / "missing_form")

    assert [(p.element, p.code) for p in problems] == [("ask_name", "form_file_not_found")]
    assert "does-not-exist.json" in problems[0].message
    assert problems[0].file.endswith("missing_form.bpmn")


def test_loading_a_folder_with_a_missing_form_refuses_with_the_same_problem():
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition(FIXTURES / "missing_form")

    assert [(p.element, p.code) for p in caught.value.problems] == [("ask_name", "form_file_not_found")]


def copy_with_replaced_text(source: Path, target: Path, old: str, new: str) -> Path:
    shutil.copytree(source, target)
    (bpmn,) = target.glob("*.bpmn")
    text = bpmn.read_text(encoding="utf-8")
    assert old in text
    bpmn.write_text(text.replace(old, new), encoding="utf-8")
    return target


def test_a_lane_that_is_not_a_role_code_is_reported_on_each_of_its_user_tasks(tmp_path):
    folder = copy_with_replaced_text(FIXTURES / "failing_script", tmp_path / "failing_script",
                                     'name="caseworker"', 'name="相談支援員"')

    problems = validate_path(folder)

    assert sorted((p.element, p.code) for p in problems) == [
        ("enter_value", "lane_unknown_role"), ("show_result", "lane_unknown_role"),
    ]
    assert "相談支援員" in problems[0].message


def test_the_failing_script_fixture_itself_is_valid():
    assert validate_path(FIXTURES / "failing_script") == []


def test_the_content_hash_is_stable_across_reads():
    assert content_hash(read_folder(STANDARD)) == content_hash(read_folder(STANDARD))
    assert content_hash(dict(reversed(list(read_folder(STANDARD).items())))) == content_hash(read_folder(STANDARD))


@pytest.mark.parametrize("name", sorted(p.name for p in STANDARD.iterdir() if p.is_file()))
def test_changing_any_single_file_changes_the_content_hash(name):
    files = read_folder(STANDARD)
    original = content_hash(files)

    assert content_hash({**files, name: files[name] + " "}) != original
    renamed = {("renamed-" + n if n == name else n): text for n, text in files.items()}
    assert content_hash(renamed) != original
    assert content_hash({n: t for n, t in files.items() if n != name}) != original


def test_moving_text_between_a_file_name_and_its_content_changes_the_content_hash():
    assert content_hash({"a.json": "{}"}) != content_hash({"a.jso": "n{}"})


def test_parse_duration_adds_three_days_in_the_municipality_zone():
    start = datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))

    due = parse_duration("P3D", start)

    assert due == start + timedelta(days=3)
    assert due.utcoffset() == timedelta(hours=9)
    assert parse_duration("PT4H", start) == start + timedelta(hours=4)
    assert parse_duration("P14D", start) == datetime(2026, 12, 11, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
