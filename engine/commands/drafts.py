"""Drafts: what a user has typed into an open task's form, kept on the server while they type.

A session can end mid-form (the idle limit, its lifetime, a sign-out elsewhere); the page saves its
input here every few seconds, and the task page puts it back after the person signs in again. A draft
is case data that has not entered the case file yet: it is shown only to the user who typed it, and
only while they may still work the task, and it goes when the task is completed.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import audit
from ..access import permissions
from ..clock import Clock
from ..db import transaction
from ..errors import Conflict, Forbidden, NotFound, TsunaguError
from ..models import ParkedInputRecord, TaskDraftRecord, TaskRecord, TaskStatus, UserRecord, unstorable
from ..runtime.stored_versions import files_of

# The largest draft kept, as UTF-8 JSON: far above any form a person types, far below what would let
# autosave fill the database.
MAX_DRAFT_BYTES = 200_000
# Parked input (a form posted just after its session ended) waits this long for its browser to sign in
# again, and a user has at most this many parked forms: a replayed old cookie cannot fill the table.
PARKED_FOR = timedelta(hours=12)
PARKED_PER_USER = 5


class DraftTooLarge(TsunaguError):
    """The input is larger than a draft may be."""

    code = "draft_too_large"


class DraftUnstorable(TsunaguError):
    """A field name or value holds a character the database cannot store (NUL)."""

    code = "unstorable_input"


@dataclass(frozen=True)
class Draft:
    """A user's saved input for one task: field name -> the strings the form held."""

    task_id: int
    fields: dict[str, list[str]]
    saved_at: datetime


def save_draft(session: Session, clock: Clock, actor: UserRecord, task_id: int,
               fields: Mapping[str, Sequence[str]]) -> Draft:
    """Keep what `actor` typed into an open task's form they may work now; only the form's own fields."""
    try:
        return _save(session, clock, actor, task_id, fields)
    except IntegrityError:
        # Two autosaves of one page raced to create the draft: the other one did; this one updates it.
        return _save(session, clock, actor, task_id, fields)


def _save(session: Session, clock: Clock, actor: UserRecord, task_id: int,
          fields: Mapping[str, Sequence[str]]) -> Draft:
    with transaction(session):
        task = workable_open_task(session, clock, actor, task_id)
        draft = _store(session, clock, actor, task, _draft_data(task, fields))
    return draft


def _store(session: Session, clock: Clock, actor: UserRecord, task: TaskRecord, data: dict[str, list[str]],
           **detail: str) -> Draft:
    now = clock()
    row = session.get(TaskDraftRecord, (task.id, actor.id))
    if row is None:
        session.add(TaskDraftRecord(task_id=task.id, user_id=actor.id, data=data, created_at=now, saved_at=now))
        # Audited once per task and user, when case data first starts being held outside the case file,
        # not on every autosave: the page saves every few seconds while someone types, and a row each
        # time would bury the log's meaningful rows; what was finally entered is audited as
        # `task.completed`.
        audit.record(session, clock, actor, "draft.created", case_id=task.case_id, task_id=task.id,
                     element=task.element_id, **detail)
        session.flush()
    else:
        row.data, row.saved_at = data, now
    return Draft(task_id=task.id, fields=data, saved_at=now)


def workable_open_task(session: Session, clock: Clock, actor: UserRecord, task_id: int) -> TaskRecord:
    """The open task `actor` may work now and nobody else has claimed; refused as completing it would be."""
    task = session.get(TaskRecord, task_id)
    if task is None:
        raise NotFound("no such task", element=str(task_id))
    now = clock()
    permissions.require_task_known(actor, task, now)
    if task.status != TaskStatus.OPEN:
        raise Conflict(f"task '{task.element_id}' was already {task.status.value}", element=task.element_id)
    permissions.require_task_work(actor, task, now)
    if task.assignee_id not in (None, actor.id):
        raise Conflict(f"task '{task.element_id}' is claimed by someone else", element=task.element_id)
    return task


def _form_fields(task: TaskRecord) -> set[str]:
    files = files_of(task.case.process_version)
    if not task.form_file or task.form_file not in files:
        return set()
    properties = json.loads(files[task.form_file]).get("properties", {})
    return set(properties) if isinstance(properties, dict) else set()


def _draft_data(task: TaskRecord, fields: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The posted fields the task's form has (no token, nothing else), checked before they are stored."""
    for name, values in fields.items():
        if unstorable(name) or any(not isinstance(v, str) or unstorable(v) for v in values):
            raise DraftUnstorable("a field holds a character that cannot be stored (NUL)",
                                  element=name.replace("\x00", ""))
    known = _form_fields(task)
    data = {name: [str(v) for v in values] for name, values in fields.items()
            if name.split(".", 1)[0] in known}
    size = len(json.dumps(data, ensure_ascii=False).encode("utf-8"))
    if size > MAX_DRAFT_BYTES:
        raise DraftTooLarge(f"a draft may hold at most {MAX_DRAFT_BYTES} bytes", element=task.element_id,
                            limit=MAX_DRAFT_BYTES)
    return data



def load_draft(session: Session, clock: Clock, actor: UserRecord, task_id: int) -> Draft | None:
    """The actor's own draft of the task, or None: also when the task is no longer open, someone else
    has claimed it, or the actor may no longer work it."""
    task = session.get(TaskRecord, task_id)
    if task is None or task.status != TaskStatus.OPEN or task.assignee_id not in (None, actor.id):
        return None
    if not permissions.can_work_task(actor, task, clock()):
        return None
    row = session.get(TaskDraftRecord, (task.id, actor.id))
    if row is None:
        return None
    data = {str(name): [str(v) for v in values] for name, values in row.data.items() if isinstance(values, list)}
    return Draft(task_id=task.id, fields=data, saved_at=row.saved_at)


def discard_drafts(session: Session, task_id: int) -> int:
    """Delete every user's draft (and parked input) of the task inside the caller's transaction (it opens
    none of its own); `complete_task` calls it, so a completed task's drafts go with the same commit.
    Returns how many drafts went."""
    session.execute(delete(ParkedInputRecord).where(ParkedInputRecord.task_id == task_id),
                    execution_options={"synchronize_session": False})
    result = session.execute(delete(TaskDraftRecord).where(TaskDraftRecord.task_id == task_id),
                             execution_options={"synchronize_session": "fetch"})
    return int(getattr(result, "rowcount", 0) or 0)


def discard_stale_drafts(session: Session) -> int:
    """Delete drafts (and parked input) of tasks no longer open (cancelled by the process, or completed
    before drafts were discarded on completion), inside the caller's transaction. Returns how many drafts."""
    closed = select(TaskRecord.id).where(TaskRecord.status != TaskStatus.OPEN)
    session.execute(delete(ParkedInputRecord).where(ParkedInputRecord.task_id.in_(closed)),
                    execution_options={"synchronize_session": False})
    result = session.execute(delete(TaskDraftRecord).where(TaskDraftRecord.task_id.in_(closed)),
                             execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


# --- Input posted just after the session ended ------------------------------------------------------
# A form sent (by the page's autosave, or by pressing "Complete" without script) after its session ended
# is not trusted to write anything of the user's: the cookie that sent it may be a copy kept after a
# sign-out. It is parked under a random token that only this browser's cookie holds, and becomes the
# user's draft only when this browser signs in again as that same user, who may still work the task.


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def park_input(session: Session, clock: Clock, user_id: int, task_id: int,
               fields: Mapping[str, Sequence[str]], token: str | None = None) -> str | None:
    """Hold a form posted by a session of `user_id` that has just ended; return the token for the
    browser's cookie (`token`, when it already holds one), or None when there is nothing to keep."""
    with transaction(session):
        now = clock()
        user = session.get(UserRecord, user_id)
        task = session.get(TaskRecord, task_id)
        if (user is None or not user.active or task is None or task.status != TaskStatus.OPEN
                or task.municipality_id != user.municipality_id):
            return None
        data = _draft_data(task, fields)
        if not data:
            return None
        session.execute(delete(ParkedInputRecord).where(ParkedInputRecord.parked_at < now - PARKED_FOR),
                        execution_options={"synchronize_session": False})
        row = None
        if token:
            row = session.scalar(select(ParkedInputRecord).where(ParkedInputRecord.token_hash == _token_hash(token)))
        if row is None or row.user_id != user.id:
            token = secrets.token_urlsafe(32)
            row = ParkedInputRecord(token_hash=_token_hash(token), user_id=user.id, task_id=task.id, data=data,
                                    parked_at=now)
            session.add(row)
            session.flush()
            kept = select(ParkedInputRecord.id).where(ParkedInputRecord.user_id == user.id) \
                .order_by(ParkedInputRecord.id.desc()).limit(PARKED_PER_USER)
            session.execute(delete(ParkedInputRecord).where(ParkedInputRecord.user_id == user.id,
                                                            ParkedInputRecord.id.not_in(kept.scalar_subquery())),
                            execution_options={"synchronize_session": False})
        else:
            row.task_id, row.data, row.parked_at = task.id, data, now
    return token


def claim_parked_input(session: Session, clock: Clock, actor: UserRecord, token: object) -> int | None:
    """After signing in: the input this browser parked becomes `actor`'s draft if it was theirs and they
    may still work the task; it is dropped either way. Returns the task id when a draft was written."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    with transaction(session):
        row = session.scalar(select(ParkedInputRecord).where(ParkedInputRecord.token_hash == _token_hash(token)))
        if row is None:
            return None
        task_id, user_id, data, parked_at = row.task_id, row.user_id, dict(row.data), row.parked_at
        session.delete(row)
        if user_id != actor.id or clock() - parked_at > PARKED_FOR:
            return None
        try:
            task = workable_open_task(session, clock, actor, task_id)
        except (NotFound, Forbidden, Conflict):
            return None  # no longer theirs to work: the parked input goes, nothing is shown
        _store(session, clock, actor, task, _draft_data(task, data), via="sign_in")
    return task_id
