"""Scenario helpers: drive a case of the shipped process through the engine's own commands, one step
at a time, and after every step check that the stored state restores to exactly what the inbox shows.

Every helper works through a fresh session, as a separate request would, so nothing a test sees comes
from an identity map a command happened to leave behind.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import undefer

from tsunagu.engine.access import permissions
from tsunagu.engine.casefile.tables import (
    ActionTypeRecord,
    AgendaItemRecord,
    AssessmentRecord,
    ConsentRecord,
    CouncilDecisionRecord,
    CouncilMeetingRecord,
    DisclosureRecord,
    MeetingBodyRecord,
    OrganisationRecord,
    SupportActionRecord,
)
from tsunagu.engine.commands import cases, council, events, queries
from tsunagu.engine.commands.scheduler import TimerPolicy, run_pass
from tsunagu.engine.models import (
    AuditRecord,
    CaseRecord,
    CaseStatus,
    TaskRecord,
    TaskStatus,
    UserRecord,
)
from tsunagu.engine.ops.tables import NotificationRecord
from tsunagu.engine.runtime.timers import next_timer_at
from tsunagu.engine.runtime.workflow import dump_state, load_state, ready_user_tasks

# --- Form data a caseworker would enter ----------------------------------------------------------


def intake(**overrides) -> dict:
    """A complete intake: a person living alone, no special care, no existing scheme."""
    data = {
        "consultation_date": "2026-11-27", "channel": "phone", "person_name": "山田 花子",
        "person_kana": "ヤマダ ハナコ", "birth_year": 1956, "household": "alone",
        "concern": "一人暮らしで話し相手がいない", "wishes": "近所で気軽に話せる場がほしい",
        "special_care": [], "immediate_danger": False, "existing_scheme": "none",
    }
    data.update(overrides)
    return data


def assessment(lonely: int = 3, ucla: tuple[int, int, int] = (2, 2, 2), **overrides) -> dict:
    """The national-survey questions: the direct question, UCLA-3 (JP) and the isolation indicators."""
    data = {
        "assessed_on": "2026-11-27", "respondent": "self", "loneliness_direct": lonely,
        "ucla_1": ucla[0], "ucla_2": ucla[1], "ucla_3": ucla[2], "contact_frequency": "monthly",
        "participation": "no", "support_received": "yes", "helps_others": "no",
    }
    data.update(overrides)
    return data


def consent_given(recipient_body_ids: list[int], **overrides) -> dict:
    """A written consent for planning, sharing and the council, naming the member bodies it covers."""
    data = {"consent_decision": "given", "purposes": ["support_planning", "information_sharing", "council"],
            "recipient_body_ids": list(recipient_body_ids), "method": "written", "consent_date": "2026-11-28"}
    data.update(overrides)
    return data


def consent_refused(**overrides) -> dict:
    data = {"consent_decision": "refused", "consent_date": "2026-11-28",
            "consent_note": "今は誰にも知られたくない"}
    data.update(overrides)
    return data


def tabling(meeting_date: str, basis: str = "consent", **overrides) -> dict:
    data = {"meeting_date": meeting_date, "basis": basis, "issues": "退職後、家族以外との交流がない",
            "wishes_summary": "同世代と話せる場所に行ってみたい"}
    data.update(overrides)
    return data


def review(decision: str, reviewed_on: str = "2027-01-10", **overrides) -> dict:
    data = {"reviewed_on": reviewed_on, "progress_note": "訪問を重ね、居場所に2回参加した",
            "review_decision": decision}
    data.update(overrides)
    return data


ACCEPT = {"response": "accept", "planned_start": "2026-12-10"}
FIRST_CONTACT = {"contacted_on": "2026-12-12", "first_contact_method": "visit", "first_contact_note": "玄関先で話せた"}
DELIVERED = {"outcome": "delivered", "outcome_note": "毎週の訪問を実施した", "completed_on": "2027-01-05"}
CLOSURE_GOAL = {"closure_reason": "goal_reached", "closed_on": "2027-03-01", "closure_note": "居場所に定着した"}


# --- The people and the running story ----------------------------------------------------------


@dataclass
class Cast:
    """Users per role; partners are keyed by the catalogue key of the member body they work for."""

    caseworker: UserRecord
    supervisor: UserRecord
    coordinator: UserRecord
    partners: dict[str, UserRecord]
    bodies: dict[str, OrganisationRecord]


@dataclass
class Story:
    """One test's engine, clock and cast; each command method checks the stored state afterwards."""

    session_factory: object
    clock: object
    version: object
    cast: Cast
    policy: TimerPolicy = field(default_factory=TimerPolicy)

    # Commands -------------------------------------------------------------------------------

    def start(self, title: str = "山田さんの相談") -> CaseRecord:
        with self.session_factory() as session:
            actor = session.get(UserRecord, self.cast.caseworker.id)
            case = cases.start_case(session, self.clock, actor, session.merge(self.version), title)
        self.assert_restores(case.id)
        return case

    def complete(self, case: CaseRecord | int, task: str | TaskRecord, user: UserRecord, data: dict) -> TaskRecord:
        """Complete a task as `user`: the given row, or the single open task of an element id."""
        if isinstance(task, str):
            task = self.task(case, task)
        with self.session_factory() as session:
            cases.complete_task(session, self.clock, session.get(UserRecord, user.id), task.id, dict(data))
        self.assert_restores(case)
        return task

    def add_action(self, case: CaseRecord | int, data: dict, user: UserRecord | None = None) -> SupportActionRecord:
        """A caseworker (or coordinator) adds a support action to a running case outside the council."""
        with self.session_factory() as session:
            actor = session.get(UserRecord, (user or self.cast.coordinator).id)
            action = events.add_support_action(session, self.clock, actor, _id(case), data)
        self.assert_restores(case)
        return action

    def decide(self, case: CaseRecord | int, actions: list[dict] = (), next_review_on: str = "2027-01-10",
               meeting_id: int | None = None, **overrides) -> CouncilDecisionRecord:
        """The coordinator records the council's decision, by default at the meeting the case was last tabled at."""
        case_id = _id(case)
        meeting_id = meeting_id or self.latest_agenda_item(case_id).meeting_id
        self.hold_meeting(meeting_id)
        data = {"situation": "退職後、社会的な接点がほぼない", "risk": "high",
                "plan": "社会福祉協議会が訪問で関係をつくり、居場所につなぐ",
                "lead_body_id": self.cast.bodies["shakyo"].id, "key_person": "長女（県外在住）",
                "next_review_on": next_review_on, "actions": list(actions)}
        data.update(overrides)
        with self.session_factory() as session:
            decision = council.record_decision(session, self.clock, session.get(UserRecord, self.cast.coordinator.id),
                                               meeting_id, case_id, data)
        self.assert_restores(case_id)
        return decision

    def hold_meeting(self, meeting_id: int) -> None:
        """The council meets: the clock moves on to 10:00 of the meeting day if that is still ahead, since
        a decision is not recorded before its meeting."""
        with self.session_factory() as session:
            held_on = session.get(CouncilMeetingRecord, meeting_id).held_on
        meets = datetime.combine(held_on, datetime.min.time().replace(hour=10), ZoneInfo("Asia/Tokyo"))
        if self.clock() < meets:
            self.clock.advance(meets - self.clock())

    def attend(self, case: CaseRecord | int, *body_keys: str) -> None:
        """The coordinator invites member bodies to the meeting the case was last tabled at: only they
        receive its papers on the council's basis (Act Art. 16)."""
        meeting_id = self.latest_agenda_item(case).meeting_id
        with self.session_factory() as session:
            session.add_all(MeetingBodyRecord(meeting_id=meeting_id, organisation_id=self.cast.bodies[key].id)
                            for key in body_keys)
            session.commit()

    def withdraw_consent(self, consent_id: int, user: UserRecord | None = None):
        with self.session_factory() as session:
            actor = session.get(UserRecord, (user or self.cast.caseworker).id)
            consent = events.withdraw_consent(session, self.clock, actor, consent_id)
        self.assert_restores(consent.case_id)
        return consent

    def request_review(self, case: CaseRecord | int, user: UserRecord | None = None) -> CaseRecord:
        with self.session_factory() as session:
            actor = session.get(UserRecord, (user or self.cast.caseworker).id)
            events.request_review(session, self.clock, actor, _id(case))
        self.assert_restores(case)
        return self.case(case)

    def reopen(self, case: CaseRecord | int, user: UserRecord | None = None) -> CaseRecord:
        with self.session_factory() as session:
            actor = session.get(UserRecord, (user or self.cast.caseworker).id)
            new = events.reopen_case(session, self.clock, actor, _id(case), session.merge(self.version))
        self.assert_restores(new.id)
        return new

    def pass_time(self, delta: timedelta) -> list[int]:
        """Move the clock on and run one scheduler pass; return the ids of the cases whose timers fired."""
        self.clock.advance(delta)
        fired = run_pass(self.session_factory, self.clock, self.policy, "test").fired
        for case_id in fired:
            self.assert_restores(case_id)
        return fired

    def pass_time_until(self, moment) -> list[int]:
        return self.pass_time(moment - self.clock())

    # Checks ---------------------------------------------------------------------------------

    def assert_restores(self, case: CaseRecord | int) -> None:
        """The stored workflow, restored, waits on exactly the tasks the inbox shows as open, serializes
        back to the same text and has the same next timer as the due index."""
        stored = self.case(case)
        assert stored.status != CaseStatus.ERROR, f"stopped on {stored.error_element}: {stored.error_message}"
        workflow = load_state(self.version.spec, stored.workflow_state)
        ready = sorted((view.element_id, view.spiff_id) for view in ready_user_tasks(workflow))
        rows = sorted((t.element_id, t.spiff_task_id) for t in self.tasks(stored.id, TaskStatus.OPEN))
        assert ready == rows, f"restored workflow waits on {ready}, the inbox shows {rows}"
        assert dump_state(workflow) == stored.workflow_state
        if stored.status != CaseStatus.COMPLETED:
            assert next_timer_at(workflow) == stored.next_timer_at

    # Reads ----------------------------------------------------------------------------------

    def case(self, case: CaseRecord | int) -> CaseRecord:
        with self.session_factory() as session:  # with its workflow state, readable after the session
            return session.get(CaseRecord, _id(case), options=[undefer(CaseRecord.workflow_state)])

    def tasks(self, case: CaseRecord | int, status: TaskStatus | None = None) -> list[TaskRecord]:
        query = select(TaskRecord).where(TaskRecord.case_id == _id(case)).order_by(TaskRecord.id)
        if status is not None:
            query = query.where(TaskRecord.status == status)
        with self.session_factory() as session:
            return list(session.scalars(query))

    def open_elements(self, case: CaseRecord | int) -> list[str]:
        """The element ids of a case's open tasks, sorted (parallel branches have no order)."""
        return sorted(t.element_id for t in self.tasks(case, TaskStatus.OPEN))

    def open_tasks(self, case: CaseRecord | int, element_id: str) -> list[TaskRecord]:
        return [t for t in self.tasks(case, TaskStatus.OPEN) if t.element_id == element_id]

    def task(self, case: CaseRecord | int, element_id: str) -> TaskRecord:
        """The single open task of `element_id`; fails naming what is open instead."""
        found = self.open_tasks(case, element_id)
        assert len(found) == 1, f"expected one open '{element_id}', open: {self.open_elements(case)}"
        return found[0]

    def data_at(self, case: CaseRecord | int, element_id: str) -> dict:
        """The workflow data of the newest task of `element_id` (what the flow knew when it got there)."""
        workflow = load_state(self.version.spec, self.case(case).workflow_state)
        found = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == element_id]
        assert found, f"'{element_id}' never ran"
        return max(found, key=lambda t: t.last_state_change).data

    def data_objects(self, case: CaseRecord | int) -> dict:
        """The process's data objects, e.g. `consent_status`."""
        return load_state(self.version.spec, self.case(case).workflow_state).data.get("data_objects", {})

    def rows(self, model, case: CaseRecord | int, order=None) -> list:
        with self.session_factory() as session:
            return list(session.scalars(select(model).where(model.case_id == _id(case))
                                        .order_by(order if order is not None else model.id)))

    def assessments(self, case) -> list[AssessmentRecord]:
        return self.rows(AssessmentRecord, case)

    def consents(self, case) -> list[ConsentRecord]:
        return self.rows(ConsentRecord, case)

    def disclosures(self, case) -> list[DisclosureRecord]:
        return self.rows(DisclosureRecord, case)

    def actions(self, case) -> list[SupportActionRecord]:
        return self.rows(SupportActionRecord, case)

    def decisions(self, case) -> list[CouncilDecisionRecord]:
        return self.rows(CouncilDecisionRecord, case)

    def latest_agenda_item(self, case) -> AgendaItemRecord:
        return self.rows(AgendaItemRecord, case)[-1]

    def audit(self, case) -> list[str]:
        return [row.action for row in self.rows(AuditRecord, case)]

    def notifications(self, task: TaskRecord) -> list[tuple[str, int]]:
        with self.session_factory() as session:
            return [(n.kind, n.user_id) for n in session.scalars(
                select(NotificationRecord).where(NotificationRecord.task_id == task.id)
                .order_by(NotificationRecord.id))]

    def available(self, user: UserRecord) -> list[TaskRecord]:
        """What `user` sees offered in the shared inbox."""
        with self.session_factory() as session:
            return queries.available_tasks(session, session.get(UserRecord, user.id))

    def can_view(self, user: UserRecord, case: CaseRecord | int) -> bool:
        """Whether the access policy lets `user` read the case now."""
        with self.session_factory() as session:
            return permissions.can_view_case(session.get(UserRecord, user.id), session.get(CaseRecord, _id(case)),
                                        self.clock())

    def partner_for(self, task: TaskRecord) -> UserRecord:
        """The cast's partner who works for the member body a task is offered to."""
        (user,) = [u for u in self.cast.partners.values() if u.organisation_id == task.candidate_body_id]
        return user

    def action_type(self, code: str) -> ActionTypeRecord:
        with self.session_factory() as session:
            return session.scalar(select(ActionTypeRecord).where(ActionTypeRecord.code == code))

    # Paths everyone walks --------------------------------------------------------------------

    def consent_given(self, *body_keys: str, **overrides) -> dict:
        """A given consent naming member bodies of the cast by key (by default 社協 and the NPO)."""
        keys = body_keys or ("shakyo", "npo_ibasho")
        return consent_given([self.cast.bodies[key].id for key in keys], **overrides)

    def to_consent(self, case, intake_data: dict | None = None, assessment_data: dict | None = None) -> None:
        worker = self.cast.caseworker
        self.complete(case, "intake", worker, intake_data or intake())
        self.complete(case, "baseline_assessment", worker, assessment_data or assessment())

    def to_council(self, case, meeting_date: str = "2026-12-03", consent_bodies: tuple[str, ...] = ()) -> None:
        """Intake, baseline, consent given (naming `consent_bodies`, by default 社協 and the NPO), tabled on
        the consent basis: waiting for the council."""
        self.to_consent(case)
        self.complete(case, "consent_capture", self.cast.caseworker, self.consent_given(*consent_bodies))
        self.complete(case, "table_case", self.cast.coordinator, tabling(meeting_date))


def _id(case: CaseRecord | int) -> int:
    return case if isinstance(case, int) else case.id


# --- Shared by the standard-process path tests ---------------------------------------------------

JST = ZoneInfo("Asia/Tokyo")
MEETING = "2026-12-03"
FIRST_REVIEW = "2027-01-10"


def at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    """A moment in Japan, as the council and the caseworkers speak of it."""
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=JST)


def crisis_action(**overrides) -> dict:
    data = {"action_taken": "保健師と同行訪問し安全を確認した", "bodies_informed": "保健センター",
            "life_protection_reason": "希死念慮の訴えがあり、同意を得る時間がなかった", "action_date": "2026-11-27"}
    data.update(overrides)
    return data


# The person refused consent and is not tabled yet: a 民生委員 is asked to watch to protect life and body
# (privacy law Art. 69(2)(iv)), a sharing logged with its reason and reviewed afterwards.
WATCH = {"watcher_type": "minsei", "watcher_name": "民生委員 田中", "watch_frequency": "weekly",
         "watch_sharing_basis": "life_protection", "watch_basis_reason": "一人暮らしで安否が確認できないため",
         "watch_arranged_on": "2026-11-30"}


def contact_attempt(next_step: str, on: str = "2026-12-01", result: str = "not_reached") -> dict:
    return {"attempted_on": on, "contact_method": "visit", "contact_result": result, "attempt_next_step": next_step}


def deliver_action(story, case, response_task) -> None:
    """The owner body's partner accepts an action, makes first contact and delivers it."""
    partner = story.partner_for(response_task)
    story.complete(case, response_task, partner, ACCEPT)
    (contact,) = [t for t in story.open_tasks(case, "action_first_contact") if t.subject_id == response_task.subject_id]
    story.complete(case, contact, partner, FIRST_CONTACT)
    (outcome,) = [t for t in story.open_tasks(case, "action_outcome") if t.subject_id == response_task.subject_id]
    story.complete(case, outcome, partner, DELIVERED)


def review_cycle(story, case, decision: str, lonely: int = 3, ucla=(2, 2, 2)) -> None:
    story.complete(case, "review_assessment", story.cast.caseworker, assessment(lonely, ucla))
    story.complete(case, "follow_up_review", story.cast.caseworker, review(decision))
