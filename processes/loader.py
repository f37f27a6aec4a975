"""Turn a folder of BPMN, DMN and form files into a validated, hashable process definition."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import jsonschema
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import UserTask

from tsunagu.engine.casefile.records import WRITERS
from tsunagu.engine.errors import DefinitionInvalid, DefinitionProblem
from tsunagu.engine.roles import ROLE_CODES
from tsunagu.engine.runtime.forms import DATE_KEYWORD_VALUES, DATE_KEYWORDS
from tsunagu.engine.runtime.sandbox import check_source
from tsunagu.engine.runtime.workflow import serialize_specs

DEFINITION_SUFFIXES = (".bpmn", ".dmn", ".json")
FORM_PROPERTY = "formJsonSchemaFilename"
UI_PROPERTY = "formUiSchemaFilename"
DURATION_PROPERTIES = ("dueIn", "followUpIn")


@dataclass(frozen=True)
class ProcessDefinition:
    """A parsed, validated process model with everything a case needs to run it."""

    process_id: str
    name: str
    files: dict[str, str]
    content_hash: str
    spec_json: str


def read_folder(folder: Path) -> dict[str, str]:
    """Every definition file of a process folder, by name."""
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix in DEFINITION_SUFFIXES
    }


def content_hash(files: dict[str, str]) -> str:
    """A stable hash over file names and contents: the identity of a process version."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name].encode("utf-8") + b"\0")
    return digest.hexdigest()


def load_definition(folder: Path, process_id: str | None = None) -> ProcessDefinition:
    """Parse and check a process folder; raise `DefinitionInvalid` listing every problem found."""
    return build_definition(read_folder(Path(folder)), process_id or Path(folder).name)


def build_definition(files: dict[str, str], preferred_id: str | None = None) -> ProcessDefinition:
    """Parse and check definition files held in memory (an upload or a stored version)."""
    parser, problems = _parse(files)
    if problems:
        raise DefinitionInvalid(problems)
    process_id = _main_process_id(parser, preferred_id)
    if process_id is None:
        raise DefinitionInvalid([DefinitionProblem("", None, "process_missing", "no executable process found")])
    try:
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        raise DefinitionInvalid([_from_validation(exc)]) from exc
    problems = _check_specs([spec, *subprocess_specs.values()], files)
    if problems:
        raise DefinitionInvalid(problems)
    return ProcessDefinition(
        process_id=process_id,
        name=spec.description or process_id,
        files=files,
        content_hash=content_hash(files),
        spec_json=serialize_specs(spec, subprocess_specs),
    )


def load_path(path: Path) -> tuple[list[ProcessDefinition], list[DefinitionProblem]]:
    """Parse a process folder, a single .bpmn file, or a tree of process folders: the sound definitions,
    and every problem of the others, each located by file path and element."""
    path = Path(path)
    if not path.exists():
        return [], [DefinitionProblem(str(path), None, "path_not_found", "no such file or folder")]
    folders = [path.parent] if path.is_file() else _process_folders(path)
    if not folders:
        return [], [DefinitionProblem(str(path), None, "no_bpmn", "no .bpmn file found")]
    definitions, problems = [], []
    for folder in folders:
        try:
            files = _read_with_companions(path) if path.is_file() else read_folder(folder)
            definitions.append(build_definition(files, folder.name))
        except DefinitionInvalid as exc:
            problems.extend(
                DefinitionProblem(str(folder / p.file) if p.file else str(folder), p.element, p.code, p.message)
                for p in exc.problems
            )
        except (OSError, UnicodeDecodeError) as exc:  # a file that is not UTF-8 text is a problem to list
            problems.append(DefinitionProblem(str(folder), None, "file_unreadable", str(exc)))
    return definitions, problems


def validate_path(path: Path) -> list[DefinitionProblem]:
    """Check a process folder, a single .bpmn file, or a tree of process folders."""
    return load_path(path)[1]


def _read_with_companions(bpmn_file: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in bpmn_file.parent.iterdir()
            if p.is_file() and (p.suffix in (".dmn", ".json") or p == bpmn_file)}


def _process_folders(root: Path) -> list[Path]:
    return sorted({p.parent for p in root.rglob("*.bpmn")})


def _parse(files: dict[str, str]) -> tuple[SpiffBpmnParser, list[DefinitionProblem]]:
    parser = SpiffBpmnParser(validator=VALIDATOR)
    problems = []
    for name, text in files.items():
        if not name.endswith((".bpmn", ".dmn")):
            continue
        try:
            if name.endswith(".bpmn"):
                parser.add_bpmn_str(text.encode("utf-8"), filename=name)
            else:
                parser.add_dmn_str(text.encode("utf-8"), filename=name)
        except ValidationException as exc:
            problems.append(_from_validation(exc, name))
        except etree.XMLSyntaxError as exc:
            problems.append(DefinitionProblem(name, None, "xml_invalid", f"line {exc.lineno}: {exc.msg}"))
    if not any(n.endswith(".bpmn") for n in files):
        problems.append(DefinitionProblem("", None, "no_bpmn", "no .bpmn file found"))
    return parser, problems


def _main_process_id(parser: SpiffBpmnParser, preferred: str | None) -> str | None:
    ids = parser.get_process_ids()
    if preferred in ids:
        return preferred
    return ids[0] if len(ids) == 1 else None


def _from_validation(exc: ValidationException, default_file: str = "") -> DefinitionProblem:
    line = f" (line {exc.line_number})" if getattr(exc, "line_number", "") else ""
    return DefinitionProblem(
        exc.file_name or default_file, getattr(exc, "id", "") or None, "bpmn_invalid",
        f"{exc.args[0] if exc.args else exc}{line}",
    )


def _check_specs(specs, files: dict[str, str]) -> list[DefinitionProblem]:
    problems = []
    for process in specs:
        source = getattr(process, "file", "") or ""
        source = Path(source).name if source else ""
        for task_spec in process.task_specs.values():
            if isinstance(task_spec, UserTask):
                problems.extend(_check_user_task(task_spec, files, source))
            problems.extend(_check_scripts(task_spec, source))
            problems.extend(_check_conditions(task_spec, source))
            problems.extend(_check_timers(task_spec, source))
            problems.extend(_check_decision(task_spec, source))
    return problems


def _check_user_task(spec, files, source) -> list[DefinitionProblem]:
    element = spec.bpmn_id
    props = spec.extensions.get("properties", {})
    problems = []
    if spec.lane is None:
        problems.append(DefinitionProblem(source, element, "lane_missing",
                                          "user task is in no lane, so no role may work it"))
    elif spec.lane not in ROLE_CODES:
        problems.append(DefinitionProblem(source, element, "lane_unknown_role",
                                          f"lane '{spec.lane}' is not a role ({', '.join(sorted(ROLE_CODES))})"))
    form = props.get(FORM_PROPERTY)
    if not form:
        problems.append(DefinitionProblem(source, element, "form_missing",
                                          f"user task has no {FORM_PROPERTY} property"))
    for prop in (FORM_PROPERTY, UI_PROPERTY):
        if props.get(prop):
            problems.extend(_check_json_file(source, element, prop, props[prop], files))
    record = props.get("record")
    if record and record not in WRITERS:
        problems.append(DefinitionProblem(source, element, "record_unknown",
                                          f"record '{record}' is not a case-file writer ({', '.join(sorted(WRITERS))})"))
    if spec.lane == "partner" and not props.get("candidateBody"):
        problems.append(DefinitionProblem(source, element, "candidate_body_missing",
                                          "a partner task needs a candidateBody property naming the member body"))
    for prop in DURATION_PROPERTIES:
        if props.get(prop):
            try:
                TimerEventDefinition.parse_iso_duration(props[prop])
            except Exception:
                problems.append(DefinitionProblem(source, element, "duration_invalid",
                                                  f"{prop} '{props[prop]}' is not an ISO 8601 duration like P3D"))
    return problems


def _check_json_file(source, element, prop, name, files) -> list[DefinitionProblem]:
    if name not in files:
        return [DefinitionProblem(source, element, "form_file_not_found",
                                  f"{prop} names '{name}', which is not in the process folder")]
    try:
        document = json.loads(files[name])
    except json.JSONDecodeError as exc:
        return [DefinitionProblem(name, element, "form_json_invalid", f"line {exc.lineno}: {exc.msg}")]
    if prop == FORM_PROPERTY:
        try:
            jsonschema.validators.validator_for(document).check_schema(document)
        except jsonschema.SchemaError as exc:
            return [DefinitionProblem(name, element, "form_schema_invalid", exc.message)]
        return [DefinitionProblem(name, element, code, message) for code, message in _date_keyword_problems(document)]
    return []


def _date_keyword_problems(node: object, where: str = "") -> list[tuple[str, str]]:
    """Tsunagu's date keywords (`x-not-after`, `x-not-before`) take only "today", on a date field."""
    problems: list[tuple[str, str]] = []
    if isinstance(node, list):
        for index, item in enumerate(node):
            problems.extend(_date_keyword_problems(item, f"{where}/{index}"))
    if not isinstance(node, dict):
        return problems
    for key in DATE_KEYWORDS:
        if key not in node:
            continue
        if node[key] not in DATE_KEYWORD_VALUES:
            problems.append(("date_keyword_invalid", f"{where or '/'}: {key} must be \"today\", not {node[key]!r}"))
        if node.get("format") != "date":
            problems.append(("date_keyword_not_date", f"{where or '/'}: {key} needs a field of format \"date\""))
    for key, value in node.items():
        if key not in DATE_KEYWORDS:
            problems.extend(_date_keyword_problems(value, f"{where}/{key}"))
    return problems


SCRIPT_ATTRIBUTES = ("script", "prescript", "postscript")  # script tasks, and Spiff's pre/post scripts


def _check_scripts(spec, source) -> list[DefinitionProblem]:
    problems = []
    for attribute in SCRIPT_ATTRIBUTES:
        script = getattr(spec, attribute, None)
        objection = check_source(script, "exec") if isinstance(script, str) and script.strip() else None
        if objection:
            problems.append(DefinitionProblem(source, spec.bpmn_id, "script_refused", f"{attribute}: {objection}"))
    return problems


def _check_conditions(spec, source) -> list[DefinitionProblem]:
    problems = []
    for condition, target in getattr(spec, "cond_task_specs", []):
        expression = condition.args[0] if condition is not None and getattr(condition, "args", None) else None
        objection = check_source(expression, "eval") if isinstance(expression, str) else None
        if objection:
            problems.append(DefinitionProblem(source, spec.bpmn_id, "condition_refused",
                                              f"condition towards '{target}': {objection}"))
    return problems


def _timer_definitions(definition) -> list[TimerEventDefinition]:
    if isinstance(definition, TimerEventDefinition):
        return [definition]
    return [d for d in getattr(definition, "event_definitions", None) or [] if isinstance(d, TimerEventDefinition)]


def _check_timers(spec, source) -> list[DefinitionProblem]:
    # Timer expressions are evaluated by the same sandbox as conditions, so they are checked alike.
    problems = []
    for timer in _timer_definitions(getattr(spec, "event_definition", None)):
        expression = getattr(timer, "expression", None)
        objection = check_source(expression, "eval") if isinstance(expression, str) else None
        if objection:
            problems.append(DefinitionProblem(source, spec.bpmn_id, "timer_refused", f"timer expression: {objection}"))
    return problems


def _check_decision(spec, source) -> list[DefinitionProblem]:
    engine = getattr(spec, "dmnEngine", None)
    table = getattr(engine, "decision_table", None)
    if table is None:
        return []
    problems = []

    def check(what: str, expression) -> None:
        objection = check_source(expression, "eval") if isinstance(expression, str) and expression.strip() else None
        if objection:
            problems.append(DefinitionProblem(source, spec.bpmn_id, "decision_refused",
                                              f"decision '{table.id}', {what}: {objection}"))

    for table_input in table.inputs:
        check(f"input '{table_input.label or table_input.id}'", table_input.expression)
    for rule in table.rules:
        for entry in rule.inputEntries:
            for lhs in entry.lhs:
                if isinstance(lhs, str) and lhs.strip():
                    check(f"rule {rule.row_number} input entry", _decision_match(lhs))
        for entry in rule.outputEntries:
            check(f"rule {rule.row_number} output entry", getattr(entry, "text", None))
    return problems


def _decision_match(match: str) -> str:
    """The expression SpiffWorkflow's DMN engine evaluates for an input entry, the input as a plain name."""
    if "?" in match:  # as DMNEngine.evaluate rewrites it
        return re.sub(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)", "dmninputexpr", match)
    return f"(dmninputexpr) == ({match})" if check_source(match, "eval") is None else f"dmninputexpr {match}"
