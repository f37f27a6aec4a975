"""A migration left running (the designer's browser closed after the first slice) is continued from the
migrate page's Continue button: only the cases not yet moved are looked at, and the counts end right."""
from __future__ import annotations

import re

from page_text import element
from sqlalchemy import select
from test_case_migration_page import KEY, moved_world  # noqa: F401  (the fixture)

from tsunagu.engine.models import CaseMigrationRecord, CaseRecord, MigrationBatchRecord
from tsunagu.web import case_migration


def test_a_batch_left_running_is_continued_from_the_migrate_page_and_counts_each_case_once(
        client, login, designer, moved_world, session_factory, monkeypatch):  # noqa: F811
    started, version = moved_world
    login(designer)
    monkeypatch.setattr(case_migration, "SLICE_CASES", 2)
    first = client.post(f"/designer/processes/{KEY}/migrate").get_data(as_text=True)
    assert 'id="migration-continue"' in first  # the page would post the next slice: the browser closes instead

    page = client.get(f"/designer/processes/{KEY}/migrate").get_data(as_text=True)
    batch_card = element(page, "batch")
    assert 'id="migration-continue"' not in batch_card and "migration.js" not in page  # nothing posts by itself
    assert 'id="batch-stopped"' in batch_card and 'value="2"' in batch_card
    action = re.search(r'<form method="post" action="([^"]+)"', batch_card).group(1)
    after = re.search(r'name="after" value="(\d+)"', batch_card).group(1)
    assert 'id="start-migration"' not in page  # one batch at a time: continue this one

    monkeypatch.setattr(case_migration, "SLICE_CASES", 200)
    done = client.post(action, data={"after": after}).get_data(as_text=True)
    assert 'id="migration-continue"' not in done and 'value="4"' in done and 'max="4"' in done
    with session_factory() as other:
        batch = other.scalars(select(MigrationBatchRecord)).one()
        assert (batch.status, batch.total, batch.moved, batch.refused) == ("finished", 4, 4, 0)
        moves = other.scalars(select(CaseMigrationRecord.case_id)).all()
        assert sorted(moves) == sorted(started[:4])  # each case moved once, none twice
        assert {c.id for c in other.scalars(select(CaseRecord).where(CaseRecord.process_version_id == version.id))} \
            == set(started[:4])
    again = client.post(action, data={"after": "0"}).get_data(as_text=True)  # a stale tab posting once more
    assert 'value="4"' in again
    with session_factory() as other:
        assert other.scalars(select(MigrationBatchRecord)).one().moved == 4
