"""Hostile diagrams built from one small template: a user task, then the element under attack.

`diagram(kind, source)` returns the files of a process whose script task, gateway condition,
decision-table input, input entry or output entry, or timer expression is `source`.
"""
from __future__ import annotations

import hashlib
import json
from xml.sax.saxutils import escape

from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from tsunagu.engine.models import ProcessVersionRecord
from tsunagu.engine.runtime.workflow import serialize_specs

FORM = json.dumps({"type": "object", "properties": {"value": {"type": "integer"}}})
ELEMENT = {"script": "step", "condition": "gate", "dmn_input": "decide", "dmn_entry": "decide",
           "dmn_output": "decide", "timer": "wait"}

_TASK = """<bpmn:userTask id="{id}" name="{id}">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="form.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>{incoming}</bpmn:incoming><bpmn:outgoing>{outgoing}</bpmn:outgoing></bpmn:userTask>"""

_MIDDLE = {
    "script": """<bpmn:scriptTask id="step"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>{source}</bpmn:script></bpmn:scriptTask>""",
    "condition": """<bpmn:exclusiveGateway id="gate" default="f3b"><bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing><bpmn:outgoing>f3b</bpmn:outgoing></bpmn:exclusiveGateway>""",
    "dmn": """<bpmn:businessRuleTask id="decide"><bpmn:extensionElements>
      <spiffworkflow:calledDecisionId>hostile_decision</spiffworkflow:calledDecisionId></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:businessRuleTask>""",
    "timer": """<bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition id="ted"><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{source}</bpmn:timeDuration>
      </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>""",
}

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="hostile" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="caseworker">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>ask</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>{middle_id}</bpmn:flowNodeRef><bpmn:flowNodeRef>after</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {ask}
    {middle}
    {after}
    <bpmn:endEvent id="end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask" />
    <bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="{middle_id}" />
    <bpmn:sequenceFlow id="f3" sourceRef="{middle_id}" targetRef="after">{condition}</bpmn:sequenceFlow>
    {default_flow}
    <bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""

DECISION = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="dd" name="hostile"
             namespace="http://camunda.org/schema/1.0/dmn">
  <decision id="hostile_decision" name="hostile">
    <decisionTable id="table" hitPolicy="FIRST">
      <input id="in" label="in"><inputExpression id="ie" typeRef="integer"><text>{input}</text></inputExpression></input>
      <output id="out" label="out" name="verdict" typeRef="string" />
      <rule id="r1"><inputEntry id="r1i"><text>{entry}</text></inputEntry>
        <outputEntry id="r1o"><text>{output}</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""


def diagram(kind: str, source: str) -> dict[str, str]:
    """The files of a process whose `kind` element evaluates `source`."""
    text = escape(source)
    middle_kind = "dmn" if kind.startswith("dmn") else kind
    middle_id = ELEMENT[kind]
    has_default = kind == "condition"
    bpmn = PROCESS.format(
        middle_id=middle_id, middle=_MIDDLE[middle_kind].format(source=text),
        ask=_TASK.format(id="ask", incoming="f1", outgoing="f2"),
        after=_TASK.format(id="after", incoming="f3</bpmn:incoming><bpmn:incoming>f3b" if has_default else "f3",
                           outgoing="f4"),
        condition=f"<bpmn:conditionExpression>{text}</bpmn:conditionExpression>" if kind == "condition" else "",
        default_flow='<bpmn:sequenceFlow id="f3b" sourceRef="gate" targetRef="after" />' if has_default else "",
    )
    files = {"hostile.bpmn": bpmn, "form.json": FORM}
    if middle_kind == "dmn":
        parts = {"input": "value", "entry": "1", "output": '"ok"'}
        parts[kind.removeprefix("dmn_")] = text
        files["hostile.dmn"] = DECISION.format(**parts)
    return files


def smuggle(session, clock, files: dict[str, str], number: int = 1) -> ProcessVersionRecord:
    """Store a version as a broken upload path might: parsed, but never validated."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(files["hostile.bpmn"].encode(), filename="hostile.bpmn")
    if "hostile.dmn" in files:
        parser.add_dmn_str(files["hostile.dmn"].encode(), filename="hostile.dmn")
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    version = ProcessVersionRecord(process_id="hostile", name="hostile", files=files, content_hash=digest,
                                   version_number=number,
                                   spec=serialize_specs(parser.get_spec("hostile"),
                                                        parser.get_subprocess_specs("hostile")),
                                   deployed_at=clock())
    session.add(version)
    session.commit()
    return version
