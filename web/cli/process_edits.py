"""`tsunagu process tasks|set-task|set-lane-role`: the task settings table of /designer/processes/<key>/tasks and
the modeller's lane roles on the command line; a change becomes the process's draft, validated like an upload,
deployed with `process deploy-draft`."""
from __future__ import annotations

from pathlib import Path

import click

from tsunagu.engine.admin.staff_directory import user_by_username
from tsunagu.engine.errors import DefinitionInvalid, FormInvalid
from tsunagu.processes import diagram_edits, task_settings

from .base import command_session, operator
from .designer import process
from .processes import _municipality

FIELD_NAMES = {"role": "担当（レーン）", "form": "フォーム", "due": "期限", "follow_up": "フォローアップ",
               "priority": "優先度", "instructions": "説明"}
WORDING = {
    "duration_invalid": "ISO 8601 の期間ではありません（例: P3D は3日、PT4H は4時間、P1M は1か月）",
    "priority_invalid": "0から100の整数で指定してください",
    "form_file_unknown": "その名前のフォームファイルはパッケージにありません",
    "form_not_allowed": "手作業タスクにはフォームを設定できません",
    "role_unknown": "このプロセスのレーン（ID・名前）またはロールのコードを指定してください",
    "role_has_no_lane": "そのロールのレーンがこのプロセスにありません（モデラーでレーンを追加してください）",
    "lanes_missing": "このプロセスにはレーンがありません",
    "characters_invalid": "制御文字は使えません",
    "maxLength": "長すぎます",
    "task_unknown": "このプロセスにそのタスクはありません",
    "field_unknown": "ここでは変更できない設定です",
}


@process.command("tasks")
@click.argument("key")
@click.option("--municipality", "code", required=True, metavar="CODE",
              help="the municipality (全国地方公共団体コード, e.g. 131016)")
def tasks(key: str, code: str) -> None:
    """Print the task settings of process KEY: its draft if one waits, else the live version."""
    with command_session() as (session, _clock):
        town = _municipality(session, code)
        assert town is not None  # noqa: S101 (the option is required)
        source = task_settings.settings_source(session, town.id, key)
        table = task_settings.read_table(source.files)
        click.echo(f"{key}: {'下書き' if source.draft else f'有効な版 {source.version_number}'} のタスク設定")
        for row in table.rows:
            lane = next((lane for lane in table.lanes.get(row.process_id, []) if lane.id == row.lane_id), None)
            role = (lane.role or lane.name) if lane else "既定のロール"
            click.echo(f"{row.id}  {row.name or ''}".rstrip())
            click.echo(f"  担当: {role}  フォーム: {row.form or '—'}  期限: {row.due or '—'}"
                       f"  フォローアップ: {row.follow_up or '—'}  優先度: {row.priority or '—'}"
                       f"  説明: {f'{len(row.instructions)}文字' if row.instructions else '—'}")


@process.command("set-task")
@click.argument("key")
@click.argument("element_id")
@click.option("--due", default=None, metavar="DURATION", help='due time, e.g. P7D; "" removes it')
@click.option("--follow-up", "follow_up", default=None, metavar="DURATION", help='follow-up time; "" removes it')
@click.option("--role", default=None, help="a role code, or a lane's id or name, of the process")
@click.option("--form", default=None, metavar="FILE", help='the form (JSON Schema file of the package); "" for none')
@click.option("--priority", default=None, metavar="N", help='0 to 100; "" removes it')
@click.option("--instructions-file", "instructions", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Markdown instructions (UTF-8)")
@click.option("--municipality", "code", default=None, metavar="CODE",
              help="the municipality (default: that of the --by user)")
@click.option("--by", "username", required=True, metavar="USERNAME", help="the process designer making the change")
def set_task(key: str, element_id: str, due: str | None, follow_up: str | None, role: str | None,
             form: str | None, priority: str | None, instructions: Path | None, code: str | None,
             username: str) -> None:
    """Change the settings of task ELEMENT_ID of process KEY and save the result as the process's draft."""
    fields = {"due": due, "follow_up": follow_up, "role": role, "form": form, "priority": priority}
    changes = {name: value for name, value in fields.items() if value is not None}
    if instructions is not None:
        try:
            changes["instructions"] = instructions.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError) as exc:
            raise click.ClickException(f"{instructions}: UTF-8 のテキストとして読めません") from exc
    if not changes:
        raise click.UsageError("変更する設定を1つ以上指定してください（--due, --role ...）")
    with command_session() as (session, clock):
        actor = user_by_username(session, username)
        town = _municipality(session, code)
        town_id = town.id if town is not None else actor.municipality_id
        try:
            draft, changed = task_settings.save_task_settings(session, clock, actor, town_id, key,
                                                              {element_id: changes}, via="cli", operator=operator())
        except FormInvalid as invalid:
            for error in invalid.errors:
                task, _dot, name = error.field.partition(".")
                where = f"{task} の {FIELD_NAMES.get(name, name)}" if name else task
                click.echo(f"{where}: {error.code}: {WORDING.get(error.code, '')}", err=True)
            raise click.ClickException("設定を保存できません: 何も変更していません") from None
        except DefinitionInvalid as invalid:
            for problem in invalid.problems:
                click.echo(str(problem), err=True)
            raise click.ClickException(f"{len(invalid.problems)} problem(s) found: 何も登録していません") from None
        if draft is None:
            click.echo(f"{key} {element_id}: 変更はありません")
            return
        for change in changed:
            click.echo(f"{change['task']} の {FIELD_NAMES[change['field']]}: {change['from'] or '—'} → "
                       f"{change['to'] or '—'}")
        click.echo(f"{key}: 下書きとして保存しました（tsunagu process deploy-draft {key} で有効にします）")


@process.command("set-lane-role")
@click.argument("key")
@click.argument("lane")
@click.argument("role")
@click.option("--municipality", "code", default=None, metavar="CODE",
              help="the municipality (default: that of the --by user)")
@click.option("--by", "username", required=True, metavar="USERNAME", help="the process designer making the change")
def set_lane_role(key: str, lane: str, role: str, code: str | None, username: str) -> None:
    """Let ROLE work the tasks of lane LANE (its name or id) of process KEY, kept in the package's tsunagu.json
    and saved as the process's draft; ROLE "-" removes the lane's mapping."""
    with command_session() as (session, clock):
        actor = user_by_username(session, username)
        town = _municipality(session, code)
        town_id = town.id if town is not None else actor.municipality_id
        try:
            draft, previous = diagram_edits.save_lane_role(session, clock, actor, town_id, key, lane,
                                                           None if role == "-" else role, via="cli",
                                                           operator=operator())
        except DefinitionInvalid as invalid:
            for problem in invalid.problems:
                click.echo(str(problem), err=True)
            raise click.ClickException(f"{len(invalid.problems)} problem(s) found: 何も登録していません") from None
        if draft is None:
            click.echo(f"{key} レーン {lane}: 変更はありません")
            return
        click.echo(f"{key} レーン {lane} のロール: {previous or '—'} → {'—' if role == '-' else role}")
        click.echo(f"{key}: 下書きとして保存しました（tsunagu process deploy-draft {key} で有効にします）")
