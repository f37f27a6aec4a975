"""Web fixtures after flaskr's conftest: `app` from `create_app`, `client` and a login helper."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tsunagu.engine import cases, queries, users
from tsunagu.engine.casefile import ActionTypeRecord, AgendaItemRecord, OrganisationKind, OrganisationRecord
from tsunagu.engine.config import Settings
from tsunagu.processes.loader import load_definition
from tsunagu.processes.registry import deploy
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


@pytest.fixture
def login(client, user_password):
    """Sign a fixture user in: `login(caseworker)`."""

    def sign_in(user, password=None):
        response = client.post("/login", data={"username": user.username, "password": password or user_password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return sign_in


# --- Council and case-file fixtures -------------------------------------------------------------
# The shipped BPMN is being rewritten; these tests run on a small fixture process with the same
# engine contract (tests/web/fixtures/council_case): intake -> assessment -> consent -> tabling ->
# message council_decision -> review -> closure, plus support_action_added, consent_withdrawn and
# review_requested event sub-processes.

COUNCIL_PROCESS = Path(__file__).resolve().parent / "fixtures" / "council_case"
FAILING_SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn" / "failing_script"
MEETING_DAY = "2026-12-03"


@pytest.fixture
def coordinator(session, clock, municipality, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username="coordinator",
                             display_name="調整 次郎", password=user_password, roles=["coordinator"])
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
    version = deploy(session, load_definition(COUNCIL_PROCESS), clock)
    session.commit()
    return version


@pytest.fixture
def failing_script_version(session, clock):
    """A process that never listens for messages: intake-free, two tasks and an end."""
    version = deploy(session, load_definition(FAILING_SCRIPT), clock)
    session.commit()
    return version


ASSESSMENT = {"loneliness_direct": 4, "ucla_1": 3, "ucla_2": 4, "ucla_3": 3, "contact_frequency": "rarely",
              "participation": False, "support_received": True, "helps_others": False}
CONSENT = {"consent_decision": "given", "purposes": ["council_sharing", "support_referral"],
           "recipient_bodies": "市社会福祉協議会、NPO法人 つながる居場所", "method": "written",
           "witness": "相談 花子", "consent_date": "2026-11-27"}


def complete_next(session, clock, user, case, data):
    """Complete the case's first open task as `user`, as the task page would."""
    task = queries.open_tasks_of_case(session, case.id)[0]
    return cases.complete_task(session, clock, user, task.id, data)


@pytest.fixture
def start_council_case(session, clock, caseworker, council_version, bodies, action_types):
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
            if name == until:
                break
        return case

    return start


@pytest.fixture
def meeting_of(session):
    def find(case):
        return session.scalar(select(AgendaItemRecord).where(AgendaItemRecord.case_id == case.id)).meeting

    return find
