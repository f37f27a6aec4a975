"""Read a package's BPMN files safely and each element's settings, for the designer's pages.

Pure functions over a package's files (name -> text). Parsing never resolves entities or reaches the
network, and every text read has its control characters stripped; broken XML names its file.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from tsunagu.engine.errors import DefinitionInvalid, DefinitionProblem

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"

TASKS = frozenset({"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
                   "businessRuleTask", "callActivity"})
SUBPROCESSES = frozenset({"subProcess", "adHocSubProcess", "transaction"})
EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"})
GATEWAYS = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
                      "complexGateway"})
FLOW_NODES = TASKS | SUBPROCESSES | EVENTS | GATEWAYS
SETTINGS_KINDS = FLOW_NODES | {"sequenceFlow"}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True,
                          remove_pis=True, load_dtd=False)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


@dataclass(frozen=True)
class ElementSettings:
    """What a designer sees when clicking an element of the diagram."""

    id: str
    kind: str
    name: str | None
    process_id: str
    lane: str | None
    properties: dict[str, str]
    instructions: str | None
    script: str | None
    condition: str | None
    decision: str | None
    called_element: str | None
    events: list[str]
    line: int | None
    file: str



def local_name(el: etree._Element) -> str:
    tag = el.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def clean(text: str | None) -> str:
    return _CONTROL.sub("", text or "")



@lru_cache(maxsize=64)
def parse_file(name: str, text: str) -> etree._Element:
    """Parse one file safely (no entities, no network); broken XML names the file."""
    try:
        return etree.fromstring(_DECLARATION.sub("", text, count=1).encode("utf-8"), _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise DefinitionInvalid([DefinitionProblem(name, None, "xml_invalid", str(exc))]) from exc


def bpmn_roots(files: dict[str, str]) -> Iterator[tuple[str, etree._Element]]:
    for name in sorted(files):
        if name.lower().endswith(".bpmn"):
            yield name, parse_file(name, files[name])


def text_of(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    value = clean("".join(el.itertext())).strip()
    return value or None


def extension_children(el: etree._Element) -> list[etree._Element]:
    """Direct children of the element's extensionElements."""
    ext = el.find(f"{{{BPMN}}}extensionElements")
    return [c for c in ext if isinstance(c.tag, str)] if ext is not None else []


def lane_names(process: etree._Element) -> dict[str, str]:
    """Flow node id -> name of the innermost lane holding it."""
    found: dict[str, str] = {}
    for lane in process.iter(f"{{{BPMN}}}lane"):  # document order: outer lanes before their child lanes
        for ref in lane.findall(f"{{{BPMN}}}flowNodeRef"):
            if ref.text:
                found[ref.text.strip()] = clean(lane.get("name") or lane.get("id"))
    return found


def event_lines(el: etree._Element, names: dict[str, str]) -> list[str]:
    lines = []
    for d in el:
        kind = local_name(d)
        if not kind.endswith("EventDefinition"):
            continue
        kind = kind[: -len("EventDefinition")]
        if kind == "timer":
            detail = " ".join(filter(None, (text_of(c) for c in d if local_name(c).startswith("time"))))
        elif kind in ("message", "signal", "error", "escalation"):
            ref = d.get(f"{kind}Ref") or ""
            detail = names.get(ref, ref) or clean(d.get("messageName") or "")
            detail = clean(detail)
        elif kind == "conditional":
            detail = text_of(d.find(f"{{{BPMN}}}condition")) or ""
        else:
            detail = ""
        lines.append(f"{kind}: {detail}" if detail else kind)
    return lines


def ref_names(root: etree._Element) -> dict[str, str]:
    """Message, signal, error and escalation ids -> the name (or code) an event refers to."""
    names = {}
    for el in root:
        kind = local_name(el)
        if kind in ("message", "signal"):
            names[el.get("id", "")] = el.get("name") or el.get("id", "")
        elif kind in ("error", "escalation"):
            names[el.get("id", "")] = el.get(f"{kind}Code") or el.get("name") or el.get("id", "")
    return names


def _settings(el: etree._Element, kind: str, process_id: str, lane: str | None, file: str,
              names: dict[str, str]) -> ElementSettings:
    props: dict[str, str] = {}
    instructions = decision = None
    scripts = [text_of(el.find(f"{{{BPMN}}}script"))] if kind == "scriptTask" else []
    for ext in extension_children(el):
        tag = local_name(ext)
        if tag == "properties":
            for p in ext:
                if local_name(p) == "property" and p.get("name"):
                    props[clean(p.get("name"))] = clean(p.get("value") if p.get("value") is not None
                                                          else text_of(p))
        elif tag == "instructionsForEndUser":
            instructions = text_of(ext)
        elif tag in ("preScript", "postScript"):
            scripts.append(text_of(ext))
        elif tag == "calledDecisionId":
            decision = text_of(ext)
    for attr, value in el.attrib.items():
        if str(attr).startswith(f"{{{CAMUNDA}}}"):
            local = etree.QName(attr).localname
            if local == "decisionRef":
                decision = decision or clean(value)
            else:
                props[f"camunda:{local}"] = clean(value)
    script = "\n\n".join(s for s in scripts if s) or None
    return ElementSettings(
        id=clean(el.get("id")), kind=kind, name=clean(el.get("name")) or None, process_id=process_id,
        lane=lane, properties=props, instructions=instructions, script=script,
        condition=text_of(el.find(f"{{{BPMN}}}conditionExpression")), decision=decision,
        called_element=clean(el.get("calledElement")) or None, events=event_lines(el, names),
        line=el.sourceline, file=file)


def element_settings(files: dict[str, str]) -> dict[str, ElementSettings]:
    """Every flow node and sequence flow of every process in every .bpmn file, by element id."""
    found: dict[str, ElementSettings] = {}
    for name, root in bpmn_roots(files):
        names = ref_names(root)
        for process in root.iterchildren(f"{{{BPMN}}}process"):
            pid = clean(process.get("id"))
            lanes = lane_names(process)
            for el, lane in walk(process, lanes, None):
                kind = local_name(el)
                if kind in SETTINGS_KINDS and el.get("id") and el.get("id") not in found:
                    found[el.get("id")] = _settings(el, kind, pid, lane, name, names)
    return found


def walk(container: etree._Element, lanes: dict[str, str], inherited: str | None
          ) -> Iterator[tuple[etree._Element, str | None]]:
    """Each element of a process or subprocess, with its lane (inherited from the enclosing subprocess)."""
    for el in container:
        if not isinstance(el.tag, str) or not el.tag.startswith(f"{{{BPMN}}}"):
            continue
        lane = lanes.get(el.get("id", ""), inherited)
        yield el, lane
        if local_name(el) in SUBPROCESSES:
            yield from walk(el, lanes, lane)


# ---------------------------------------------------------------- layout: diagram interchange or automatic
