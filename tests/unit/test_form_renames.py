"""Which elements of a package use a data name, as a form field's rename checks them: a whole identifier in
scripts, conditions, timers, message payloads, properties and decision tables, never inside a string."""
from __future__ import annotations

from tsunagu.processes.form_renames import name_uses, uses_name

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d">
  <bpmn:message id="m1" name="reply">
    <bpmn:extensionElements><spiffworkflow:messageVariable>reply_text</spiffworkflow:messageVariable>
    </bpmn:extensionElements>
  </bpmn:message>
  <bpmn:process id="p" isExecutable="true">
    <bpmn:scriptTask id="score" name="点数"><bpmn:script>total = data.get("age") + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="ask" name="聞き取り">
      <bpmn:extensionElements>
        <spiffworkflow:preScript>greeting = "age"</spiffworkflow:preScript>
        <spiffworkflow:properties>
          <spiffworkflow:property name="candidateBody" value="owner_body" />
          <spiffworkflow:property name="formJsonSchemaFilename" value="wait.json" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sendTask id="send" name="送信">
      <bpmn:extensionElements><spiffworkflow:messagePayload>{"to": recipient}</spiffworkflow:messagePayload>
      </bpmn:extensionElements>
    </bpmn:sendTask>
    <bpmn:intermediateCatchEvent id="wait" name="待機">
      <bpmn:timerEventDefinition><bpmn:timeDuration>wait_days</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="score" targetRef="ask">
      <bpmn:conditionExpression>level == "wait_days"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>"""

DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="t" name="t">
  <decision id="band" name="区分">
    <decisionTable id="dt">
      <input id="i1"><inputExpression id="e1"><text>score</text></inputExpression></input>
      <output id="o1" name="band_out" />
      <rule id="r1"><inputEntry id="ie1"><text>&gt; threshold</text></inputEntry>
        <outputEntry id="oe1"><text>"high"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""

FILES = {"p.bpmn": BPMN, "t.dmn": DMN}


def test_a_name_is_used_as_a_variable_or_a_key_but_not_as_a_string_value():
    assert uses_name("x = age + 1", "age") and uses_name('data["age"]', "age") and uses_name('d.get("age")', "age")
    assert not uses_name('level == "age"', "age") and not uses_name("ages = 1", "age")
    assert uses_name("> age and", "age") and not uses_name('> "age" and', "age")  # not Python: the words


def test_each_kind_of_element_using_a_name_is_found_with_its_file_id_and_how():
    def found(name):
        return [(u.file, u.element, u.how) for u in name_uses(FILES, name)]

    assert found("age") == [("p.bpmn", "score", "script")]  # the pre-script only holds the string "age"
    assert found("wait_days") == [("p.bpmn", "wait", "timer")]  # the condition compares with a string
    assert found("level") == [("p.bpmn", "f1", "condition")]
    assert found("recipient") == [("p.bpmn", "send", "message")]
    assert found("reply_text") == [("p.bpmn", "m1", "message")]
    assert found("owner_body") == [("p.bpmn", "ask", "property")]
    assert found("score") == [("t.dmn", "band", "decision_input")]
    assert found("threshold") == [("t.dmn", "band", "decision_rule")]
    assert found("band_out") == [("t.dmn", "band", "decision_output")]
    assert found("high") == [] and found("wait") == []
