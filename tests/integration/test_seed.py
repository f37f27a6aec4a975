"""`tsunagu seed`'s engine side: made-up cases spread over the standard process, open ones the engine can
continue, and never mixed with a real municipality's cases."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tsunagu.engine.access.users import create_user
from tsunagu.engine.admin.seed import SEED_PREFIX, SeedRefused
from tsunagu.engine.casefile.tables import AssessmentRecord, ConsentRecord, PersonRecord, SupportActionRecord
from tsunagu.engine.clock import FixedClock
from tsunagu.engine.commands import cases
from tsunagu.engine.models import AuditRecord, CaseRecord, CaseStatus, ProcessVersionRecord, TaskRecord, TaskStatus
from tsunagu.engine.runtime.workflow import load_state, ready_user_tasks
from tsunagu.processes.municipality import set_up_municipality
from tsunagu.processes.seeding import seed_municipality

NOW = datetime(2026, 12, 6, 1, 0, tzinfo=timezone.utc)
STANDARD = Path(__file__).resolve().parents[2] / "bpmn"
# What an open case of each position waits on: its open task elements (none: it waits on the council or a timer).
WAITS_ON = {"intake": ["intake"], "assessment": ["baseline_assessment"], "consent": ["consent_capture"],
            "tabling": ["table_case"], "tabled": [], "actions": ["action_response", "action_response"],
            "waiting_review": [], "review": ["review_assessment"], "follow_up": ["follow_up_review"],
            "crisis": ["crisis_review"], "closure": ["closure"]}


@pytest.fixture
def town(session_factory):
    with session_factory() as session:
        done = set_up_municipality(session, FixedClock(NOW - timedelta(days=900)), code="131016", name="千代田区",
                                   process_dir=STANDARD)
        return done.municipality


def seed(session_factory, count, **options):
    return seed_municipality(session_factory, code="131016", cases=count, now=NOW, operator="tester", **options)


def open_elements(session, case_id):
    return sorted(session.scalars(select(TaskRecord.element_id).where(
        TaskRecord.case_id == case_id, TaskRecord.status == TaskStatus.OPEN)))


def test_seeding_300_cases_spreads_them_over_the_standard_process_as_real_restorable_cases(session_factory, town):
    reported = []
    done = seed(session_factory, 300, progress=reported.append)

    assert (done.cases, done.open, done.closed) == (300, 90, 210)
    assert sum(reported) == 300 and sum(done.by_position.values()) == 300
    with session_factory() as session:
        seeded = list(session.scalars(select(CaseRecord).where(CaseRecord.municipality_id == town.id)))
        assert len(seeded) == 300 and all(c.reference.startswith(SEED_PREFIX) for c in seeded)
        closed = [c for c in seeded if c.status == CaseStatus.COMPLETED]
        assert len(closed) == 210 and all(c.closure_reason and c.completed_at <= NOW for c in closed)
        assert min(c.completed_at for c in closed) < NOW - timedelta(days=5 * 365)  # spread over past years
        # Everyone has a person of their own, except the cases still waiting on their intake.
        assert len({c.person_id for c in seeded if c.person_id}) == 300 - done.by_position["intake"]
        assert session.scalar(select(func.count()).select_from(PersonRecord).where(
            PersonRecord.name_key.is_(None))) == 0

        # Each open case waits where its position says; every position of the standard process is there.
        waiting = Counter()
        spec = session.scalar(select(ProcessVersionRecord.spec).where(ProcessVersionRecord.id == seeded[0].process_version_id))
        for case in (c for c in seeded if c.status != CaseStatus.COMPLETED):
            elements = open_elements(session, case.id)
            position = next(p for p, shown in WAITS_ON.items() if shown == elements
                            and (p not in ("tabled", "waiting_review") or (p == "waiting_review") == bool(case.next_timer_at)))
            waiting[position] += 1
            # The stored workflow, restored, waits on exactly the open task rows, under their ids.
            ready = sorted((v.element_id, v.spiff_id) for v in ready_user_tasks(load_state(spec, case.workflow_state)))
            rows = sorted(session.execute(select(TaskRecord.element_id, TaskRecord.spiff_task_id).where(
                TaskRecord.case_id == case.id, TaskRecord.status == TaskStatus.OPEN)).all())
            assert ready == rows, case.reference
        assert waiting == {p: n for p, n in done.by_position.items() if not p.startswith("closed")}
        assert set(waiting) == set(WAITS_ON)
        due = list(session.scalars(select(TaskRecord.due_at).where(TaskRecord.status == TaskStatus.OPEN)))
        assert min(due) < NOW < max(due)  # tasks due in the past and in the future
        spiff_ids = list(session.scalars(select(TaskRecord.spiff_task_id)))
        assert len(spiff_ids) == len(set(spiff_ids))
        # The case file around them: assessments, consents, actions and the audit trail with its reads.
        for record in (AssessmentRecord, ConsentRecord, SupportActionRecord):
            assert session.scalar(select(func.count()).select_from(record)) > 100
        actions = Counter(session.scalars(select(AuditRecord.action).where(AuditRecord.case_id.is_not(None))))
        assert actions["case.viewed"] == 300 and actions["case.started"] == 300
        assert actions["task.completed"] > 1000

        # One audit row of the command line's own, with the counts.
        (row,) = session.scalars(select(AuditRecord).where(AuditRecord.action == "seed.cases"))
    assert row.municipality_id == town.id and row.actor_id is None
    assert (row.detail["cases"], row.detail["open"], row.detail["closed"]) == (300, 90, 210)
    assert row.detail["via"] == "cli" and row.detail["operator"] == "tester" and row.detail["seed"] == 1


def test_the_same_seed_makes_the_same_people_and_a_second_run_adds_cases_of_its_own(session_factory, town):
    seed(session_factory, 30, seed=7, open_share=0)
    with session_factory() as session:
        first = list(session.execute(select(PersonRecord.name, PersonRecord.birth_year).order_by(PersonRecord.id)).all())
    assert len(set(first)) > 10
    # A second run adds to the same municipality with references of its own.
    seed(session_factory, 30, seed=7, open_share=0)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(CaseRecord)) == 60
        assert session.scalar(select(func.count(func.distinct(CaseRecord.reference)))) == 60
        later = list(session.execute(select(PersonRecord.name, PersonRecord.birth_year).order_by(PersonRecord.id)).all())
    copies = [p for p in first if p[0] != "見本 花子"]
    assert [p for p in later[len(first):] if p[0] != "見本 花子"] == copies


def test_a_seeded_case_is_continued_by_the_engine_like_any_case(session_factory, town):
    seed(session_factory, 12, open_share=1.0, open_shares={"review": 1, "actions": 1})
    with session_factory() as session:
        review = session.scalars(select(TaskRecord).where(TaskRecord.element_id == "review_assessment",
                                                          TaskRecord.status == TaskStatus.OPEN)
                                 .order_by(TaskRecord.id.desc())).first()
        response = session.scalars(select(TaskRecord).where(TaskRecord.element_id == "action_response",
                                                            TaskRecord.status == TaskStatus.OPEN)
                                   .order_by(TaskRecord.id.desc())).first()
        worker = review.case.created_by
        clock = FixedClock(NOW)
        cases.complete_task(session, clock, worker, review.id, {
            "assessed_on": "2026-12-06", "respondent": "self", "loneliness_direct": 2, "ucla_1": 2, "ucla_2": 1,
            "ucla_3": 1, "contact_frequency": "weekly", "participation": "yes", "support_received": "yes",
            "helps_others": "no"})
        assert open_elements(session, review.case_id) == ["follow_up_review"]
        assert session.scalars(select(AssessmentRecord.person_id).where(
            AssessmentRecord.task_id == review.id)).all() == [review.case.person_id] * 3

        # A partner answers the support action of a copied case: the action is that case's own.
        assert session.get(SupportActionRecord, response.subject_id).case_id == response.case_id
        user = create_user(session, clock, municipality_id=town.id, username="partner-test", display_name="連携",
                           password="partner-password-1", roles=["partner"], organisation_id=response.candidate_body_id)
        session.commit()
        cases.complete_task(session, clock, user, response.id, {"response": "accept", "planned_start": "2026-12-08"})
        assert session.get(SupportActionRecord, response.subject_id).status.value == "accepted"
        # Its next task names the same action: the copied workflow carries the copy's own action id.
        contact = session.scalar(select(TaskRecord).where(TaskRecord.case_id == response.case_id,
                                                          TaskRecord.element_id == "action_first_contact"))
        assert contact.subject_id == response.subject_id and contact.status == TaskStatus.OPEN


def test_a_municipality_with_real_cases_is_never_seeded(session_factory, town, clock):
    with session_factory() as session:
        worker = create_user(session, clock, municipality_id=town.id, username="real-worker", display_name="相談",
                             password="real-password-12", roles=["caseworker"])
        session.commit()
        version = session.scalar(select(ProcessVersionRecord))
        cases.start_case(session, clock, worker, version, "本物の相談")

    with pytest.raises(SeedRefused, match="1 real case"):
        seed(session_factory, 30)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(CaseRecord)) == 1
        assert session.scalar(select(AuditRecord).where(AuditRecord.action == "seed.cases")) is None
