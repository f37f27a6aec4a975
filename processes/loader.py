"""Turn a process package (BPMN, DMN and form files) into a validated, hashable process definition.

The validator refuses at upload what the engine cannot run, every problem at once, each with its file,
line, element and a code; warnings (a task with no due time) do not block. Packages made elsewhere are
read as they are: a SpiffArena `process_model.json` picks the main process and its display name, tasks
outside any lane go to the municipality's default role, and Camunda 7 files are read through
`dialects.PackageParser`. Which role works a task is decided by `tsunagu.engine.runtime.roles_map.task_role`:
the lane mapping file `tsunagu.json` (`lane_roles[lane]`), else the lane if it is a role code, else a
`camunda:candidateGroups` role code, else the municipality's default role.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jsonschema
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import ManualTask, NoneTask, UserTask

from tsunagu.engine.casefile.records import WRITERS
from tsunagu.engine.errors import DefinitionInvalid, DefinitionProblem
from tsunagu.engine.roles import ROLE_CODES
from tsunagu.engine.runtime import forms
from tsunagu.engine.runtime.forms import DATE_KEYWORD_VALUES, DATE_KEYWORDS
from tsunagu.engine.runtime.kinds import KIND_PROPERTY, KINDS
from tsunagu.engine.runtime.roles_map import LANE_MAPPING_FILE, RoleMap, candidate_role, read_lane_roles, task_role
from tsunagu.engine.runtime.workflow import serialize_specs

from .dialects import Documents, PackageParser, call_cycles, camunda_forms, missing_calls, read_documents
from .expressions import check_conditions, check_decision, check_scripts, check_timers
from .package import SPIFFARENA_META, Package, read_package

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
    package = read_package(Path(folder))
    if package.problems:
        raise DefinitionInvalid(package.problems)
    return build_definition(package.files, process_id or Path(folder).name)


def build_definition(files: dict[str, str], preferred_id: str | None = None) -> ProcessDefinition:
    """Parse and check definition files held in memory (an upload or a stored version)."""
    definition, errors, _warnings = check_files(files, preferred_id=preferred_id)
    if errors or definition is None:
        raise DefinitionInvalid(errors)
    return definition


def check_package(package: Package, *, default_role_known: bool = True, preferred_id: str | None = None
                  ) -> tuple[ProcessDefinition | None, list[DefinitionProblem], list[DefinitionProblem]]:
    """Check a whole package: the definition if it may be deployed, every problem, and every warning."""
    definition, errors, warnings = check_files(package.files, preferred_id=preferred_id, meta=package.meta,
                                               default_role_known=default_role_known)
    if package.problems:
        return None, [*package.problems, *errors], warnings
    return definition, errors, warnings


def check_files(files: dict[str, str], *, preferred_id: str | None = None, meta: dict[str, str] | None = None,
                default_role_known: bool = True
                ) -> tuple[ProcessDefinition | None, list[DefinitionProblem], list[DefinitionProblem]]:
    """`check_package` for files held in memory; never raises on bad input."""
    meta = meta if meta is not None else _meta_of(files)
    docs = read_documents(files)
    errors = [*docs.problems, *call_cycles(docs), *missing_calls(docs), *lane_problems(files, docs.lanes)]
    generated = camunda_forms(files)
    all_files = {**files, **{name: text for name, text in generated.items() if name not in files}}
    parser, parse_errors = _parse(files)
    errors += parse_errors
    definition, warnings = None, []
    if not any(p.code in BLOCKS_SPECS for p in errors):
        definition, spec_errors, warnings = _build(parser, all_files, files, docs, meta, preferred_id,
                                                   default_role_known)
        errors += spec_errors
    errors = _located(_unique(errors), docs)
    warnings = _located(warnings, docs)
    return (None if errors else definition), errors, warnings


# After these the specs cannot be built (SpiffWorkflow would stop at the first, or loop forever).
BLOCKS_SPECS = frozenset({"xml_invalid", "bpmn_invalid", "no_bpmn", "call_cycle", "service_task_unsupported",
                          "dmn_several_decisions", "dmn_not_a_table", "file_unreadable", "call_target_missing"})


def _build(parser: SpiffBpmnParser, all_files: dict[str, str], files: dict[str, str], docs: Documents,
           meta: dict[str, str], preferred_id: str | None, default_role_known: bool
           ) -> tuple[ProcessDefinition | None, list[DefinitionProblem], list[DefinitionProblem]]:
    process_id, problem = _main_process_id(parser, docs, meta, preferred_id)
    if process_id is None:
        return None, [problem] if problem else [], []
    try:
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        return None, [_from_validation(exc, docs.process_files.get(process_id, ""))], []
    except Exception as exc:  # noqa: BLE001  (whatever SpiffWorkflow raises names the file, never a 500)
        return None, [_from_exception(exc, docs.process_files.get(process_id, ""))], []
    specs = [spec, *subprocess_specs.values()]
    lane_roles = read_lane_roles(files)
    context = _Context(all_files, lane_roles, default_role_known)
    errors, warnings = _check_specs(specs, context)
    try:
        spec_json = serialize_specs(spec, subprocess_specs)
    except Exception as exc:  # noqa: BLE001
        return None, [*errors, _from_exception(exc, docs.process_files.get(process_id, ""))], warnings
    name = meta.get("display_name") or spec.description or process_id
    return ProcessDefinition(process_id=process_id, name=name, files=all_files, content_hash=content_hash(all_files),
                             spec_json=spec_json), errors, warnings


def lanes_of(files: dict[str, str]) -> list[str]:
    """The names of every lane in the package's diagrams, in order of appearance."""
    return read_documents(files).lanes


def lane_problems(files: dict[str, str], lanes: list[str] | None = None) -> list[DefinitionProblem]:
    """Problems of the package's lane mapping file (`tsunagu.json`): malformed, unknown lanes or roles."""
    if LANE_MAPPING_FILE not in files:
        return []
    try:
        document = json.loads(files[LANE_MAPPING_FILE])
    except json.JSONDecodeError as exc:
        return [DefinitionProblem(LANE_MAPPING_FILE, None, "lane_mapping_invalid", f"line {exc.lineno}: {exc.msg}",
                                  line=exc.lineno)]
    mapping = document.get("lane_roles") if isinstance(document, dict) else None
    if not isinstance(mapping, dict):
        return [DefinitionProblem(LANE_MAPPING_FILE, None, "lane_mapping_invalid",
                                  'expected {"lane_roles": {"<lane name>": "<role code>"}}')]
    known = lanes_of(files) if lanes is None else lanes
    problems = []
    for lane, role in mapping.items():
        if lane not in known:
            problems.append(DefinitionProblem(LANE_MAPPING_FILE, lane, "lane_mapping_unknown_lane",
                                              f"the diagrams have no lane '{lane}' ({', '.join(known) or 'no lanes'})"))
        if role not in ROLE_CODES:
            problems.append(DefinitionProblem(LANE_MAPPING_FILE, lane, "lane_mapping_unknown_role",
                                              f"'{role}' is not a role ({', '.join(sorted(ROLE_CODES))})"))
    return problems


def check_path(path: Path) -> tuple[list[ProcessDefinition], list[DefinitionProblem], list[DefinitionProblem]]:
    """Check a process folder, a .zip package, a single .bpmn file, or a tree of process folders: the sound
    definitions, every problem of the others and every warning, each located by file path and element."""
    path = Path(path)
    if not path.exists():
        return [], [DefinitionProblem(str(path), None, "path_not_found", "no such file or folder")], []
    if path.is_file():
        sources = [(path, path.parent if path.suffix.lower() != ".zip" else path)]
    else:
        sources = [(folder, folder) for folder in _process_folders(path)]
    if not sources:
        return [], [DefinitionProblem(str(path), None, "no_bpmn", "no .bpmn file found")], []
    definitions, problems, warnings = [], [], []
    for source, where in sources:
        package = read_package(source)
        preferred = None if where.suffix.lower() == ".zip" else where.name
        definition, errors, notes = check_package(package, preferred_id=preferred)
        if definition is not None:
            definitions.append(definition)
        problems.extend(_placed(where, p) for p in errors)
        warnings.extend(_placed(where, p) for p in notes)
    return definitions, problems, warnings


def load_path(path: Path) -> tuple[list[ProcessDefinition], list[DefinitionProblem]]:
    """`check_path` without the warnings."""
    definitions, problems, _warnings = check_path(path)
    return definitions, problems


def validate_path(path: Path) -> list[DefinitionProblem]:
    """Check a process folder, a .zip, a single .bpmn file, or a tree of process folders."""
    return check_path(path)[1]


def _placed(where: Path, problem: DefinitionProblem) -> DefinitionProblem:
    if where.suffix.lower() == ".zip":
        file = f"{where}:{problem.file}" if problem.file else str(where)
    else:
        file = str(where / problem.file) if problem.file else str(where)
    return replace(problem, file=file)


def _process_folders(root: Path) -> list[Path]:
    return sorted({p.parent for p in root.rglob("*.bpmn")})


def _meta_of(files: dict[str, str]) -> dict[str, str]:
    return read_package({name: text.encode("utf-8") for name, text in files.items()
                         if name == SPIFFARENA_META}).meta


def _parse(files: dict[str, str]) -> tuple[SpiffBpmnParser, list[DefinitionProblem]]:
    parser = PackageParser(validator=VALIDATOR)
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
        except etree.XMLSyntaxError:
            pass  # read_documents reported it with its line
        except Exception as exc:  # noqa: BLE001  (a parser failure is a problem of this file, never a 500)
            problems.append(_from_exception(exc, name))
    if not any(n.endswith(".bpmn") for n in files):
        problems.append(DefinitionProblem("", None, "no_bpmn", "no .bpmn file found"))
    return parser, problems


def _main_process_id(parser: SpiffBpmnParser, docs: Documents, meta: dict[str, str], preferred: str | None
                     ) -> tuple[str | None, DefinitionProblem | None]:
    ids = parser.get_process_ids()
    primary = meta.get("primary_process_id")
    if primary:
        if primary in ids:
            return primary, None
        return None, DefinitionProblem(SPIFFARENA_META, primary, "process_missing",
                                       f"primary_process_id '{primary}' is not an executable process of the "
                                       f"package ({', '.join(ids) or 'none'})")
    if preferred in ids:
        return preferred, None
    primary_file = meta.get("primary_file_name")
    candidates = [i for i in ids if not primary_file or docs.process_files.get(i) == primary_file] or ids
    called = {target for calls in docs.calls.values() for _activity, target in calls}
    uncalled = [i for i in candidates if i not in called]
    if len(candidates) == 1:
        return candidates[0], None
    if len(uncalled) == 1:
        return uncalled[0], None
    if not ids:
        return None, DefinitionProblem("", None, "process_missing",
                                       'no executable process found: set isExecutable="true" on the process')
    return None, DefinitionProblem("", None, "process_ambiguous",
                                   f"several processes could be the main one ({', '.join(candidates)}); add a "
                                   "process_model.json naming primary_process_id")


def _from_validation(exc: ValidationException, default_file: str = "") -> DefinitionProblem:
    line = getattr(exc, "line_number", "") or None
    return DefinitionProblem(
        Path(exc.file_name).name if exc.file_name else default_file, getattr(exc, "id", "") or None, "bpmn_invalid",
        f"{exc.args[0] if exc.args else exc}", line=line if isinstance(line, int) else None,
        element_name=getattr(exc, "name", "") or None,
    )


def _from_exception(exc: Exception, file: str) -> DefinitionProblem:
    task_spec = getattr(exc, "task_spec", None)
    element = getattr(task_spec, "bpmn_id", None) or getattr(exc, "id", None) or None
    return DefinitionProblem(getattr(exc, "file_name", "") or file, element, "bpmn_invalid",
                             f"SpiffWorkflow cannot read this: {type(exc).__name__}: {exc}")


def _unique(problems: list[DefinitionProblem]) -> list[DefinitionProblem]:
    seen, kept = set(), []
    for problem in problems:
        key = (problem.file, problem.element, problem.code, problem.message)
        if key not in seen:
            seen.add(key)
            kept.append(problem)
    return kept


def _located(problems: list[DefinitionProblem], docs: Documents) -> list[DefinitionProblem]:
    """Each problem with the file, line and name of its element, where the XML says them."""
    located = []
    for problem in problems:
        where = docs.elements.get(problem.element or "")
        if where is not None and (not problem.file or problem.file == where.file):
            problem = replace(problem, file=where.file, line=problem.line or where.line,
                              element_name=problem.element_name or where.name)
        located.append(problem)
    return located


@dataclass(frozen=True)
class _Context:
    files: dict[str, str]
    lane_roles: dict[str, str]
    default_role_known: bool


HUMAN_TASKS = (UserTask, ManualTask, NoneTask)


def _check_specs(specs: list[Any], context: _Context) -> tuple[list[DefinitionProblem], list[DefinitionProblem]]:
    problems, warnings = [], []
    for process in specs:
        source = getattr(process, "file", "") or ""
        source = Path(source).name if source else ""
        for task_spec in process.task_specs.values():
            if isinstance(task_spec, HUMAN_TASKS):
                problems.extend(_check_human_task(task_spec, context, source))
                if isinstance(task_spec, UserTask) and not task_spec.extensions.get("properties", {}).get("dueIn"):
                    warnings.append(DefinitionProblem(
                        source, task_spec.bpmn_id, "due_missing",
                        "the task has no dueIn property, so it is never shown as overdue (add e.g. P3D)",
                        element_name=task_spec.bpmn_name, severity="warning"))
            if isinstance(task_spec, UserTask):
                problems.extend(_check_user_task(task_spec, context.files, source))
            problems.extend(check_scripts(task_spec, source))
            problems.extend(check_conditions(task_spec, source))
            problems.extend(check_timers(task_spec, source))
            problems.extend(check_decision(task_spec, source))
    return problems, warnings


def _check_human_task(spec: Any, context: _Context, source: str) -> list[DefinitionProblem]:
    element = spec.bpmn_id
    role = task_role(RoleMap(context.lane_roles), element, spec.lane)
    role = role or candidate_role(spec.extensions.get("candidateGroups"))
    problems = []
    if spec.lane is not None and role is None:
        problems.append(DefinitionProblem(
            source, element, "lane_unknown_role",
            f"lane '{spec.lane}' is not a role ({', '.join(sorted(ROLE_CODES))}); map it to a role at upload "
            f"(tsunagu.json lane_roles)", element_name=spec.bpmn_name))
    elif role is None and not context.default_role_known:
        problems.append(DefinitionProblem(source, element, "lane_missing",
                                          "the task is in no lane and the municipality has no default role",
                                          element_name=spec.bpmn_name))
    props = spec.extensions.get("properties", {})
    if role == "partner" and not props.get("candidateBody"):
        problems.append(DefinitionProblem(source, element, "candidate_body_missing",
                                          "a partner task needs a candidateBody property naming the member body"))
    return problems


def _check_user_task(spec: Any, files: dict[str, str], source: str) -> list[DefinitionProblem]:
    element = spec.bpmn_id
    props = spec.extensions.get("properties", {})
    problems = []
    for prop in (FORM_PROPERTY, UI_PROPERTY):
        if props.get(prop):
            problems.extend(_check_json_file(source, element, prop, props[prop], files))
    if props.get(FORM_PROPERTY) in files:
        problems.extend(_form_constructs(element, props, files))
    record = props.get("record")
    if record and record not in WRITERS:
        problems.append(DefinitionProblem(source, element, "record_unknown",
                                          f"record '{record}' is not a case-file writer ({', '.join(sorted(WRITERS))})"))
    kind = props.get(KIND_PROPERTY)
    if kind and kind not in KINDS and kind not in WRITERS:
        problems.append(DefinitionProblem(source, element, "kind_unknown",
                                          f"kind '{kind}' is not a task kind ({', '.join(sorted(KINDS))})"))
    for prop in DURATION_PROPERTIES:
        if props.get(prop):
            try:
                TimerEventDefinition.parse_iso_duration(props[prop])
            except Exception:
                problems.append(DefinitionProblem(source, element, "duration_invalid",
                                                  f"{prop} '{props[prop]}' is not an ISO 8601 duration like P3D"))
    return problems


def _form_constructs(element: str, props: dict[str, str], files: dict[str, str]) -> list[DefinitionProblem]:
    """What the form renderer cannot show, when it says so (`forms.unsupported_constructs`)."""
    unsupported = getattr(forms, "unsupported_constructs", None)
    if unsupported is None:
        return []
    try:
        schema = json.loads(files[props[FORM_PROPERTY]])
        ui_name = props.get(UI_PROPERTY)
        ui_schema = json.loads(files[ui_name]) if ui_name and ui_name in files else {}
    except json.JSONDecodeError:
        return []  # reported by _check_json_file
    return [DefinitionProblem(props[FORM_PROPERTY], element, code, f"{path or '/'}: {message}")
            for path, code, message in unsupported(schema, ui_schema)]


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
