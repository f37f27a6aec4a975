"""The `tsunagu` command as a newcomer and a process designer use it."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from tsunagu.engine.models import CaseRecord, CaseStatus, UserRecord
from tsunagu.web.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
SHIPPED = Path(__file__).resolve().parents[2] / "bpmn"


def test_validate_passes_the_shipped_processes():
    result = CliRunner().invoke(main, ["validate", str(SHIPPED)])
    assert result.exit_code == 0, result.output


def test_validate_names_the_task_whose_form_file_is_missing_and_exits_1():
    result = CliRunner().invoke(main, ["validate", str(FIXTURES / "missing_form" / "missing_form.bpmn")])
    assert result.exit_code == 1
    assert "[ask_name]" in result.output and "form_file_not_found" in result.output
    assert "does-not-exist.json" in result.output


def test_demo_creates_every_role_and_cases_in_different_states_once(database_url, session):
    env = {"TSUNAGU_DATABASE_URL": database_url}
    first = CliRunner().invoke(main, ["demo"], env=env)
    assert first.exit_code == 0, first.output
    assert "demo data created" in first.output and "tsunagu-demo" in first.output
    names = set(session.scalars(select(UserRecord.username)))
    assert {"caseworker", "supervisor", "coordinator", "designer", "partner", "admin"} <= names
    statuses = set(session.scalars(select(CaseRecord.status)))
    assert {CaseStatus.RUNNING, CaseStatus.WAITING, CaseStatus.COMPLETED} <= statuses
    assert CaseStatus.ERROR not in statuses
    cases_after_first = session.scalar(select(func.count()).select_from(CaseRecord))

    again = CliRunner().invoke(main, ["demo"], env=env)
    assert again.exit_code == 0 and "already present" in again.output
    assert session.scalar(select(func.count()).select_from(CaseRecord)) == cases_after_first


def test_demo_refuses_a_database_holding_a_real_municipality(database_url, session, municipality):
    result = CliRunner().invoke(main, ["demo"], env={"TSUNAGU_DATABASE_URL": database_url})
    assert result.exit_code == 1
    assert "real municipality" in result.output
    assert session.scalar(select(func.count()).select_from(UserRecord)) == 0
