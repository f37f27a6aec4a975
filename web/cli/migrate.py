"""`tsunagu migrate KEY` and `tsunagu migrate-back CASE_ID`: move a process's running cases of a municipality to another version (with a dry
run first, a progress bar and the counts), and move one case back while it has not advanced."""
from __future__ import annotations

import click

from tsunagu.engine.commands import migration
from tsunagu.processes import drafts

from .base import command_session, main, operator
from .designer import MUNICIPALITY, _town

REASONS = {
    "task_removed": "待っているタスクが新しい版にありません",
    "task_changed": "待っているタスクが引き継げない形で変わっています",
    "subprocess_removed": "進行中のサブプロセスが新しい版にありません",
    "history_not_carried": "通過したサブプロセスが新しい版にありません",
    "not_restorable": "新しい版では同じ状態に戻せません",
    "case_in_error": "エラーで停止中です",
    "case_suspended": "一時停止中です",
    "case_completed": "終結しています",
}


@main.command("migrate")
@click.argument("key")
@MUNICIPALITY
@click.option("--to", "number", type=int, default=None, help="the version number to move to (default: the live one)")
@click.option("--template", is_flag=True, help="--to names a version of the national template")
@click.option("--dry-run", is_flag=True, help="only classify the cases; move nothing")
def migrate(key: str, code: str, number: int | None, template: bool, dry_run: bool) -> None:
    """Move the running cases of process KEY to another version (its live one unless --to)."""
    with command_session() as (session, clock):
        town = _town(session, code)
        target = drafts.version_of(session, town.id, key, number, template=template).id if number else None
        found = migration.plan(session, clock, None, key, town.id, target, operator=operator())
        click.echo(f"{key}: 版 {found.target.version_number} へ移行できるケース {found.movable} 件、"
                   f"できないケース {len(found.blocked)} 件（終結済み {found.closed_elsewhere} 件は元の版のまま）")
        for reason, element, count in found.groups():
            click.echo(f"  {reason} [{element or '—'}] {count} 件: {REASONS.get(reason, reason)}")
        for verdict in found.blocked:
            click.echo(f"    {verdict.reference or verdict.case_id}  {verdict.reason}  {verdict.element or ''}".rstrip())
        if dry_run or not found.movable:
            return
        with click.progressbar(length=found.movable, label="移行中") as bar:
            batch = migration.migrate(session, clock, None, key, town.id, target, progress=bar.update,
                                      via="cli", operator=operator())
        click.echo(f"移行 {batch.moved} 件、途中で変更があり見送り {batch.refused} 件（対象 {batch.total} 件）")


@main.command("migrate-back")
@click.argument("case_id", type=int)
def back(case_id: int) -> None:
    """Move case CASE_ID back to the version it ran on before its migration."""
    with command_session() as (session, clock):
        row = migration.move_back(session, clock, None, case_id, operator=operator())
        click.echo(f"ケース {case_id} を元の版に戻しました（移行 {row.id}）")
