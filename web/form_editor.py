"""Forms in the browser (/designer/processes/<key>/forms): a task form's fields with their titles,
descriptions, choices, required flags and date rules, and a preview drawn by the renderer the caseworker's
task page uses, from the unsaved form.

Editing needs no script: adding, removing and moving a field or a choice post the whole form back and the
page comes back with the change made, unsaved; only "save" writes the draft (validated like an upload),
which is then deployed from the process page."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from tsunagu.engine.commands import queries
from tsunagu.engine.errors import Conflict, DefinitionInvalid, FieldError, FormInvalid, NotFound
from tsunagu.processes import form_checks, form_editing, form_model, task_settings
from tsunagu.processes.form_checks import FORM_FIELD, MAX_CHOICES, MAX_FIELDS
from tsunagu.processes.form_model import TYPES, WIDGETS, Choice, FormField, FormModel
from tsunagu.processes.task_settings import Source

from . import row_actions
from .context import clock, login_required
from .designer import designer_town, problem_text
from .extensions import db
from .formschema import Field, build_fields, source_names
from .messages import field_message

bp = Blueprint("form_editor", __name__)

MAX_TEXT = 4000  # longer than any setting may be: the check says so, beside the setting
PREVIEW_PREFIX = "preview-"


@bp.before_request
def _names_in_the_address() -> None:
    """A process key or file name no package can hold (a NUL, a control character, too long) names nothing:
    it never reaches the database, where PostgreSQL would refuse a NUL."""
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and (len(value) > 200 or not value.isprintable()):
            raise NotFound("no such process or form", element=None)


@bp.route("/designer/processes/<key>/forms")
@login_required
def index(key: str) -> Any:
    source = task_settings.settings_source(db.session, designer_town(), key)
    return render_template("designer_forms.html", key=key, source=source, forms=form_model.forms(source.files))


@bp.route("/designer/processes/<key>/forms/<schema_file>", methods=["GET", "POST"])
@login_required
def edit(key: str, schema_file: str) -> Any:
    town = designer_town()
    source = task_settings.settings_source(db.session, town, key)
    stored = form_model.read_form(source.files, schema_file)
    if request.method == "GET":
        return _page(key, source, stored, stored)
    edited = _posted(stored)
    action = request.form.get("action", "save")
    if action != "save":
        acted_on = _rearrange(edited, action)
        return _page(key, source, stored, edited, opened=acted_on, base=request.form.get("base", "")[:64])
    try:
        draft, changed = form_editing.save_form(db.session, clock(), g.user, town, key, schema_file, edited,
                                                base=request.form.get("base", ""), via="web")
    except FormInvalid as invalid:
        return _page(key, source, stored, edited, errors=invalid.errors, base=request.form.get("base", "")[:64]), 422
    except DefinitionInvalid as invalid:
        return _page(key, source, stored, edited, package_problems=[
            problem_text(p.code, p.message) for p in invalid.problems], base=request.form.get("base", "")[:64]), 422
    except Conflict:
        flash(_("Someone saved a new draft of this process while you were editing: your changes were not saved. "
                "Here is the new draft."), "error")
        return redirect(url_for(".edit", key=key, schema_file=schema_file))
    if draft is None:
        flash(_("Nothing was changed."), "info")
        return redirect(url_for(".edit", key=key, schema_file=schema_file))
    flash(_("The form was checked and saved as the draft (%(n)s change(s)). Deploy it on the process page.",
            n=len(changed)), "info")
    return redirect(url_for("designer.process", key=key, draft=1))


def _text(name: str) -> str:
    return request.form.get(name, "")[:MAX_TEXT]


def _posted(stored: FormModel) -> FormModel:
    """The form as the page posted it: stored locked fields as they are, the posted settings of the rest."""
    fields: list[FormField] = []
    for i in range(row_actions.posted_count(request.form, "field_count", MAX_FIELDS)):
        original = _text(f"f-{i}-original")[:200] or None
        base = stored.field(original) if original else None
        if original is not None and (base is None or any(f.original == original for f in fields)):
            continue  # a field of an older page, or posted twice: not this form's
        if base is not None and base.locked is not None:
            fields.append(base)
            continue
        kind = base.type if base is not None else _text(f"f-{i}-type")[:20]
        choices = [] if kind in ("boolean", "date") else [
            Choice(_text(f"f-{i}-c-{j}-value").strip(), _text(f"f-{i}-c-{j}-title").strip())
            for j in range(row_actions.posted_count(request.form, f"f-{i}-choice_count", MAX_CHOICES))]
        fields.append(FormField(
            name=_text(f"f-{i}-name").strip()[:200] if base is None or f"f-{i}-name" in request.form else base.name,
            type=kind,
            title=_text(f"f-{i}-title").strip(), description=_text(f"f-{i}-description").strip(),
            help=_text(f"f-{i}-help").strip(), required=f"f-{i}-required" in request.form, choices=choices,
            not_after_today=f"f-{i}-not_after" in request.form and kind == "date",
            not_before_today=f"f-{i}-not_before" in request.form and kind == "date",
            widget=_text(f"f-{i}-widget")[:40], original=original,
            enum_style=base.enum_style if base is not None else False))
    return replace(stored, title=_text("form_title").strip(), description=_text("form_description").strip(),
                   fields=fields)


def _rearrange(edited: FormModel, action: str) -> int | None:
    """Add a field at the end, or remove or move a field, or add, remove or move one of a field's choices;
    the position of the field acted on afterwards, to show it open."""
    fields = edited.fields
    if action == "add":
        if len(fields) < MAX_FIELDS:
            fields.append(FormField("", "string"))
        return len(fields) - 1
    verb, parts = row_actions.parse(action)
    index = parts[0] if parts else -1
    if not 0 <= index < len(fields):
        return None
    target = fields[index]
    if verb in ("remove", "up", "down"):
        if verb != "remove" or target.locked is None:
            row_actions.rearrange(fields, verb, index)
        return None
    if verb == "addchoice" and target.locked is None and target.type not in ("boolean", "date") \
            and len(target.choices) < MAX_CHOICES:
        target.choices.append(Choice("", ""))
    elif verb in ("removechoice", "choiceup", "choicedown") and len(parts) == 2:
        row_actions.rearrange(target.choices, {"removechoice": "remove", "choiceup": "up", "choicedown": "down"}[verb],
                              parts[1])
    return index


def _preview(source: Source, edited: FormModel, town: int) -> list[Field]:
    """The unsaved form drawn exactly as the caseworker's task page draws it, its ids kept apart."""
    schema, ui_schema = form_editing.documents(source.files, edited)
    sources: dict[str, list[tuple[Any, ...]]] = {}
    if "member_bodies" in source_names(ui_schema):
        sources["member_bodies"] = [(b.id, b.name) for b in queries.member_bodies(db.session, town)]
    fields = build_fields(schema, ui_schema, sources=sources)
    _prefix(fields)
    return fields


def _prefix(fields: list[Field]) -> None:
    for f in fields:
        f.id_prefix = PREVIEW_PREFIX
        _prefix(f.children)
        for row in f.rows:
            _prefix(row)


def _open_fields(stored: FormModel, edited: FormModel, at_field: dict[int, list[str]],
                 at_choice: dict[tuple[int, int], list[str]], opened: int | None) -> set[int]:
    """The fields shown open: new, changed, refused, or the one just acted on."""
    shown = set(at_field) | {i for i, _j in at_choice} | ({opened} if opened is not None else set())
    for i, f in enumerate(edited.fields):
        if f.locked is None and (f.original is None or stored.field(f.original) != f):
            shown.add(i)
    return shown


def _page(key: str, source: Source, stored: FormModel, edited: FormModel, *, errors: list[FieldError] | None = None,
          package_problems: list[str] | None = None, opened: int | None = None, base: str | None = None) -> Any:
    """The editor with the unsaved form, its refusals beside each setting, and the preview; `base` is the hash
    of the files the designer started from, kept across re-renders so a save over a newer draft is refused."""
    at_field: dict[int, list[str]] = {}
    at_choice: dict[tuple[int, int], list[str]] = {}
    general: list[str] = []
    for error in errors or []:
        index, choice = error.params.get("index"), error.params.get("choice")
        if isinstance(index, int) and isinstance(choice, int):
            at_choice.setdefault((index, choice - 1), []).append(error_sentence(error))
        elif isinstance(index, int):
            at_field.setdefault(index, []).append(error_sentence(error))
        elif error.field == FORM_FIELD:
            general.append(error_sentence(error))
        else:  # a removed field that something still reads: it has no row any more
            general.append(f"{error.params.get('field', error.field)}: {error_sentence(error)}")
    schema, _ui = form_editing.documents(source.files, edited)
    return render_template(
        "designer_form.html", key=key, source=source, form=edited, stored=stored, at_field=at_field,
        at_choice=at_choice, general=general + (package_problems or []),
        open_fields=_open_fields(stored, edited, at_field, at_choice, opened),
        refused=sorted(set(at_field) | {i for i, _j in at_choice}), base=base or source.base,
        warnings=[warning_sentence(w) for w in form_checks.warnings(source.files, stored, edited)],
        changes=[change_sentence(c) for c in form_editing.change_list(stored, edited)],
        uses=next((u.tasks for u in form_model.forms(source.files) if u.file == stored.schema_file), []),
        preview=_preview(source, edited, designer_town()), preview_schema=schema, types=TYPES, widgets=WIDGETS,
        type_labels=type_labels(), widget_labels=widget_labels(), lock_text=lock_text)


def type_labels() -> dict[str, str]:
    return {"string": _("Text"), "integer": _("Whole number"), "number": _("Number"), "boolean": _("Yes / no"),
            "date": _("Date"), "multiple": _("Several of a list (checkboxes)")}


def widget_labels() -> dict[str, str]:
    return {"": _("Standard"), "textarea": _("Several lines"), "radio": _("Radio buttons")}


def lock_text(code: str) -> str:
    """Why a field is shown read-only, in the reader's language."""
    texts = {
        "field_group": _("A group of fields"), "field_repeat": _("A repeatable group or list"),
        "field_ref": _("A reference to a definition ($ref)"), "field_dynamic_choices": _("Choices from a list "
                                                                                          "kept elsewhere"),
        "field_special_widget": _("A hidden, read-only or custom field"), "field_rules": _("A field with rules"),
        "field_type_list": _("A field of several types"), "field_format": _("A field with a format"),
        "field_choice_rules": _("Choices the editor cannot show"), "field_not_object": _("An unusual field"),
    }
    return str(texts.get(code, code))


def error_sentence(error: FieldError) -> str:
    """One refused setting of the form in the reader's language."""
    p = error.params
    sentences = {
        "name_invalid": lambda: _("A field name is letters, digits and _ (starting with a letter), as the "
                                  "process's conditions read it, e.g. living_situation."),
        "name_taken": lambda: _("Another field of this form has this name."),
        "field_read_by": lambda: _("“%(element)s” (%(id)s in %(file)s) reads “%(field)s” (%(how)s): change it "
                                   "there to “%(new)s” first, or keep the name.", element=p.get("element_name")
                                   or p.get("element"), id=p.get("element"), file=p.get("file"),
                                   field=p.get("field"), new=p.get("new"), how=how_text(str(p.get("how")))),
        "name_in_use": lambda: _("“%(element)s” (%(id)s in %(file)s) already uses the name “%(new)s” (%(how)s): "
                                 "choose another name.", element=p.get("element_name") or p.get("element"),
                                 id=p.get("element"), file=p.get("file"), new=p.get("new"),
                                 how=how_text(str(p.get("how")))),
        "name_in_other_form": lambda: _("The form %(form)s already stores an answer under “%(new)s”: choose "
                                        "another name.", form=p.get("form"), new=p.get("new")),
        "field_recorded_name": lambda: _("The task “%(task)s” stores this form in the case file (%(record)s), "
                                         "whose program reads the fields by their names: this field keeps its "
                                         "name.", task=p.get("element_name") or p.get("element"),
                                         record=p.get("record")),
        "field_unknown": lambda: _("The form has no such field (any more)."),
        "type_unknown": lambda: _("Choose the kind of answer."),
        "title_missing": lambda: _("Enter the title people see."),
        "characters_invalid": lambda: _("The text holds control characters that cannot be stored."),
        "maxLength": lambda: _("The text is too long (at most %(limit)s characters).", limit=p.get("limit")),
        "widget_invalid": lambda: _("This display does not fit the kind of answer."),
        "choices_missing": lambda: _("Add at least one choice."),
        "choices_not_allowed": lambda: _("This kind of answer has no choices."),
        "too_many_choices": lambda: _("Too many choices."),
        "too_many_fields": lambda: _("Too many fields."),
        "choice_value_missing": lambda: _("Choice %(n)s needs a value to store.", n=p.get("choice")),
        "choice_value_invalid": lambda: _("Choice %(n)s: the value must be a number.", n=p.get("choice")),
        "choice_duplicate": lambda: _("Choice %(n)s: another choice has the value “%(value)s”.",
                                      n=p.get("choice"), value=p.get("value")),
        "field_locked": lambda: _("This field is edited in the form's file."),
        "field_in_use": lambda: _("“%(element)s” (%(id)s) reads this field (%(how)s): change it there first.",
                                  element=p.get("element_name") or p.get("element"), id=p.get("element"),
                                  how=how_text(str(p.get("how")))),
        "field_in_form_rule": lambda: _("A rule of the form (if/then, allOf...) names this field: edit it in the "
                                        "form's file."),
    }
    known = sentences.get(error.code)
    return str(known() if known else field_message(error))


def how_text(how: str) -> str:
    shown = {"condition": _("a condition"), "script": _("a script"), "decision": _("a decision table"),
            "workflowFields": _("workflowFields"), "instructions": _("its instructions"),
            "candidateBody": _("candidateBody"), "timer": _("a timer"), "message": _("a message"),
            "loop": _("a loop setting"), "property": _("a property"), "data_object": _("a data object"),
            "decision_input": _("a decision table's input"), "decision_rule": _("a decision table's rule"),
            "decision_output": _("a decision table's output")}.get(how, how)
    return str(shown)


def warning_sentence(warning: FieldError) -> str:
    p = warning.params
    return str(_("“%(field)s” is removed, but the task “%(task)s” stores its answers in the case file (%(record)s): "
             "check that the case file does not need it.", field=p.get("field"),
             task=p.get("element_name") or p.get("element"), record=p.get("record")))


def change_sentence(change: dict[str, Any]) -> str:
    """One unsaved change of the form, as the page lists it before saving."""
    name, kind = change.get("field") or "", change.get("change")
    if kind == "renamed":
        return str(_("Renamed: %(old)s → %(new)s", old=change.get("from"), new=name))
    if kind == "added":
        return str(_("Added: %(field)s", field=name or _("New field")))
    if kind == "removed":
        return str(_("Removed: %(field)s", field=name))
    if kind == "changed":
        return str(_("Changed: %(field)s", field=name))
    return str(_("The order of the fields") if kind == "order" else _("The form's title or explanation"))
