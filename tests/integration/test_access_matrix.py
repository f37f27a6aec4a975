"""The engine's access matrix: situations × roles × operations, each cell checked against the rules.

Rows are situations of one case of the shipped process, built through the engine's own commands (the
`Story` helper); columns are the people who might touch the case; each cell is one engine operation,
expected to be allowed or refused (`Forbidden` or `NotFound`, whichever the engine raises). A refused
read must also leave a refused-read audit row for that user and case, and an allowed read its read row.

The expectations below are written from the rules, not from running the code:

* `engine/access/policy.py` (module docstring) and docs/architecture.md "Confidentiality": a case is read on
  one of these bases — staff who work the case (STAFF, full); the coordinating body for tabled cases and
  council members of attending bodies for cases tabled to their meeting (COUNCIL, full, Arts. 16-18);
  the lead body (LEAD_BODY, full); bodies named in a consent in force (CONSENT, full); a body with an
  open support action (ACTION, minimum-necessary packet only, ended when the action closes or when the
  consent it relied on is withdrawn); a supervisor's time-limited break-glass (BREAK_GLASS, full).
  Nothing else (same municipality, the admin role) is a basis. "Every read, allowed or refused, is an
  audit row with its basis."
* `engine/access/permissions.py`: a task is worked (and viewed) by someone of its municipality holding the role of
  its lane; a task offered to one member body only by that body's people while their basis holds.
  Adding actions, withdrawing consent and asking for a review: case staff (caseworker, supervisor,
  coordinator) with the whole file.
* `engine/commands/exports.py`: "an export is an audited read" of the whole file (a packet is not enough).
* `engine/access/audit_reports.py`: who-accessed is for the coordinating body and supervisors with a basis.

The lead body of every council decision here is 地域包括 (houkatsu), a body none of the cast works
for, so that the owner body's access is on the ACTION basis alone (the scenario default would make 社協
the lead body, and its access would then never end with the action).

Commands that change the case run inside a transaction that is rolled back afterwards, so every role
meets the same situation; reads are committed, so their audit rows can be checked.

A cell in KNOWN_MISMATCHES is a defect of the engine against the rules: it must still disagree (like a
strict xfail); remove it together with the fix.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tsunagu.engine.access import audit_reports, security, users
from tsunagu.engine.casefile.records import current_consent_id
from tsunagu.engine.casefile.tables import MeetingBodyRecord
from tsunagu.engine.commands import cases, events, exports, queries
from tsunagu.engine.db import make_engine
from tsunagu.engine.errors import Forbidden, NotFound, TsunaguError
from tsunagu.engine.models import (
    AuditRecord,
    MunicipalityRecord,
    TaskStatus,
    UserRecord,
)

from .access_matrix_rules import (
    ALLOWED,
    BREAK_GLASS_HOURS,
    COUNCIL_WINDOW_DAYS,
    EXPECTED,
    MEETING,
    PARTNER_ROLES,
    READS,
    REFUSED,
    ROLE_NOTES,
    ROLES,
    expected_outcome,
    known_defect,
)
from .scenario import (
    ACCEPT,
    DELIVERED,
    FIRST_CONTACT,
    Cast,
    Story,
    consent_refused,
    intake,
    tabling,
)

# --- The world: one municipality, the cast, a sandbox for commands ------------------------------


_REAL_HASH = users.hash_password


@functools.cache
def _one_hash() -> str:
    return _REAL_HASH("tsunagu-test-password")


@pytest.fixture(autouse=True)
def _cheap_password_hashes(monkeypatch):
    """Passwords play no part here; hash once instead of ~0.3 s per user (keeps each situation fast)."""
    monkeypatch.setattr(users, "hash_password", lambda password: _one_hash())


@dataclass
class World:
    story: Story
    session_factory: object
    clock: object
    people: dict[str, UserRecord]
    bodies: dict
    sandbox: object  # an engine whose transactions can be rolled back around a committing command


def _sandbox_engine(database_url: str):
    engine = make_engine(database_url)
    if engine.dialect.name == "sqlite":
        # pysqlite begins transactions lazily and would turn the first RELEASE into a commit;
        # take over BEGIN so the outer transaction really holds (SQLAlchemy's documented recipe).
        @event.listens_for(engine, "connect")
        def _no_driver_transactions(dbapi_connection, _record):
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection):
            connection.exec_driver_sql("BEGIN")
    return engine


@pytest.fixture
def world(session, session_factory, clock, database_url, municipality, standard_version, caseworker, supervisor,
          coordinator, bodies):
    def person(username, roles, organisation=None, town=municipality):
        user = users.create_user(session, clock, municipality_id=town.id, username=username, display_name=username,
                                 password="unused", roles=roles,
                                 organisation_id=bodies[organisation].id if organisation else None)
        return user

    town = MunicipalityRecord(code="139998", name="となり町")
    session.add(town)
    session.flush()
    people = {
        "cw_a": caseworker,
        "cw_b": person("caseworker-b", ["caseworker"]),
        "supervisor": supervisor,
        "coordinator": coordinator,
        "p_shakyo": person("partner-shakyo", ["partner"], "shakyo"),
        "p_npo": person("partner-npo", ["partner"], "npo_ibasho"),
        "council_member": person("member-hoken", ["council_member"], "hoken"),
        "coord_npo": person("coordinator-npo", ["coordinator"], "npo_ibasho"),
        "coord_none": person("coordinator-none", ["coordinator"]),
        "member_npo": person("member-npo", ["council_member"], "npo_ibasho"),
        "admin": person("admin", ["admin"]),
        "foreign": person("neighbour", ["caseworker"], town=town),
    }
    session.commit()
    cast = Cast(caseworker, supervisor, coordinator,
                {"shakyo": people["p_shakyo"], "npo_ibasho": people["p_npo"]}, bodies)
    sandbox = _sandbox_engine(database_url)
    yield World(Story(session_factory, clock, standard_version, cast), session_factory, clock, people, bodies,
                sandbox)
    sandbox.dispose()


@contextmanager
def rolled_back(w: World):
    """A session whose commits are savepoints inside one transaction that is rolled back at the end."""
    with w.sandbox.connect() as connection:
        outer = connection.begin()
        try:
            with Session(bind=connection, join_transaction_mode="create_savepoint",
                         expire_on_commit=False) as session:
                yield session
        finally:
            outer.rollback()


# --- Building the situations through the engine's commands -------------------------------------

WATCH = {"watcher_type": "minsei", "watcher_name": "民生委員 田中", "watch_frequency": "weekly",
         "watch_sharing_basis": "life_protection", "watch_basis_reason": "一人暮らしで安否が確認できないため",
         "watch_arranged_on": "2026-11-27"}
GIVE_UP_CONTACT = {"attempted_on": "2026-11-27", "contact_method": "visit", "contact_result": "declined",
                   "attempt_next_step": "stop"}


def _attend(w: World, case_id: int) -> None:
    """The council member's body (保健センター) and 社協, who is asked to act, attend the meeting the case was
    tabled to."""
    meeting_id = w.story.latest_agenda_item(case_id).meeting_id
    with w.session_factory() as session:
        session.add_all(MeetingBodyRecord(meeting_id=meeting_id, organisation_id=w.bodies[key].id)
                        for key in ("hoken", "shakyo"))
        session.commit()


def build_intake(w: World) -> int:
    case = w.story.start()
    w.story.complete(case, "intake", w.people["cw_a"], intake())
    return case.id


def build_tabled_art16(w: World) -> int:
    s, worker = w.story, w.people["cw_a"]
    case = s.start()
    s.to_consent(case)
    s.complete(case, "consent_capture", worker, consent_refused())
    s.complete(case, "watch_arrangement", worker, WATCH)
    s.complete(case, "contact_attempt", worker, GIVE_UP_CONTACT)
    s.complete(case, "table_case", w.people["coordinator"], tabling(MEETING, basis="council_art16"))
    _attend(w, case.id)
    return case.id


def build_tabled_consent(w: World, *recipients: str) -> int:
    s = w.story
    case = s.start()
    s.to_consent(case)
    s.complete(case, "consent_capture", w.people["cw_a"], s.consent_given(*(recipients or ("npo_ibasho",))))
    s.complete(case, "table_case", w.people["coordinator"], tabling(MEETING, basis="consent"))
    _attend(w, case.id)
    return case.id


def build_tabled_window_over(w: World) -> int:
    case_id = build_tabled_art16(w)
    held_on = w.story.latest_agenda_item(case_id).meeting.held_on
    w.clock.advance(held_on - w.clock().date() + timedelta(days=COUNCIL_WINDOW_DAYS + 1))
    return case_id


def _decide_home_visit(w: World, case_id: int) -> None:
    w.story.decide(case_id, [{"action_type_id": w.story.action_type("home_visit").id}],  # owned by 社協
                   lead_body_id=w.bodies["houkatsu"].id)


def build_action_open_council(w: World) -> int:
    case_id = build_tabled_art16(w)
    _decide_home_visit(w, case_id)
    (disclosure,) = [d for d in w.story.disclosures(case_id) if d.action_id is not None]
    assert (disclosure.basis, disclosure.consent_id) == ("council", None), "situation (4) needs a council sharing"
    return case_id


def build_action_consent_withdrawn(w: World) -> int:
    # The consent names 社協 too: only then is the action shared with it on the consent basis.
    case_id = build_tabled_consent(w, "npo_ibasho", "shakyo")
    _decide_home_visit(w, case_id)
    (disclosure,) = [d for d in w.story.disclosures(case_id) if d.action_id is not None]
    (consent,) = w.story.consents(case_id)
    assert (disclosure.basis, disclosure.consent_id) == ("consent", consent.id), "situation (5) needs a consent sharing"
    w.story.withdraw_consent(consent.id)
    return case_id


def build_action_closed(w: World) -> int:
    case_id = build_action_open_council(w)
    partner = w.people["p_shakyo"]
    w.story.complete(case_id, "action_response", partner, ACCEPT)
    w.story.complete(case_id, "action_first_contact", partner, FIRST_CONTACT)
    w.story.complete(case_id, "action_outcome", partner, DELIVERED)
    (action,) = w.story.actions(case_id)
    assert action.status.value == "delivered" and action.closed_at is not None
    return case_id


def build_break_glass(w: World) -> int:
    case_id = build_intake(w)
    with w.session_factory() as session:
        security.open_break_glass(session, w.clock, session.get(UserRecord, w.people["supervisor"].id), case_id,
                                  "本人と連絡が取れず安否確認のため記録を確認する", BREAK_GLASS_HOURS)
    return case_id


def build_break_glass_expired(w: World) -> int:
    case_id = build_break_glass(w)
    w.clock.advance(timedelta(hours=BREAK_GLASS_HOURS, minutes=1))
    return case_id


@dataclass(frozen=True)
class Situation:
    key: str
    title: str
    build: Callable[[World], int]
    open_tasks: tuple[str, ...]  # the case's open tasks (a fact of the process, checked when built)


SITUATIONS = [
    Situation("1_intake", "(1) own case just after intake, not tabled", build_intake, ("baseline_assessment",)),
    Situation("2_tabled_art16", "(2) consent refused, tabled under Art. 16", build_tabled_art16, ()),
    Situation("2b_tabled_window_over", "(2b) as (2), the meeting's window over, no decision yet",
              build_tabled_window_over, ()),
    Situation("3_tabled_consent", "(3) consent naming the NPO, tabled on consent", build_tabled_consent, ()),
    Situation("4_action_open_council", "(4) decided, open 社協 action shared on the council basis",
              build_action_open_council, ("action_response",)),
    Situation("5_action_consent_withdrawn", "(5) 社協 action shared on consent, consent withdrawn",
              build_action_consent_withdrawn, ("action_response", "withdrawal_followup")),
    Situation("6_action_closed", "(6) the 社協 action delivered and closed", build_action_closed, ()),
    Situation("7_break_glass", "(7) supervisor break-glass open", build_break_glass, ("baseline_assessment",)),
    Situation("7b_break_glass_expired", "(7b) break-glass expired", build_break_glass_expired,
              ("baseline_assessment",)),
]


# --- Operations: each returns its outcome as a short string -------------------------------------

def _user(session: Session, w: World, role: str) -> UserRecord:
    return session.get(UserRecord, w.people[role].id)


def _attempt(call: Callable[[], object]) -> tuple[str, object]:
    """Run a command; refused is Forbidden or NotFound, any other engine error came after the access
    checks (the case's state), and is shown next to "allowed"."""
    try:
        result = call()
    except Forbidden:
        return "Forbidden", None
    except NotFound:
        return "NotFound", None
    except TsunaguError as exc:
        return f"allowed({type(exc).__name__})", None
    return ALLOWED, result


def _audit_rows(w: World, user: UserRecord, case_id: int, after: int) -> list[AuditRecord]:
    with w.session_factory() as session:
        return list(session.scalars(select(AuditRecord).where(
            AuditRecord.actor_id == user.id, AuditRecord.case_id == case_id, AuditRecord.id > after)
            .order_by(AuditRecord.id)))


def _last_audit_id(w: World) -> int:
    with w.session_factory() as session:
        return session.scalar(select(AuditRecord.id).order_by(AuditRecord.id.desc()).limit(1)) or 0


def _open_task_ids(w: World, case_id: int) -> dict[str, int]:
    tasks = w.story.tasks(case_id, TaskStatus.OPEN)
    return {t.element_id: t.id for t in tasks}


def run_read(w: World, role: str, op: str, case_id: int, task_ids: dict[str, int]) -> tuple[str, list[AuditRecord]]:
    user = w.people[role]
    before = _last_audit_id(w)
    with w.session_factory() as session:
        actor = _user(session, w, role)
        if op == "view_case":
            outcome, case_file = _attempt(lambda: queries.view_case(session, w.clock, actor, case_id))
            if case_file is not None:
                found = case_file.access
                outcome = f"{found.scope.value}:{found.basis.value}"
                if found.scope.value == "packet" and (case_file.submissions or case_file.timeline
                                                      or case_file.assessments or case_file.consents):
                    outcome += "+LEAK"  # a packet carries no history, forms, assessments or consents
        elif op.startswith("view_task:"):
            task_id = task_ids[op.split(":", 1)[1]]
            outcome, _ = _attempt(lambda: queries.view_task(session, w.clock, actor, task_id))
        elif op == "export_case":
            outcome, _ = _attempt(lambda: exports.export_case(session, w.clock, actor, case_id))
        elif op == "who_accessed":
            outcome, _ = _attempt(lambda: audit_reports.who_accessed(session, w.clock, actor, case_id))
        else:
            raise AssertionError(op)
    return outcome, _audit_rows(w, user, case_id, before)


def run_command(w: World, role: str, op: str, case_id: int, task_ids: dict[str, int]) -> str:
    """A command that changes the case, rolled back afterwards so the next role meets the same case."""
    with rolled_back(w) as session:
        actor = _user(session, w, role)
        if op == "add_support_action":
            data = {"action_type_id": w.story.action_type("ibasho_referral").id}
            return _attempt(lambda: events.add_support_action(session, w.clock, actor, case_id, data))[0]
        if op == "request_review":
            return _attempt(lambda: events.request_review(session, w.clock, actor, case_id))[0]
        if op == "withdraw_consent":
            consent_id = current_consent_id(session, case_id)
            assert consent_id is not None, "no consent in force to withdraw"
            return _attempt(lambda: events.withdraw_consent(session, w.clock, actor, consent_id))[0]
        if op.startswith("complete_task:"):
            task_id = task_ids[op.split(":", 1)[1]]
            return _attempt(lambda: cases.complete_task(session, w.clock, actor, task_id, dict(ACCEPT)))[0]
        raise AssertionError(op)


# --- Comparing and printing ---------------------------------------------------------------------

READ_AUDIT = {"view_case": "case.viewed", "view_task": "task.viewed", "export_case": "case.exported",
              "who_accessed": "case.access_log_viewed"}
REFUSED_AUDIT = {"view_case": "case.view_refused", "view_task": "task.view_refused",
                 "export_case": "case.export_refused", "who_accessed": "case.access_log_refused"}


def _matches(expected: str, actual: str) -> bool:
    if expected == REFUSED:
        return actual in ("Forbidden", "NotFound")
    if expected == ALLOWED:
        return actual.startswith(ALLOWED)
    return actual == expected  # "scope:basis"


def _audit_cell(op: str, expected: str, outcome: str, rows: list[AuditRecord], task_ids: dict[str, int]) -> tuple[str, str]:
    """(what the rules want, what was written) for the audit of one read."""
    kind = op.split(":", 1)[0]
    actions = [r.action for r in rows]
    written = ",".join(actions) or "-"
    if expected == REFUSED:
        want = REFUSED_AUDIT.get(kind, "*_refused")
        ok = any(a.endswith("_refused") and (kind not in REFUSED_AUDIT or a == REFUSED_AUDIT[kind]) for a in actions)
    else:
        want = READ_AUDIT[kind]
        if kind == "view_case":
            want += f" basis={expected.split(':')[1]}"
            ok = any(r.action == "case.viewed" and r.detail.get("basis") == expected.split(":")[1] for r in rows)
        else:
            ok = want in actions
    if kind == "view_task" and ok:
        task_id = task_ids[op.split(":", 1)[1]]
        ok = any(r.task_id == task_id for r in rows)
    return want, ("ok" if ok else f"MISSING (wrote {written})")


SUMMARY: dict[str, dict[str, str]] = {}


@pytest.fixture(scope="module", autouse=True)
def _print_view_case_summary():
    yield
    if SUMMARY:
        print("\n\nview_case: roles × situations (F = Forbidden, NF = NotFound)")
        print(_grid([s.key for s in SITUATIONS if s.key in SUMMARY], ROLES,
                    lambda col, row: SUMMARY[col].get(row, "")))
        print("\n".join(f"  {role}: {note}" for role, note in ROLE_NOTES.items()))


def _short(outcome: str) -> str:
    return {"Forbidden": "F", "NotFound": "NF", ALLOWED: "ok"}.get(outcome, outcome)


def _grid(columns, rows, cell) -> str:
    table = [[""] + list(columns)] + [[row] + [cell(col, row) for col in columns] for row in rows]
    widths = [max(len(str(line[i])) for line in table) for i in range(len(table[0]))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)) for line in table)


def check_situation(w: World, situation: Situation) -> None:
    case_id = situation.build(w)
    task_ids = _open_task_ids(w, case_id)
    assert sorted(task_ids) == sorted(situation.open_tasks), (
        f"{situation.title}: the case waits on {sorted(task_ids)}, the matrix assumes {sorted(situation.open_tasks)}")
    rules = EXPECTED[situation.key]
    ops = list(rules)
    results: dict[tuple[str, str], str] = {}  # (role, cell) -> actual
    wanted: dict[tuple[str, str], str] = {}  # (role, cell) -> expected
    for role in ROLES:
        for op in ops:
            expected = expected_outcome(situation.key, role, op)
            if op.split(":", 1)[0] in READS:
                outcome, rows = run_read(w, role, op, case_id, task_ids)
                want, audited = _audit_cell(op, expected, outcome, rows, task_ids)
                wanted[role, f"{op} audit"], results[role, f"{op} audit"] = "ok", audited
                if audited != "ok":
                    wanted[role, f"{op} audit"] = f"ok ({want})"
            elif op.startswith("complete_task:") and role not in PARTNER_ROLES:
                continue
            else:
                outcome = run_command(w, role, op, case_id, task_ids)
            wanted[role, op], results[role, op] = expected, outcome

    unexpected, fixed, known, table = [], [], [], {}
    for (role, cell), actual in results.items():
        expected = wanted[role, cell]
        agrees = actual == "ok" if cell.endswith(" audit") else _matches(expected, actual)
        defect = known_defect(situation.key, role, cell)
        mark = "" if agrees and not defect else ("~" if defect and not agrees else "!")
        if not agrees and not defect:
            unexpected.append(f"{role:15} {cell:35} expected {expected!r:24} got {actual!r}")
        elif not agrees:
            known.append(f"{role:15} {cell:35} got {actual!r} [known: {defect}]")
        elif defect:
            fixed.append(f"{role:15} {cell:35} now agrees with the rules ({actual!r}); drop it from KNOWN_MISMATCHES")
        if not cell.endswith(" audit"):
            audit_flag = "" if (role, f"{cell} audit") not in results else (
                "" if results[role, f"{cell} audit"] == "ok" else
                ("a~" if known_defect(situation.key, role, f"{cell} audit") else "a!"))
            table[cell, role] = _short(actual) + mark + audit_flag
    SUMMARY[situation.key] = {role: table.get(("view_case", role), "") for role in ROLES}

    report = (f"\n{situation.title} (case {case_id}); ! = disagrees with the rules, ~ = known defect, "
              f"a! / a~ = the read's audit row\n" + _grid(ops, ROLES, lambda col, row: table.get((col, row), "·")))
    if known:
        report += "\nknown defects:\n  " + "\n  ".join(known)
    print(report)
    problems = unexpected + fixed
    assert not problems, report + "\n\ncells against the rules:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("situation", SITUATIONS, ids=[s.key for s in SITUATIONS])
def test_access_matrix(world, situation):
    check_situation(world, situation)
