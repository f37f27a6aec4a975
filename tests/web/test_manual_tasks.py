"""Tasks of models made elsewhere on the task page: instructions and a done button, signal buttons,
and an engine error that answers a Japanese page instead of a server error."""
from __future__ import annotations

import hashlib
import json

import pytest
from page_text import element, text
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import select

from tsunagu.engine.models import CaseRecord, CaseStatus, TaskRecord, TaskStatus
from tsunagu.engine.runtime.workflow import serialize_specs
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import ProcessDefinition

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="http://example.org/t">\n')


def model(process_id: str, nodes: str, pairs, before: str = "") -> str:
    flows = "\n".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>' for i, (a, b) in enumerate(pairs))
    return (f'{HEAD}{before}<bpmn:process id="{process_id}" name="{process_id}" isExecutable="true">\n{nodes}\n{flows}\n'
            '</bpmn:process>\n</bpmn:definitions>\n')


MANUAL = model("manual", '''<bpmn:startEvent id="start"/>
<bpmn:manualTask id="call" name="電話連絡"><bpmn:extensionElements><spiffworkflow:instructionsForEndUser>
## 連絡の手順

1. **本人** に電話する
2. [手引き](https://example.jp/guide) を読む

&lt;script&gt;alert("x")&lt;/script&gt;
</spiffworkflow:instructionsForEndUser></bpmn:extensionElements></bpmn:manualTask>
<bpmn:userTask id="confirm" name="確認"/><bpmn:endEvent id="end"/>''', [("start", "call"), ("call", "confirm"), ("confirm", "end")])

SIGNAL = model("signal_boundary", '''<bpmn:startEvent id="start"/><bpmn:userTask id="work" name="訪問"/>
<bpmn:boundaryEvent id="escalate_event" name="緊急" attachedToRef="work"><bpmn:signalEventDefinition id="sed" signalRef="escalate"/></bpmn:boundaryEvent>
<bpmn:userTask id="escalated" name="緊急対応"/><bpmn:endEvent id="end"/><bpmn:endEvent id="end2"/>''',
               [("start", "work"), ("work", "end"), ("escalate_event", "escalated"), ("escalated", "end2")],
               '<bpmn:signal id="escalate" name="緊急連絡"/>\n')

KEY_ERROR = model("key_error", '''<bpmn:startEvent id="start"/><bpmn:userTask id="before" name="入力"/>
<bpmn:scriptTask id="lookup" name="検索"><bpmn:script>value = {"a": 1}["missing"]</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="end"/>''', [("start", "before"), ("before", "lookup"), ("lookup", "end")])


@pytest.fixture
def deploy_model(session, clock):
    """Deploy an inline model as bare SpiffWorkflow parses it, without the upload checks."""
    def deploy_named(xml: str, process_id: str):
        parser = SpiffBpmnParser(validator=VALIDATOR)
        parser.add_bpmn_str(xml.encode("utf-8"), filename=f"{process_id}.bpmn")
        files = {f"{process_id}.bpmn": xml}
        definition = ProcessDefinition(process_id, process_id, files,
                                       hashlib.sha256(json.dumps(files).encode()).hexdigest(),
                                       serialize_specs(parser.get_spec(process_id),
                                                       parser.get_subprocess_specs(process_id)))
        version = deploy(session, clock, definition).version
        session.commit()
        return version
    return deploy_named


def _start(client, version) -> str:
    response = client.post("/cases/new", data={"version_id": version.id, "title": "外部モデル"})
    assert response.status_code == 302
    return response.headers["Location"]


def _open_tasks(session, case_id):
    session.expire_all()
    return list(session.scalars(select(TaskRecord).where(TaskRecord.case_id == case_id,
                                                         TaskRecord.status == TaskStatus.OPEN)))


def test_a_manual_task_page_shows_its_instructions_and_a_done_button(client, login, caseworker, deploy_model):
    login(caseworker)
    task_url = _start(client, deploy_model(MANUAL, "manual"))

    response = client.get(task_url)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    instructions = html[html.index('id="task-instructions"'):html.index('id="task-form"')]
    assert "<h2>連絡の手順</h2>" in instructions
    assert "<strong>本人</strong>" in instructions
    assert '<a href="https://example.jp/guide">手引き</a>' in instructions
    assert "<script>" not in instructions and "&lt;script&gt;" in instructions
    assert '<button type="submit" class="primary">完了</button>' in html
    assert "<h1>電話連絡</h1>" in html


def test_posting_the_done_button_completes_the_manual_task(client, login, caseworker, deploy_model, session):
    login(caseworker)
    task_url = _start(client, deploy_model(MANUAL, "manual"))
    task_id = int(task_url.rstrip("/").split("/")[-1])

    response = client.post(task_url, data={})

    assert response.status_code == 302
    task = session.get(TaskRecord, task_id)
    session.refresh(task)
    assert task.status == TaskStatus.COMPLETED
    assert [t.element_id for t in _open_tasks(session, task.case_id)] == ["confirm"]


def test_a_signal_button_moves_the_case_along_the_boundary_path(client, login, caseworker, deploy_model, session):
    login(caseworker)
    task_url = _start(client, deploy_model(SIGNAL, "signal_boundary"))
    task_id = int(task_url.rstrip("/").split("/")[-1])
    html = client.get(task_url).get_data(as_text=True)
    assert "緊急連絡" in text(element(html, "task-signals"))

    response = client.post(f"/tasks/{task_id}/signal", data={"signal": "緊急連絡"})

    assert response.status_code == 302
    case_id = session.get(TaskRecord, task_id).case_id
    assert [t.element_id for t in _open_tasks(session, case_id)] == ["escalated"]
    assert session.get(TaskRecord, task_id).status == TaskStatus.CANCELLED


def test_a_signal_the_task_does_not_offer_answers_a_page_and_changes_nothing(
        client, login, caseworker, deploy_model, session):
    login(caseworker)
    task_url = _start(client, deploy_model(SIGNAL, "signal_boundary"))
    task_id = int(task_url.rstrip("/").split("/")[-1])

    response = client.post(f"/tasks/{task_id}/signal", data={"signal": "<b>偽物</b>"}, follow_redirects=True)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<li class="flash error">' in html and 'id="task-signals"' in html  # back on the task page
    assert "<b>偽物</b>" not in html
    assert session.get(TaskRecord, task_id).status == TaskStatus.OPEN


def test_a_runtime_exception_answers_a_japanese_page_not_a_server_error(
        client, login, caseworker, deploy_model, session):
    login(caseworker)
    task_url = _start(client, deploy_model(KEY_ERROR, "key_error"))

    response = client.post(task_url, data={}, follow_redirects=True)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<li class="flash error">' in html and "手順「lookup」でエラーが発生し" in html  # the case page, naming the step
    assert '<html lang="ja"' in html
    case = session.scalars(select(CaseRecord).order_by(CaseRecord.id.desc())).first()
    session.refresh(case)
    assert case.status == CaseStatus.ERROR and case.error_element == "lookup"
