"""`tsunagu migrate KEY --municipality CODE [--dry-run]` and `tsunagu migrate-back CASE_ID` from the command line."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tsunagu.engine.models import AuditRecord, CaseRecord
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import build_definition

from .scenario import consent_refused
from .test_case_migration import version_two_files

KEY = "kodoku_koritsu_case"


@pytest.fixture
def run(database_url):
    from tsunagu.web.cli import main

    def invoke(*args):
        result = CliRunner().invoke(main, list(args), env={"TSUNAGU_DATABASE_URL": database_url})
        assert "Traceback" not in result.output
        return result

    return invoke


def test_the_dry_run_lists_what_cannot_move_and_the_migration_moves_the_rest_with_a_progress_bar(
        run, session, session_factory, clock, story, municipality):
    movable = story.start("受付")
    stuck = story.start("見守り")
    story.to_consent(stuck)
    story.complete(stuck, "consent_capture", story.cast.caseworker, consent_refused())
    deploy(session, clock, build_definition(version_two_files()), municipality_id=municipality.id)
    session.commit()

    dry = run("migrate", KEY, "--municipality", municipality.code, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "移行できるケース 1 件、できないケース 1 件" in dry.output
    assert "task_removed [watch_arrangement] 1 件" in dry.output
    with session_factory() as other:
        assert {c.process_version_id for c in other.scalars(select(CaseRecord))} == {story.version.id}

    done = run("migrate", KEY, "--municipality", municipality.code)
    assert done.exit_code == 0, done.output
    assert "移行 1 件" in done.output and "移行中" in done.output
    with session_factory() as other:
        assert other.get(CaseRecord, movable.id).process_version_id != story.version.id
        assert other.get(CaseRecord, stuck.id).process_version_id == story.version.id
        audit = other.scalars(select(AuditRecord).where(AuditRecord.action == "case.migrated")).one()
        assert audit.detail["via"] == "cli" and audit.municipality_id == municipality.id

    back = run("migrate-back", str(movable.id))
    assert back.exit_code == 0, back.output
    with session_factory() as other:
        assert other.get(CaseRecord, movable.id).process_version_id == story.version.id
    again = run("migrate-back", str(movable.id))
    assert again.exit_code == 1 and "invalid_state" in again.output
