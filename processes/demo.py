"""Demo data: a fictional municipality, its member bodies and catalogue, one user per role, and
cases at different points of the standard process, all made through the engine's own commands."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tsunagu.engine.access.users import create_user
from tsunagu.engine.casefile.governance import (
    DEFAULT_PLEDGE,
    CouncilMemberRecord,
    CouncilMunicipalityRecord,
    CouncilRecord,
    PledgeAcceptanceRecord,
    current_pledge,
    publish_pledge,
)
from tsunagu.engine.casefile.tables import ActionTypeRecord, AgendaItemRecord, TeamMemberRecord, TeamRecord
from tsunagu.engine.clock import Clock
from tsunagu.engine.commands import cases, council
from tsunagu.engine.commands.queries import open_tasks_of_case
from tsunagu.engine.db import transaction
from tsunagu.engine.errors import DemoRefused
from tsunagu.engine.models import CaseRecord, MunicipalityRecord
from tsunagu.engine.runtime.forms import today_in_japan

from .catalogue import install_catalogue
from .deployment import deploy_folder_tree
from .registry import live_version

DEMO_PASSWORD = "tsunagu-demo"  # noqa: S105  (the demo's published password; demo refuses real data)
# username, display name, roles, member body key (see catalogue.json)
DEMO_USERS = [
    ("caseworker", "相談 花子（相談支援員）", ["caseworker"], None),
    ("supervisor", "監督 太郎（スーパーバイザー）", ["supervisor", "caseworker"], None),
    ("coordinator", "調整 次郎（調整機関）", ["coordinator"], "fukushi"),
    ("designer", "設計 三郎（プロセス設計）", ["designer"], None),
    ("partner", "連携 四郎（社会福祉協議会）", ["partner"], "shakyo"),
    ("admin", "管理 五郎（システム管理者）", ["admin"], None),
    ("referrer", "つなぎ 六子（つながりサポーター）", ["referrer"], None),
]
MAIN_PROCESS = "kodoku_koritsu_case"


def load_demo(session: Session, clock: Clock, process_dir: Path) -> bool:
    """Create the demo municipality once; return False if it is already there.

    Refuses a database that holds real data, so demo accounts never land in production.
    """
    with transaction(session):
        if session.scalar(select(MunicipalityRecord).where(MunicipalityRecord.is_demo.is_(True))) is not None:
            return False
        if session.scalar(select(func.count()).select_from(MunicipalityRecord)):
            raise DemoRefused("this database already holds a real municipality; demo data is not added")
        town = MunicipalityRecord(code="999999", name="つなぐ市（デモ）", is_demo=True)
        session.add(town)
        session.flush()
        bodies = install_catalogue(session, town.id)
        people = {
            username: create_user(session, clock, municipality_id=town.id, username=username, display_name=display,
                                  password=DEMO_PASSWORD, roles=roles, email=f"{username}@demo.tsunagu.invalid",
                                  organisation_id=bodies[body].id if body else None)
            for username, display, roles, body in DEMO_USERS
        }
        deploy_folder_tree(session, clock, process_dir)  # the national template; unchanged if already there
        publish_pledge(session, clock, town.id, DEFAULT_PLEDGE)
        council = CouncilRecord(name="つなぐ市孤独・孤立対策地域協議会", established_on=date(2024, 4, 1),
                                coordinating_body_id=bodies["fukushi"].id)
        session.add(council)
        session.flush()
        session.add(CouncilMunicipalityRecord(council_id=council.id, municipality_id=town.id))
        session.add_all(CouncilMemberRecord(council_id=council.id, organisation_id=b.id) for b in bodies.values())
        # The supervisor supervises the caseworkers' team: they read its cases on the supervision basis.
        team = TeamRecord(municipality_id=town.id, name="相談支援チーム", active=True, created_at=clock())
        session.add(team)
        session.flush()
        session.add_all([TeamMemberRecord(team_id=team.id, user_id=people["caseworker"].id, supervises=False),
                         TeamMemberRecord(team_id=team.id, user_id=people["supervisor"].id, supervises=True)])
        # Demo users have read the secrecy pledge, so a newcomer reaches the inbox at once.
        pledge = current_pledge(session, town.id)
        session.add_all(PledgeAcceptanceRecord(user_id=u.id, pledge_id=pledge.id, accepted_at=clock())
                        for u in people.values())
    _demo_cases(session, clock, live_version(session, town.id, MAIN_PROCESS), people, bodies)
    return True


def _intake(today: date, name: str, kana: str, **overrides) -> dict:
    data = {"consultation_date": today.isoformat(), "channel": "phone", "person_name": name,
            "person_kana": kana, "birth_year": 1958, "household": "alone",
            "concern": "退職後に一人暮らしとなり、誰とも話さない日が続いている。", "wishes": "近所で気軽に話せる場がほしい。",
            "special_care": [], "immediate_danger": False, "existing_scheme": "none"}
    data.update(overrides)
    return data


def _assessment(today: date, lonely: int, ucla: tuple[int, int, int]) -> dict:
    return {"assessed_on": today.isoformat(), "respondent": "self", "loneliness_direct": lonely,
            "ucla_1": ucla[0], "ucla_2": ucla[1], "ucla_3": ucla[2], "contact_frequency": "monthly",
            "participation": "no", "support_received": "no", "helps_others": "no"}


# Member bodies the demo's coordinating body invites to its meetings.
ATTENDING = ("shakyo", "npo_ibasho", "minsei", "houkatsu")

CONSENT = {"consent_decision": "given", "purposes": ["support_planning", "information_sharing", "council", "statistics"],
           "method": "written"}


def _step(session, clock, actor, case: CaseRecord, element: str, data: dict) -> None:
    task = next(t for t in open_tasks_of_case(session, case.id) if t.element_id == element)
    cases.complete_task(session, clock, actor, task.id, data)


def _demo_cases(session, clock, version, people, bodies) -> None:
    worker, supervisor, coordinator = people["caseworker"], people["supervisor"], people["coordinator"]
    today = today_in_japan(clock())  # the engine's date rules count days in Japan

    # 1. A new consultation waiting for its intake.
    cases.start_case(session, clock, worker, version, "A.K. さん（電話相談）")

    # 2. Intake and baseline done: consent is to be asked.
    second = cases.start_case(session, clock, worker, version, "M.S. さん（民生委員からのつなぎ）")
    _step(session, clock, worker, second, "intake", _intake(today, "松本 静子", "マツモト シズコ", channel="minsei",
                                                            referrer="民生委員 田中"))
    _step(session, clock, worker, second, "baseline_assessment", _assessment(today, 4, (3, 3, 2)))

    # 3. Consent given and tabled: the council meeting can record its decision.
    third = cases.start_case(session, clock, worker, version, "Y.O. さん（窓口相談）")
    _step(session, clock, worker, third, "intake", _intake(today, "大野 陽介", "オオノ ヨウスケ", channel="counter",
                                                           birth_year=1990, household="with_family"))
    _step(session, clock, worker, third, "baseline_assessment", _assessment(today, 5, (4, 3, 3)))
    _step(session, clock, worker, third, "consent_capture", {**CONSENT, "consent_date": today.isoformat(),
                                                              "recipient_body_ids": [bodies["shakyo"].id]})
    _step(session, clock, coordinator, third, "table_case", {  # today's meeting: its decision can be recorded
        "meeting_date": today.isoformat(), "basis": "consent",
        "issues": "就労が途切れ、家族以外との交流がない。", "wishes_summary": "同世代と話せる場所に行ってみたい。"})
    # The bodies invited to the meeting: the council basis (Art. 16) reaches them, and only them.
    council.set_attendees(session, clock, coordinator, _agenda_meeting(session, third),
                          [bodies[key].id for key in ATTENDING if key in bodies])

    # 4. Decided by the council: the social welfare council is asked to accept a home visit.
    fourth = cases.start_case(session, clock, supervisor, version, "T.Y. さん（アウトリーチ）")
    _step(session, clock, supervisor, fourth, "intake", _intake(today, "田村 洋一", "タムラ ヨウイチ", channel="outreach"))
    _step(session, clock, supervisor, fourth, "baseline_assessment", _assessment(today, 4, (3, 4, 3)))
    _step(session, clock, supervisor, fourth, "consent_capture", {**CONSENT, "consent_date": today.isoformat(),
                                                              "recipient_body_ids": [bodies["shakyo"].id]})
    _step(session, clock, coordinator, fourth, "table_case", {
        "meeting_date": today.isoformat(), "basis": "consent",
        "issues": "妻を亡くし一人暮らし。食事が十分に摂れていない。", "wishes_summary": "放っておいてほしいが、食事は心配。"})
    meeting_id = _agenda_meeting(session, fourth)
    council.set_attendees(session, clock, coordinator, meeting_id, [bodies[key].id for key in ATTENDING if key in bodies])
    home_visit = _action_type(session, "home_visit")
    food = _action_type(session, "food_referral")
    council.record_decision(session, clock, coordinator, meeting_id, fourth.id, {
        "situation": "配偶者との死別後、社会的な接点がほぼない。", "risk": "high",
        "plan": "社会福祉協議会が訪問で関係をつくり、食の支援につなぐ。", "lead_body_id": bodies["shakyo"].id,
        # Its review falls due within two weeks: a meeting scheduled for then offers it for its agenda.
        "key_person": "長女（県外在住）", "next_review_on": (today + timedelta(days=14)).isoformat(),
        "actions": [{"action_type_id": home_visit.id}, {"action_type_id": food.id}]})

    # 4b. A second case on today's meeting, still to be decided: a returning caller the care centre knows.
    second_tabled = cases.start_case(session, clock, worker, version, "H.K. さん（地域包括からのつなぎ）")
    _step(session, clock, worker, second_tabled, "intake", _intake(
        today, "北川 春江", "キタガワ ハルエ", channel="other", referrer="地域包括支援センター", birth_year=1948))
    _step(session, clock, worker, second_tabled, "baseline_assessment", _assessment(today, 4, (3, 3, 3)))
    _step(session, clock, worker, second_tabled, "consent_capture", {
        **CONSENT, "consent_date": today.isoformat(), "recipient_body_ids": [bodies["shakyo"].id]})
    _step(session, clock, coordinator, second_tabled, "table_case", {
        "meeting_date": today.isoformat(), "basis": "consent",
        "issues": "夫の入院後、外出が週1回に減った。", "wishes_summary": "近所の人と話す機会がほしい。"})

    # 5. A crisis handled today: the supervisor reviews the life-protection sharing.
    fifth = cases.start_case(session, clock, worker, version, "R.N. さん（SNS相談・緊急）")
    _step(session, clock, worker, fifth, "intake", _intake(today, "中村 涼", "ナカムラ リョウ", channel="sns", birth_year=2004,
                                                           special_care=["suicidal_thoughts", "mental_health"]))
    _step(session, clock, worker, fifth, "baseline_assessment", _assessment(today, 5, (4, 4, 4)))
    _step(session, clock, worker, fifth, "crisis_safety_action", {
        "action_taken": "保健師と同行訪問し、安全を確認した。", "bodies_informed": "保健センター",
        "life_protection_reason": "希死念慮の訴えがあり、本人の同意を得る時間がなかったため。",
        "action_date": today.isoformat()})

    # 6. Referred to an existing scheme and closed: no consent is on the ledger yet, so nothing is shared;
    # the person contacts the scheme's office themselves.
    sixth = cases.start_case(session, clock, worker, version, "K.H. さん（生活困窮）")
    _step(session, clock, worker, sixth, "intake", _intake(today, "橋本 和子", "ハシモト カズコ", existing_scheme="seikatsu_konkyu"))
    _step(session, clock, worker, sixth, "baseline_assessment", _assessment(today, 3, (2, 2, 2)))
    _step(session, clock, worker, sixth, "referral_out", {
        "scheme": "seikatsu_konkyu", "receiving_body": "自立相談支援機関", "referral_basis": "no_sharing",
        "referred_on": today.isoformat()})


def _agenda_meeting(session: Session, case: CaseRecord) -> int:
    return session.scalar(select(AgendaItemRecord.meeting_id).where(AgendaItemRecord.case_id == case.id))


def _action_type(session: Session, code: str) -> ActionTypeRecord:
    return session.scalar(select(ActionTypeRecord).where(ActionTypeRecord.code == code))
