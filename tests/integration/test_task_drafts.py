"""Drafts: what a user typed into an open task's form is kept on the server for that user alone, only while
they may work the task, audited once, refused when it cannot be stored, and discarded with the task."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.commands import cases, drafts
from tsunagu.engine.errors import Conflict, NotFound
from tsunagu.engine.models import ParkedInputRecord, TaskDraftRecord

from .helpers import audit_actions, count, open_task

TYPED = {"person_name": ["山田 花子"], "concern": ["一人暮らしで話し相手がいない"],
         "special_care": ["mental_health", "disability"], "birth_year": ["千九百五十"]}


@pytest.fixture
def second_caseworker(session, clock, municipality, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username="caseworker2",
                             display_name="caseworker2", password=user_password, roles=["caseworker"])
    session.commit()
    return user


def test_a_saved_draft_comes_back_to_its_author_exactly_as_typed(
        session, session_factory, clock, caseworker, standard_case):
    task = open_task(session_factory, standard_case.id)

    drafts.save_draft(session, clock, caseworker, task.id, {**TYPED, "csrf_token": ["t"], "not_a_field": ["x"]})

    with session_factory() as other:
        found = drafts.load_draft(other, clock, caseworker, task.id)
    assert found is not None
    assert found.fields == TYPED  # unparseable text kept as typed; names the form lacks dropped
    assert found.saved_at == clock()


def test_each_autosave_replaces_the_draft_and_only_the_first_is_audited(
        session, session_factory, clock, caseworker, standard_case):
    task = open_task(session_factory, standard_case.id)
    drafts.save_draft(session, clock, caseworker, task.id, {"person_name": ["山田"]})
    clock.advance(timedelta(seconds=3))
    drafts.save_draft(session, clock, caseworker, task.id, {"person_name": ["山田 花子"]})

    with session_factory() as other:
        assert drafts.load_draft(other, clock, caseworker, task.id).fields == {"person_name": ["山田 花子"]}
        assert drafts.load_draft(other, clock, caseworker, task.id).saved_at == clock()
    assert count(session_factory, TaskDraftRecord) == 1
    assert audit_actions(session_factory, standard_case.id) == ["case.started", "draft.created"]


def test_nobody_else_ever_loads_a_users_draft(
        session, session_factory, clock, caseworker, second_caseworker, standard_case):
    task = open_task(session_factory, standard_case.id)
    drafts.save_draft(session, clock, caseworker, task.id, TYPED)

    assert drafts.load_draft(session, clock, second_caseworker, task.id) is None
    drafts.save_draft(session, clock, second_caseworker, task.id, {"person_name": ["別の人"]})
    assert drafts.load_draft(session, clock, caseworker, task.id).fields == TYPED
    assert drafts.load_draft(session, clock, second_caseworker, task.id).fields == {"person_name": ["別の人"]}


def test_a_task_claimed_by_someone_else_refuses_drafts_and_hides_the_earlier_one(
        session, session_factory, clock, caseworker, second_caseworker, standard_case):
    task = open_task(session_factory, standard_case.id)
    drafts.save_draft(session, clock, caseworker, task.id, TYPED)
    cases.claim_task(session, clock, second_caseworker, task.id)

    with pytest.raises(Conflict):
        drafts.save_draft(session, clock, caseworker, task.id, TYPED)
    assert drafts.load_draft(session, clock, caseworker, task.id) is None
    cases.unclaim_task(session, clock, second_caseworker, task.id)
    assert drafts.load_draft(session, clock, caseworker, task.id).fields == TYPED


def test_someone_who_may_not_work_the_task_cannot_keep_a_draft_of_it(
        session, session_factory, clock, partner, standard_case):
    task = open_task(session_factory, standard_case.id)
    with pytest.raises(NotFound):
        drafts.save_draft(session, clock, partner, task.id, TYPED)
    with pytest.raises(NotFound):
        drafts.save_draft(session, clock, partner, 2**31 - 1, TYPED)
    assert count(session_factory, TaskDraftRecord) == 0


def test_a_completed_tasks_draft_is_refused_and_no_longer_shown(
        session, session_factory, clock, caseworker, standard_case, intake_data):
    task = open_task(session_factory, standard_case.id)
    drafts.save_draft(session, clock, caseworker, task.id, TYPED)
    cases.complete_task(session, clock, caseworker, task.id, intake_data)

    assert drafts.load_draft(session, clock, caseworker, task.id) is None
    with pytest.raises(Conflict):
        drafts.save_draft(session, clock, caseworker, task.id, TYPED)


@pytest.mark.parametrize("fields", [{"person_name": ["山田\x00花子"]}, {"person\x00name": ["山田"]}])
def test_a_nul_byte_is_refused_with_a_stable_code_on_either_database(
        session, session_factory, clock, caseworker, standard_case, fields):
    task = open_task(session_factory, standard_case.id)
    with pytest.raises(drafts.DraftUnstorable) as refused:
        drafts.save_draft(session, clock, caseworker, task.id, fields)
    assert refused.value.code == "unstorable_input"
    assert count(session_factory, TaskDraftRecord) == 0


def test_a_draft_over_the_size_limit_is_refused_and_the_earlier_one_kept(
        session, session_factory, clock, caseworker, standard_case):
    task = open_task(session_factory, standard_case.id)
    drafts.save_draft(session, clock, caseworker, task.id, TYPED)
    with pytest.raises(drafts.DraftTooLarge) as refused:
        drafts.save_draft(session, clock, caseworker, task.id, {"concern": ["あ" * (drafts.MAX_DRAFT_BYTES // 3 + 10)]})
    assert refused.value.code == "draft_too_large"
    assert drafts.load_draft(session, clock, caseworker, task.id).fields == TYPED


def test_discarding_a_tasks_drafts_joins_the_callers_transaction(
        session, session_factory, clock, caseworker, second_caseworker, standard_case):
    task = open_task(session_factory, standard_case.id)
    drafts.save_draft(session, clock, caseworker, task.id, TYPED)
    drafts.save_draft(session, clock, second_caseworker, task.id, TYPED)
    drafts.park_input(session, clock, caseworker.id, task.id, TYPED)

    assert drafts.discard_drafts(session, task.id) == 2
    session.rollback()  # discarding opens no transaction of its own: the caller's rollback undoes it
    assert count(session_factory, TaskDraftRecord) == 2

    assert drafts.discard_drafts(session, task.id) == 2
    session.commit()
    assert count(session_factory, TaskDraftRecord) == 0
    assert count(session_factory, ParkedInputRecord) == 0


def test_stale_drafts_of_tasks_no_longer_open_can_be_swept(
        session, session_factory, clock, caseworker, standard_case, intake_data):
    task = open_task(session_factory, standard_case.id)
    drafts.save_draft(session, clock, caseworker, task.id, TYPED)
    cases.complete_task(session, clock, caseworker, task.id, intake_data)
    following = open_task(session_factory, standard_case.id)
    drafts.save_draft(session, clock, caseworker, following.id, {"respondent": ["self"]})

    drafts.discard_stale_drafts(session)
    session.commit()
    with session_factory() as other:
        assert list(other.scalars(select(TaskDraftRecord.task_id))) == [following.id]


# --- Input posted just after the session ended: parked for the posting browser, claimed by signing in ---

def test_parked_input_becomes_the_draft_of_the_same_user_signing_in_again(
        session, session_factory, clock, caseworker, standard_case):
    task = open_task(session_factory, standard_case.id)
    token = drafts.park_input(session, clock, caseworker.id, task.id, {**TYPED, "csrf_token": ["t"]})
    assert token and count(session_factory, TaskDraftRecord) == 0  # nothing of the user's written yet

    assert drafts.claim_parked_input(session, clock, caseworker, token) == task.id
    assert drafts.load_draft(session, clock, caseworker, task.id).fields == TYPED
    assert count(session_factory, ParkedInputRecord) == 0
    assert drafts.claim_parked_input(session, clock, caseworker, token) is None  # a token works once
    assert audit_actions(session_factory, standard_case.id) == ["case.started", "draft.created"]


def test_parked_input_is_dropped_for_another_user_a_stale_token_or_a_task_they_may_not_work(
        session, session_factory, clock, caseworker, second_caseworker, standard_case):
    task = open_task(session_factory, standard_case.id)
    token = drafts.park_input(session, clock, caseworker.id, task.id, TYPED)
    assert drafts.claim_parked_input(session, clock, second_caseworker, token) is None
    assert drafts.load_draft(session, clock, second_caseworker, task.id) is None
    assert count(session_factory, ParkedInputRecord) == 0

    token = drafts.park_input(session, clock, caseworker.id, task.id, TYPED)
    clock.advance(drafts.PARKED_FOR + timedelta(minutes=1))
    assert drafts.claim_parked_input(session, clock, caseworker, token) is None

    token = drafts.park_input(session, clock, caseworker.id, task.id, TYPED)
    cases.claim_task(session, clock, second_caseworker, task.id)
    assert drafts.claim_parked_input(session, clock, caseworker, token) is None
    assert count(session_factory, TaskDraftRecord) == 0


def test_a_replayed_cookie_cannot_fill_the_table_with_parked_input(
        session, session_factory, clock, caseworker, standard_case):
    task = open_task(session_factory, standard_case.id)
    tokens = [drafts.park_input(session, clock, caseworker.id, task.id, TYPED) for _ in range(drafts.PARKED_PER_USER + 3)]
    assert count(session_factory, ParkedInputRecord) == drafts.PARKED_PER_USER
    assert drafts.claim_parked_input(session, clock, caseworker, tokens[-1]) == task.id
    # The same browser parking again keeps one row under its token.
    again = drafts.park_input(session, clock, caseworker.id, task.id, {"person_name": ["更新"]}, tokens[-2])
    assert again == tokens[-2]
    assert count(session_factory, ParkedInputRecord) == drafts.PARKED_PER_USER - 1
    with pytest.raises(drafts.DraftTooLarge):
        drafts.park_input(session, clock, caseworker.id, task.id, {"concern": ["あ" * drafts.MAX_DRAFT_BYTES]})


def test_nothing_is_parked_for_an_unknown_or_inactive_user_or_a_closed_task(
        session, session_factory, clock, caseworker, standard_case, intake_data):
    task = open_task(session_factory, standard_case.id)
    assert drafts.park_input(session, clock, 2**31 - 1, task.id, TYPED) is None
    assert drafts.park_input(session, clock, caseworker.id, 2**31 - 1, TYPED) is None
    assert drafts.park_input(session, clock, caseworker.id, task.id, {"not_a_field": ["x"]}) is None
    cases.complete_task(session, clock, caseworker, task.id, intake_data)
    assert drafts.park_input(session, clock, caseworker.id, task.id, TYPED) is None
    assert count(session_factory, ParkedInputRecord) == 0
