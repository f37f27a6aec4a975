"""Reports read their tables from a read replica when one is set (TSUNAGU_REPORTS_DATABASE_URL), while the
access check and the audit row stay on the database itself."""
from __future__ import annotations

import pytest
from conftest import reread
from sqlalchemy import event, select
from test_reports import seeded  # noqa: F401  (the fixture: cases, answers and consents of 2026)

from tsunagu.engine.config import Settings
from tsunagu.engine.models import AuditRecord
from tsunagu.web import create_app
from tsunagu.web.extensions import db


@pytest.fixture
def app(database_url, clock, tmp_path):
    # The replica is the same database under another engine: what matters is which engine reads what.
    settings = Settings(database_url=database_url, reports_database_url=database_url, secret_key="test-secret",
                        instance_dir=str(tmp_path / "instance"))
    app = create_app({"SETTINGS": settings, "CLOCK": clock, "TESTING": True, "WTF_CSRF_ENABLED": False})
    yield app
    with app.app_context():
        db.engine.dispose()
    factory = app.extensions.get("tsunagu.reports_sessions")
    if factory is not None:
        factory.kw["bind"].dispose()


def test_the_report_is_read_from_the_replica_and_its_view_audited_on_the_database(
        app, client, login, session, supervisor, seeded):  # noqa: F811
    login(supervisor)
    client.get("/reports?year=2025")  # the replica's engine is made on the first report
    replica = app.extensions["tsunagu.reports_sessions"].kw["bind"]
    read: list[str] = []
    event.listen(replica, "before_cursor_execute", lambda _c, _k, statement, *_a: read.append(statement))
    page = client.get("/reports?year=2026")
    assert page.status_code == 200 and "consultations" in page.get_data(as_text=True)
    assert any("FROM cases" in s for s in read)  # the tables came from the replica
    assert not any(s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) for s in read)
    reread(session)
    views = session.scalars(select(AuditRecord).where(AuditRecord.action == "report.viewed")).all()
    assert [v.detail["period"]["fiscal_year"] for v in views] == [2025, 2026]
