"""The designer's page for moving running cases to another version: the dry run's table, the batch run in
slices that any worker can continue (the batch row and the posted cursor are all the state), progress,
and moving a case back."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from tsunagu.engine.commands import cases
from tsunagu.engine.models import CaseRecord, MigrationBatchRecord
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import build_definition, read_folder
from tsunagu.web import case_migration

STANDARD = Path(__file__).resolve().parents[2] / "bpmn" / "kodoku_koritsu_case"
KEY = "kodoku_koritsu_case"


def _without_intake_form_title(files):
    # Version 2 differs only in the intake task's due period: every waiting intake can carry over.
    files["kodoku_koritsu_case.bpmn"] = files["kodoku_koritsu_case.bpmn"].replace(
        '<spiffworkflow:property name="dueIn" value="P3D" />', '<spiffworkflow:property name="dueIn" value="P5D" />', 1)
    return files


@pytest.fixture
def moved_world(session, clock, municipality, standard_version, caseworker):
    started = [cases.start_case(session, clock, caseworker, standard_version, f"相談{n}").id for n in range(5)]
    broken = session.get(CaseRecord, started[-1])
    broken.status, broken.error_element = "error", "triage"
    session.commit()
    files = _without_intake_form_title(read_folder(STANDARD))
    version = deploy(session, clock, build_definition(files), municipality_id=municipality.id).version
    session.commit()
    return started, version


def test_the_dry_run_lists_cases_that_cannot_move_by_reason_without_personal_data(
        client, login, designer, moved_world):
    started, _version = moved_world
    login(designer)
    response = client.get(f"/designer/processes/{KEY}/migrate")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="plan-counts"' in html and re.search(r'data-reason="case_in_error"', html)
    assert f'data-case="{started[-1]}"' in html and "山田" not in html and "相談" not in html
    assert 'id="start-migration"' in html


def test_the_batch_runs_in_slices_any_request_can_continue_and_a_case_moves_back(
        client, login, designer, moved_world, session_factory, monkeypatch):
    started, version = moved_world
    login(designer)
    monkeypatch.setattr(case_migration, "SLICE_CASES", 2)
    first = client.post(f"/designer/processes/{KEY}/migrate").get_data(as_text=True)
    assert 'id="migration-continue"' in first and 'max="4"' in first and 'value="2"' in first
    cursor = re.search(r'name="after" value="(\d+)"', first).group(1)
    with session_factory() as other:
        batch = other.scalars(select(MigrationBatchRecord)).one()
    second = client.post(f"/designer/processes/{KEY}/migrate/{batch.id}", data={"after": cursor}).get_data(as_text=True)
    assert 'value="4"' in second and 'id="migration-continue"' in second  # the case in error is still ahead
    cursor = re.search(r'name="after" value="(\d+)"', second).group(1)
    third = client.post(f"/designer/processes/{KEY}/migrate/{batch.id}", data={"after": cursor}).get_data(as_text=True)
    assert 'id="migration-continue"' not in third and ('value="4"' in third)
    with session_factory() as other:
        batch = other.get(MigrationBatchRecord, batch.id)
        assert (batch.status, batch.moved, batch.refused) == ("finished", 4, 0)
        assert {c.id for c in other.scalars(select(CaseRecord).where(CaseRecord.process_version_id == version.id))} \
            == set(started[:4])
    page = client.get(f"/designer/processes/{KEY}/migrate").get_data(as_text=True)
    assert f'data-case="{started[0]}"' in page and 'id="moved-cases"' in page
    back = client.post(f"/designer/cases/{started[0]}/migrate-back", data={"key": KEY})
    assert back.status_code == 302
    with session_factory() as other:
        assert other.get(CaseRecord, started[0]).process_version_id != version.id
    again = client.post(f"/designer/cases/{started[0]}/migrate-back", data={"key": KEY})
    assert again.status_code == 302  # refused with a message, never an error page
    assert client.post("/designer/processes/x/migrate/999999", data={"after": "abc"}).status_code == 404


def test_caseworkers_cannot_open_or_start_a_migration(client, login, caseworker, moved_world):
    login(caseworker)
    assert client.get(f"/designer/processes/{KEY}/migrate").status_code == 403
    assert client.post(f"/designer/processes/{KEY}/migrate").status_code == 403
