"""What other modellers write, read from the XML itself: Camunda's dialect, service tasks, JUEL, call cycles.

SpiffWorkflow's Spiff parser reads every package (its task specs are what Tsunagu stores and runs); this
module adds what that parser ignores or cannot say well: each element's file and line for messages,
the Camunda 7 attributes Tsunagu understands (`camunda:decisionRef`, `camunda:formField` forms, turned
into JSON Schema forms; `camunda:candidateGroups`, kept in the task spec's extensions for `tsunagu.engine.runtime.roles_map`), and the
constructs no operator or sandbox can run here, refused at upload rather than failing in a case.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import BusinessRuleTaskParser, SpiffTaskParser, UserTaskParser
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask, UserTask

from tsunagu.engine.errors import DefinitionProblem

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
DMN_DECISION = "decision"
FORM_PROPERTY = "formJsonSchemaFilename"
JUEL = re.compile(r"[$#]\{")
CAMUNDA_JAVA_ATTRIBUTES = ("class", "delegateExpression", "expression")
EXPRESSION_TAGS = ("conditionExpression", "script", "timeDuration", "timeDate", "timeCycle", "completionCondition",
                   "loopCardinality")
XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


@dataclass(frozen=True)
class Element:
    """Where one BPMN element is: its file, line and name."""

    file: str
    line: int | None
    name: str | None


@dataclass
class Documents:
    """The parsed XML of a package: elements by id, processes and what they call, generated form files."""

    elements: dict[str, Element] = field(default_factory=dict)
    calls: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # process -> (call activity, called)
    call_sites: dict[tuple[str, str], Element] = field(default_factory=dict)  # (process, call activity) -> where
    process_files: dict[str, str] = field(default_factory=dict)
    lanes: list[str] = field(default_factory=list)
    generated: dict[str, str] = field(default_factory=dict)
    problems: list[DefinitionProblem] = field(default_factory=list)


def is_juel(expression: object) -> bool:
    """Whether an expression is Camunda's JUEL (`${...}`, `#{...}`), reported once as `juel_unsupported`."""
    return isinstance(expression, str) and JUEL.search(expression) is not None


def camunda_form_file(element_id: str) -> str:
    """The name of the JSON Schema file generated from a Camunda user task's `camunda:formField`s."""
    return f"{element_id}.camunda-form.json"


def read_documents(files: dict[str, str]) -> Documents:
    """Index every .bpmn and .dmn file and collect the problems visible in the XML alone."""
    docs = Documents()
    for name in sorted(files):
        if not name.endswith((".bpmn", ".dmn")):
            continue
        try:
            root = etree.fromstring(files[name].encode("utf-8"), XML_PARSER)
        except etree.XMLSyntaxError as exc:
            line = exc.lineno or None
            docs.problems.append(DefinitionProblem(name, None, "xml_invalid",
                                                   f"the file is not well-formed XML: {exc.msg}", line=line))
            continue
        if name.endswith(".dmn"):
            _check_dmn(name, root, docs)
        else:
            _index_bpmn(name, root, docs)
    return docs


def _index_bpmn(name: str, root: Any, docs: Documents) -> None:
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        element_id = node.get("id")
        if element_id and element_id not in docs.elements:
            docs.elements[element_id] = Element(name, node.sourceline, node.get("name"))
        local = etree.QName(node).localname if node.tag.startswith("{") else node.tag
        if node.tag == f"{{{BPMN}}}lane" and node.get("name") and node.get("name") not in docs.lanes:
            docs.lanes.append(node.get("name"))
        _check_node(name, node, local, docs)
    for process in root.iter(f"{{{BPMN}}}process"):
        process_id = process.get("id") or ""
        docs.process_files.setdefault(process_id, name)
        calls = list(process.iter(f"{{{BPMN}}}callActivity"))
        docs.calls[process_id] = [(call.get("id") or "", call.get("calledElement") or "") for call in calls]
        for call in calls:
            docs.call_sites[(process_id, call.get("id") or "")] = Element(name, call.sourceline, call.get("name"))


def _problem(name: str, node: Any, code: str, message: str) -> DefinitionProblem:
    return DefinitionProblem(name, node.get("id"), code, message, line=node.sourceline, element_name=node.get("name"))


def _owner(node: Any) -> Any:
    """The nearest ancestor (or the node itself) with an id: the element a message should name."""
    while node is not None and node.get("id") is None:
        node = node.getparent()
    return node


def _check_node(name: str, node: Any, local: str, docs: Documents) -> None:
    if node.tag == f"{{{BPMN}}}serviceTask" or (node.get(f"{{{CAMUNDA}}}type") == "external"):
        operator = _spiff_operator(node)
        what = f"operator '{operator}'" if operator else _camunda_implementation(node) or "this service task"
        docs.problems.append(_problem(name, node, "service_task_unsupported",
                                      f"no operator is registered for {what}: Tsunagu calls no outside system "
                                      "from a diagram; make it a user or manual task that a person does"))
        return
    java = [a for a in CAMUNDA_JAVA_ATTRIBUTES if node.get(f"{{{CAMUNDA}}}{a}")]
    if java and local not in ("formField",):
        docs.problems.append(_problem(name, node, "java_unsupported",
                                      f"camunda:{java[0]} calls Java code, which Tsunagu cannot run; "
                                      "replace it with a script task in Python"))
    if node.tag == f"{{{CAMUNDA}}}connector":
        owner = _owner(node)
        docs.problems.append(_problem(name, owner, "connector_unsupported",
                                      "camunda:connector calls an outside system, which Tsunagu does not do"))
    if local in EXPRESSION_TAGS and node.text and JUEL.search(node.text):
        owner = _owner(node)
        docs.problems.append(_problem(name, owner, "juel_unsupported",
                                      f"'{node.text.strip()[:80]}' is a JUEL expression (Camunda); write it in "
                                      "Python, e.g. amount > 100 instead of ${amount > 100}"))
    if node.tag == f"{{{BPMN}}}scriptTask":
        language = (node.get("scriptFormat") or "python").lower()
        if language not in ("python", "text/python", "python3"):
            docs.problems.append(_problem(name, node, "script_language_unsupported",
                                          f"scripts are Python; this one is '{node.get('scriptFormat')}'"))


def _spiff_operator(node: Any) -> str | None:
    for child in node.iter("{http://spiffworkflow.org/bpmn/schema/1.0/core}serviceTaskOperator"):
        return str(child.get("id") or "")
    return None


def _camunda_implementation(node: Any) -> str | None:
    if node.get(f"{{{CAMUNDA}}}type") == "external":
        return f"the external task topic '{node.get(f'{{{CAMUNDA}}}topic') or ''}'"
    for attribute in CAMUNDA_JAVA_ATTRIBUTES:
        if node.get(f"{{{CAMUNDA}}}{attribute}"):
            return f"camunda:{attribute} '{node.get(f'{{{CAMUNDA}}}{attribute}')}'"
    if next(node.iter(f"{{{CAMUNDA}}}connector"), None) is not None:
        return "a camunda:connector"
    return None


# The hit policies SpiffWorkflow's DMN engine runs; any other (ANY, PRIORITY, RULE ORDER, OUTPUT ORDER,
# COLLECT with an aggregation) would silently behave like FIRST.
HIT_POLICIES = ("UNIQUE", "FIRST", "COLLECT")


def _check_dmn(name: str, root: Any, docs: Documents) -> None:
    decisions = [n for n in root if isinstance(n.tag, str) and etree.QName(n).localname == DMN_DECISION]
    for decision in decisions:
        if decision.get("id"):
            docs.elements.setdefault(decision.get("id"), Element(name, decision.sourceline, decision.get("name")))
    if len(decisions) > 1:
        ids = ", ".join(d.get("id") or "?" for d in decisions)
        docs.problems.append(DefinitionProblem(
            name, decisions[1].get("id"), "dmn_several_decisions",
            f"the file holds {len(decisions)} decisions ({ids}); put each decision in a .dmn file of its own",
            line=decisions[1].sourceline, element_name=decisions[1].get("name")))
    for decision in decisions:
        tables = [n for n in decision if isinstance(n.tag, str) and etree.QName(n).localname == "decisionTable"]
        if not tables:
            docs.problems.append(DefinitionProblem(
                name, decision.get("id"), "dmn_not_a_table",
                "only decision tables can be evaluated; this decision has none", line=decision.sourceline))
        for table in tables:
            policy = table.get("hitPolicy") or "UNIQUE"
            if policy not in HIT_POLICIES or table.get("aggregation"):
                docs.problems.append(DefinitionProblem(
                    name, decision.get("id"), "dmn_hit_policy_unsupported",
                    f"hit policy {policy[:40]}{' ' + table.get('aggregation', '')[:20] if table.get('aggregation') else ''}"
                    f" is not run by the engine ({', '.join(HIT_POLICIES)})",
                    line=table.sourceline, element_name=decision.get("name")))


def call_cycles(docs: Documents) -> list[DefinitionProblem]:
    """A call activity that calls its own process, directly or through others: one problem per cycle."""
    problems, reported = [], set()
    for start in docs.calls:  # in the order of the files, so a chain starts where a reader would
        stack: list[tuple[str, list[str], list[str]]] = [(start, [start], [])]
        while stack:
            process, chain, activities = stack.pop()
            for activity, called in docs.calls.get(process, []):
                if called == start:
                    cycle = frozenset(chain)
                    if cycle not in reported:
                        reported.add(cycle)
                        where = docs.call_sites.get((process, activity))
                        problems.append(DefinitionProblem(
                            where.file if where else docs.process_files.get(process, ""), activity, "call_cycle",
                            "the process calls itself (" + " -> ".join([*chain, start])
                            + "), so a case would never end; remove the call or call another process",
                            line=where.line if where else None, element_name=where.name if where else None))
                elif called in docs.calls and called not in chain:
                    stack.append((called, [*chain, called], [*activities, activity]))
    return problems


def missing_calls(docs: Documents) -> list[DefinitionProblem]:
    """A call activity naming a process that no diagram of the package holds."""
    problems = []
    for process, calls in docs.calls.items():
        for activity, called in calls:
            if called not in docs.calls:
                where = docs.call_sites.get((process, activity))
                problems.append(DefinitionProblem(
                    where.file if where else docs.process_files.get(process, ""), activity, "call_target_missing",
                    f"the call activity calls the process '{called}', which is in no diagram of the package; "
                    f"add its .bpmn file ({', '.join(sorted(docs.calls)) or 'no processes'} are present)",
                    line=where.line if where else None, element_name=where.name if where else None))
    return problems


def camunda_forms(files: dict[str, str]) -> dict[str, str]:
    """A JSON Schema file for each user task with `camunda:formField`s, by its generated file name."""
    generated = {}
    for name, text in sorted(files.items()):
        if not name.endswith(".bpmn") or CAMUNDA not in text:
            continue
        try:
            root = etree.fromstring(text.encode("utf-8"), XML_PARSER)
        except etree.XMLSyntaxError:
            continue
        for task in root.iter(f"{{{BPMN}}}userTask"):
            fields = list(task.iter(f"{{{CAMUNDA}}}formField"))
            if fields and task.get("id"):
                schema = _schema_of(task, fields)
                generated[camunda_form_file(task.get("id"))] = json.dumps(schema, ensure_ascii=False, indent=2)
    return generated


CAMUNDA_TYPES = {"string": {"type": "string"}, "long": {"type": "integer"}, "boolean": {"type": "boolean"},
                 "date": {"type": "string", "format": "date"}, "enum": {"type": "string"}}


def _schema_of(task: Any, fields: list[Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required = []
    for form_field in fields:
        field_id = form_field.get("id") or ""
        prop: dict[str, Any] = dict(CAMUNDA_TYPES.get(form_field.get("type") or "string", {"type": "string"}))
        prop["title"] = form_field.get("label") or field_id
        options = list(form_field.iter(f"{{{CAMUNDA}}}value"))
        if options:
            prop["oneOf"] = [{"const": o.get("id"), "title": o.get("name") or o.get("id")} for o in options]
        default = form_field.get("defaultValue")
        if prop["type"] == "boolean":  # Camunda's checkbox submits false when left unticked
            prop["default"] = default in ("true", "True", "Yes", "yes")
        if default is not None and prop["type"] == "string" and (not options or default in [o.get("id")
                                                                                               for o in options]):
            prop["default"] = default
        for constraint in form_field.iter(f"{{{CAMUNDA}}}constraint"):
            kind, config = constraint.get("name"), constraint.get("config") or ""
            if kind == "required":
                required.append(field_id)
            elif kind in ("maxlength", "minlength") and config.isdigit() and prop["type"] == "string":
                prop["maxLength" if kind == "maxlength" else "minLength"] = int(config)
            elif kind in ("min", "max") and prop["type"] == "integer" and config.lstrip("-").isdigit():
                prop["minimum" if kind == "min" else "maximum"] = int(config)
        properties[field_id] = prop
    schema: dict[str, Any] = {"title": task.get("name") or task.get("id"), "type": "object",
                              "properties": properties}
    if required:
        schema["required"] = required
    return schema


class _CamundaAwareUserTaskParser(UserTaskParser):
    """Spiff's user task parser; a Camunda form becomes the JSON Schema form generated for the task."""

    def parse_extensions(self, node: Any = None) -> dict[str, Any]:
        extensions: dict[str, Any] = super().parse_extensions(node)
        target = self.node if node is None else node
        groups = target.get(f"{{{CAMUNDA}}}candidateGroups")
        if groups:  # read by the runtime when it decides the task's role (engine.runtime.roles_map)
            extensions["candidateGroups"] = groups
        if next(target.iter(f"{{{CAMUNDA}}}formField"), None) is not None:
            properties = dict(extensions.get("properties", {}))
            properties.setdefault(FORM_PROPERTY, camunda_form_file(target.get("id")))
            extensions["properties"] = properties
        return extensions


class _CamundaAwareBusinessRuleTaskParser(BusinessRuleTaskParser):
    """Spiff's business rule task parser, also reading Camunda's `camunda:decisionRef`."""

    @staticmethod
    def get_decision_ref(node: Any) -> Any:
        return SpiffTaskParser._parse_extensions(node).get("calledDecisionId") or node.get(f"{{{CAMUNDA}}}decisionRef")


class PackageParser(SpiffBpmnParser):  # type: ignore[misc]
    """SpiffWorkflow's Spiff parser, reading the Camunda 7 attributes Tsunagu supports as well."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (_CamundaAwareUserTaskParser, UserTask),
        full_tag("businessRuleTask"): (_CamundaAwareBusinessRuleTaskParser, BusinessRuleTask),
    }
