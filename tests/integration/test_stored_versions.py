"""A version's files and spec are read from the database once per process, then kept."""
from __future__ import annotations

from sqlalchemy import event, select

from tsunagu.engine.models import ProcessVersionRecord
from tsunagu.engine.runtime import stored_versions
from tsunagu.engine.runtime.stored_versions import files_of, spec_of


def test_the_large_columns_are_read_once_and_then_kept(session_factory, engine, standard_version, monkeypatch):
    monkeypatch.setattr(stored_versions, "_kept", type(stored_versions._kept)())
    read: list[str] = []

    def capture(_conn, _cursor, statement, *_args) -> None:
        read.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        for _ in range(3):
            with session_factory() as session:
                version = session.scalar(select(ProcessVersionRecord).where(
                    ProcessVersionRecord.id == standard_version.id))
                assert "kodoku_koritsu_case.bpmn" in files_of(version)
                assert spec_of(version).startswith("{")
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    large = [s for s in read if "process_versions.files" in s or "process_versions.spec" in s]
    assert len([s for s in read if s.lstrip().startswith("SELECT")]) == 3 + len(large)
    assert len(large) == 2  # files, then spec: the first time only


def test_no_more_than_keep_versions_are_kept(session, standard_version, monkeypatch):
    monkeypatch.setattr(stored_versions, "_kept", type(stored_versions._kept)())
    monkeypatch.setattr(stored_versions, "KEEP", 1)
    stored_versions._kept[("another database", 1, "hash")] = ({}, "")
    files_of(standard_version)  # kept, and the older entry dropped
    assert [key[1:] for key in stored_versions._kept] == [(standard_version.id, standard_version.content_hash)]
