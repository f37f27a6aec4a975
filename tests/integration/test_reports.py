"""Reports (engine.commands.reports): the numbers of a fiscal year and of a month, on rows seeded straight
into the tables (volume) and on a case driven through the shipped process (the facts the engine keeps)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.casefile.governance import CouncilMunicipalityRecord, CouncilRecord
from tsunagu.engine.casefile.tables import (
    ActionStatus,
    ActionTypeRecord,
    AgendaItemRecord,
    AssessmentRecord,
    ConsentRecord,
    CouncilMeetingRecord,
    OrganisationKind,
    OrganisationRecord,
    SupportActionRecord,
)
from tsunagu.engine.commands.reports import Period, PeriodInvalid, current_period, report
from tsunagu.engine.errors import Forbidden
from tsunagu.engine.models import AuditRecord, CaseRecord, CaseStatus, MunicipalityRecord, TaskRecord, TaskStatus

from .scenario import assessment, consent_given, intake

JAPAN = ZoneInfo("Asia/Tokyo")
STATS = ["support_planning", "council", "statistics"]


def at(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=JAPAN)


@dataclass
class Seeder:
    """Rows straight into the tables, as the engine would have left them (no process runs)."""

    session: object
    town: MunicipalityRecord
    version_id: int
    user_id: int

    def case(self, opened_on: date | None = None, channel: str | None = None, *, town=None, status=CaseStatus.RUNNING,
             completed_at=None, reason=None) -> CaseRecord:
        moment = at(2026, 4, 1)
        case = CaseRecord(municipality_id=(town or self.town).id, process_version_id=self.version_id, title="相談",
                          status=status, workflow_state="{}", created_by_id=self.user_id, created_at=moment,
                          updated_at=moment, channel=channel, opened_on=opened_on, completed_at=completed_at,
                          closure_reason=reason)
        self.session.add(case)
        self.session.flush()
        return case

    def consent(self, case, purposes=STATS, decision="given", withdrawn_at=None) -> None:
        self.session.add(ConsentRecord(case_id=case.id, decision=decision, purposes=list(purposes),
                                       recipient_body_ids=[], form_version="t", withdrawn_at=withdrawn_at,
                                       recorded_by_id=self.user_id, recorded_at=at(2026, 4, 2)))

    def score(self, case, instrument: str, score: int, stage: str, when: datetime, respondent="self") -> None:
        self.session.add(AssessmentRecord(case_id=case.id, instrument=instrument, instrument_version="2021",
                                          stage=stage, respondent=respondent, answers={}, score=score,
                                          recorded_by_id=self.user_id, recorded_at=when))
        self.session.flush()  # ids in the order written: the latest review is the highest id

    def task(self, case, kind: str, status: TaskStatus, due: datetime | None, completed: datetime | None = None):
        self.session.add(TaskRecord(case_id=case.id, municipality_id=case.municipality_id,
                                    spiff_task_id=str(uuid.uuid4()), element_id=f"el_{kind}", name=kind, kind=kind,
                                    status=status, created_at=at(2026, 4, 1), due_at=due, completed_at=completed))

    def meeting(self, held_on: date) -> CouncilMeetingRecord:
        meeting = CouncilMeetingRecord(municipality_id=self.town.id, title="会議", held_on=held_on,
                                       created_at=at(2026, 4, 1))
        self.session.add(meeting)
        self.session.flush()
        return meeting

    def table(self, case, meeting) -> None:
        self.session.add(AgendaItemRecord(meeting_id=meeting.id, case_id=case.id, basis="consent",
                                          tabled_at=at(2026, 4, 1)))

    def action(self, case, kind: ActionTypeRecord, status: ActionStatus, created: datetime, owner_id: int) -> None:
        self.session.add(SupportActionRecord(case_id=case.id, action_type_id=kind.id, owner_body_id=owner_id,
                                             status=status, created_by_id=self.user_id, created_at=created))


def seed(session, municipality, version, user) -> dict:
    """A fiscal year 2026 (2026-04 to 2027-03) of one municipality, with rows just outside it and a
    neighbouring town's rows that must never be counted."""
    other = MunicipalityRecord(code="139998", name="となり町")
    session.add(other)
    session.flush()
    s = Seeder(session, municipality, version.id, user.id)
    for channel in ("phone", "phone", "phone", "counter"):
        s.case(date(2026, 4, 15), channel)
    s.case(date(2026, 5, 1), "outreach")
    s.case(date(2026, 5, 31), "outreach")
    s.case(date(2026, 6, 3), None)  # opened before channels were recorded
    s.case(date(2027, 3, 31), "counter")  # the fiscal year's last day
    s.case(date(2026, 3, 31), "phone")  # the year before
    s.case(date(2026, 4, 15), "phone", town=other)
    # closures: Japan's midnight decides the month, not UTC's
    s.case(status=CaseStatus.COMPLETED, completed_at=at(2026, 4, 30, 23, 30), reason="goal_reached")
    s.case(status=CaseStatus.COMPLETED, completed_at=at(2026, 5, 1, 0, 30), reason="moved_away")
    s.case(status=CaseStatus.COMPLETED, completed_at=at(2026, 6, 2), reason="referral_done")  # a path's own
    s.case(status=CaseStatus.COMPLETED, completed_at=at(2026, 6, 2), reason="goal_reached", town=other)
    # council: two meetings in June (three of our cases tabled), one in July; the neighbour's case at ours too
    tabled = [s.case() for _ in range(4)]
    june, june_late, july = s.meeting(date(2026, 6, 10)), s.meeting(date(2026, 6, 24)), s.meeting(date(2026, 7, 8))
    s.table(tabled[0], june), s.table(tabled[1], june), s.table(tabled[2], june_late), s.table(tabled[3], july)
    s.table(s.case(town=other), june)
    # reviews: a cycle's two review tasks count once; overdue by the month the review was due
    a, b = s.case(), s.case()
    s.task(a, "review", TaskStatus.COMPLETED, at(2026, 7, 10), at(2026, 7, 5))
    s.task(a, "review", TaskStatus.COMPLETED, at(2026, 7, 20), at(2026, 7, 6))
    s.task(b, "review", TaskStatus.COMPLETED, at(2026, 7, 25), at(2026, 7, 20))
    s.task(a, "review", TaskStatus.COMPLETED, at(2026, 10, 10), at(2026, 10, 3))
    s.task(b, "review", TaskStatus.COMPLETED, at(2026, 8, 1), at(2026, 8, 5))  # done late
    s.task(a, "review", TaskStatus.OPEN, at(2026, 9, 1))  # still open, past due
    s.task(b, "review", TaskStatus.OPEN, at(2026, 12, 15))  # not yet due
    s.task(b, "contact", TaskStatus.COMPLETED, at(2026, 7, 1), at(2026, 7, 22))  # not a review
    s.task(s.case(town=other), "review", TaskStatus.COMPLETED, at(2026, 7, 10), at(2026, 7, 5))
    # support actions added in the year, by type and status today
    owner = OrganisationRecord(municipality_id=municipality.id, name="社協", kind=OrganisationKind.MEMBER_BODY)
    visit = ActionTypeRecord(municipality_id=municipality.id, code="visit", name="訪問による見守り")
    ibasho = ActionTypeRecord(municipality_id=municipality.id, code="ibasho", name="居場所へのつなぎ")
    session.add_all([owner, visit, ibasho])
    session.flush()
    s.action(a, visit, ActionStatus.DELIVERED, at(2026, 5, 1), owner.id)
    s.action(b, visit, ActionStatus.DELIVERED, at(2026, 9, 1), owner.id)
    s.action(b, visit, ActionStatus.DECLINED, at(2026, 9, 1), owner.id)
    s.action(a, ibasho, ActionStatus.PROPOSED, at(2026, 11, 1), owner.id)
    s.action(a, ibasho, ActionStatus.DELIVERED, at(2026, 3, 20), owner.id)  # the year before
    # measures: M1 improves, M2 gets worse (latest review counts), M3's intake is a supporter's account
    m1, m2, m3, m8 = s.case(), s.case(), s.case(), s.case()
    for case in (m1, m2, m3, m8):
        s.consent(case)
    s.score(m1, "direct_loneliness_jp", 4, "baseline", at(2026, 4, 20))
    s.score(m1, "ucla3_jp", 8, "baseline", at(2026, 4, 20))
    s.score(m1, "isolation_indicators", 3, "baseline", at(2026, 4, 20))
    s.score(m1, "direct_loneliness_jp", 2, "review", at(2026, 10, 1))
    s.score(m1, "ucla3_jp", 5, "review", at(2026, 10, 1))
    s.score(m1, "isolation_indicators", 3, "review", at(2026, 10, 1))
    s.score(m2, "direct_loneliness_jp", 3, "baseline", at(2026, 5, 20))
    s.score(m2, "ucla3_jp", 6, "baseline", at(2026, 5, 20))
    s.score(m2, "direct_loneliness_jp", 4, "review", at(2026, 8, 20))
    s.score(m2, "direct_loneliness_jp", 5, "review", at(2026, 10, 20))
    s.score(m2, "ucla3_jp", 6, "review", at(2026, 10, 20))
    s.score(m3, "direct_loneliness_jp", 5, "baseline", at(2026, 6, 1), respondent="proxy")
    s.score(m3, "direct_loneliness_jp", 3, "review", at(2026, 9, 1))
    s.score(m8, "direct_loneliness_jp", 2, "baseline", at(2026, 3, 1))  # intake the year before
    s.score(m8, "direct_loneliness_jp", 1, "review", at(2026, 6, 1))
    # never counted: refused, no statistics purpose, withdrawn, another town, no consent at all
    absent = [s.case() for _ in range(4)] + [s.case(town=other)]
    s.consent(absent[0], decision="refused")
    s.consent(absent[1], purposes=["support_planning", "council"])
    s.consent(absent[2], withdrawn_at=at(2026, 6, 1))
    s.consent(absent[4])
    for case in absent:
        s.score(case, "direct_loneliness_jp", 1, "baseline", at(2026, 4, 20))
        s.score(case, "direct_loneliness_jp", 1, "review", at(2026, 9, 20))
    session.commit()
    return {"other": other}


@pytest.fixture
def seeded(session, municipality, standard_version, supervisor):
    return seed(session, municipality, standard_version, supervisor)


def test_the_fiscal_year_counts_consultations_by_channel_and_japan_month(session, clock, supervisor, seeded):
    found = report(session, clock, supervisor, Period(2026))
    table = found.consultations
    assert table.columns[0] == "2026-04" and table.columns[-1] == "2027-03" and len(table.columns) == 12
    assert table.row("phone").counts[0] == 3 and table.row("phone").total == 3
    assert table.row("counter").counts[0] == 1 and table.row("counter").counts[11] == 1
    assert table.row("outreach").counts[1] == 2 and table.row("sns").total == 0
    assert table.row("").counts[2] == 1 and table.rows[-1].code == ""  # not recorded comes last
    assert table.total == 8 and table.column_totals()[:3] == [4, 2, 1]


def test_one_month_has_one_column(session, clock, supervisor, seeded):
    april = report(session, clock, supervisor, Period(2026, 4))
    assert april.consultations.columns == ["2026-04"]
    assert april.consultations.row("phone").counts == [3] and april.consultations.total == 4
    march = report(session, clock, supervisor, Period(2026, 3))  # March of fiscal 2026 is in 2027
    assert march.consultations.columns == ["2027-03"] and march.consultations.total == 1


def test_closures_council_reviews_and_actions(session, clock, supervisor, seeded):
    found = report(session, clock, supervisor, Period(2026))
    closures = found.closures
    assert closures.row("goal_reached").counts[0] == 1 and closures.row("goal_reached").total == 1
    assert closures.row("moved_away").counts[1] == 1  # 00:30 on 1 May in Japan is still 30 April in UTC
    assert closures.row("referral_done").counts[2] == 1 and closures.total == 3
    council = found.council
    assert council.row("meetings").counts[2:4] == [2, 1] and council.row("tabled").counts[2:4] == [3, 1]
    assert council.row("tabled").total == 4
    reviews = found.reviews
    assert reviews.row("held").counts[3] == 2  # July: case A's two review tasks count once, and case B
    assert reviews.row("held").counts[4] == 1  # August: case B's review, done after its due day
    assert reviews.row("held").counts[6] == 1 and reviews.row("held").total == 4
    assert reviews.row("overdue").counts[4:6] == [1, 1] and reviews.row("overdue").total == 2
    actions = found.actions
    assert actions.columns == ["proposed", "accepted", "declined", "in_contact", "delivered", "not_delivered"]
    assert [r.code for r in actions.rows] == sorted(["訪問による見守り", "居場所へのつなぎ"])
    assert actions.row("訪問による見守り").counts == [0, 0, 1, 0, 2, 0]
    assert actions.row("居場所へのつなぎ").counts == [1, 0, 0, 0, 0, 0] and actions.total == 4


def test_measures_count_own_answers_of_consenting_cases_in_the_surveys_bands(session, clock, supervisor, seeded):
    measures = {m.instrument: m for m in report(session, clock, supervisor, Period(2026)).measures}
    direct = measures["direct_loneliness_jp"]
    assert [b.intake for b in direct.bands] == [0, 0, 1, 1, 0]  # refused, withdrawn, no purpose: absent
    assert direct.intake_proxy == 1 and direct.intake_total == 2
    assert [b.review for b in direct.bands] == [1, 1, 1, 0, 1] and direct.review_proxy == 0
    assert (direct.improved, direct.same, direct.worse) == (2, 0, 1)  # a proxy intake is not compared
    ucla = measures["ucla3_jp"]
    assert [(b.low, b.high) for b in ucla.bands] == [(3, 3), (4, 6), (7, 9), (10, 12)]
    assert [b.intake for b in ucla.bands] == [0, 1, 1, 0] and [b.review for b in ucla.bands] == [0, 2, 0, 0]
    assert (ucla.improved, ucla.same, ucla.worse) == (1, 1, 0)
    isolation = measures["isolation_indicators"]
    assert [b.intake for b in isolation.bands] == [0, 0, 0, 1, 0] and isolation.same == 1


def test_withdrawing_consent_removes_the_case_from_the_measures(session, clock, supervisor, seeded):
    before = report(session, clock, supervisor, Period(2026)).measures[0]
    assert before.bands[3].intake == 1  # M1's intake answer 4
    consent = session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)).first()
    consent.withdrawn_at = at(2026, 11, 1)
    session.commit()
    after = report(session, clock, supervisor, Period(2026)).measures[0]
    assert after.bands[3].intake == 0 and after.improved == before.improved - 1


def test_a_month_of_another_year_is_empty_and_bad_periods_are_refused(session, clock, supervisor, seeded):
    found = report(session, clock, supervisor, Period(2024))
    assert found.consultations.total == 0 and found.measures[0].review_total == 0
    for year, month in ((99999999999, None), (1999, None), (2026, 13), (2026, 0)):
        with pytest.raises(PeriodInvalid):
            Period(year, month)
    assert current_period(clock) == Period(2026)  # 2026-11-27 is in fiscal 2026


def test_each_view_and_export_writes_one_audit_row_with_the_period_and_no_case(session, clock, supervisor, seeded):
    report(session, clock, supervisor, Period(2026, 5))
    report(session, clock, supervisor, Period(2026), export="xlsx", publish=True)
    rows = session.scalars(select(AuditRecord).where(AuditRecord.action.like("report.%")).order_by(AuditRecord.id)).all()
    assert [r.action for r in rows] == ["report.viewed", "report.exported"]
    assert rows[0].detail["period"] == {"fiscal_year": 2026, "month": 5, "from": "2026-05-01", "until": "2026-06-01"}
    assert rows[1].detail["format"] == "xlsx" and rows[1].detail["published"] is True
    assert all(r.case_id is None and r.actor_id == supervisor.id for r in rows)


def test_who_may_read_reports(session, clock, municipality, caseworker, supervisor, partner, coordinator, seeded,
                              user_password):
    for user in (caseworker, partner):
        with pytest.raises(Forbidden):
            report(session, clock, user, Period(2026))
    assert report(session, clock, coordinator, Period(2026)).consultations.total == 8
    with pytest.raises(Forbidden):  # a town outside the user's reach reads like an unknown one
        report(session, clock, supervisor, Period(2026), "139998")
    # the coordinating body of a joint council reads each member municipality
    other = seeded["other"]
    session.add(CouncilMunicipalityRecord(council_id=session.scalar(select(CouncilRecord.id)), municipality_id=other.id))
    session.commit()
    assert report(session, clock, coordinator, Period(2026), "139998").consultations.total == 1
    designer = users.create_user(session, clock, municipality_id=municipality.id, username="designer",
                                 display_name="d", password=user_password, roles=["designer", "council_member"])
    session.commit()
    with pytest.raises(Forbidden):
        report(session, clock, designer, Period(2026))


def test_a_case_run_through_the_shipped_process_is_counted_from_the_facts_the_engine_kept(
        session, clock, story, supervisor, bodies):
    case = story.start()
    story.complete(case, "intake", story.cast.caseworker, intake(channel="sns"))
    story.complete(case, "baseline_assessment", story.cast.caseworker, assessment(lonely=4))
    story.complete(case, "consent_capture", story.cast.caseworker,
                   consent_given([bodies["shakyo"].id], purposes=["support_planning", "council", "statistics"]))
    found = report(session, clock, supervisor, Period(2026))
    assert found.consultations.row("sns").counts[7] == 1  # the consultation day 2026-11-27: November
    direct = found.measures[0]
    assert direct.bands[3].intake == 1 and direct.intake_total == 1
