"""`tsunagu decision ...`: the decision-table page on the command line, in a shape spreadsheets open.

`export` writes a table as CSV (UTF-8 with a BOM, so Excel shows Japanese), one row per rule: its id, an
entry per input and output column, its annotation. `import` reads such a file back, checks every entry as
the page does and saves the process's draft; `try` evaluates the table on sample values.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import click

from tsunagu.engine.admin.staff_directory import user_by_username
from tsunagu.engine.errors import DefinitionInvalid
from tsunagu.processes import decision_file_edits, decision_tables, decision_trial, drafts
from tsunagu.processes.decision_file_edits import DecisionFileInvalid
from tsunagu.processes.decision_tables import HIT_POLICIES, DecisionTable, DecisionTableInvalid, Rule

from .base import command_session, main, operator
from .processes import _municipality

RULE_COLUMN, NOTE_COLUMN = "rule_id", "annotation"
MAX_CSV_BYTES = 1_000_000
PROBLEM_WORDING = {
    "hit_policy_unsupported": f"エンジンが実行できないヒットポリシーです（{'・'.join(HIT_POLICIES)} から選んでください）",
    "rules_missing": "ルールが1行もありません", "too_many_rules": "ルールが多すぎます",
    "entry_count": "列の数が見出しと合いません", "entry_too_long": "長すぎます",
    "entry_control_character": "NULなどの制御文字があります", "output_missing": "結果の値がありません",
    "entry_refused": "サンドボックスで実行できない式です", "annotation_invalid": "注記が長すぎるか制御文字があります",
    "xml_invalid": "判定表のファイルが正しいXMLではありません",
    "csv_header_mismatch": "見出し行が判定表の列と合いません（export した見出しのまま使ってください）",
    "csv_invalid": "CSVとして読めません", "encoding_not_utf8": "UTF-8で保存してください（Excelでは「CSV UTF-8（コンマ区切り）」）",
    "file_too_large": "ファイルが大きすぎます",
    "decision_missing": "工程のタスクが呼び出している判定表です（削除・改名はできません）",
    "package_too_large": "ファイルが大きすぎます",
}


@main.group()
def decision() -> None:
    """A process's decision tables (DMN): export to CSV, import from CSV as the draft, try on sample values, save a
    whole DMN file (columns included) as the draft."""


def headings(table: DecisionTable) -> list[str]:
    """The CSV's header row: rule id, each input's heading, each output's variable, the annotation."""
    return [RULE_COLUMN, *[c.heading for c in table.inputs], *[c.name or c.heading for c in table.outputs],
            NOTE_COLUMN]


def table_csv(table: DecisionTable) -> str:
    """The table's rules as CSV text, header first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headings(table))
    for rule in table.rules:
        writer.writerow([rule.id or "", *rule.inputs, *rule.outputs, rule.annotation])
    return out.getvalue()


def table_from_csv(table: DecisionTable, data: bytes, hit_policy: str | None = None) -> DecisionTable:
    """`table` with the rules of a CSV written by `table_csv` (rows may be added, removed, reordered)."""
    def refused(code: str, message: str, rule: int | None = None) -> DecisionTableInvalid:
        return DecisionTableInvalid([decision_tables.EntryProblem(code, message, rule=rule)])

    if len(data) > MAX_CSV_BYTES:
        raise refused("file_too_large", f"at most {MAX_CSV_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refused("encoding_not_utf8", "the file is not UTF-8") from None
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise refused("csv_invalid", str(exc)) from None
    expected = headings(table)
    if not rows or [cell.strip() for cell in rows[0]] != expected:
        raise refused("csv_header_mismatch", "expected: " + ",".join(expected))
    n_in, n_out = len(table.inputs), len(table.outputs)
    rules = []
    for number, row in enumerate(rows[1:], start=1):
        if len(row) != len(expected):
            raise refused("entry_count", f"{len(row)} cells, expected {len(expected)}", rule=number)
        cells = [cell.strip() for cell in row]
        rules.append(Rule(inputs=[c or decision_tables.ANY_VALUE for c in cells[1:1 + n_in]],
                          outputs=cells[1 + n_in:1 + n_in + n_out], annotation=cells[-1], id=cells[0][:200] or None))
    policy = (hit_policy or table.hit_policy).upper()
    return DecisionTable(table.file, table.decision_id, table.name, policy, table.inputs, table.outputs, rules,
                         aggregation=table.aggregation if policy == table.hit_policy else None)


def _explain(invalid: DecisionTableInvalid, decision_ids: list[str] | None = None) -> click.ClickException:
    """Print each problem with its rule and column (and decision, for a whole file); the exit-1 error."""
    for number, problem in enumerate(invalid.problems):
        where = (f"ルール{problem.rule}" if problem.rule else "") + (f"「{problem.column}」" if problem.column else "")
        if decision_ids:
            where = f"{decision_ids[number]} {where or '判定表'}"
        hint = PROBLEM_WORDING.get(problem.code, "")
        click.echo(f"{where or '判定表'}: {problem.code}" + (f" — {hint}" if hint else "") + f": {problem.message}",
                   err=True)
    return click.ClickException(f"{len(invalid.problems)} 件の問題があります: 何も保存していません")


@decision.command("export")
@click.argument("key")
@click.argument("decision_id")
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--municipality", "code", default=None, metavar="CODE",
              help="the municipality's draft or live version (default: the national template)")
def export(key: str, decision_id: str, out: Path, code: str | None) -> None:
    """Write decision DECISION_ID of process KEY to OUT as CSV (one row per rule)."""
    with command_session() as (session, _clock):
        town = _municipality(session, code)
        source = decision_tables.editable_files(session, town.id if town else None, key)
        table = decision_tables.find_table(source.files, decision_id)
    out.write_bytes(table_csv(table).encode("utf-8-sig"))
    shown = "下書き" if source.draft else f"第{source.version_number}版"
    click.echo(f"{out} に書き出しました: {table.name or decision_id}（{shown}、ルール {len(table.rules)} 行、"
               f"ヒットポリシー {table.hit_policy}）")


@decision.command("import")
@click.argument("key")
@click.argument("decision_id")
@click.argument("source_csv", metavar="IN.csv", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "username", required=True, metavar="USERNAME", help="the process designer saving the draft")
@click.option("--hit-policy", type=click.Choice(HIT_POLICIES, case_sensitive=False), default=None,
              help="change the hit policy too (default: keep it)")
def import_table(key: str, decision_id: str, source_csv: Path, username: str, hit_policy: str | None) -> None:
    """Replace the rules of DECISION_ID with those of IN.csv and save the process as the designer's draft."""
    with command_session() as (session, clock):
        actor = user_by_username(session, username)
        source = decision_tables.editable_files(session, actor.municipality_id, key)
        stored = decision_tables.find_table(source.files, decision_id)
        try:
            edited = table_from_csv(stored, source_csv.read_bytes(), hit_policy)
            files = decision_tables.apply_table(source.files, stored.file, decision_id, edited)
        except DecisionTableInvalid as invalid:
            raise _explain(invalid) from None
        draft = drafts.save_draft(session, clock, actor, actor.municipality_id, files, preferred_id=key, via="cli",
                                  operator=operator())
        click.echo(f"{draft.process_id}: 判定表 {decision_id} を下書きに保存しました（ルール {len(edited.rules)} 行）。"
                   f"反映: tsunagu process deploy-draft {draft.process_id} --municipality CODE --note TEXT")


@decision.command("save-file")
@click.argument("key")
@click.argument("dmn", metavar="PATH.dmn", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "username", required=True, metavar="USERNAME", help="the process designer saving the draft")
@click.option("--municipality", "code", default=None, metavar="CODE",
              help="the municipality (default: that of the --by user)")
def save_file(key: str, dmn: Path, username: str, code: str | None) -> None:
    """Replace the process's DMN file of the same name with PATH.dmn (columns and rules, as the DMN editor
    saves it), check every entry and save the process as the designer's draft."""
    data = dmn.read_bytes()
    if len(data) > decision_file_edits.DECISION_FILE_MAX:
        raise click.ClickException(f"file_too_large [{dmn.name}]: {PROBLEM_WORDING['file_too_large']}")
    try:
        xml = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException(f"encoding_not_utf8 [{dmn.name}]: {PROBLEM_WORDING['encoding_not_utf8']}") from None
    with command_session() as (session, clock):
        actor = user_by_username(session, username)
        town = _municipality(session, code)
        town_id = town.id if town is not None else actor.municipality_id
        if town_id is None:
            raise click.UsageError("--municipality を指定してください")
        try:
            draft = decision_file_edits.save_decision_file(session, clock, actor, int(town_id), key, dmn.name, xml,
                                                           base=None, via="cli", operator=operator())
        except DecisionFileInvalid as invalid:
            raise _explain(invalid, [cell.decision_id for cell in invalid.cells]) from None
        except DefinitionInvalid as invalid:
            for problem in invalid.problems:
                hint = PROBLEM_WORDING.get(problem.code, "")
                click.echo(str(problem) + (f" — {hint}" if hint else ""), err=True)
            raise click.ClickException(f"{len(invalid.problems)} 件の問題があります: 何も保存していません") from None
    if draft is None:
        click.echo(f"{key} {dmn.name}: 変更はありません")
        return
    click.echo(f"{draft.process_id}: {dmn.name} を下書きに保存しました。"
               f"反映: tsunagu process deploy-draft {draft.process_id} --municipality CODE --note TEXT")


@decision.command("try")
@click.argument("key")
@click.argument("decision_id")
@click.argument("values", nargs=-1, metavar="NAME=VALUE...")
@click.option("--municipality", "code", default=None, metavar="CODE",
              help="the municipality's draft or live version (default: the national template)")
def try_table(key: str, decision_id: str, values: tuple[str, ...], code: str | None) -> None:
    """Evaluate DECISION_ID on sample values (True, 9, none, "text"; a missing name is None)."""
    with command_session() as (session, _clock):
        town = _municipality(session, code)
        source = decision_tables.editable_files(session, town.id if town else None, key)
        table = decision_tables.find_table(source.files, decision_id)
        names = decision_trial.input_names(table)
        given: dict[str, object] = dict.fromkeys(names)
        for pair in values:
            name, sep, text = pair.partition("=")
            if not sep or name not in names:
                raise click.BadParameter(f"{pair}: NAME=VALUE で指定してください（NAME: {', '.join(names)}）")
            given[name] = decision_trial.parse_value(text)
        try:
            trial = decision_trial.evaluate(source.files, table.file, decision_id, given)
        except DecisionTableInvalid as invalid:
            raise _explain(invalid) from None
    for name, value in trial.outputs.items():
        click.echo(f"{name} = {value!r}")
    applied = "、".join(f"ルール{n}" for n in trial.applied) or "当てはまるルールなし"
    click.echo(f"採用: {applied}" + (f"（ほかに当てはまった: {'、'.join(f'ルール{n}' for n in trial.matched if n not in trial.applied)}）"
                                    if len(trial.matched) > len(trial.applied) else ""))
