"""Moving running cases to a new version of the standard process: 200 cases spread over the process, some
waiting at a task the new version removed. The dry run classifies them, the migration moves exactly the
movable ones (whose next steps then follow the new version), the others stay and are listed, and a moved
case that has not advanced since can be moved back."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.commands import migration
from tsunagu.engine.errors import Conflict, Forbidden, InvalidState
from tsunagu.engine.models import (
    AuditRecord,
    CaseMigrationRecord,
    CaseRecord,
    CaseStatus,
    MigrationBatchRecord,
    TaskRecord,
    TaskStatus,
    UserRecord,
)
from tsunagu.engine.runtime.workflow import dump_state, load_state, parse_duration, ready_user_tasks
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import build_definition, read_folder

from .scenario import WATCH, consent_refused

STANDARD_PROCESS = Path(__file__).resolve().parents[2] / "bpmn" / "kodoku_koritsu_case"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def version_two_files() -> dict[str, str]:
    """The standard process without `watch_arrangement` (a refused consent goes straight to contact
    attempts), and contact attempts due in 7 days instead of 14."""
    files = read_folder(STANDARD_PROCESS)
    text = files["kodoku_koritsu_case.bpmn"]
    text = re.sub(r"\s*<bpmn:flowNodeRef>watch_arrangement</bpmn:flowNodeRef>", "", text)
    text = re.sub(r'\s*<bpmn:userTask id="watch_arrangement".*?</bpmn:userTask>', "", text, flags=re.S)
    text = re.sub(r'\s*<bpmn:sequenceFlow id="flow_watch_contact"[^>]*/>', "", text)
    text = text.replace('sourceRef="consent_gateway" targetRef="watch_arrangement"',
                        'sourceRef="consent_gateway" targetRef="contact_merge"')
    text = text.replace("<bpmn:incoming>flow_watch_contact</bpmn:incoming>",
                        "<bpmn:incoming>flow_consent_refused</bpmn:incoming>")
    text = re.sub(r'\s*<bpmndi:BPMNShape id="watch_arrangement_di".*?</bpmndi:BPMNShape>', "", text, flags=re.S)
    text = re.sub(r'\s*<bpmndi:BPMNEdge id="flow_watch_contact_di".*?</bpmndi:BPMNEdge>', "", text, flags=re.S)
    contact = ('<spiffworkflow:property name="dueIn" value="P{}D" />\n'
               '          <spiffworkflow:property name="kind" value="contact" />')
    assert contact.format(14) in text
    text = text.replace(contact.format(14), contact.format(7))
    assert "watch_arrangement\"" not in text.split("<bpmndi:")[0].replace('value="watch_arrangement"', "")
    files["kodoku_koritsu_case.bpmn"] = text
    del files["watch-arrangement-schema.json"], files["watch-arrangement-uischema.json"]
    return files


@pytest.fixture
def designer(session, clock, municipality, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username="designer",
                             display_name="designer", password=user_password, roles=["designer"])
    session.commit()
    return user


@pytest.fixture
def version_two(session, clock, municipality, standard_version):
    version = deploy(session, clock, build_definition(version_two_files()), municipality_id=municipality.id).version
    session.commit()
    return version


def copy_case(session_factory, clock, case_id: int, how_many: int) -> list[int]:
    """Copies of a real case: the same workflow with fresh task ids, and its open task rows to match."""
    made = []
    with session_factory() as session:
        case = session.get(CaseRecord, case_id)
        rows = session.scalars(select(TaskRecord).where(TaskRecord.case_id == case_id,
                                                        TaskRecord.status == TaskStatus.OPEN)).all()
        for n in range(how_many):
            fresh: dict[str, str] = {}
            state = UUID.sub(lambda m, fresh=fresh: fresh.setdefault(m.group(0), str(uuid.uuid4())),
                             case.workflow_state)
            copy = CaseRecord(reference=f"C{case_id}-{n}", municipality_id=case.municipality_id,
                              process_version_id=case.process_version_id, title=f"写し{n}", status=case.status,
                              workflow_state=state, created_by_id=case.created_by_id, created_at=clock(),
                              updated_at=clock(), next_timer_at=case.next_timer_at)
            session.add(copy)
            session.flush()
            for row in rows:
                session.add(TaskRecord(case_id=copy.id, municipality_id=copy.municipality_id,
                                       spiff_task_id=fresh[row.spiff_task_id], element_id=row.element_id,
                                       name=row.name, role=row.role, kind=row.kind, form_file=row.form_file,
                                       ui_file=row.ui_file, status=TaskStatus.OPEN, priority=row.priority,
                                       created_at=row.created_at, due_at=row.due_at))
            made.append(copy.id)
        session.commit()
    return made


def open_elements(session_factory, case_id: int) -> list[str]:
    with session_factory() as session:
        return sorted(session.scalars(select(TaskRecord.element_id).where(
            TaskRecord.case_id == case_id, TaskRecord.status == TaskStatus.OPEN)))


def restores(session_factory, case_id: int) -> None:
    """The stored state restores with the case's own version and waits on exactly its open task rows."""
    with session_factory() as session:
        case = session.get(CaseRecord, case_id)
        workflow = load_state(case.process_version.spec, case.workflow_state)
        ready = sorted((v.element_id, v.spiff_id) for v in ready_user_tasks(workflow))
        rows = sorted((t.element_id, t.spiff_task_id) for t in session.scalars(select(TaskRecord).where(
            TaskRecord.case_id == case_id, TaskRecord.status == TaskStatus.OPEN)))
        assert ready == rows
        assert dump_state(workflow) == case.workflow_state


@pytest.fixture
def spread(story, session_factory, clock, standard_version):
    """200 running cases of version 1: at intake, consent, the removed watch arrangement, contact attempts
    after it, waiting for the council, and one stopped on an error."""
    worker = story.cast.caseworker
    at_intake = story.start("受付")
    at_consent = story.start("同意確認")
    story.to_consent(at_consent)
    at_watch = story.start("見守り")
    story.to_consent(at_watch)
    story.complete(at_watch, "consent_capture", worker, consent_refused())
    at_contact = story.start("連絡")
    story.to_consent(at_contact)
    story.complete(at_contact, "consent_capture", worker, consent_refused())
    story.complete(at_contact, "watch_arrangement", worker, WATCH)
    at_council = story.start("付議")
    story.to_council(at_council)
    groups = {"intake": [at_intake.id], "consent": [at_consent.id], "watch": [at_watch.id],
              "contact": [at_contact.id], "council": [at_council.id]}
    for name, count in (("intake", 59), ("consent", 39), ("watch", 29), ("contact", 39), ("council", 29)):
        groups[name] += copy_case(session_factory, clock, groups[name][0], count)
    with session_factory() as session:
        broken = session.get(CaseRecord, groups["intake"][-1])
        broken.status, broken.error_element = CaseStatus.ERROR, "triage"
        session.commit()
    groups["error"] = [groups["intake"].pop()]
    assert sum(len(ids) for ids in groups.values()) == 200
    return groups


def test_two_hundred_cases_move_except_those_at_the_removed_task_and_one_moves_back(
        session, session_factory, clock, story, spread, standard_version, version_two, designer, municipality):
    found = migration.plan(session, clock, designer, "kodoku_koritsu_case", municipality.id)
    assert found.target.id == version_two.id
    blocked = {v.case_id: (v.reason, v.element) for v in found.blocked}
    assert blocked == {**{case: ("task_removed", "watch_arrangement") for case in spread["watch"]},
                       spread["error"][0]: ("case_in_error", "triage")}
    assert found.movable == 200 - 31 == found.total - len(found.blocked)
    assert found.groups() == [("task_removed", "watch_arrangement", 30), ("case_in_error", "triage", 1)]
    with session_factory() as other:  # the dry run wrote its audit row and nothing else
        assert all(case.process_version_id == standard_version.id for case in other.scalars(select(CaseRecord)))
        assert other.scalar(select(AuditRecord.action).order_by(AuditRecord.id.desc()).limit(1)) == "migration.planned"

    ticks: list[int] = []
    batch = migration.migrate(session, clock, designer, "kodoku_koritsu_case", municipality.id,
                              progress=ticks.append, via="web")
    assert (batch.status, batch.total, batch.moved, batch.refused) == ("finished", 169, 169, 0)
    assert len(ticks) == 169
    with session_factory() as other:
        versions = {case.id: case.process_version_id for case in other.scalars(select(CaseRecord))}
        moved_audits = other.scalars(select(AuditRecord.case_id).where(AuditRecord.action == "case.migrated")).all()
    stayed = set(spread["watch"]) | set(spread["error"])
    assert {case for case, version in versions.items() if version == standard_version.id} == stayed
    assert len(moved_audits) == 169 and stayed.isdisjoint(moved_audits)
    for case_id in (spread["intake"][0], spread["consent"][3], spread["contact"][0], spread["council"][5]):
        restores(session_factory, case_id)
    assert open_elements(session_factory, spread["watch"][0]) == ["watch_arrangement"]
    again = migration.plan(session, clock, designer, "kodoku_koritsu_case", municipality.id)
    assert again.movable == 0 and {v.case_id for v in again.blocked} == stayed

    # The changed due period applies to the open contact attempt, counted from when it was opened.
    with session_factory() as other:
        contact = other.scalars(select(TaskRecord).where(TaskRecord.case_id == spread["contact"][0],
                                                         TaskRecord.status == TaskStatus.OPEN)).one()
        assert contact.element_id == "contact_attempt"
        assert contact.due_at == parse_duration("P7D", contact.created_at)

    # Next steps follow version 2: a refused consent goes straight to contact attempts, due in 7 days.
    advanced = spread["consent"][0]
    story.version = version_two
    story.complete(advanced, "consent_capture", story.cast.caseworker, consent_refused())
    assert open_elements(session_factory, advanced) == ["contact_attempt"]
    due = story.task(advanced, "contact_attempt").due_at
    assert due == parse_duration("P7D", clock())

    # A moved case that has not advanced moves back to version 1 and its old state; an advanced one does not.
    quiet = spread["consent"][1]
    with session_factory() as other:
        row = other.scalars(select(CaseMigrationRecord).where(CaseMigrationRecord.case_id == quiet)).one()
        previous_state = row.previous_state
    with session_factory() as other:
        migration.move_back(other, clock, other.get(UserRecord, designer.id), quiet)
    with session_factory() as other:
        case = other.get(CaseRecord, quiet)
        assert case.process_version_id == standard_version.id and case.workflow_state == previous_state
        assert other.scalars(select(CaseMigrationRecord.moved_back_at)
                             .where(CaseMigrationRecord.case_id == quiet)).one() is not None
    restores(session_factory, quiet)
    story.version = standard_version
    story.complete(quiet, "consent_capture", story.cast.caseworker, consent_refused())
    assert open_elements(session_factory, quiet) == ["watch_arrangement"]  # version 1's path again
    with session_factory() as other, pytest.raises(InvalidState) as refused:
        migration.move_back(other, clock, other.get(UserRecord, designer.id), advanced)
    assert refused.value.details["reason"] == "case_advanced"
    with session_factory() as other, pytest.raises(InvalidState):
        migration.move_back(other, clock, other.get(UserRecord, designer.id), quiet)  # not twice


def test_a_case_that_changes_during_the_batch_is_refused_and_counted(
        session, session_factory, clock, story, standard_version, version_two, designer, municipality):
    first, second = story.start("一件目"), story.start("二件目")
    batch, found = migration.start_batch(session, clock, designer, "kodoku_koritsu_case", municipality.id)
    assert found.movable == 2 and batch.total == 2
    with pytest.raises(Conflict):  # one batch of a process at a time
        migration.start_batch(session, clock, designer, "kodoku_koritsu_case", municipality.id)
    step = migration.run_batch(session, clock, designer, batch.id, limit=1)
    assert (step.done, step.cursor, step.batch.moved) == (False, first.id, 1)
    clock.advance(timedelta(minutes=1))
    with session_factory() as other:  # the second case is stopped on an error meanwhile
        case = other.get(CaseRecord, second.id)
        case.status, case.updated_at = CaseStatus.ERROR, clock()
        other.commit()
    step = migration.run_batch(session, clock, designer, batch.id, after=step.cursor)
    assert step.done and (step.batch.moved, step.batch.refused, step.batch.status) == (1, 1, "finished")
    with session_factory() as other:
        assert other.get(MigrationBatchRecord, batch.id).finished_at is not None


def test_a_batch_continued_from_its_start_counts_each_case_once(
        session, session_factory, clock, story, standard_version, version_two, designer, municipality):
    # The page was closed after two cases; its Continue button starts the batch's pass again from the start.
    _first, second, _third = story.start("一件目"), story.start("二件目"), story.start("三件目")
    batch, _found = migration.start_batch(session, clock, designer, "kodoku_koritsu_case", municipality.id)
    clock.advance(timedelta(minutes=1))
    with session_factory() as other:  # the second case is stopped on an error after the batch began
        case = other.get(CaseRecord, second.id)
        case.status, case.updated_at = CaseStatus.ERROR, clock()
        other.commit()
    step = migration.run_batch(session, clock, designer, batch.id, limit=2)
    assert (step.done, step.batch.moved, step.batch.refused) == (False, 1, 1)
    step = migration.run_batch(session, clock, designer, batch.id, after=0)
    assert step.done and (step.batch.moved, step.batch.refused, step.batch.total) == (2, 1, 3)
    refusals = session.scalars(select(AuditRecord).where(AuditRecord.action == "case.migration_refused")).all()
    assert [(r.case_id, r.detail["batch"]) for r in refusals] == [(second.id, batch.id)]


def test_only_designers_and_administrators_of_the_municipality_may_migrate(
        session, clock, story, standard_version, version_two, municipality, caseworker):
    story.start()
    with pytest.raises(Forbidden):
        migration.plan(session, clock, caseworker, "kodoku_koritsu_case", municipality.id)
    with pytest.raises(Forbidden):
        migration.migrate(session, clock, caseworker, "kodoku_koritsu_case", municipality.id)
