"""Every route that names a case, task, consent or meeting leaves an audit row naming the case when someone
allowed opens it, or is a POST command on the list below whose engine command audits itself. A new page
that shows case data without auditing the read fails here."""
from __future__ import annotations

from conftest import reread
from sqlalchemy import func, select

from tsunagu.engine.access import tokens
from tsunagu.engine.admin import teams
from tsunagu.engine.casefile.tables import AgendaItemRecord, ConsentRecord
from tsunagu.engine.models import AuditRecord, CaseRecord, TaskRecord, TaskStatus
from tsunagu.engine.records import requests
from tsunagu.web.extensions import db

ID_ARGUMENTS = {"case_id", "task_id", "consent_id", "meeting_id", "request_id"}

# POST commands: each calls one engine command that writes its own audit row naming the case, in the
# same transaction as the change. Only POST routes may be listed; pages that read are always tried.
AUDITED_BY_COMMAND = {
    "council.set_attendees": "council.set_attendees -> council.attendees_set",
    "tasks.raise_signal": "cases.raise_task_signal -> task.signal_raised",
    "cases.retry": "cases.retry_case -> case.retried",
    "cases.add_action": "events.add_support_action -> action.added",
    "cases.withdraw_consent": "events.withdraw_consent -> consent.withdrawn",
    "cases.request_review": "events.request_review -> review.requested",
    "cases.reopen": "events.reopen_case -> case.started (the new episode)",
    "case_records.break_glass": "security.open_break_glass -> case.break_glass",
    "tasks.complete": "cases.complete_task -> task.completed",
    "tasks.save_draft": "drafts.save_draft -> draft.created (the first save of a task's draft by its user)",
    "inbox.claim": "cases.claim_task -> task.claimed",
    "inbox.unclaim": "cases.unclaim_task -> task.unclaimed",
    "council.decide": "council.record_decision -> council.decided",
    "council.minutes": "council.record_minutes -> council.minutes_recorded",
    "supervision.reassign": "handover.reassign_task -> task.reassigned",
    "supervision.assign": "handover.assign_task -> task.assigned",
    "supervision.unclaim": "handover.unclaim_task -> task.unclaimed",
    "supervision.due": "handover.change_due_date -> task.due_changed",
    "supervision.take_over": "handover.take_over_task -> task.taken_over",
    "supervision.ask": "handover.ask_to_take_over -> task.takeover_asked",
    "council.add_for_review": "agenda.add_for_review -> case.tabled",
    "council.request_tabling": "agenda.request_tabling -> council.tabling_requested",
    "case_migration.move_back": "migration.move_back -> case.migrated_back",
    "api.claim": "cases.claim_task -> task.claimed",
    "api.unclaim": "cases.unclaim_task -> task.unclaimed",
    "api.complete": "cases.complete_task -> task.completed",
    "api.withdraw_case_consent": "events.withdraw_consent -> consent.withdrawn",
    "api.add_case_action": "events.add_support_action -> action.added",
    "api.set_task_assignee": "handover.assign_task -> task.assigned",
    # A data-subject request names a person, and through them their cases (web/subject_requests.py).
    "subject_requests.link": "requests.link_person -> subject_request.person_linked (reads no case)",
    "subject_requests.decide": "requests.decide -> subject_request.decided (reads no case)",
    "subject_requests.withdraw": "requests.withdraw -> subject_request.withdrawn (reads no case)",
    "subject_requests.correct_person": "corrections.correct_person -> record.corrected (the person's row)",
    "subject_requests.correct_answer": "corrections.correct_submission -> record.corrected (names the case)",
    "subject_requests.suspend": "suspension.suspend -> case.suspended (each case)",
    "subject_requests.resume": "suspension.resume -> case.resumed (each case)",
}


def _last_audit_id(session) -> int:
    reread(session)
    return session.scalar(select(func.coalesce(func.max(AuditRecord.id), 0)))


def unaudited_routes(app, client, login, session, case, values: dict, cast: list, clock) -> list[str]:
    """Problems found: routes naming a case that nobody could open, or that opened without an audit row.
    An API route is opened with an API token of the user (made on `clock`), a page signed in."""
    secrets: dict[int, str] = {}

    def opened(user, url: str, api: bool) -> int:
        if not api:
            login(user)
            return client.get(url).status_code
        if user.id not in secrets:
            secrets[user.id] = tokens.create_token(session, clock, None, user, "audit")[1]
        return client.get(url, headers={"Authorization": f"Bearer {secrets[user.id]}"}).status_code

    problems = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.arguments & ID_ARGUMENTS:
            continue
        if rule.endpoint in AUDITED_BY_COMMAND:
            if "GET" in rule.methods:
                problems.append(f"{rule.endpoint}: only POST commands may rely on their command's audit")
            continue
        if "GET" not in rule.methods:
            problems.append(f"{rule.endpoint}: a command naming a case must be listed in AUDITED_BY_COMMAND")
            continue
        missing = rule.arguments - values.keys()
        if missing:
            problems.append(f"{rule.endpoint}: no test value for {sorted(missing)}")
            continue
        url = app.url_map.bind("localhost").build(rule.endpoint, {name: values[name] for name in rule.arguments})
        for user in cast:
            since = _last_audit_id(session)
            if opened(user, url, rule.endpoint.startswith("api.")) != 200:
                continue
            reread(session)
            rows = session.scalars(select(AuditRecord).where(AuditRecord.id > since,
                                                             AuditRecord.actor_id == user.id)).all()
            if not any(row.case_id == case.id and not row.action.endswith("_refused") for row in rows):
                problems.append(f"{rule.endpoint}: {user.username} opened {url} and no audit row names the case")
            break
        else:
            problems.append(f"{rule.endpoint}: nobody in the cast could open {url}; give the test someone allowed")
    return problems


def _situation(session, clock, supervisor, standard_case):
    """A decided case: a meeting, a consent, an open partner task and a disclosure request about its person,
    and the values for each argument."""
    case = standard_case()
    task = session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id,
                                                   TaskRecord.status == TaskStatus.OPEN).order_by(TaskRecord.id))
    request = requests.receive(session, clock, supervisor, "disclosure", "本人", "2026-11-27", None,
                               person_id=case.person_id)
    session.commit()
    values = {"case_id": case.id, "task_id": task.id, "request_id": request.id,
              "consent_id": session.scalar(select(ConsentRecord.id).where(ConsentRecord.case_id == case.id)),
              "meeting_id": session.scalar(select(AgendaItemRecord.meeting_id)
                                           .where(AgendaItemRecord.case_id == case.id))}
    return case, values


def test_every_route_naming_a_case_audits_the_read_or_is_an_audited_command(
        app, client, login, session, clock, caseworker, supervisor, coordinator, admin, body_partners, standard_case):
    case, values = _situation(session, clock, supervisor, standard_case)
    team = teams.add_team(session, clock, None, caseworker.municipality_id, name="相談第1班")
    teams.set_member(session, clock, None, caseworker.municipality_id, team.id, caseworker.id)
    teams.set_member(session, clock, None, caseworker.municipality_id, team.id, supervisor.id, supervises=True)
    # The supervisor before the administrator, who signs in with a one-time code that cannot be used twice at
    # the test's fixed time (the request pages refuse everyone but supervisors).
    cast = [caseworker, coordinator, body_partners["npo_ibasho"], supervisor, admin]
    assert unaudited_routes(app, client, login, session, case, values, cast, clock) == []
    known = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(AUDITED_BY_COMMAND) <= known, "the allowlist names a route that no longer exists"


def test_a_new_page_showing_a_case_without_auditing_is_caught(app, client, login, session, clock, caseworker,
                                                             supervisor, standard_case):
    @app.route("/cases/<int:case_id>/summary-for-print")
    def leaky(case_id: int):
        return db.session.get(CaseRecord, case_id).title  # reads case data, audits nothing

    case, values = _situation(session, clock, supervisor, standard_case)
    problems = unaudited_routes(app, client, login, session, case, values, [caseworker], clock)
    assert f"leaky: caseworker opened /cases/{case.id}/summary-for-print and no audit row names the case" in problems
    assert f"cases.show: caseworker opened /cases/{case.id} and no audit row names the case" not in problems
