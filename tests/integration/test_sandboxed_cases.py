"""A diagram that slipped past validation still cannot run code on the server: the sandbox refuses
its script or condition at run time and the case stops in the error state an operator sees."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from sqlalchemy import select

from tsunagu.engine.commands import cases
from tsunagu.engine.models import CaseStatus, ProcessVersionRecord, TaskRecord, TaskStatus
from tsunagu.engine.runtime.workflow import serialize_specs

FORM = json.dumps({"type": "object", "properties": {"value": {"type": "integer"}}})
ESCAPES = {
    "import": "__import__('os').system('touch /tmp/tsunagu-pwned')",
    "subclasses": "().__class__.__base__.__subclasses__()",
    "open": "open('/etc/passwd').read()",
    "globals": "now.__globals__",
    "loop": "while True:\n    pass",
}
PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="evil" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l" name="caseworker">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>ask</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>step</bpmn:flowNodeRef><bpmn:flowNodeRef>gate</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>after</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="ask" name="入力">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="form.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:scriptTask id="step"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gate" default="f5"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f4</bpmn:outgoing><bpmn:outgoing>f5</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="after" name="後続">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="form.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f4</bpmn:incoming><bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask" />
    <bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="step" />
    <bpmn:sequenceFlow id="f3" sourceRef="step" targetRef="gate" />
    <bpmn:sequenceFlow id="f4" sourceRef="gate" targetRef="after">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f5" sourceRef="gate" targetRef="after" />
    <bpmn:sequenceFlow id="f6" sourceRef="after" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def _smuggled_version(session, clock, script: str, condition: str) -> ProcessVersionRecord:
    """Store a version the way a broken upload path might: parsed, but never validated."""
    text = PROCESS.format(script=script.replace("<", "&lt;"), condition=condition.replace("<", "&lt;"))
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(text.encode(), filename="evil.bpmn")
    files = {"evil.bpmn": text, "form.json": FORM}
    version = ProcessVersionRecord(process_id="evil", name="evil", files=files,
                                   content_hash=hashlib.sha256(text.encode()).hexdigest(),
                                   spec=serialize_specs(parser.get_spec("evil"), parser.get_subprocess_specs("evil")),
                                   deployed_at=clock())
    session.add(version)
    session.commit()
    return version


def _run(session, clock, caseworker, version):
    case = cases.start_case(session, clock, caseworker, version, "evil")
    task = session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id, TaskRecord.status == TaskStatus.OPEN))
    return cases.complete_task(session, clock, caseworker, task.id, {"value": 1})


@pytest.mark.parametrize("escape", ESCAPES.values(), ids=ESCAPES.keys())
def test_an_escape_in_a_script_task_stops_the_case_with_a_clear_error(session, clock, caseworker, escape):
    case = _run(session, clock, caseworker, _smuggled_version(session, clock, escape, "value == 1"))
    assert case.status == CaseStatus.ERROR
    assert case.error_element == "step"
    assert any(word in case.error_message for word in ("not allowed", "not defined", "longer than"))
    assert not Path("/tmp/tsunagu-pwned").exists()


@pytest.mark.parametrize("escape", ["__import__('os').getcwd() == '/'", "().__class__ is None",
                                    "open('/etc/passwd') is None"])
def test_an_escape_in_a_gateway_condition_stops_the_case_with_a_clear_error(session, clock, caseworker, escape):
    case = _run(session, clock, caseworker, _smuggled_version(session, clock, "x = 1", escape))
    assert case.status == CaseStatus.ERROR
    assert case.error_element == "gate"
    assert "not allowed" in case.error_message or "not defined" in case.error_message


def test_the_server_keeps_serving_cases_after_a_refused_script(session, clock, caseworker, standard_version):
    _run(session, clock, caseworker, _smuggled_version(session, clock, ESCAPES["loop"], "value == 1"))
    healthy = cases.start_case(session, clock, caseworker, standard_version, "次の相談")
    assert healthy.status == CaseStatus.RUNNING
    assert os.getpid()  # still the same process, answering
