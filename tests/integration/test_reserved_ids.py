"""Ids reserved before a process's scripts run are never handed out twice, like PostgreSQL's nextval."""
from __future__ import annotations

import threading

from alembic import command
from sqlalchemy import column, select, table, text

from tsunagu.engine.casefile.tables import PersonRecord
from tsunagu.engine.db import reserve_id

from .test_migrations import _alembic


def _person(clock, municipality, name, **values):
    return PersonRecord(municipality_id=municipality.id, name=name, created_at=clock(), **values)


def test_an_ordinary_insert_never_takes_a_reserved_id(session_factory, session, clock, municipality):
    reserved = reserve_id(session, PersonRecord)
    with session_factory() as other:  # someone else adds a person while ours waits for its script
        other.add(_person(clock, municipality, "他の人"))
        other.commit()
        theirs = other.scalar(select(PersonRecord.id).where(PersonRecord.name == "他の人"))
    assert theirs > reserved
    session.add(_person(clock, municipality, "本人", id=reserved))
    session.commit()  # the reserved id is still free
    assert session.get(PersonRecord, reserved).name == "本人"


def test_a_reservation_inside_a_writing_transaction_joins_it(session, clock, municipality):
    session.add(_person(clock, municipality, "先"))
    session.flush()  # on SQLite this session now holds the write lock: a second connection would wait
    first = session.scalar(select(PersonRecord.id))
    reserved = reserve_id(session, PersonRecord)
    session.add(_person(clock, municipality, "後", id=reserved))
    session.commit()
    assert reserved > first


def test_parallel_reservations_are_all_different(session_factory, municipality):
    taken: list[int] = []
    lock = threading.Lock()

    def reserve_ten():
        with session_factory() as own:
            ids = [reserve_id(own, PersonRecord) for _ in range(10)]
        with lock:
            taken.extend(ids)

    threads = [threading.Thread(target=reserve_ten) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == len(set(taken)) == 40


def test_an_upgrade_keeps_people_and_their_references_and_counts_on_from_the_highest_id(
        database_url, engine, session, clock, municipality):
    config = _alembic(database_url)
    engine.dispose()
    command.downgrade(config, "0004")  # back to plain rowids, then forward again with rows in place
    # The rows of revision 0004: only the columns persons had then.
    persons = table("persons", column("municipality_id"), column("name"), column("created_at"))
    session.execute(persons.insert(), [{"municipality_id": municipality.id, "name": name, "created_at": clock()}
                                       for name in ("一", "二")])
    session.commit()
    highest = session.scalar(select(PersonRecord.id).order_by(PersonRecord.id.desc()).limit(1))
    session.close()
    engine.dispose()

    command.upgrade(config, "head")

    with engine.connect() as connection:
        names = connection.execute(select(PersonRecord.name).order_by(PersonRecord.id)).scalars().all()
        if connection.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []
            ddl = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'persons'")).scalar()
            assert "AUTOINCREMENT" in ddl
    assert names == ["一", "二"]
    assert reserve_id(session, PersonRecord) > highest
