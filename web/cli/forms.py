"""`tsunagu form list|show|set-field|add-field|remove-field|rename-field`: the form editor of /designer/processes/<key>/forms
on the command line; a change becomes the process's draft, validated like an upload, deployed with
`process deploy-draft`."""
from __future__ import annotations

from collections.abc import Callable

import click
from sqlalchemy.orm import Session

from tsunagu.engine.admin.staff_directory import user_by_username
from tsunagu.engine.errors import DefinitionInvalid, FormInvalid
from tsunagu.engine.models import UserRecord
from tsunagu.processes import form_editing, form_model, task_settings
from tsunagu.processes.form_model import TYPES, Choice, FormField, FormModel

from .base import command_session, main, operator
from .processes import _municipality

TYPE_NAMES = {"string": "文字", "integer": "整数", "number": "数値", "boolean": "はい・いいえ", "date": "日付",
              "multiple": "複数選択", "locked": "ファイルで編集"}
WORDING = {
    "name_invalid": "項目名は英字で始まる英数字と _ にしてください（例: living_situation）",
    "name_taken": "同じ名前の項目がすでにあります",
    "field_read_by": "プロセスの要素が元の名前でこの項目を読んでいます（先にそちらを新しい名前に変更してください）",
    "name_in_use": "プロセスの要素が新しい名前をすでに使っています（別の名前にしてください）",
    "name_in_other_form": "ほかのフォームが同じ名前で回答を保存しています（別の名前にしてください）",
    "field_recorded_name": "このフォームはケース記録に保存され、プログラムが項目を名前で読むため、名前を変えられません",
    "field_unknown": "フォームにその項目はありません",
    "type_unknown": f"回答の種類は {', '.join(TYPES)} のいずれかです",
    "title_missing": "見出しを指定してください（--title）",
    "characters_invalid": "制御文字は使えません",
    "maxLength": "長すぎます",
    "widget_invalid": "その表示方法はこの種類の項目に使えません",
    "choices_missing": "選択肢を1つ以上指定してください（--choice 値=見出し）",
    "choices_not_allowed": "この種類の項目には選択肢を付けられません",
    "too_many_choices": "選択肢が多すぎます",
    "too_many_fields": "項目が多すぎます",
    "choice_value_missing": "選択肢の値が空です",
    "choice_value_invalid": "選択肢の値が数値ではありません",
    "choice_duplicate": "同じ値の選択肢が2つあります",
    "field_locked": "この項目はフォームのファイルで編集してください",
    "field_in_use": "プロセスの要素がこの項目を読んでいます（先にそちらを変更してください）",
    "field_in_form_rule": "フォームの規則（if/then・allOf など）がこの項目を使っています",
}

HOW = {"condition": "条件式", "script": "スクリプト", "decision": "決定表", "timer": "タイマー", "message": "メッセージ",
       "loop": "繰り返しの設定", "property": "プロパティ", "data_object": "データオブジェクト",
       "decision_input": "決定表の入力", "decision_rule": "決定表のルール", "decision_output": "決定表の出力",
       "workflowFields": "workflowFields", "instructions": "作業の説明", "candidateBody": "candidateBody"}


@main.group()
def form() -> None:
    """A process's task forms: list them, show one's fields, change, add or remove a field as the draft."""


def _source(session: Session, code: str | None, actor: UserRecord | None, key: str
            ) -> tuple[int, task_settings.Source]:
    town = _municipality(session, code)
    town_id = town.id if town is not None else (actor.municipality_id if actor is not None else None)
    if town_id is None:
        raise click.UsageError("--municipality を指定してください")
    return int(town_id), task_settings.settings_source(session, int(town_id), key)


@form.command("list")
@click.argument("key")
@click.option("--municipality", "code", required=True, metavar="CODE", help="the municipality (e.g. 131016)")
def list_forms(key: str, code: str) -> None:
    """Print the forms of process KEY (its draft if one waits, else the live version) and the tasks using each."""
    with command_session() as (session, _clock):
        _town, source = _source(session, code, None, key)
        click.echo(f"{key}: {'下書き' if source.draft else f'有効な版 {source.version_number}'} のフォーム")
        for use in form_model.forms(source.files):
            tasks = "、".join(f"{name or id} ({id})" for id, name in use.tasks) or "（タスクなし）"
            click.echo(f"{use.file}  {use.title}  項目 {use.field_count}  {tasks}")


@form.command("show")
@click.argument("key")
@click.argument("schema_file", metavar="FILE")
@click.option("--municipality", "code", required=True, metavar="CODE", help="the municipality (e.g. 131016)")
def show(key: str, schema_file: str, code: str) -> None:
    """Print the fields of form FILE of process KEY in the order the task page shows them."""
    with command_session() as (session, _clock):
        _town, source = _source(session, code, None, key)
        model = form_model.read_form(source.files, schema_file)
        click.echo(f"{schema_file}: {model.title}（{'下書き' if source.draft else f'有効な版 {source.version_number}'}）")
        for number, f in enumerate(model.fields, start=1):
            flags = ["必須" if f.required else "任意"]
            if f.not_after_today:
                flags.append("今日以前")
            if f.not_before_today:
                flags.append("今日以降")
            if f.widget:
                flags.append(f"表示: {f.widget}")
            click.echo(f"{number}. {f.name}  {f.title}  [{TYPE_NAMES.get(f.type, f.type)}] {' '.join(flags)}")
            if f.description:
                click.echo(f"   説明: {f.description}")
            if f.choices:
                click.echo("   選択肢: " + "、".join(f"{c.value}={c.title}" for c in f.choices))


def _save(key: str, schema_file: str, code: str | None, username: str, change: Callable[[FormModel], None]) -> None:
    """Read the form, apply `change` to its model and save the result as the draft, printing what changed."""
    with command_session() as (session, clock):
        actor = user_by_username(session, username)
        town, source = _source(session, code, actor, key)
        model: FormModel = form_model.read_form(source.files, schema_file)
        change(model)
        try:
            draft, changed = form_editing.save_form(session, clock, actor, town, key, schema_file, model, via="cli",
                                                    operator=operator())
        except FormInvalid as invalid:
            for error in invalid.errors:
                click.echo(f"{error.field}: {error.code}: {WORDING.get(error.code, '')}" + _where(error.params),
                           err=True)
            raise click.ClickException("フォームを保存できません: 何も変更していません") from None
        except DefinitionInvalid as invalid:
            for problem in invalid.problems:
                click.echo(str(problem), err=True)
            raise click.ClickException(f"{len(invalid.problems)} problem(s) found: 何も登録していません") from None
        if draft is None:
            click.echo(f"{key} {schema_file}: 変更はありません")
            return
        for item in changed:
            detail = "、".join(item.get("settings", [])) if item["change"] == "changed" else item["change"]
            if item["change"] == "renamed":
                detail = f"renamed（{item['from']} → {item['field']}）"
            click.echo(f"{item['field'] or schema_file}: {detail}")
        click.echo(f"{key}: 下書きとして保存しました（tsunagu process deploy-draft {key} で有効にします）")


def _where(params: dict[str, object]) -> str:
    """The element (and its file, name and how it reads the field) a refusal names, if any."""
    if not params.get("element") and not params.get("form"):
        return ""
    if params.get("form"):
        return f"（{params['form']}）"
    how = HOW.get(str(params.get("how")), str(params.get("how") or ""))
    parts = [str(params["element"])] + [str(params[k]) for k in ("element_name", "file") if params.get(k)]
    return f"（{' / '.join(parts)}{'：' + how if how else ''}）"


def _editable(model: FormModel, name: str) -> FormField:
    found = model.field(name)
    if found is None:
        raise click.ClickException(f"field_unknown [{name}]: {WORDING['field_unknown']}")
    if found.locked is not None:
        raise click.ClickException(f"field_locked [{name}]: {WORDING['field_locked']}")
    return found


def _choices(pairs: tuple[str, ...]) -> list[Choice]:
    listed = []
    for pair in pairs:
        value, _sep, title = pair.partition("=")
        listed.append(Choice(value.strip(), title.strip() or value.strip()))
    return listed


@form.command("set-field")
@click.argument("key")
@click.argument("schema_file", metavar="FILE")
@click.argument("name", metavar="FIELD")
@click.option("--title", default=None, help="the title people see")
@click.option("--description", default=None, help='the description below the title; "" removes it')
@click.option("--required/--optional", default=None, help="whether the field must be answered")
@click.option("--choice", "choices", multiple=True, metavar="VALUE=TITLE",
              help="the field's choices, in order (replaces them all); repeat for each")
@click.option("--municipality", "code", default=None, metavar="CODE",
              help="the municipality (default: that of the --by user)")
@click.option("--by", "username", required=True, metavar="USERNAME", help="the process designer making the change")
def set_field(key: str, schema_file: str, name: str, title: str | None, description: str | None,
              required: bool | None, choices: tuple[str, ...], code: str | None, username: str) -> None:
    """Change field FIELD of form FILE of process KEY and save the result as the process's draft."""
    if title is None and description is None and required is None and not choices:
        raise click.UsageError("変更する設定を1つ以上指定してください（--title, --required ...）")

    def change(model: FormModel) -> None:
        f = _editable(model, name)
        f.title = f.title if title is None else title
        f.description = f.description if description is None else description
        f.required = f.required if required is None else required
        f.choices = _choices(choices) if choices else f.choices

    _save(key, schema_file, code, username, change)


@form.command("add-field")
@click.argument("key")
@click.argument("schema_file", metavar="FILE")
@click.argument("name", metavar="FIELD")
@click.option("--type", "kind", required=True, type=click.Choice(TYPES), help="the kind of answer")
@click.option("--title", required=True, help="the title people see")
@click.option("--description", default="", help="the description below the title")
@click.option("--required", is_flag=True, help="the field must be answered")
@click.option("--choice", "choices", multiple=True, metavar="VALUE=TITLE", help="a choice; repeat for each")
@click.option("--after", default=None, metavar="FIELD", help="put it after this field (default: at the end)")
@click.option("--municipality", "code", default=None, metavar="CODE",
              help="the municipality (default: that of the --by user)")
@click.option("--by", "username", required=True, metavar="USERNAME", help="the process designer making the change")
def add_field(key: str, schema_file: str, name: str, kind: str, title: str, description: str, required: bool,
              choices: tuple[str, ...], after: str | None, code: str | None, username: str) -> None:
    """Add field FIELD to form FILE of process KEY and save the result as the process's draft."""
    def change(model: FormModel) -> None:
        added = FormField(name, kind, title=title, description=description, required=required,
                          choices=_choices(choices))
        place = len(model.fields)
        if after is not None:
            anchor = model.field(after)
            if anchor is None:
                raise click.ClickException(f"field_unknown [{after}]: {WORDING['field_unknown']}")
            place = model.fields.index(anchor) + 1
        model.fields.insert(place, added)

    _save(key, schema_file, code, username, change)


@form.command("remove-field")
@click.argument("key")
@click.argument("schema_file", metavar="FILE")
@click.argument("name", metavar="FIELD")
@click.option("--municipality", "code", default=None, metavar="CODE",
              help="the municipality (default: that of the --by user)")
@click.option("--by", "username", required=True, metavar="USERNAME", help="the process designer making the change")
def remove_field(key: str, schema_file: str, name: str, code: str | None, username: str) -> None:
    """Remove field FIELD from form FILE of process KEY (refused while an element reads it) as the draft."""
    def change(model: FormModel) -> None:
        model.fields.remove(_editable(model, name))

    _save(key, schema_file, code, username, change)


@form.command("rename-field")
@click.argument("key")
@click.argument("schema_file", metavar="FILE")
@click.argument("old", metavar="FIELD")
@click.argument("new", metavar="NEW_NAME")
@click.option("--municipality", "code", default=None, metavar="CODE",
              help="the municipality (default: that of the --by user)")
@click.option("--by", "username", required=True, metavar="USERNAME", help="the process designer making the change")
def rename_field(key: str, schema_file: str, old: str, new: str, code: str | None, username: str) -> None:
    """Rename the data name of field FIELD of form FILE of process KEY to NEW_NAME as the draft; refused,
    listing them, while an element of the process reads the old name. Cases already past the form keep their
    answers under the old name."""
    def change(model: FormModel) -> None:
        _editable(model, old).name = new.strip()

    _save(key, schema_file, code, username, change)
