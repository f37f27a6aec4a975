"""Web fixtures after flaskr's conftest: `app` from `create_app`, `client` and a login helper."""
from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pyotp
import pytest
from sqlalchemy import select

from tsunagu.engine.access import security, users
from tsunagu.engine.casefile import governance
from tsunagu.engine.casefile.tables import (
    ActionTypeRecord,
    AgendaItemRecord,
    CouncilMeetingRecord,
    OrganisationKind,
    OrganisationRecord,
)
from tsunagu.engine.commands import cases, council, queries
from tsunagu.engine.config import Settings
from tsunagu.processes.catalogue import install_catalogue
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import load_definition
from tsunagu.web import create_app
from tsunagu.web.extensions import db


@pytest.fixture
def app(database_url, clock, tmp_path):
    settings = Settings(database_url=database_url, secret_key="test-secret", instance_dir=str(tmp_path / "instance"))
    app = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True, "WTF_CSRF_ENABLED": False})
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def accept_current_pledge(session, clock, user):
    """Accept the municipality's current secrecy pledge for `user`, publishing the default one if none is."""
    pledge = governance.current_pledge(session, user.municipality_id)
    if pledge is None:
        pledge = governance.publish_pledge(session, clock, user.municipality_id, governance.DEFAULT_PLEDGE)
        session.commit()
    governance.accept_pledge(session, clock, user, pledge.id)


def enrol_totp(session, clock, user) -> str:
    """Turn on the user's second factor through the engine, as the enrolment page does; returns the secret."""
    security.start_totp_enrolment(session, user)
    security.confirm_totp_enrolment(session, clock, user, totp_code(user, clock))
    return user.totp_secret


def totp_code(user, clock) -> str:
    """The code the user's authenticator app shows at the app clock's time."""
    return pyotp.TOTP(user.totp_secret).at(clock())


@pytest.fixture
def login(client, session, clock, user_password):
    """Sign a fixture user in: `login(caseworker)`; they have accepted the pledge unless `pledge=False`,
    and a user with a second factor enters the current code."""

    def sign_in(user, password=None, pledge=True):
        if pledge:
            accept_current_pledge(session, clock, user)
        response = client.post("/login", data={"username": user.username, "password": password or user_password})
        if response.status_code == 302 and response.headers["Location"].startswith("/login/totp"):
            response = client.post(response.headers["Location"], data={"code": totp_code(user, clock)})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return sign_in


@pytest.fixture
def admin(session, clock, municipality, user_password):
    """An administrator who has enrolled a second factor (administrators must)."""
    user = users.create_user(session, clock, municipality_id=municipality.id, username="admin",
                             display_name="管理 五郎", password=user_password, roles=["admin"])
    session.commit()
    enrol_totp(session, clock, user)
    return user


# --- Council and case-file fixtures -------------------------------------------------------------
# The shipped BPMN is being rewritten; these tests run on a small fixture process with the same
# engine contract (tests/web/fixtures/council_case): intake -> assessment -> consent -> tabling ->
# message council_decision -> review -> closure, plus support_action_added, consent_withdrawn and
# review_requested event sub-processes.

COUNCIL_PROCESS = Path(__file__).resolve().parent / "fixtures" / "council_case"
FAILING_SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "failing_script"
MEETING_DAY = "2026-12-03"


@pytest.fixture
def designer(session, clock, municipality, user_password):
    """A process designer of the municipality (the designer's pages: processes, forms, tables, migration)."""
    user = users.create_user(session, clock, municipality_id=municipality.id, username="designer",
                             display_name="設計 太郎", password=user_password, roles=["designer"])
    session.commit()
    return user


@pytest.fixture
def coordinator(session, clock, municipality, user_password):
    """Staff of the body the mayor designated as the council's coordinating body (調整機関, Act Art. 17):
    the role alone would run no council business."""
    body = OrganisationRecord(municipality_id=municipality.id, name="地域福祉課（調整機関）",
                              kind=OrganisationKind.DEPARTMENT, is_coordinating_body=True)
    session.add(body)
    session.flush()
    record = governance.CouncilRecord(name="つながり市孤独・孤立対策地域協議会", established_on=date(2024, 4, 1),
                                      coordinating_body_id=body.id, coordinating_designated_on=date(2024, 4, 1))
    session.add(record)
    session.flush()
    session.add(governance.CouncilMunicipalityRecord(council_id=record.id, municipality_id=municipality.id))
    user = users.create_user(session, clock, municipality_id=municipality.id, username="coordinator",
                             display_name="調整 次郎", password=user_password, roles=["coordinator"],
                             organisation_id=body.id)
    session.commit()
    return user


@pytest.fixture
def bodies(session, municipality):
    """Two member bodies (構成機関等) of the municipality and one department that is not one."""
    shakyo = OrganisationRecord(municipality_id=municipality.id, name="市社会福祉協議会",
                                kind=OrganisationKind.MEMBER_BODY)
    npo = OrganisationRecord(municipality_id=municipality.id, name="NPO法人 つながる居場所",
                             kind=OrganisationKind.MEMBER_BODY)
    department = OrganisationRecord(municipality_id=municipality.id, name="税務課",
                                    kind=OrganisationKind.DEPARTMENT)
    session.add_all([shakyo, npo, department])
    session.commit()
    return {"shakyo": shakyo, "npo": npo, "department": department}


@pytest.fixture
def npo_partner(session, clock, municipality, bodies, user_password):
    """A worker of the NPO member body (構成機関等)."""
    user = users.create_user(session, clock, municipality_id=municipality.id, username="npo-partner",
                             display_name="居場所 三子", password=user_password, roles=["partner"],
                             organisation_id=bodies["npo"].id)
    session.commit()
    return user


@pytest.fixture
def action_types(session, municipality, bodies):
    visit = ActionTypeRecord(municipality_id=municipality.id, code="home_visit", name="訪問による見守り・相談",
                             default_owner_body_id=bodies["shakyo"].id, service_days=14)
    ibasho = ActionTypeRecord(municipality_id=municipality.id, code="ibasho_referral", name="居場所へのつなぎ",
                              default_owner_body_id=bodies["npo"].id, service_days=30)
    session.add_all([visit, ibasho])
    session.commit()
    return {"visit": visit, "ibasho": ibasho}


@pytest.fixture
def council_version(session, clock):
    version = deploy(session, clock, load_definition(COUNCIL_PROCESS)).version
    session.commit()
    return version


@pytest.fixture
def failing_script_version(session, clock):
    """A process that never listens for messages: intake-free, two tasks and an end."""
    version = deploy(session, clock, load_definition(FAILING_SCRIPT)).version
    session.commit()
    return version


ASSESSMENT = {"loneliness_direct": 4, "ucla_1": 3, "ucla_2": 4, "ucla_3": 3, "contact_frequency": "rarely",
              "participation": False, "support_received": True, "helps_others": False}
CONSENT = {"consent_decision": "given", "purposes": ["support_planning", "information_sharing", "council"],
           "recipient_bodies": "市社会福祉協議会、NPO法人 つながる居場所", "method": "written",
           "witness": "相談 花子", "consent_date": "2026-11-27"}


def complete_next(session, clock, user, case, data):
    """Complete the case's first open task as `user`, as the task page would."""
    task = queries.open_tasks_of_case(session, case.id)[0]
    return cases.complete_task(session, clock, user, task.id, data)


@pytest.fixture
def hold_meeting(clock):
    """The council meets: the clock moves on to 10:00 of the meeting's day if that is still ahead, since a
    decision is not recorded before its meeting."""

    def hold(meeting) -> None:
        meets = datetime.combine(meeting.held_on, time(10), ZoneInfo("Asia/Tokyo"))
        if clock() < meets:
            clock.advance(meets - clock())

    return hold


@pytest.fixture
def start_council_case(session, clock, caseworker, coordinator, council_version, bodies, action_types):
    """Open a case on the fixture process and run it up to the named step (engine calls only)."""

    def start(title="山田さん", until="tabled", person="山田 花子", assessment=None, consent=None,
              basis="consent", person_id=None, episode=1):
        case = cases.start_case(session, clock, caseworker, council_version, title, person_id=person_id,
                                episode=episode)
        intake = {"person_name": person, "wishes": "同世代と話せる場所に行ってみたい", "health_note": "うつ病で通院中"}
        steps = [("intake", intake), ("assessed", assessment or ASSESSMENT),
                 ("consented", consent or CONSENT), ("tabled", {"meeting_date": MEETING_DAY, "basis": basis})]
        for name, data in steps:
            complete_next(session, clock, caseworker, case, data)
            if name == "tabled":  # both member bodies attend the meeting: their actions rest on Art. 16
                meeting = session.scalar(select(AgendaItemRecord.meeting_id).where(AgendaItemRecord.case_id == case.id))
                council.set_attendees(session, clock, coordinator, meeting, [bodies["shakyo"].id, bodies["npo"].id])
            if name == until:
                break
        return case

    return start


@pytest.fixture
def meeting_of(session):
    def find(case):
        return session.scalar(select(AgendaItemRecord).where(AgendaItemRecord.case_id == case.id)).meeting

    return find


# --- The shipped process (bpmn/kodoku_koritsu_case), for the access and audit tests --------------
# Cases are driven through engine commands only: intake -> baseline_assessment -> consent_capture ->
# table_case -> the council's decision, whose actions start the owner bodies' partner tasks.

STANDARD_MEETING_DAY = "2026-12-03"
STANDARD_INTAKE = {
    "consultation_date": "2026-11-27", "channel": "phone", "person_name": "山田 花子", "person_kana": "ヤマダ ハナコ",
    "birth_year": 1956, "household": "alone", "concern": "一人暮らしで話し相手がいない",
    "wishes": "近所で気軽に話せる場がほしい", "special_care": ["mental_health"], "immediate_danger": False,
    "existing_scheme": "none"}
STANDARD_ASSESSMENT = {
    "assessed_on": "2026-11-27", "respondent": "self", "loneliness_direct": 3, "ucla_1": 2, "ucla_2": 2, "ucla_3": 2,
    "contact_frequency": "monthly", "participation": "no", "support_received": "yes", "helps_others": "no"}
PARTNER_BODIES = ("npo_ibasho", "minsei", "houkatsu")


@pytest.fixture
def catalogue(session, municipality):
    """The default member bodies and support-action catalogue, by catalogue key."""
    installed = install_catalogue(session, municipality.id)
    session.commit()
    return installed


@pytest.fixture
def body_partners(session, clock, municipality, catalogue, user_password):
    """A partner user for some member bodies, keyed like the body."""
    people = {key: users.create_user(session, clock, municipality_id=municipality.id, username=f"partner-{key}",
                                     display_name=f"連携 {catalogue[key].name}", password=user_password,
                                     roles=["partner"], organisation_id=catalogue[key].id)
              for key in PARTNER_BODIES}
    session.commit()
    return people


def complete_element(session, clock, user, case, element_id, data, body=None):
    """Complete the case's open task of `element_id` (offered to `body`, if given) as `user`."""
    task = next(t for t in queries.open_tasks_of_case(session, case.id) if t.element_id == element_id
                and (body is None or t.candidate_body_id == body.id))
    return cases.complete_task(session, clock, user, task.id, data)


@pytest.fixture
def standard_case(session, clock, caseworker, coordinator, standard_version, catalogue, hold_meeting):
    """Run a case of the shipped process up to `until` (assessed, consented, tabled or decided).

    The consent names 地域包括支援センター; the NPO and the 民生委員 attend the case's deliberation, and
    the council makes 福祉課 the lead body and asks the NPO (居場所へのつなぎ) and the 民生委員
    (電話での安否確認) to act, so both share on the council basis (Art. 16).
    """

    def run(until="decided", title="山田さんの相談"):
        case = cases.start_case(session, clock, caseworker, standard_version, title)
        complete_element(session, clock, caseworker, case, "intake", STANDARD_INTAKE)
        complete_element(session, clock, caseworker, case, "baseline_assessment", STANDARD_ASSESSMENT)
        if until == "assessed":
            return case
        complete_element(session, clock, caseworker, case, "consent_capture", {
            "consent_decision": "given", "purposes": ["support_planning", "information_sharing", "council"],
            "recipient_body_ids": [catalogue["houkatsu"].id], "method": "written", "consent_date": "2026-11-27"})
        if until == "consented":
            return case
        complete_element(session, clock, coordinator, case, "table_case", {
            "meeting_date": STANDARD_MEETING_DAY, "basis": "consent", "issues": "退職後、家族以外との交流がない",
            "wishes_summary": "同世代と話せる場所に行ってみたい"})
        if until == "tabled":
            return case
        meeting_id = session.scalar(select(AgendaItemRecord.meeting_id).where(AgendaItemRecord.case_id == case.id))
        council.set_attendees(session, clock, coordinator, meeting_id,
                              [catalogue["npo_ibasho"].id, catalogue["minsei"].id], case.id)
        kinds = {k.code: k.id for k in queries.action_types(session, case.municipality_id)}
        hold_meeting(session.get(CouncilMeetingRecord, meeting_id))
        council.record_decision(session, clock, coordinator, meeting_id, case.id, {
            "situation": "退職後、社会的な接点がほぼない", "risk": "high", "plan": "居場所につなぎ、電話で見守る",
            "lead_body_id": catalogue["fukushi"].id, "next_review_on": "2027-03-01",
            "actions": [{"action_type_id": kinds["ibasho_referral"]}, {"action_type_id": kinds["phone_check"]}]})
        return case

    return run


def reread(session) -> None:
    """Forget what the test session holds, so the next read sees what a request committed meanwhile."""
    session.rollback()
    session.expire_all()


@pytest.fixture
def two_forms(session, clock):
    """The small process of the benchmarks (start, task A with a text and a number, task B, end), deployed."""
    from api_helpers import TWO_FORMS

    version = deploy(session, clock, load_definition(TWO_FORMS)).version
    session.commit()
    return version
