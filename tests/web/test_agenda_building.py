"""The coordinating body builds a meeting's agenda from the cases waiting to be tabled and the cases due
for review; the decisions recorded at the meeting move exactly those cases on."""
from __future__ import annotations

from datetime import timedelta

from conftest import reread
from page_text import element, text
from sqlalchemy import select

from tsunagu.engine.casefile.tables import AgendaItemRecord, CouncilMeetingRecord, DisclosureRecord
from tsunagu.engine.commands import cases, queries
from tsunagu.engine.models import AuditRecord, CaseRecord
from tsunagu.engine.ops.tables import NotificationRecord

REVIEW_DAY = "2027-03-01"  # the decided case's next review (standard_case)


def _schedule(client, session) -> CouncilMeetingRecord:
    assert client.post("/council/meetings", data={"held_on": REVIEW_DAY, "kind": "review"}).status_code == 302
    reread(session)
    return session.scalar(select(CouncilMeetingRecord).where(CouncilMeetingRecord.kind == "review"))


def test_the_agenda_is_built_from_cases_due_for_review_and_cases_waiting_and_both_decisions_move_them_on(
        client, login, coordinator, caseworker, standard_case, session, clock, hold_meeting, catalogue):
    decided = standard_case("decided", title="見直しの近いケース")
    waiting = standard_case("consented", title="付議待ちのケース")
    login(coordinator)
    meeting = _schedule(client, session)

    page = client.get(f"/council/{meeting.id}").get_data(as_text=True)
    assert "見直しの近いケース" in text(element(page, "due-for-review"))
    assert "付議待ちのケース" not in text(element(page, "due-for-review"))
    assert "付議待ちのケース" in text(element(page, "waiting-to-be-tabled"))
    # The standard process gives the tabling task to the coordinating body: the row leads to it.
    task = next(t for t in queries.open_tasks_of_case(session, waiting.id) if t.kind == "tabling")
    assert f'href="/tasks/{task.id}"' in element(page, f"waiting-{waiting.id}")

    # Or the case's staff are asked to table it for this meeting.
    assert client.post(f"/council/{meeting.id}/cases/{waiting.id}/request-tabling").status_code == 302
    reread(session)
    notice = session.scalar(select(NotificationRecord).where(NotificationRecord.kind == "tabling_requested"))
    assert (notice.user_id, notice.case_id) == (caseworker.id, waiting.id)
    assert REVIEW_DAY in notice.subject

    # The case due for review goes on the agenda on the basis it was last tabled on (the consent).
    assert client.post(f"/council/{meeting.id}/cases/{decided.id}/review").status_code == 302
    reread(session)
    item = session.scalar(select(AgendaItemRecord).where(AgendaItemRecord.meeting_id == meeting.id))
    assert (item.case_id, item.purpose, item.basis) == (decided.id, "review", "consent")
    assert session.scalar(select(DisclosureRecord).where(DisclosureRecord.case_id == decided.id,
                                                         DisclosureRecord.recipient == meeting.title)) is not None
    page = client.get(f"/council/{meeting.id}").get_data(as_text=True)
    assert f'id="due-{decided.id}"' not in page
    assert "進捗の見直し" in text(element(page, f"case-{decided.id}"))
    # Putting it on twice is refused, as is a case that is not due.
    assert client.post(f"/council/{meeting.id}/cases/{decided.id}/review").status_code == 404
    assert client.post(f"/council/{meeting.id}/cases/{waiting.id}/review").status_code == 404

    # The waiting case is tabled for the meeting's day: it joins the agenda.
    cases.complete_task(session, clock, coordinator, task.id, {
        "meeting_date": REVIEW_DAY, "basis": "consent", "issues": "外出が減った", "wishes_summary": "話し相手がほしい"})
    reread(session)
    assert {i.case_id for i in session.scalars(select(AgendaItemRecord).where(
        AgendaItemRecord.meeting_id == meeting.id))} == {decided.id, waiting.id}

    hold_meeting(meeting)
    login(coordinator)
    decision = {"situation": "居場所に月2回参加", "risk": "normal", "plan": "見守りを続ける",
                "lead_body_id": str(catalogue["fukushi"].id), "next_review_on": "2027-06-01"}
    for case in (decided, waiting):
        response = client.post(f"/council/{meeting.id}/cases/{case.id}/decision", data=decision)
        assert response.status_code == 302, response.get_data(as_text=True)
    reread(session)
    # The reviewed case is asked for its follow-up review now; the tabled one leaves its wait for the decision.
    assert {t.kind for t in queries.open_tasks_of_case(session, decided.id)} >= {"review"}
    assert not any(t.kind == "tabling" for t in queries.open_tasks_of_case(session, waiting.id))
    # Both carry the council's risk; the tabled case its next review, while the reviewed case shows the
    # review now under way until the caseworker's follow-up review sets the next one.
    assert {(c.id, c.risk, c.next_review_on.isoformat()) for c in session.scalars(select(CaseRecord))} == {
        (decided.id, "normal", REVIEW_DAY), (waiting.id, "normal", "2027-06-01")}
    assert session.scalar(select(AuditRecord).where(AuditRecord.action == "council.tabling_requested")) is not None


def test_only_the_coordinating_body_builds_the_agenda_and_a_held_meeting_takes_no_more_cases(
        client, login, coordinator, caseworker, standard_case, session, clock, hold_meeting):
    decided = standard_case("decided")
    login(coordinator)
    meeting = _schedule(client, session)
    client.post("/logout")
    login(caseworker)
    assert client.post(f"/council/{meeting.id}/cases/{decided.id}/review").status_code in (403, 404)
    assert client.post(f"/council/{meeting.id}/cases/{decided.id}/request-tabling").status_code in (403, 404)
    reread(session)
    assert session.scalar(select(AgendaItemRecord).where(AgendaItemRecord.meeting_id == meeting.id)) is None

    hold_meeting(meeting)
    clock.advance(timedelta(days=1))
    login(coordinator)
    assert client.post(f"/council/{meeting.id}/cases/{decided.id}/review").status_code == 409
    assert client.post(f"/council/{meeting.id}/cases/99999999999/review").status_code == 404


def test_the_command_line_lists_candidates_and_puts_a_case_on_for_review_in_the_coordinators_name(
        coordinator, caseworker, standard_case, session, database_url):
    from click.testing import CliRunner

    from tsunagu.web.cli import main

    decided = standard_case("decided", title="見直しの近いケース")
    env = {"TSUNAGU_DATABASE_URL": database_url}
    by = ["--by", coordinator.username]
    assert CliRunner().invoke(main, ["meeting", "schedule", "--date", REVIEW_DAY, *by], env=env).exit_code == 0
    reread(session)
    meeting = session.scalar(select(CouncilMeetingRecord).where(CouncilMeetingRecord.title.contains(REVIEW_DAY)))
    listed = CliRunner().invoke(main, ["meeting", "candidates", str(meeting.id), *by], env=env)
    assert listed.exit_code == 0 and "見直しの近いケース" in listed.output
    refused = CliRunner().invoke(main, ["meeting", "add-review", str(meeting.id), str(decided.id),
                                        "--by", caseworker.username], env=env)
    assert refused.exit_code == 1
    added = CliRunner().invoke(main, ["meeting", "add-review", str(meeting.id), str(decided.id), *by], env=env)
    assert added.exit_code == 0, added.output
    reread(session)
    row = session.scalars(select(AuditRecord).where(AuditRecord.action == "case.tabled")
                          .order_by(AuditRecord.id.desc())).first()
    assert (row.case_id, row.actor_id, row.detail["via"], row.detail["purpose"]) == (
        decided.id, coordinator.id, "cli", "review")
