"""`tsunagu meeting ...`: who attends a council meeting, and the deliberation of each case tabled to it."""
from __future__ import annotations

import click

from tsunagu.engine.admin.staff_directory import user_by_username
from tsunagu.engine.commands import agenda, council

from .base import command_session, main, operator


@main.group()
def meeting() -> None:
    """Council meetings (個別ケース検討会議) and the bodies attending them."""


@meeting.command("attendees")
@click.argument("meeting_id", type=int)
@click.option("--case", "case_id", type=int, default=None, metavar="CASE_ID",
              help="choose for this tabled case only (no --body: the meeting's bodies attend it)")
@click.option("--body", "body_ids", type=int, multiple=True, metavar="ORG_ID",
              help="a member body of the council that attends (repeat for several)")
@click.option("--by", "username", required=True, metavar="USERNAME",
              help="the coordinating body's staff member who decides (named in the disclosure log)")
def meeting_attendees(meeting_id: int, case_id: int | None, body_ids: tuple[int, ...], username: str) -> None:
    """Set the bodies attending MEETING_ID (or one case of it); their council members read its papers, and
    each body newly reaching a case's papers is logged as a disclosure in USERNAME's name."""
    with command_session() as (session, clock):
        chosen = council.set_attendees(session, clock, user_by_username(session, username), meeting_id,
                                       list(body_ids), case_id, operator=operator())
        target = f"会議 {meeting_id}" + (f" のケース {case_id}" if case_id is not None else "")
        names = "、".join(b.name for b in chosen) or ("（会議の出席機関）" if case_id is not None else "（なし）")
        click.echo(f"{target} の出席機関: {names}")


@meeting.command("schedule")
@click.option("--date", "held_on", required=True, metavar="YYYY-MM-DD", help="the meeting day")
@click.option("--kind", type=click.Choice(council.MEETING_KINDS), default="case", show_default=True,
              help="case: an individual case meeting; review: the regular review of every case")
@click.option("--title", default=None, help="a title (default: the kind and the date)")
@click.option("--by", "username", required=True, metavar="USERNAME",
              help="the coordinating body's staff member who schedules it")
def meeting_schedule(held_on: str, kind: str, title: str | None, username: str) -> None:
    """Schedule a council meeting; cases tabled for its date join its agenda."""
    with command_session() as (session, clock):
        data = {"held_on": held_on, "kind": kind, **({"title": title} if title else {})}
        scheduled = council.schedule_meeting(session, clock, user_by_username(session, username), data,
                                             operator=operator())
        click.echo(f"会議 {scheduled.id}: {scheduled.title}（{scheduled.held_on.isoformat()}）を設定しました")


@meeting.command("minutes")
@click.argument("meeting_id", type=int)
@click.option("--file", "path", type=click.File(encoding="utf-8"), required=True,
              help="the minutes as UTF-8 text ('-' reads standard input)")
@click.option("--present", "body_ids", type=int, multiple=True, metavar="ORG_ID",
              help="an invited body that was present (repeat for several)")
@click.option("--by", "username", required=True, metavar="USERNAME",
              help="the coordinating body's staff member who records them")
def meeting_minutes(meeting_id: int, path, body_ids: tuple[int, ...], username: str) -> None:
    """Record the minutes of held meeting MEETING_ID and which invited bodies were present."""
    with command_session() as (session, clock):
        recorded = council.record_minutes(session, clock, user_by_username(session, username), meeting_id,
                                          path.read(), list(body_ids), operator=operator())
        click.echo(f"会議 {recorded.id} の議事録を記録しました（出席 {len(body_ids)} 機関）")


BY = click.option("--by", "username", required=True, metavar="USERNAME",
                  help="the coordinating body's staff member on whose behalf (named in the audit trail)")


@meeting.command("candidates")
@click.argument("meeting_id", type=int)
@BY
def meeting_candidates(meeting_id: int, username: str) -> None:
    """List the council's cases due for review by MEETING_ID's day and those waiting to be tabled."""
    with command_session() as (session, clock):
        found = agenda.agenda_candidates(session, clock, user_by_username(session, username), meeting_id)
        click.echo("開催日までに見直し時期を迎えるケース:")
        for c in found.due_for_review:
            click.echo(f"  {c.case_id}\t{c.reference}\t{c.title}\t次回モニタリング {c.next_review_on}")
        click.echo("付議待ちのケース:")
        for c in found.waiting:
            click.echo(f"  {c.case_id}\t{c.reference}\t{c.title}\t担当 {c.holder or '未割当'}")


@meeting.command("add-review")
@click.argument("meeting_id", type=int)
@click.argument("case_id", type=int)
@BY
def meeting_add_review(meeting_id: int, case_id: int, username: str) -> None:
    """Put CASE_ID, due for review, on the agenda of MEETING_ID."""
    with command_session() as (session, clock):
        item = agenda.add_for_review(session, clock, user_by_username(session, username), meeting_id, case_id,
                                     operator=operator())
        click.echo(f"ケース {case_id} を会議 {meeting_id} の議題に加えました（根拠: {item.basis}）")


@meeting.command("request-tabling")
@click.argument("meeting_id", type=int)
@click.argument("case_id", type=int)
@BY
def meeting_request_tabling(meeting_id: int, case_id: int, username: str) -> None:
    """Ask whoever works CASE_ID's tabling task to table it for MEETING_ID."""
    with command_session() as (session, clock):
        asked = agenda.request_tabling(session, clock, user_by_username(session, username), meeting_id, case_id,
                                       operator=operator())
        click.echo("依頼先: " + ("、".join(u.display_name for u in asked) or "（担当者なし）"))
