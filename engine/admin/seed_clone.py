"""Copies of real template cases, in bulk: every row the engine wrote for a template (case, tasks, form
submissions, assessments, consents, disclosures, council meeting, agenda item, decision, support actions,
case staff, audit rows) inserted again for each copy with its own person, caseworker and dates.

An open copy gets the template's workflow state with fresh SpiffWorkflow task ids (its task rows carry
the same ids) and the ids of its own rows where the process data names them, so the engine continues
it like any case. Closed copies share their template's completed state; their task rows get ids of
their own that no workflow waits on.
"""
from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, insert, select, update

from ..casefile.tables import (
    AgendaItemRecord,
    AssessmentRecord,
    CaseStaffRecord,
    ConsentRecord,
    CouncilDecisionRecord,
    CouncilMeetingRecord,
    DisclosureRecord,
    PersonRecord,
    SupportActionRecord,
)
from ..models import AuditRecord, CaseRecord, CaseStatus, FormSubmissionRecord, TaskRecord
from .seed import CHANNELS, CHUNK, CLOSURE_REASONS, SEED_PREFIX, Meetings, insert_rows, person_row, table_of

CASES, TASKS, PERSONS = table_of(CaseRecord), table_of(TaskRecord), table_of(PersonRecord)
SUBMISSIONS, AUDIT = table_of(FormSubmissionRecord), table_of(AuditRecord)
ASSESSMENTS, CONSENTS, DISCLOSURES = table_of(AssessmentRecord), table_of(ConsentRecord), table_of(DisclosureRecord)
AGENDA, DECISIONS, MEETINGS = table_of(AgendaItemRecord), table_of(CouncilDecisionRecord), table_of(CouncilMeetingRecord)
ACTIONS, STAFF = table_of(SupportActionRecord), table_of(CaseStaffRecord)
SPIFF_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Ids of case-file rows that the process data carries (engine.casefile.records and the council's messages).
STATE_IDS = re.compile(r'"(person_id|consent_id|meeting_id|decision_id|action_id)": (\d+)')
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class Template:
    """Every row of one real case, read back as the engine wrote it."""

    position: str
    case: dict[str, Any]
    person: dict[str, Any] | None
    rows: dict[str, list[dict[str, Any]]]  # table name -> rows of the case, by id
    held_on: dict[int, date]  # meeting id -> its day
    caseworker: int  # the template's own caseworker, replaced by each copy's

    @property
    def open(self) -> bool:
        return bool(self.case["status"] != CaseStatus.COMPLETED.value)


PER_CASE = (TASKS, SUBMISSIONS, ASSESSMENTS, CONSENTS, DISCLOSURES, AGENDA, DECISIONS, ACTIONS, STAFF, AUDIT)


def capture(conn: Connection, case_id: int, position: str, caseworker: int) -> Template:
    """Read a template case and all its rows."""
    case = dict(conn.execute(select(CASES).where(CASES.c.id == case_id)).mappings().one())
    case["status"] = getattr(case["status"], "value", case["status"])
    person = (dict(conn.execute(select(PERSONS).where(PERSONS.c.id == case["person_id"])).mappings().one())
              if case["person_id"] else None)
    rows = {table.name: [dict(r) for r in conn.execute(select(table).where(table.c.case_id == case_id)
                                                        .order_by(*table.primary_key.columns)).mappings()]
            for table in PER_CASE}
    meeting_ids = {r["meeting_id"] for r in rows[AGENDA.name] + rows[DECISIONS.name]}
    held_on: dict[int, date] = {row[0]: row[1] for row in conn.execute(
        select(MEETINGS.c.id, MEETINGS.c.held_on).where(MEETINGS.c.id.in_(meeting_ids)))}
    for table in PER_CASE:
        for row in rows[table.name]:
            for key, value in row.items():
                row[key] = getattr(value, "value", value)  # enums as their stored text
    return Template(position, case, person, rows, held_on, caseworker)


@dataclass
class Copy:
    """One case to make: its template, number, caseworker and how far its dates move."""

    template: Template
    number: int
    caseworker: int
    shift: timedelta
    days: int  # whole days dates move by (shift rounded to weeks, so meetings stay shared)
    name: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, dict[int, int]] = field(default_factory=dict)  # table -> template id -> copy id
    case_id: int = 0


def _moved(row: dict[str, Any], copy: Copy, keep: tuple[str, ...] = ()) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if key in keep:
            out[key] = value
        elif isinstance(value, datetime):
            out[key] = value + copy.shift
        elif isinstance(value, date):
            out[key] = value + timedelta(days=copy.days)
        else:
            out[key] = value
    out.pop("id", None)
    return out


def _user(copy: Copy, user_id: int | None) -> int | None:
    return copy.caseworker if user_id == copy.template.caseworker else user_id


def _mapped(copy: Copy, table: Table, old: int | None) -> int | None:
    return None if old is None else copy.ids.get(table.name, {}).get(old, old)


def _days_moved(data: dict[str, Any], days: int) -> dict[str, Any]:
    moved = {}
    for key, value in data.items():
        if isinstance(value, str) and len(value) == 10 and ISO_DAY.fullmatch(value):
            try:
                moved[key] = (date.fromisoformat(value) + timedelta(days=days)).isoformat()
                continue
            except ValueError:
                pass
        moved[key] = value
    return moved


class Cloner:
    """Inserts batches of copies; `uuid` draws SpiffWorkflow task ids from `ids`, so that a run repeats."""

    def __init__(self, conn: Connection, meetings: Meetings, ids: random.Random, municipality_code: str):
        self.conn, self.meetings, self.code = conn, meetings, municipality_code
        self.uuid: Callable[[], str] = lambda: str(uuid.UUID(int=ids.getrandbits(128), version=4))

    def insert(self, copies: list[Copy]) -> None:
        """All rows of `copies`, in an order that lets each row name the ones it refers to."""
        conn = self.conn
        named = [c for c in copies if c.template.case["person_id"]]  # a case still at its intake names nobody yet
        people = dict(zip((c.number for c in named), insert_rows(conn, PERSONS, [c.name for c in named]), strict=True))
        self._cases(copies, people)
        self._per_case(copies, CONSENTS, lambda c, r: {**_moved(r, c), "case_id": c.case_id,
                                                        "person_id": c.ids[PERSONS.name].get(r["person_id"]),
                                                        "recorded_by_id": _user(c, r["recorded_by_id"])})
        meetings = {}  # (copy number, template meeting) -> copy meeting
        wanted = [(c, m, c.template.held_on[m] + timedelta(days=c.days))
                  for c in copies for m in sorted({r["meeting_id"] for r in c.template.rows[AGENDA.name]})]
        for (c, m, _day), made in zip(wanted, self.meetings.ids(conn, [day for _c, _m, day in wanted]), strict=True):
            meetings[(c.number, m)] = made
            c.ids.setdefault(MEETINGS.name, {})[m] = made
        keep = ("next_review_on",)
        self._per_case(copies, DECISIONS, lambda c, r: {
            **_moved(r, c, keep if c.template.open else ()), "case_id": c.case_id,
            "meeting_id": meetings[(c.number, r["meeting_id"])], "recorded_by_id": _user(c, r["recorded_by_id"])})
        self._per_case(copies, AGENDA, lambda c, r: {
            **_moved(r, c), "case_id": c.case_id, "meeting_id": meetings[(c.number, r["meeting_id"])],
            "decision_id": _mapped(c, DECISIONS, r["decision_id"])}, ids=False)
        self._per_case(copies, ACTIONS, lambda c, r: {**_moved(r, c), "case_id": c.case_id,
                                                       "decision_id": _mapped(c, DECISIONS, r["decision_id"]),
                                                       "created_by_id": _user(c, r["created_by_id"])})
        fresh: dict[int, dict[str, str]] = {c.number: {} for c in copies}
        self._per_case(copies, TASKS, lambda c, r: {
            **_moved(r, c), "case_id": c.case_id, "subject_id": _mapped(c, ACTIONS, r["subject_id"]),
            "spiff_task_id": fresh[c.number].setdefault(r["spiff_task_id"], self.uuid()),
            "assignee_id": _user(c, r["assignee_id"]), "completed_by_id": _user(c, r["completed_by_id"])})
        self._per_case(copies, SUBMISSIONS, self._submission, ids=False)
        self._per_case(copies, ASSESSMENTS, lambda c, r: {
            **_moved(r, c), "case_id": c.case_id, "person_id": c.ids[PERSONS.name].get(r["person_id"]),
            "task_id": _mapped(c, TASKS, r["task_id"]), "recorded_by_id": _user(c, r["recorded_by_id"])}, ids=False)
        self._per_case(copies, DISCLOSURES, lambda c, r: {
            **_moved(r, c), "case_id": c.case_id, "consent_id": _mapped(c, CONSENTS, r["consent_id"]),
            "action_id": _mapped(c, ACTIONS, r["action_id"]), "recorded_by_id": _user(c, r["recorded_by_id"]),
            "reviewed_by_id": _user(c, r["reviewed_by_id"])}, ids=False)
        self._per_case(copies, STAFF, lambda c, r: {**_moved(r, c), "case_id": c.case_id,
                                                     "user_id": _user(c, r["user_id"])}, ids=False)
        self._per_case(copies, AUDIT, lambda c, r: {**_moved(r, c), "case_id": c.case_id,
                                                     "task_id": _mapped(c, TASKS, r["task_id"]),
                                                     "actor_id": _user(c, r["actor_id"])}, ids=False)
        self._finish(copies, fresh)

    def _cases(self, copies: list[Copy], people: dict[int, int]) -> None:
        rows = []
        for c in copies:
            t = c.template
            person = people.get(c.number)
            c.ids = {PERSONS.name: {t.case["person_id"]: person} if person else {}}
            row = _moved(t.case, c, ("next_review_on", "next_timer_at") if t.open else ())
            surname = c.name["name"].split(" ")[0]
            row.update(reference=f"{SEED_PREFIX}{self.code}-{c.number:08d}", title=f"{surname}さんの相談",
                       person_id=person, created_by_id=c.caseworker,
                       lock_version=1, latest_decision_id=None,
                       workflow_state="" if t.open else t.case["workflow_state"])
            if t.case["channel"]:
                row["channel"] = CHANNELS[c.number % len(CHANNELS)]
            if t.position == "closed_goal":
                row["closure_reason"] = CLOSURE_REASONS[c.number % len(CLOSURE_REASONS)]
            rows.append(row)
        for c, case_id in zip(copies, insert_rows(self.conn, CASES, rows), strict=True):
            c.case_id = case_id

    def _per_case(self, copies: list[Copy], table: Table, build: Callable[[Copy, dict[str, Any]], dict[str, Any]],
                  *, ids: bool = True) -> None:
        pairs = [(c, r) for c in copies for r in c.template.rows[table.name]]
        rows = [build(c, r) for c, r in pairs]
        if not rows:
            return
        if not ids:
            self.conn.execute(insert(table), rows)
            return
        for (c, r), new in zip(pairs, insert_rows(self.conn, table, rows), strict=True):
            c.ids.setdefault(table.name, {})[r["id"]] = new

    def _submission(self, c: Copy, r: dict[str, Any]) -> dict[str, Any]:
        data = _days_moved(r["data"], c.days)
        if "person_name" in data:  # the intake: the copy's own person and channel
            data.update(person_name=c.name["name"], person_kana=c.name["kana"], birth_year=c.name["birth_year"],
                        channel=CHANNELS[c.number % len(CHANNELS)])
        if "closure_reason" in data and c.template.position == "closed_goal":
            data["closure_reason"] = CLOSURE_REASONS[c.number % len(CLOSURE_REASONS)]
        return {**_moved(r, c), "case_id": c.case_id, "task_id": _mapped(c, TASKS, r["task_id"]), "data": data,
                "submitted_by_id": _user(c, r["submitted_by_id"])}

    def _finish(self, copies: list[Copy], fresh: dict[int, dict[str, str]]) -> None:
        """The case's latest decision and, for an open copy, its workflow state naming its own ids."""
        states, decided = [], []
        for c in copies:
            t = c.template
            latest = _mapped(c, DECISIONS, t.case["latest_decision_id"])
            if not t.open:
                if latest is not None:
                    decided.append({"b_id": c.case_id, "b_latest": latest})
                continue
            ids = {"person_id": c.ids[PERSONS.name], "consent_id": c.ids.get(CONSENTS.name, {}),
                   "meeting_id": c.ids.get(MEETINGS.name, {}), "decision_id": c.ids.get(DECISIONS.name, {}),
                   "action_id": c.ids.get(ACTIONS.name, {})}
            mine = fresh[c.number]
            state = SPIFF_ID.sub(lambda m, mine=mine: mine.setdefault(m.group(0), self.uuid()),  # type: ignore[misc]
                                 t.case["workflow_state"])
            state = STATE_IDS.sub(lambda m, ids=ids: f'"{m.group(1)}": {ids[m.group(1)].get(int(m.group(2)), m.group(2))}',  # type: ignore[misc]
                                  state)
            states.append({"b_id": c.case_id, "b_latest": latest, "b_state": state})
        if states:
            self.conn.execute(update(CASES).where(CASES.c.id == bindparam("b_id"))
                              .values(latest_decision_id=bindparam("b_latest"), workflow_state=bindparam("b_state")),
                              states)
        if decided:
            self.conn.execute(update(CASES).where(CASES.c.id == bindparam("b_id"))
                              .values(latest_decision_id=bindparam("b_latest")), decided)


OPEN_BACK = timedelta(days=28)  # an open copy's dates move back up to four weeks: its tasks fall due in turn


def clone_cases(engine: Engine, templates: dict[str, list[Template]], positions: list[str], *, caseworkers: list[int],
                municipality_id: int, code: str, council_id: int | None, now: datetime, rng: random.Random,
                first_number: int, span: timedelta, progress: Callable[[int], None], chunk: int = CHUNK) -> None:
    """One copy per entry of `positions`, of a template of that position; one transaction per `chunk` copies."""
    with engine.connect() as conn:
        meetings = Meetings(conn, municipality_id, council_id, now)
    # Task ids of their own for each run: the same seed a second time must not draw the same ids again.
    ids = random.Random(f"{rng.random()}:{first_number}")  # noqa: S311 - made-up ids, not secrets
    for first in range(0, len(positions), chunk):
        with engine.begin() as conn:
            cloner = Cloner(conn, meetings, ids, code)
            copies = []
            for n, position in enumerate(positions[first:first + chunk], start=first + first_number):
                template = templates[position][n % len(templates[position])]
                back = rng.random() * (OPEN_BACK if template.open else span)
                weeks = int(back.days // 7)
                shift = -timedelta(days=weeks * 7, minutes=rng.randrange(0, 600))
                born = 1935 + rng.randrange(70)
                copies.append(Copy(template, n, caseworkers[n % len(caseworkers)], shift, -weeks * 7,
                                   name=person_row(rng, municipality_id, template.case["created_at"] + shift, born)))
            cloner.insert(copies)
        progress(len(copies))
