"""The "try it" box of a decision table: the table evaluated on sample inputs exactly as a case runs it.

No second evaluator: the decision is called from a one-task process by a business rule task, stored and
restored through the runtime's serializer and run by `run_engine_steps` with the sandboxed script
engine, so an entry that would stop a case stops the trial with the same code (`script_timeout`, ...).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.spiff.parser.process import VALIDATOR
from SpiffWorkflow.util.task import TaskState

from tsunagu.engine.errors import TsunaguError
from tsunagu.engine.runtime.workflow import StepFailed, new_workflow, run_engine_steps, serialize_specs

from .decision_tables import DecisionTable, DecisionTableInvalid, EntryProblem, check_table, read_table
from .dialects import PackageParser
from .expressions import SANDBOX_NAMES

TRIAL_PROCESS = "tsunagu_decision_trial"
MAX_VALUE_LENGTH = 1000
_TRIAL_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Definitions_trial"
  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{process}" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>to_decide</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="to_decide" sourceRef="start" targetRef="decide" />
    <bpmn:businessRuleTask id="decide">
      <bpmn:extensionElements><spiffworkflow:calledDecisionId>{decision}</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>to_decide</bpmn:incoming><bpmn:outgoing>to_end</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="to_end" sourceRef="decide" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>to_end</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


@dataclass(frozen=True)
class Trial:
    """What the table gave for the sample inputs: each output's value and the rules (from 1) that matched."""

    outputs: dict[str, Any]
    matched: list[int]  # every rule whose input entries all matched
    applied: list[int]  # the rules whose outputs the hit policy used


class TrialFailed(TsunaguError):
    """Evaluating the table stopped, as it would stop a case: `limit` names a sandbox limit if one was hit."""

    code = "decision_trial_failed"


def input_names(table: DecisionTable) -> list[str]:
    """The task-data variables the input expressions read, in order: one field each in the try-it box."""
    names: list[str] = []
    for column in table.inputs:
        try:
            tree = ast.parse(column.expression or "", mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in SANDBOX_NAMES \
                    and node.id not in names and not node.id.startswith("_"):
                names.append(node.id)
    return names


def parse_value(text: str) -> Any:
    """A sample value as typed: a Python literal (`True`, `9`, `"none"`, `["a"]`), else the text itself;
    an empty field is None."""
    text = text.strip()
    if not text:
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if len(text) > MAX_VALUE_LENGTH:
        raise TrialFailed(f"a sample value may be at most {MAX_VALUE_LENGTH} characters", element="value_too_long")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def evaluate(files: dict[str, str], file_name: str, decision_id: str, inputs: dict[str, Any]) -> Trial:
    """Run the decision on `inputs` as a case's business rule task runs it; the outputs and matched rules."""
    table = read_table(files, file_name, decision_id)
    problems = check_table(table)
    if problems:
        raise DecisionTableInvalid(problems, element=decision_id[:200])
    parser = PackageParser(validator=VALIDATOR)
    try:
        parser.add_dmn_str(files[file_name].encode("utf-8"), filename=file_name)
        parser.add_bpmn_str(_TRIAL_BPMN.format(process=TRIAL_PROCESS, decision=decision_id).encode("utf-8"),
                            filename="trial.bpmn")
        spec_json = serialize_specs(parser.get_spec(TRIAL_PROCESS), {})
    except Exception as exc:  # noqa: BLE001  (whatever SpiffWorkflow cannot read is a problem, never a 500)
        raise DecisionTableInvalid([EntryProblem("dmn_unreadable", f"SpiffWorkflow cannot read the table: {exc}")],
                                   element=decision_id[:200]) from None
    workflow = new_workflow(spec_json)
    start = workflow.get_tasks(state=TaskState.READY)[0]
    start.set_data(**inputs)
    try:
        run_engine_steps(workflow)
        decided = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "decide"][0]
        # The same engine object decides which rules matched, on the data the task was given.
        matched = decided.task_spec.dmnEngine.decide(start)
    except StepFailed as failed:
        raise TrialFailed(failed.message, element=decision_id[:200], limit=failed.details.get("limit")) from None
    except Exception as exc:  # noqa: BLE001  (see run_engine_steps: a model can make Spiff raise anything)
        raise TrialFailed(f"{type(exc).__name__}: {exc}", element=decision_id[:200]) from None
    names = [(o.name or o.label).split(".")[0] for o in table.outputs]
    numbers = [rule.row_number for rule in matched]
    return Trial({name: decided.data.get(name) for name in names if name}, numbers,
                 numbers if table.hit_policy == "COLLECT" else numbers[:1])
