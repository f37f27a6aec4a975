"""The inbox's recent cases: the cases the user works, changed within the last RECENT_DAYS days, newest first."""
from __future__ import annotations

from datetime import timedelta

from tsunagu.engine.commands import cases, queries
from tsunagu.engine.runtime.forms import today_in_japan


def test_recent_cases_are_the_users_cases_changed_within_the_window_newest_first(
        session, clock, caseworker, supervisor, standard_version):
    older = cases.start_case(session, clock, caseworker, standard_version, "古い相談")
    clock.advance(timedelta(days=10))
    newer = cases.start_case(session, clock, caseworker, standard_version, "新しい相談")
    cases.start_case(session, clock, supervisor, standard_version, "同僚の相談")

    def recent(days_later: int) -> list[str]:
        today = today_in_japan(clock() + timedelta(days=days_later))
        return [row.title for row in queries.recent_cases(session, caseworker, today)]

    assert recent(0) == [newer.title, older.title]  # not the colleague's case
    assert recent(queries.RECENT_DAYS - 10) == [newer.title, older.title]
    assert recent(queries.RECENT_DAYS - 9) == [newer.title]  # the older one was last changed 91 days before
    assert recent(queries.RECENT_DAYS + 1) == []
