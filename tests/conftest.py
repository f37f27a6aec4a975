"""Shared fixtures: a migrated database per test (SQLite file, or a PostgreSQL schema) and its people.

Set TSUNAGU_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run
against PostgreSQL; each test then gets its own schema, selected through the connection's
search_path and dropped afterwards, so tests never see each other's rows.
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, make_url, text

from tsunagu.engine.access import users
from tsunagu.engine.clock import FixedClock
from tsunagu.engine.db import make_engine, make_session_factory, upgrade_database
from tsunagu.engine.models import MunicipalityRecord
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import load_definition

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STANDARD_PROCESS = PROJECT_ROOT / "bpmn" / "kodoku_koritsu_case"
FIXTURE_PROCESSES = PROJECT_ROOT / "tests" / "fixtures" / "bpmn"
TEST_DATABASE_ENV = "TSUNAGU_TEST_DATABASE_URL"
PASSWORD = "tsunagu-test-password"


def pytest_report_header(config):
    return f"database: {os.environ.get(TEST_DATABASE_ENV) or 'SQLite file per test'}"


@pytest.fixture
def database_url(tmp_path):
    """The URL of an empty database already migrated to the newest revision, private to this test."""
    base = os.environ.get(TEST_DATABASE_ENV)
    if not base:
        url = f"sqlite:///{tmp_path / 'tsunagu.db'}"
        upgrade_database(url)
        yield url
        return
    base_url = make_url(base)
    if base_url.get_backend_name() != "postgresql":
        raise ValueError(f"{TEST_DATABASE_ENV} must be a PostgreSQL URL, got {base_url.get_backend_name()}")
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = base_url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    try:
        upgrade_database(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine):
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory):
    with session_factory() as session:
        yield session


@pytest.fixture
def clock():
    return FixedClock(datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo")))


@pytest.fixture
def user_password():
    """The password every fixture user logs in with."""
    return PASSWORD


@pytest.fixture
def municipality(session):
    record = MunicipalityRecord(code="139999", name="つながり市")
    session.add(record)
    session.commit()
    return record


def _user(session, clock, municipality, username, roles):
    user = users.create_user(session, clock, municipality_id=municipality.id, username=username,
                             display_name=username, password=PASSWORD, roles=roles)
    session.commit()
    return user


@pytest.fixture
def caseworker(session, clock, municipality):
    return _user(session, clock, municipality, "caseworker", ["caseworker"])


@pytest.fixture
def supervisor(session, clock, municipality):
    return _user(session, clock, municipality, "supervisor", ["supervisor"])


@pytest.fixture
def partner(session, clock, municipality):
    return _user(session, clock, municipality, "partner", ["partner"])


@pytest.fixture(scope="session")
def standard_definition():
    """The shipped 孤独・孤立 case process, parsed and validated once per run."""
    return load_definition(STANDARD_PROCESS)


@pytest.fixture
def standard_version(session, clock, standard_definition):
    version = deploy(session, clock, standard_definition).version
    session.commit()
    return version


@pytest.fixture
def deploy_fixture(session, clock):
    """Deploy a test process from tests/fixtures/bpmn by folder name: `deploy_fixture("timers")`."""

    def deploy_named(name: str):
        version = deploy(session, clock, load_definition(FIXTURE_PROCESSES / name)).version
        session.commit()
        return version

    return deploy_named


@pytest.fixture
def timer_version(deploy_fixture):
    """The timers fixture: prepare → 7-day timer → review with a 3-day non-interrupting reminder."""
    return deploy_fixture("timers")
