"""The migrations build exactly the schema the models describe, and upgrade a database that holds data."""
from __future__ import annotations

from datetime import datetime, timezone

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import select, text

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
