"""The migrations build exactly the schema the models describe, and upgrade a database that holds data."""
from __future__ import annotations

from datetime import datetime, timezone

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from tsunagu.engine.access import tokens  # noqa: F401  (registers its table)
from tsunagu.engine.casefile import governance, tables  # noqa: F401  (registers their tables)
from tsunagu.engine.db import MIGRATIONS_DIR, make_engine
from tsunagu.engine.models import Base, ProcessVersionRecord
from tsunagu.engine.ops import tables as ops_tables  # noqa: F401  (registers its tables)


def test_the_migrated_schema_matches_the_models(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                       Base.metadata)
    assert differences == []


def _alembic(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def test_versions_deployed_before_municipal_deployment_become_numbered_template_versions(database_url):
    config = _alembic(database_url)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    command.upgrade(config, "0001")
    engine = make_engine(database_url)
    deployed = datetime(2026, 4, 1, tzinfo=timezone.utc)
    with engine.begin() as connection:
        for number, process in enumerate(("a", "a", "b")):
            connection.execute(text(
                "INSERT INTO process_versions (process_id, name, content_hash, files, spec, deployed_at) "
                "VALUES (:p, :p, :h, '{}', '', :at)"), {"p": process, "h": f"hash{number}", "at": deployed})
    engine.dispose()

    command.upgrade(config, "head")

    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(select(ProcessVersionRecord.__table__).order_by(text("id"))).mappings().all()
    engine.dispose()
    assert [(r["process_id"], r["version_number"], r["municipality_id"]) for r in rows] == [
        ("a", 1, None), ("a", 2, None), ("b", 1, None)]
    assert {r["activated_at"] for r in rows} == {deployed}


def test_rebuilding_tables_other_rows_refer_to_keeps_every_reference_down_and_up(
        database_url, engine, session, municipality):
    # A meeting with an attending body: rebuilding council_meetings (0005, 0006) must not trip on it.
    from datetime import date

    from tsunagu.engine.casefile.governance import CouncilMunicipalityRecord, CouncilRecord
    from tsunagu.engine.casefile.tables import CouncilMeetingRecord, OrganisationKind, OrganisationRecord

    session.add(OrganisationRecord(municipality_id=municipality.id, name="社協", kind=OrganisationKind.MEMBER_BODY))
    record = CouncilRecord(name="協議会", established_on=date(2025, 4, 1))
    session.add(record)
    session.flush()
    session.add(CouncilMunicipalityRecord(council_id=record.id, municipality_id=municipality.id))
    session.commit()
    council = record.id
    config = _alembic(database_url)
    session.close()
    engine.dispose()
    command.downgrade(config, "0004")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO council_meetings (municipality_id, title, held_on, created_at) "
                                "VALUES (:m, 'old', '2026-01-10', '2026-01-01 00:00:00')"), {"m": municipality.id})
        meeting = connection.execute(text("SELECT max(id) FROM council_meetings")).scalar()
        body = connection.execute(text("SELECT min(id) FROM organisations WHERE municipality_id = :m"),
                                  {"m": municipality.id}).scalar()
        connection.execute(text("INSERT INTO meeting_bodies (meeting_id, organisation_id) VALUES (:m, :o)"),
                           {"m": meeting, "o": body})
    engine.dispose()

    command.upgrade(config, "head")

    with engine.connect() as connection:
        belongs = connection.execute(select(CouncilMeetingRecord.council_id)).scalar()
        attending = connection.execute(text("SELECT count(*) FROM meeting_bodies")).scalar()
        if connection.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
    assert belongs == council and attending == 1  # the meeting now belongs to its municipality's council


def test_0011_fills_the_case_facts_and_task_kinds_of_existing_cases_as_the_engine_writes_them(
        database_url, engine, story):
    """Cases run by the engine, the new columns wiped by going down to 0010 and up again: the backfill
    gives back what the engine wrote (the risk of a case the council has not decided excepted)."""
    from tsunagu.engine.models import CaseRecord, TaskRecord

    from .scenario import ACCEPT

    decided, tabled = story.start("決定済み"), story.start("付議済み")
    story.to_council(decided)
    story.decide(decided, actions=[{"action_type_id": story.action_type("home_visit").id,
                                    "owner_body_id": story.cast.bodies["shakyo"].id}])
    answer = story.task(decided, "action_response")
    story.complete(decided, answer, story.partner_for(answer), ACCEPT)  # a contact with the person's case
    story.to_council(tabled)
    columns = ("channel", "opened_on", "latest_decision_id", "next_review_on", "last_contact_at")

    def facts():
        with engine.connect() as connection:
            cases = {row.id: tuple(getattr(row, c) for c in columns) + (row.risk if row.latest_decision_id else None,)
                     for row in connection.execute(select(CaseRecord.__table__))}
            kinds = dict(connection.execute(select(TaskRecord.id, TaskRecord.kind)).all())
        return cases, kinds

    written = facts()
    assert written[0][decided.id][2] is not None and written[0][decided.id][4] is not None
    assert written[0][tabled.id][0] == "phone"
    assert {"intake", "assessment", "consent", "tabling"} <= set(written[1].values())
    engine.dispose()
    config = _alembic(database_url)
    command.downgrade(config, "0010")
    command.upgrade(config, "head")
    assert facts() == written
