"""`tsunagu retention ...`: a municipality's retention periods (保存期間), holds on disposal (廃棄の保留) and
disposal (廃棄) with its log, from the command line.

The same engine commands as the administrators' page, run as the operator (actor None); each change is
audited with `via: cli` and the operating-system account.
"""
from __future__ import annotations

from datetime import datetime

import click

from tsunagu.engine.admin.municipalities import find_municipality
from tsunagu.engine.clock import local
from tsunagu.engine.config import Settings
from tsunagu.engine.errors import Conflict, FormInvalid, InvalidState, NotFound
from tsunagu.engine.records import disposal, holds, retention
from tsunagu.engine.records.tables import CountedFrom, RecordType

from .base import command_session, describe, main, operator
from .organisations import municipality_option

TYPE_NAMES = {RecordType.CASE_FILE: "ケース記録・様式", RecordType.CONSENTS: "同意の記録",
              RecordType.ASSESSMENTS: "アセスメント", RecordType.COUNCIL_PAPERS: "協議会の資料・議事録",
              RecordType.DISCLOSURE_LOG: "情報提供の記録", RecordType.AUDIT_LOG: "監査ログ"}
METHODS = {disposal.DELETED: "削除", disposal.ANONYMISED: "匿名化"}
ON_DISPOSAL = {kind: METHODS[method] for kind, method in disposal.METHODS.items()}
STATUSES = {"running": "進行中", "waiting": "待機中", "completed": "終結", "error": "エラー", "suspended": "利用停止中"}
TYPE_CHOICE = click.Choice([t.value for t in RecordType])
TYPE_HELP = "TYPE: " + ", ".join(f"{t.value}（{name}）" for t, name in TYPE_NAMES.items())


def counted_text(kind: RecordType, counted_from: CountedFrom) -> str:
    """From when a period runs, in the operator's words."""
    if counted_from == CountedFrom.CLOSURE:
        return "終結から"
    return "開始から" if kind in retention.CASE_BOUND else "記録した時から"


def policy_text(policy: retention.Policy) -> str:
    """A policy on one line: the period, from when, the rule and whether it is the default."""
    rule = f"（{policy.rule}）" if policy.rule else ""
    mark = "  ※既定値" if policy.default else ""
    return f"{counted_text(policy.record_type, policy.counted_from)}{policy.years}年{rule}{mark}"


def _refused(what: str, error: FormInvalid) -> click.ClickException:
    return click.ClickException(f"{what}\n{describe(error)}")


@main.group("retention")
def retention_group() -> None:
    """Retention periods (保存期間), holds on disposal (廃棄の保留) and disposal (廃棄) of a municipality's records."""


@retention_group.command("show")
@municipality_option
def show(code: str) -> None:
    """Every record type's retention period, from when it runs, and the records rule it comes from."""
    with command_session() as (session, _clock):
        town = find_municipality(session, code)
        policies = retention.policies_of(session, town.id)
        click.echo(f"{town.name}（{town.code}）の保存期間")
        for kind in RecordType:
            click.echo(f"  {kind.value:<15} {TYPE_NAMES[kind]}: {policy_text(policies[kind])}"
                       f"  廃棄時: {ON_DISPOSAL[kind]}")


@retention_group.command("set", epilog=TYPE_HELP)
@municipality_option
@click.argument("record_type", metavar="TYPE", type=TYPE_CHOICE)
@click.option("--years", required=True, metavar="N", help="the retention period in whole years (1-100)")
@click.option("--from", "counted_from", required=True, type=click.Choice([c.value for c in CountedFrom]),
              help="count from the case's closure or its opening (the logs: each entry's own time, 'creation')")
@click.option("--rule", default=None, metavar="TEXT", help="the records rule it comes from, e.g. 文書管理規程 別表第1")
def set_(code: str, record_type: str, years: str, counted_from: str, rule: str | None) -> None:
    """Set TYPE's retention period; records whose period already runs keep the date they were given."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        try:
            saved = retention.set_policy(session, clock, None, town.id, record_type, years, counted_from, rule,
                                         operator=operator())
        except FormInvalid as error:
            raise _refused("保存期間を変更しませんでした。", error) from error
        click.echo(f"{TYPE_NAMES[saved.record_type]}の保存期間を {policy_text(saved)} にしました。"
                   "既に数え始めた記録の廃棄予定日は変わりません。")


@retention_group.command("reset", epilog=TYPE_HELP)
@municipality_option
@click.argument("record_type", metavar="TYPE", type=TYPE_CHOICE)
def reset(code: str, record_type: str) -> None:
    """Use the default retention period for TYPE again."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        saved = retention.reset_policy(session, clock, None, town.id, record_type, operator=operator())
        click.echo(f"{TYPE_NAMES[saved.record_type]}の保存期間を既定値（{policy_text(saved)}）に戻しました。")


@retention_group.command("hold")
@municipality_option
@click.argument("reference")
@click.option("--reason", required=True, help="why the case must be kept, e.g. 訴訟係属中")
def hold(code: str, reference: str, reason: str) -> None:
    """Hold the case REFERENCE from disposal (廃棄の保留) until the hold is lifted."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        try:
            holds.place_hold(session, clock, None, town.id, reference, reason, operator=operator())
        except FormInvalid as error:
            raise _refused("廃棄を保留しませんでした。", error) from error
        except NotFound as error:
            raise click.ClickException(f"reference: not_found — {town.name}にケース番号 {reference} のケースは"
                                       "ありません") from error
        except Conflict as error:
            raise click.ClickException(f"reference: conflict — ケース {reference} は既に廃棄を保留しています") \
                from error
        click.echo(f"ケース {reference} の廃棄を保留しました。解除するまで保存期間を過ぎても廃棄しません。")


@retention_group.command("release")
@municipality_option
@click.argument("reference")
@click.option("--reason", required=True, help="why the hold ends, e.g. 判決確定により訴訟終了")
def release(code: str, reference: str, reason: str) -> None:
    """Lift the hold on the case REFERENCE: its due records are disposed of at the next disposal run."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        try:
            holds.lift_hold(session, clock, None, town.id, reference, reason, operator=operator())
        except FormInvalid as error:
            raise _refused("保留を解除しませんでした。", error) from error
        except NotFound as error:
            raise click.ClickException(f"reference: not_found — {town.name}にケース番号 {reference} のケースは"
                                       "ありません") from error
        except InvalidState as error:
            raise click.ClickException(f"reference: invalid_state — ケース {reference} の廃棄は保留されて"
                                       "いません（tsunagu retention holds で確認できます）") from error
        click.echo(f"ケース {reference} の廃棄の保留を解除しました。保存期間を過ぎた記録は次の廃棄で廃棄します。")


@retention_group.command("holds")
@municipality_option
def holds_(code: str) -> None:
    """The cases held from disposal, the most recently held first."""
    zone = Settings.from_env().time_zone
    with command_session() as (session, _clock):
        town = find_municipality(session, code)
        held = holds.holds_of(session, town.id)
        if not held:
            click.echo(f"{town.name}に廃棄を保留しているケースはありません。")
            return
        click.echo("\t".join(("ケース番号", "保留した日", "保留した人", "ケースの状態", "終結日", "理由")))
        for h in held:
            click.echo("\t".join((h.reference, _day(h.placed_at, zone), h.placed_by or "コマンド",
                                  STATUSES.get(h.case_status.value, h.case_status.value),
                                  _day(h.completed_at, zone), h.reason)))


@retention_group.command("dispose")
@municipality_option
@click.option("--dry-run", is_flag=True, help="only show what is due now; dispose of nothing")
def dispose(code: str, dry_run: bool) -> None:
    """Dispose of every record whose retention has run out (held cases are kept); --dry-run shows it only."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        if dry_run:
            due = disposal.due_now(session, clock, town.id)
            if not due:
                click.echo(f"{town.name}で今廃棄する記録はありません。")
                return
            click.echo(f"{town.name}で今廃棄の対象となる記録（試行: 何も変更していません）")
            for planned in due:
                kind = planned.record_type
                click.echo(f"  {TYPE_NAMES[kind]}（{policy_text(planned.policy)}）: "
                           f"{_count(kind, planned.cases)}{planned.rows} 件を{ON_DISPOSAL[kind]}")
            return
        done = disposal.dispose_due(session, clock, None, town.id, run_by=f"cli:{operator()}")
        if not done:
            click.echo(f"{town.name}で廃棄する記録はありませんでした。")
            return
        for record in done:
            click.echo(f"{TYPE_NAMES[record.record_type]}: {_count(record.record_type, record.cases)}"
                       f"{record.rows} 件を{METHODS.get(record.method, record.method)}しました。")
        click.echo("廃棄の記録は tsunagu retention disposals で確認できます。")


@retention_group.command("stamp-missing")
@municipality_option
def stamp_missing(code: str) -> None:
    """Start the retention clocks of cases kept from before retention was introduced (none are stamped by
    themselves): under today's periods, closed cases long past them fall due at the next disposal."""
    with command_session() as (session, clock):
        town = find_municipality(session, code)
        stamped = retention.stamp_missing(session, clock, None, town.id, operator=operator())
        click.echo(f"{town.name}: {stamped} 件の廃棄予定日を記録しました。"
                   "対象は tsunagu retention dispose --dry-run で確認できます。")


@retention_group.command("disposals")
@municipality_option
def disposals(code: str) -> None:
    """The disposal log, newest first: what, how many, under which policy, when, by whom (no personal data)."""
    zone = Settings.from_env().time_zone
    with command_session() as (session, _clock):
        town = find_municipality(session, code)
        rows = disposal.disposals_of(session, town.id)
        if not rows:
            click.echo(f"{town.name}の廃棄の記録はまだありません。")
            return
        click.echo("\t".join(("廃棄日時", "記録の種類", "方法", "ケース数", "件数", "保存期間", "対象", "実行")))
        for d in rows:
            click.echo("\t".join((_moment(d.disposed_at, zone), TYPE_NAMES[d.record_type],
                                  METHODS.get(d.method, d.method), _cases(d.record_type, d.cases), str(d.rows),
                                  f"{counted_text(d.record_type, d.counted_from)}{d.years}年",
                                  f"{_day(d.due_before, zone)} より前", _run_by(d.run_by))))


def _count(kind: RecordType, cases: int) -> str:
    return f"{cases} ケースの記録 " if kind in retention.CASE_BOUND else ""


def _cases(kind: RecordType, cases: int) -> str:
    return str(cases) if kind in retention.CASE_BOUND else "—"


def _run_by(run_by: str) -> str:
    if run_by == "scheduler":
        return "自動（スケジューラー）"
    if run_by.startswith("cli:"):
        return f"コマンド（{run_by[4:]}）"
    return f"管理者（利用者ID {run_by}）"


def _day(moment: datetime | None, zone: str) -> str:
    shown = local(moment, zone)
    return shown.strftime("%Y-%m-%d") if shown is not None else "—"


def _moment(moment: datetime | None, zone: str) -> str:
    shown = local(moment, zone)
    return shown.strftime("%Y-%m-%d %H:%M") if shown is not None else "—"
