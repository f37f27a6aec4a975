"""Models made elsewhere run: unmapped lanes, manual tasks, messages between cases, message starts,
signal buttons and any exception inside the engine, each with a small inline BPMN model.

The models are parsed with SpiffWorkflow and deployed as they are, without the upload checks, so that
the runtime is tested on what the validator may one day let through.
"""
from __future__ import annotations

import hashlib
import json

import pytest
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import select

from tsunagu.engine.commands import cases
from tsunagu.engine.errors import TsunaguError
from tsunagu.engine.models import CaseRecord, CaseStatus, MunicipalityRecord, TaskStatus
from tsunagu.engine.runtime.instructions import instructions_of, render_instructions
from tsunagu.engine.runtime.workflow import UserTaskView, serialize_specs
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import ProcessDefinition

from .helpers import audit_actions, open_task, reload_case, submissions, task_rows

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="http://example.org/t">\n')


def model(process_id: str, body: str, before: str = "") -> str:
    return f'{HEAD}{before}<bpmn:process id="{process_id}" name="{process_id}" isExecutable="true">\n{body}\n</bpmn:process>\n</bpmn:definitions>\n'


def flows(*pairs: tuple[str, str]) -> str:
    return "\n".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>' for i, (a, b) in enumerate(pairs))


def lane_model(process_id, lane):
    return model(process_id, f'''<bpmn:laneSet id="ls"><bpmn:lane id="lane1" name="{lane}"><bpmn:flowNodeRef>work</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
<bpmn:startEvent id="start"/><bpmn:userTask id="work" name="受付"/><bpmn:endEvent id="end"/>
''' + flows(("start", "work"), ("work", "end")))


def correlated(process_id, body, pairs):
    before = '''<bpmn:collaboration id="collab">
<bpmn:correlationKey name="answer_key"><bpmn:correlationPropertyRef>ref</bpmn:correlationPropertyRef></bpmn:correlationKey>
</bpmn:collaboration>
<bpmn:correlationProperty id="ref" name="ref">
<bpmn:correlationPropertyRetrievalExpression messageRef="answer"><bpmn:formalExpression>ref</bpmn:formalExpression></bpmn:correlationPropertyRetrievalExpression>
</bpmn:correlationProperty>
<bpmn:message id="answer" name="answer"/>
'''
    return model(process_id, body + flows(*pairs), before)


WAITER = correlated("waiter", '''<bpmn:startEvent id="start"/><bpmn:userTask id="prepare" name="準備"/>
<bpmn:receiveTask id="wait_answer" name="回答待ち" messageRef="answer"><bpmn:extensionElements>
<spiffworkflow:processVariableCorrelation><spiffworkflow:propertyId>ref</spiffworkflow:propertyId><spiffworkflow:expression>ref</spiffworkflow:expression></spiffworkflow:processVariableCorrelation>
</bpmn:extensionElements></bpmn:receiveTask>
<bpmn:userTask id="answered" name="回答確認"/><bpmn:endEvent id="end"/>
''', [("start", "prepare"), ("prepare", "wait_answer"), ("wait_answer", "answered"), ("answered", "end")])

SENDER = correlated("sender", '''<bpmn:startEvent id="start"/><bpmn:userTask id="give_ref" name="照会番号"/>
<bpmn:sendTask id="send_answer" name="回答送付" messageRef="answer"><bpmn:extensionElements>
<spiffworkflow:messagePayload>{"ref": ref, "note": "ok"}</spiffworkflow:messagePayload>
</bpmn:extensionElements></bpmn:sendTask>
<bpmn:endEvent id="end"/>
''', [("start", "give_ref"), ("give_ref", "send_answer"), ("send_answer", "end")])

MESSAGE_START = model("message_start", '''<bpmn:startEvent id="start" name="申請受信"><bpmn:messageEventDefinition id="med" messageRef="apply"/></bpmn:startEvent>
<bpmn:userTask id="start_form" name="申請内容"/><bpmn:endEvent id="end"/>
''' + flows(("start", "start_form"), ("start_form", "end")), '<bpmn:message id="apply" name="apply"/>\n')

SIGNAL = model("signal_boundary", '''<bpmn:startEvent id="start"/><bpmn:userTask id="work" name="訪問"/>
<bpmn:boundaryEvent id="escalate_event" name="緊急" attachedToRef="work"><bpmn:signalEventDefinition id="sed" signalRef="escalate"/></bpmn:boundaryEvent>
<bpmn:userTask id="escalated" name="緊急対応"/><bpmn:endEvent id="end"/><bpmn:endEvent id="end2"/>
''' + flows(("start", "work"), ("work", "end"), ("escalate_event", "escalated"), ("escalated", "end2")),
    '<bpmn:signal id="escalate" name="escalate"/>\n')

SERVICE = model("service", '''<bpmn:startEvent id="start"/><bpmn:userTask id="before" name="前"/>
<bpmn:serviceTask id="call_out" name="外部照会"><bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="http/GetRequest"><spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>
<bpmn:endEvent id="end"/>
''' + flows(("start", "before"), ("before", "call_out"), ("call_out", "end")))

KEY_ERROR = model("key_error", '''<bpmn:startEvent id="start"/><bpmn:userTask id="before" name="入力"/>
<bpmn:scriptTask id="lookup" name="検索"><bpmn:script>value = {"a": 1}["missing"]</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="end"/>
''' + flows(("start", "before"), ("before", "lookup"), ("lookup", "end")))

MANUAL = model("manual", '''<bpmn:startEvent id="start"/>
<bpmn:manualTask id="call" name="電話連絡"><bpmn:extensionElements>
<spiffworkflow:instructionsForEndUser>**{{ person }}** さんに電話する。 &lt;script&gt;alert(1)&lt;/script&gt;</spiffworkflow:instructionsForEndUser>
</bpmn:extensionElements></bpmn:manualTask>
<bpmn:userTask id="confirm" name="確認"/><bpmn:endEvent id="end"/>
''' + flows(("start", "call"), ("call", "confirm"), ("confirm", "end")))

SAME_CASE = model("same_case", '''<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>
<bpmn:receiveTask id="wait_ping" name="待機" messageRef="ping"/>
<bpmn:userTask id="work" name="作業"/><bpmn:sendTask id="send_ping" name="通知" messageRef="ping"/>
<bpmn:parallelGateway id="join"/><bpmn:userTask id="after" name="後処理"/><bpmn:endEvent id="end"/>
''' + flows(("start", "split"), ("split", "wait_ping"), ("split", "work"), ("work", "send_ping"),
            ("send_ping", "join"), ("wait_ping", "join"), ("join", "after"), ("after", "end")),
    '<bpmn:message id="ping" name="ping"/>\n')

# A waiting case without correlation: an uncorrelated message of another case must never reach it.
PLAIN_WAITER = model("plain_waiter", '''<bpmn:startEvent id="start"/>
<bpmn:receiveTask id="wait_answer" name="回答待ち" messageRef="answer"/><bpmn:userTask id="answered" name="回答確認"/>
<bpmn:endEvent id="end"/>''' + flows(("start", "wait_answer"), ("wait_answer", "answered"), ("answered", "end")),
    '<bpmn:message id="answer" name="answer"/>\n')

PLAIN_SENDER = model("plain_sender", '''<bpmn:startEvent id="start"/><bpmn:userTask id="give_ref" name="照会番号"/>
<bpmn:sendTask id="send_answer" name="回答送付" messageRef="answer"/><bpmn:endEvent id="end"/>
''' + flows(("start", "give_ref"), ("give_ref", "send_answer"), ("send_answer", "end")),
    '<bpmn:message id="answer" name="answer"/>\n')


def definition(xml: str, process_id: str, **extra_files: str) -> ProcessDefinition:
    """Parse a model with SpiffWorkflow alone, as bare SpiffWorkflow would run it."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_str(xml.encode("utf-8"), filename=f"{process_id}.bpmn")
    spec = parser.get_spec(process_id)
    files = {f"{process_id}.bpmn": xml, **{name.replace("_json", ".json"): text for name, text in extra_files.items()}}
    digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    return ProcessDefinition(process_id, process_id, files, digest,
                             serialize_specs(spec, parser.get_subprocess_specs(process_id)))


@pytest.fixture
def deploy_model(session, clock):
    def deploy_named(xml: str, process_id: str, **extra_files: str):
        version = deploy(session, clock, definition(xml, process_id, **extra_files)).version
        session.commit()
        return version
    return deploy_named


def set_default_role(session, municipality, role):
    session.get(MunicipalityRecord, municipality.id).default_role = role
    session.commit()


# (a) roles

def test_a_user_task_outside_any_lane_goes_to_the_municipalitys_default_role(
        session, session_factory, clock, caseworker, municipality, deploy_model):
    version = deploy_model(model("no_lane", '<bpmn:startEvent id="start"/><bpmn:userTask id="work" name="受付"/>'
                                             '<bpmn:endEvent id="end"/>' + flows(("start", "work"), ("work", "end"))),
                           "no_lane")
    first = cases.start_case(session, clock, caseworker, version, "一件目")
    assert open_task(session_factory, first.id).role == "caseworker"

    set_default_role(session, municipality, "supervisor")
    second = cases.start_case(session, clock, caseworker, version, "二件目")

    assert open_task(session_factory, second.id).role == "supervisor"
    assert open_task(session_factory, first.id).role == "caseworker"  # a task keeps the role it was made with


def test_a_lane_mapped_by_tsunagu_json_goes_to_the_mapped_role(
        session, session_factory, clock, caseworker, municipality, deploy_model):
    set_default_role(session, municipality, "supervisor")
    mapped = deploy_model(lane_model("mapped", "相談員"), "mapped",
                          tsunagu_json=json.dumps({"lane_roles": {"相談員": "caseworker"}}))
    unmapped = deploy_model(lane_model("unmapped", "相談員"), "unmapped")

    assert open_task(session_factory, cases.start_case(session, clock, caseworker, mapped, "x").id).role == "caseworker"
    # A lane that names no role and is not mapped never becomes a role named after it.
    assert open_task(session_factory, cases.start_case(session, clock, caseworker, unmapped, "y").id).role == "supervisor"


def test_a_lane_named_after_a_role_keeps_that_role(session, session_factory, clock, caseworker, deploy_model):
    version = deploy_model(lane_model("lane_role", "supervisor"), "lane_role")

    assert open_task(session_factory, cases.start_case(session, clock, caseworker, version, "x").id).role == "supervisor"


def test_a_camunda_candidate_group_naming_a_role_is_used_when_the_lane_is_not(
        session, session_factory, clock, caseworker, municipality, deploy_model):
    case = cases.start_case(session, clock, caseworker,
                            deploy_model(lane_model("cg", "窓口"), "cg"), "x")
    view = UserTaskView("id", "work", "受付", "窓口", {}, {}, candidate_groups=("窓口係", "supervisor"))
    with session_factory() as other:
        stored = other.get(CaseRecord, case.id)
        assert cases.resolve_role(other, stored, cases.RoleMap(), view) == "supervisor"
        assert cases.resolve_role(other, stored, cases.RoleMap(), UserTaskView("id", "work", "受付", None, {}, {})) \
            == "caseworker"


# (b) manual tasks

def test_a_manual_task_is_a_human_task_completed_with_no_data(
        session, session_factory, clock, caseworker, deploy_model):
    version = deploy_model(MANUAL, "manual")
    case = cases.start_case(session, clock, caseworker, version, "電話")
    task = open_task(session_factory, case.id)
    assert (task.element_id, task.role, task.form_file) == ("call", "caseworker", None)
    assert reload_case(session_factory, case.id).status == CaseStatus.RUNNING

    cases.complete_task(session, clock, caseworker, task.id, {})

    assert open_task(session_factory, case.id).element_id == "confirm"
    assert submissions(session_factory, case.id) == []  # no form, nothing submitted; the audit says it was done
    assert audit_actions(session_factory, case.id) == ["case.started", "task.completed"]
    cases.complete_task(session, clock, caseworker, open_task(session_factory, case.id).id, {})
    assert reload_case(session_factory, case.id).status == CaseStatus.COMPLETED


def test_manual_task_instructions_render_as_markdown_with_html_escaped(deploy_model):
    version = deploy_model(MANUAL, "manual")
    text = instructions_of(version.spec, "call")

    rendered = render_instructions(text, {"person": "<b>山田</b>"})

    assert "<strong>&lt;b&gt;山田&lt;/b&gt;</strong>" in rendered
    assert "<script>" not in rendered and "&lt;script&gt;" in rendered
    assert "href=\"javascript" not in render_instructions("[x](javascript:alert(1)) [y](https://example.jp)")
    assert '<a href="https://example.jp">y</a>' in render_instructions("[y](https://example.jp)")


# (c) messages

def test_a_send_task_reaches_the_receive_task_of_its_own_case(
        session, session_factory, clock, caseworker, deploy_model):
    case = cases.start_case(session, clock, caseworker, deploy_model(SAME_CASE, "same_case"), "通知")

    cases.complete_task(session, clock, caseworker, open_task(session_factory, case.id).id, {})

    assert open_task(session_factory, case.id).element_id == "after"
    assert reload_case(session_factory, case.id).status == CaseStatus.RUNNING


def _waiting_case(session, session_factory, clock, caseworker, version, ref):
    case = cases.start_case(session, clock, caseworker, version, f"待機 {ref}")
    cases.complete_task(session, clock, caseworker, open_task(session_factory, case.id).id, {"ref": ref})
    assert reload_case(session_factory, case.id).status == CaseStatus.WAITING
    return case


def test_a_send_task_reaches_the_other_case_waiting_with_the_same_correlation(
        session, session_factory, clock, caseworker, deploy_model):
    waiter = deploy_model(WAITER, "waiter")
    case_a = _waiting_case(session, session_factory, clock, caseworker, waiter, "A-1")
    case_b = _waiting_case(session, session_factory, clock, caseworker, waiter, "B-2")
    sender = cases.start_case(session, clock, caseworker, deploy_model(SENDER, "sender"), "回答")

    cases.complete_task(session, clock, caseworker, open_task(session_factory, sender.id).id, {"ref": "A-1"})

    assert reload_case(session_factory, sender.id).status == CaseStatus.COMPLETED
    answered = open_task(session_factory, case_a.id)
    assert answered.element_id == "answered"
    assert reload_case(session_factory, case_a.id).status == CaseStatus.RUNNING
    assert "case.message_received" in audit_actions(session_factory, case_a.id)
    # The other waiting case has another reference: the message is not its.
    assert reload_case(session_factory, case_b.id).status == CaseStatus.WAITING
    assert [t.status for t in task_rows(session_factory, case_b.id)] == [TaskStatus.COMPLETED]


def test_a_message_without_correlation_stays_in_its_own_case(
        session, session_factory, clock, caseworker, deploy_model):
    waiting = cases.start_case(session, clock, caseworker, deploy_model(PLAIN_WAITER, "plain_waiter"), "待機")
    assert reload_case(session_factory, waiting.id).status == CaseStatus.WAITING
    sender = cases.start_case(session, clock, caseworker, deploy_model(PLAIN_SENDER, "plain_sender"), "送信")

    cases.complete_task(session, clock, caseworker, open_task(session_factory, sender.id).id, {})

    assert reload_case(session_factory, sender.id).status == CaseStatus.COMPLETED
    assert reload_case(session_factory, waiting.id).status == CaseStatus.WAITING


# (d) message start events

def test_a_process_that_starts_on_a_message_gets_its_first_human_task(
        session, session_factory, clock, caseworker, deploy_model):
    case = cases.start_case(session, clock, caseworker, deploy_model(MESSAGE_START, "message_start"), "申請")

    assert reload_case(session_factory, case.id).status == CaseStatus.RUNNING
    assert open_task(session_factory, case.id).element_id == "start_form"


# (e) errors

def test_a_script_raising_key_error_puts_the_case_in_error_naming_the_element(
        session, session_factory, clock, caseworker, deploy_model):
    case = cases.start_case(session, clock, caseworker, deploy_model(KEY_ERROR, "key_error"), "検索")

    returned = cases.complete_task(session, clock, caseworker, open_task(session_factory, case.id).id, {})

    assert returned.status == CaseStatus.ERROR
    stored = reload_case(session_factory, case.id)
    assert (stored.status, stored.error_element) == (CaseStatus.ERROR, "lookup")
    assert "KeyError" in stored.error_message and "missing" in stored.error_message
    assert audit_actions(session_factory, case.id)[-1] == "case.error"


def test_a_service_task_that_reaches_the_runtime_stops_the_case_with_its_code(
        session, session_factory, clock, caseworker, deploy_model):
    case = cases.start_case(session, clock, caseworker, deploy_model(SERVICE, "service"), "照会")

    cases.complete_task(session, clock, caseworker, open_task(session_factory, case.id).id, {})

    stored = reload_case(session_factory, case.id)
    assert (stored.status, stored.error_element) == (CaseStatus.ERROR, "call_out")
    assert stored.error_message.startswith("service_task_unsupported")


def test_a_python_error_inside_spiffworkflow_itself_stops_the_case(
        session, session_factory, clock, caseworker, deploy_model, monkeypatch):
    case = cases.start_case(session, clock, caseworker, deploy_model(KEY_ERROR, "key_error"), "検索")
    task = open_task(session_factory, case.id)

    def broken(self, *args, **kwargs):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(ScriptTask, "_execute", broken)
    cases.complete_task(session, clock, caseworker, task.id, {})

    stored = reload_case(session_factory, case.id)
    assert (stored.status, stored.error_element) == (CaseStatus.ERROR, "lookup")
    assert stored.error_message == "TypeError: unsupported operand"


# (f) signals

def test_a_signal_raised_from_the_task_follows_the_boundary_path(
        session, session_factory, clock, caseworker, deploy_model):
    case = cases.start_case(session, clock, caseworker, deploy_model(SIGNAL, "signal_boundary"), "訪問")
    task = open_task(session_factory, case.id)

    cases.raise_task_signal(session, clock, caseworker, task.id, "escalate")

    rows = {t.element_id: t.status for t in task_rows(session_factory, case.id)}
    assert rows == {"work": TaskStatus.CANCELLED, "escalated": TaskStatus.OPEN}
    assert "task.signal_raised" in audit_actions(session_factory, case.id)


def test_a_signal_not_offered_on_the_task_is_refused_and_changes_nothing(
        session, session_factory, clock, caseworker, deploy_model):
    case = cases.start_case(session, clock, caseworker, deploy_model(SIGNAL, "signal_boundary"), "訪問")
    task = open_task(session_factory, case.id)
    before = reload_case(session_factory, case.id).lock_version

    with pytest.raises(TsunaguError) as refused:
        cases.raise_task_signal(session, clock, caseworker, task.id, "nonexistent")

    assert refused.value.code == "signal_not_offered"
    assert reload_case(session_factory, case.id).lock_version == before
    assert session.scalar(select(CaseRecord.status).where(CaseRecord.id == case.id)) == CaseStatus.RUNNING
