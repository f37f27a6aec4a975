"""Renaming a form field's data name (the key its answer is stored under in the case's data): which elements
of the process use the old name, so the rename is refused until the designer has changed them, and what
else holds a name (another form, a case-file writer, an element already using the new name).

Every expression of the package is searched for the name as a whole identifier: scripts (script tasks,
pre- and post-scripts, service parameters), sequence-flow and event conditions, timer expressions, message
payloads and variables, loop settings, data objects, spiffworkflow properties that hold names or
expressions, and the DMN tables' input expressions, input and output entries and output names. A name
inside a string literal (`risk_level == "urgent"`) is not a use; `data["name"]` and `data.get("name")` are.

Cases already past the form keep their answers under the old name: a rename rewrites no case's data.
Pure functions over a package's files (name -> text).
"""
from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from tsunagu.engine.errors import FieldError, TsunaguError
from tsunagu.engine.runtime.instructions import PLACEHOLDER

from .bpmn_reading import element_settings, local_name, parse_file, text_of
from .form_model import FormField, FormModel, read_json
from .task_settings import PROPERTY_OF, UI_PROPERTY, form_files

# Tags whose text is an expression or a variable name, and how the page names the use.
EXPRESSION_TAGS = {
    "script": "script", "preScript": "script", "postScript": "script", "parameter": "script",
    "conditionExpression": "condition", "condition": "condition", "completionCondition": "loop",
    "loopCardinality": "loop", "loopDataInputRef": "loop", "loopDataOutputRef": "loop",
    "timeDate": "timer", "timeDuration": "timer", "timeCycle": "timer",
    "messagePayload": "message", "messageVariable": "message", "messagePath": "message",
    "formalExpression": "message",
}
NAME_LIST_PROPERTIES = ("workflowFields", "candidateBody")
# Properties that hold a file, a duration or a code, never an expression.
PLAIN_PROPERTIES = frozenset({*PROPERTY_OF.values(), UI_PROPERTY, "record", "kind", "notify"})
_STRING = re.compile(r"""("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')""")
_GETTERS = frozenset({"get", "pop", "setdefault"})


@dataclass(frozen=True)
class NameUse:
    """An element of the package that uses a data name: its file, id, name and how (script, condition...)."""

    file: str
    element: str
    name: str | None
    how: str


def uses_name(source: str | None, name: str) -> bool:
    """Whether an expression or script uses `name` as a variable (or as `x["name"]`, `x.get("name")`); a text
    that is not Python is searched for the whole word outside its string literals."""
    if not source or not source.strip() or name not in source:
        return False
    try:
        tree = ast.parse(source.strip(), mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", _STRING.sub('""', source)) is not None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == name:
            return True
        if isinstance(node, ast.Subscript) and _is(node.slice, name):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _GETTERS \
                and node.args and _is(node.args[0], name):
            return True
    return False


def _is(node: Any, name: str) -> bool:
    return isinstance(node, ast.Constant) and node.value == name


def _owner(el: etree._Element) -> etree._Element:
    """The nearest element with an id holding `el` (the task, flow, event or decision the text belongs to)."""
    node: etree._Element | None = el
    while node is not None:
        if node.get("id") and local_name(node) not in ("extensionElements", "properties", "property"):
            return node
        node = node.getparent()
    return el


def _property_uses(el: etree._Element, name: str) -> bool:
    key, value = el.get("name") or "", el.get("value") if el.get("value") is not None else text_of(el)
    if not value or key in PLAIN_PROPERTIES:
        return False
    if key in NAME_LIST_PROPERTIES:
        return name in {n.strip() for n in value.split(",")}
    return uses_name(value, name)


def name_uses(files: Mapping[str, str], name: str) -> list[NameUse]:
    """Every element of the package's BPMN and DMN files that uses the data name `name`, in file order."""
    found: list[NameUse] = []

    def add(file: str, el: etree._Element, how: str) -> None:
        owner = _owner(el)
        use = NameUse(file, owner.get("id") or "", owner.get("name") or None, how)
        if use not in found:
            found.append(use)

    for file in sorted(files):
        lowered = file.lower()
        if not lowered.endswith((".bpmn", ".dmn")):
            continue
        try:
            root = parse_file(file, files[file])
        except TsunaguError:
            continue
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            tag = local_name(el)
            if lowered.endswith(".dmn"):
                _dmn_use(file, el, tag, name, add)
            elif tag in EXPRESSION_TAGS and uses_name(text_of(el), name):
                add(file, el, EXPRESSION_TAGS[tag])
            elif tag == "property" and _property_uses(el, name):
                add(file, el, "property")
            elif tag == "instructionsForEndUser" and name in PLACEHOLDER.findall(text_of(el) or ""):
                add(file, el, "instructions")
            elif tag == "dataObject" and name in (el.get("id"), el.get("name")):
                add(file, el, "data_object")
    return found


def _dmn_use(file: str, el: etree._Element, tag: str, name: str, add: Any) -> None:
    if tag == "inputExpression" and uses_name(text_of(el), name):
        add(file, _decision_of(el), "decision_input")
    elif tag in ("inputEntry", "outputEntry") and uses_name(text_of(el), name):
        add(file, _decision_of(el), "decision_rule")
    elif tag == "output" and el.get("name") == name:
        add(file, _decision_of(el), "decision_output")


def _decision_of(el: etree._Element) -> etree._Element:
    node: etree._Element | None = el
    while node is not None and local_name(node) != "decision":
        node = node.getparent()
    return node if node is not None else el


def rename_problems(files: Mapping[str, str], stored: FormModel, f: FormField, index: int) -> list[FieldError]:
    """Why the field cannot be renamed from `f.original` to `f.name` (the name itself is checked by the caller):
    a locked field, a name the form had, another form's name, a case-file writer reading the form, or any
    element using the old or the new name. Each problem names the element to change first."""
    old, new = f.original or "", f.name
    errors: list[FieldError] = []

    def refuse(code: str, **params: Any) -> None:
        errors.append(FieldError(old, code, {"field": old, "new": new, "index": index, **params}))

    before = stored.field(old)
    if f.locked is not None or (before is not None and before.locked is not None):
        refuse("field_locked")
        return errors
    if stored.field(new) is not None:
        refuse("name_taken")
    for other in form_files(files):
        if other == stored.schema_file:
            continue
        try:
            props = read_json(files, other).get("properties")
        except TsunaguError:
            continue
        if isinstance(props, dict) and new in props:
            refuse("name_in_other_form", form=other)
    try:
        settings = element_settings(dict(files))
    except TsunaguError:
        settings = {}
    for s in settings.values():
        if s.properties.get(PROPERTY_OF["form"]) == stored.schema_file and s.properties.get("record"):
            refuse("field_recorded_name", element=s.id, element_name=s.name, record=s.properties["record"])
    for use in name_uses(files, old):
        refuse("field_read_by", element=use.element, element_name=use.name, file=use.file, how=use.how)
    for use in name_uses(files, new):
        refuse("name_in_use", element=use.element, element_name=use.name, file=use.file, how=use.how)
    return errors


def renames(stored: FormModel, model: FormModel) -> dict[str, str]:
    """Old name -> new name of each existing editable field whose name the model changes."""
    return {f.original: f.name for f in model.fields
            if f.original is not None and f.locked is None and f.name != f.original and stored.field(f.original)}
