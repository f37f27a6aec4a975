"""`tsunagu meeting ...`: who attends a council meeting, and the deliberation of each case tabled to it."""
from __future__ import annotations

import click

from tsunagu.engine.admin.staff_directory import user_by_username
from tsunagu.engine.commands import council

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
