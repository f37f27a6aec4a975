"""Engine overhead: the standard process's main path through Tsunagu's engine commands, with persistence,
against the same diagrams on bare SpiffWorkflow in memory (the floor).

The path (`bpmn/kodoku_koritsu_case`): open the case, intake, baseline assessment (the risk triage
decision table runs after it), consent, tabling, the council's decision with two support actions, each
action accepted, first contact and delivered by its member body's partner, the review timer fired by
the scheduler, the review assessment, the follow-up review (close) and the closure: 16 commands, each in
a fresh session as a request would run it, on a private SQLite file or PostgreSQL schema.

The floor replays, on bare SpiffWorkflow, exactly what the engine handed SpiffWorkflow in one recorded
case (the same diagrams as parsed for the version, the same task data, messages and timer moments):
per step a `deserialize_json`, the step (`task.run()` or `send_event`, then `do_engine_steps()`) and a
`serialize_json` with SpiffWorkflow's own serializer (specs included, as it stores them). Scripts,
conditions and decision tables run in SpiffWorkflow's in-process `PythonScriptEngine` with the same
helpers (`now`, `add_duration`); a second floor uses Tsunagu's sandboxed script engine (the worker pool)
instead, to show what the sandbox alone adds. Timers read the recorded moment through Tsunagu's engine
clock hook (a context variable), since SpiffWorkflow itself reads the wall clock.

    .venv/bin/python bench/engine_overhead.py                    # SQLite, 20 cases
    .venv/bin/python bench/engine_overhead.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/engine_overhead.py --cases 5 --json /tmp/engine.json
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from databases import Database  # bench/databases.py, beside this script
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment  # noqa: E402
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.bpmn.util.event import BpmnEvent  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from tests.integration.scenario import (  # noqa: E402  (the integration tests' form data)
    ACCEPT,
    CLOSURE_GOAL,
    DELIVERED,
    FIRST_CONTACT,
    assessment,
    consent_given,
    intake,
    review,
    tabling,
)
from tsunagu.engine.access.users import create_user  # noqa: E402
from tsunagu.engine.casefile.governance import CouncilMunicipalityRecord, CouncilRecord  # noqa: E402
from tsunagu.engine.casefile.tables import ActionTypeRecord, AgendaItemRecord  # noqa: E402
from tsunagu.engine.clock import FixedClock  # noqa: E402
from tsunagu.engine.commands import cases, council, scheduler  # noqa: E402
from tsunagu.engine.commands.queries import open_tasks_of_case  # noqa: E402
from tsunagu.engine.models import CaseRecord, CaseStatus, MunicipalityRecord, ProcessVersionRecord, UserRecord  # noqa: E402
from tsunagu.engine.runtime.helpers import SCRIPT_GLOBALS  # noqa: E402
from tsunagu.engine.runtime.timers import engine_now, engine_time  # noqa: E402
from tsunagu.engine.runtime.workflow import SCRIPT_ENGINE, dump_state, load_state, new_workflow  # noqa: E402
from tsunagu.processes.catalogue import install_catalogue  # noqa: E402
from tsunagu.processes.deployment import deploy  # noqa: E402
from tsunagu.processes.loader import load_definition  # noqa: E402

STANDARD = ROOT / "bpmn" / "kodoku_koritsu_case"
JST = ZoneInfo("Asia/Tokyo")
FIRST_DAY = date(2027, 1, 4)
STRIDE = timedelta(days=40)  # each case has its own weeks, so only its own review timer is ever due
REVIEW_AFTER = timedelta(days=30)
ACTION_BODIES = (("home_visit", "shakyo"), ("phone_check", "houkatsu"))
WARM_UP = 2


# --- the municipality and its people -----------------------------------------------------------------

@dataclass
class World:
    """Ids of what every case of the path needs: the version, the users per role, the bodies."""

    db: Database
    version_id: int
    caseworker_id: int
    coordinator_id: int
    partner_ids: dict[int, int]  # member body id -> its partner's user id
    bodies: dict[str, int]
    action_types: dict[str, int]
    cases_made: int = 0


def make_world(db: Database) -> World:
    """A municipality with its member bodies, council, a caseworker, a coordinator, one partner per body
    and the standard process deployed."""
    clock = FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=JST))
    with db.session_factory() as session:
        town = MunicipalityRecord(code="139997", name="ベンチ市")
        session.add(town)
        session.flush()
        bodies = install_catalogue(session, town.id)
        body = CouncilRecord(name="ベンチ市孤独・孤立対策地域協議会", established_on=date(2024, 4, 1),
                             coordinating_body_id=bodies["fukushi"].id, coordinating_designated_on=date(2024, 4, 1))
        session.add(body)
        session.flush()
        session.add(CouncilMunicipalityRecord(council_id=body.id, municipality_id=town.id))

        def user(name: str, role: str, organisation_id: int | None = None) -> int:
            return create_user(session, clock, municipality_id=town.id, username=name, display_name=name,
                               password="bench-engine-password", roles=[role], organisation_id=organisation_id).id

        caseworker, coordinator = user("caseworker", "caseworker"), user("coordinator", "coordinator", bodies["fukushi"].id)
        partners = {b.id: user(f"partner-{key}", "partner", b.id) for key, b in bodies.items()}
        version = deploy(session, clock, load_definition(STANDARD)).version
        session.commit()
        types = {t.code: t.id for t in session.scalars(select(ActionTypeRecord))}
        return World(db, version.id, caseworker, coordinator, partners, {k: b.id for k, b in bodies.items()}, types)


# --- the main path, one command per step -------------------------------------------------------------

@dataclass
class Walk:
    """One case on its way: its clock, its days and the timings of its steps."""

    world: World
    clock: FixedClock
    day0: date
    case_id: int = 0
    times: list[tuple[str, float]] = field(default_factory=list)

    def command(self, label: str, run: Callable[[Any], object]) -> None:
        """Run one command in a fresh session, as a request would, and time it."""
        began = time.perf_counter()
        with self.world.db.session_factory() as session:
            run(session)
        self.times.append((label, time.perf_counter() - began))
        self.clock.advance(timedelta(minutes=5))

    def user(self, session: Any, user_id: int) -> UserRecord:
        return session.get(UserRecord, user_id)

    def open_task(self, element: str, subject_id: int | None = None) -> tuple[int, int | None]:
        """The id of the case's open task of `element` (and, for an action's tasks, of that action)."""
        with self.world.db.session_factory() as session:
            found = [t for t in open_tasks_of_case(session, self.case_id) if t.element_id == element
                     and (subject_id is None or t.subject_id == subject_id)]
            if not found:
                status = session.get(CaseRecord, self.case_id)
                raise SystemExit(f"no open '{element}' on case {self.case_id} ({status.status}: "
                                 f"{status.error_element} {status.error_message})")
            return found[0].id, found[0].candidate_body_id

    def complete(self, label: str, element: str, user_id: int | None, data: dict, subject_id: int | None = None) -> None:
        task_id, body = self.open_task(element, subject_id)
        actor_id = user_id if user_id is not None else self.world.partner_ids[body]
        self.command(label, lambda s: cases.complete_task(s, self.clock, self.user(s, actor_id), task_id, dict(data)))


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JST)


def walk_to_decision(world: World, title: str) -> Walk:
    """Open a case and take it through intake, assessment, consent, tabling and the council's decision
    with two support actions: the middle of the process, waiting on the partners and the review timer."""
    day0 = FIRST_DAY + STRIDE * world.cases_made
    world.cases_made += 1
    walk = Walk(world, FixedClock(at(day0)), day0)
    worker, coordinator, bodies, iso = world.caseworker_id, world.coordinator_id, world.bodies, day0.isoformat()

    def start(session: Any) -> None:
        walk.case_id = cases.start_case(session, walk.clock, walk.user(session, worker),
                                        session.get(ProcessVersionRecord, world.version_id), title).id

    walk.command("start", start)
    walk.complete("intake", "intake", worker, intake(consultation_date=iso))
    walk.complete("baseline assessment", "baseline_assessment", worker, assessment(assessed_on=iso))
    walk.complete("consent", "consent_capture", worker,
                  consent_given([bodies["shakyo"], bodies["houkatsu"]], consent_date=iso))
    walk.complete("tabling", "table_case", coordinator, tabling(iso))
    with world.db.session_factory() as session:
        meeting_id = session.scalar(select(AgendaItemRecord.meeting_id).where(AgendaItemRecord.case_id == walk.case_id))
    decision = {"situation": "退職後、社会的な接点がほぼない", "risk": "high",
                "plan": "社会福祉協議会が訪問で関係をつくり、居場所につなぐ", "lead_body_id": bodies["shakyo"],
                "key_person": "長女（県外在住）", "next_review_on": (day0 + REVIEW_AFTER).isoformat(),
                "actions": [{"action_type_id": world.action_types[code], "owner_body_id": bodies[body]}
                            for code, body in ACTION_BODIES]}
    walk.command("council decision", lambda s: council.record_decision(
        s, walk.clock, walk.user(s, coordinator), meeting_id, walk.case_id, decision))
    return walk


def walk_to_closure(walk: Walk) -> None:
    """The rest of the main path: both actions delivered, the review timer, the review and the closure."""
    iso = walk.day0.isoformat()
    with walk.world.db.session_factory() as session:
        subjects = sorted(t.subject_id for t in open_tasks_of_case(session, walk.case_id)
                          if t.element_id == "action_response")
    for n, subject in enumerate(subjects, start=1):
        walk.complete(f"action {n}: response", "action_response", None, {**ACCEPT, "planned_start": iso}, subject)
        walk.complete(f"action {n}: first contact", "action_first_contact", None,
                      {**FIRST_CONTACT, "contacted_on": iso}, subject)
        walk.complete(f"action {n}: outcome", "action_outcome", None, {**DELIVERED, "completed_on": iso}, subject)
    review_day = walk.day0 + REVIEW_AFTER
    walk.clock.now = at(review_day, 9, 1)

    def fire(_session: Any) -> None:
        fired = scheduler.run_pass(walk.world.db.session_factory, walk.clock, scheduler.TimerPolicy(), "bench").fired
        if fired != [walk.case_id]:
            raise SystemExit(f"the review timer fired {fired}, expected [{walk.case_id}]")

    walk.command("review timer (scheduler)", fire)
    worker, later = walk.world.caseworker_id, review_day.isoformat()
    walk.complete("review assessment", "review_assessment", worker, assessment(assessed_on=later))
    walk.complete("follow-up review", "follow_up_review", worker, review("close", reviewed_on=later))
    walk.complete("closure", "closure", worker, {**CLOSURE_GOAL, "closed_on": later})
    with walk.world.db.session_factory() as session:
        case = session.get(CaseRecord, walk.case_id)
        if case.status != CaseStatus.COMPLETED:
            raise SystemExit(f"case {walk.case_id} ended {case.status}: {case.error_element} {case.error_message}")


def main_path(world: World, title: str) -> Walk:
    walk = walk_to_decision(world, title)
    walk_to_closure(walk)
    return walk


# --- recording what the engine hands SpiffWorkflow, and replaying it bare -----------------------------

@dataclass
class Operation:
    kind: str  # start, complete, message, timers
    moment: datetime
    element: str = ""
    action_id: Any = None
    data: dict = field(default_factory=dict)
    ready_after: list[str] = field(default_factory=list)


def _ready(workflow: BpmnWorkflow) -> list[str]:
    return sorted(t.task_spec.bpmn_id or t.task_spec.name for t in workflow.get_tasks(state=TaskState.READY, manual=True))


def record_path(world: World) -> list[tuple[str, list[Operation]]]:
    """Walk one case with the engine's calls into SpiffWorkflow recorded, per command."""
    steps: list[tuple[str, list[Operation]]] = []
    originals = (cases.start_workflow, cases.complete_user_task, council.deliver_message, scheduler.fire_timers)

    def recorded(make: Callable[..., Operation], original: Callable[..., None]) -> Callable[..., None]:
        def call(workflow: BpmnWorkflow, *args: Any) -> None:
            operation = make(workflow, *args)
            original(workflow, *args)
            operation.ready_after = _ready(workflow)
            steps[-1][1].append(operation)
        return call

    def complete(workflow: BpmnWorkflow, spiff_id: str, data: dict) -> Operation:
        task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True) if str(t.id) == spiff_id)
        return Operation("complete", engine_now(), task.task_spec.bpmn_id, task.data.get("action_id"), copy.deepcopy(data))

    cases.start_workflow = recorded(lambda w: Operation("start", engine_now()), cases.start_workflow)
    cases.complete_user_task = recorded(complete, cases.complete_user_task)
    council.deliver_message = recorded(lambda w, name, payload: Operation("message", engine_now(), name, None,
                                                                          copy.deepcopy(payload)),
                                       council.deliver_message)
    scheduler.fire_timers = recorded(lambda w: Operation("timers", engine_now()), scheduler.fire_timers)
    original_command = Walk.command

    def command(self: Walk, label: str, run: Callable[[Any], object]) -> None:
        steps.append((label, []))
        original_command(self, label, run)

    Walk.command = command  # type: ignore[method-assign]
    try:
        main_path(world, "記録するケース")
    finally:
        cases.start_workflow, cases.complete_user_task, council.deliver_message, scheduler.fire_timers = originals
        Walk.command = original_command  # type: ignore[method-assign]
    return steps


def floor_serializer() -> BpmnWorkflowSerializer:
    registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda v: date.fromisoformat(v["value"]))
    return BpmnWorkflowSerializer(registry)


@dataclass
class Store:
    """How the floor keeps a workflow between steps."""

    save: Callable[[BpmnWorkflow], str]
    load: Callable[[str], BpmnWorkflow]


def spiff_store(spec_json: str) -> Store:
    """SpiffWorkflow's own serializer, as it stores a workflow: the state with its specs."""
    serializer = floor_serializer()
    return Store(serializer.serialize_json, serializer.deserialize_json)


def runtime_store(spec_json: str) -> Store:
    """Tsunagu's runtime layer, no database: the state without its specs, joined back on load."""
    return Store(dump_state, lambda state: load_state(spec_json, state))


def replay(spec_json: str, steps: list[tuple[str, list[Operation]]], script_engine: PythonScriptEngine,
           store: Store, check: bool = False) -> list[tuple[str, float]]:
    """One case on bare SpiffWorkflow: per step load, run, save; return each step's seconds.

    With `check`, after each operation the tasks it waits on are compared with the engine's (untimed runs).
    """
    template = new_workflow(spec_json)  # the version's parsed diagrams, restored once, outside the timing
    spec, subprocess_specs = template.spec, template.subprocess_specs
    state = ""
    times = []
    for label, operations in steps:
        began = time.perf_counter()
        if state:
            workflow = store.load(state)
            workflow.script_engine = script_engine
        else:
            workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
        for op in operations:
            with engine_time(FixedClock(op.moment)):
                if op.kind == "start":
                    workflow.do_engine_steps()
                elif op.kind == "complete":
                    task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                                if t.task_spec.bpmn_id == op.element and t.data.get("action_id") == op.action_id)
                    task.set_data(**copy.deepcopy(op.data))
                    task.run()
                    workflow.do_engine_steps()
                elif op.kind == "message":
                    workflow.send_event(BpmnEvent(MessageEventDefinition(op.element), payload=copy.deepcopy(op.data)))
                    workflow.do_engine_steps()
                else:
                    workflow.refresh_timers()
                    workflow.do_engine_steps()
            if check and _ready(workflow) != op.ready_after:
                raise SystemExit(f"the floor diverged at {label}: waits on {_ready(workflow)}, "
                                 f"the engine on {op.ready_after}")
        state = store.save(workflow)
        times.append((label, time.perf_counter() - began))
    if not workflow.is_completed():
        raise SystemExit("the floor's case did not complete")
    return times


# --- the run -----------------------------------------------------------------------------------------

def per_step_medians(runs: list[list[tuple[str, float]]]) -> dict[str, float]:
    labels = [label for label, _ in runs[0]]
    return {label: statistics.median(run[i][1] for run in runs) for i, label in enumerate(labels)}


def measure(database_url: str | None, cases_timed: int) -> dict[str, Any]:
    db = Database(database_url)
    try:
        world = make_world(db)
        steps = record_path(world)
        for n in range(WARM_UP - 1):
            main_path(world, f"ならし {n}")
        walks = [main_path(world, f"ベンチ {n}").times for n in range(cases_timed)]
        with db.session_factory() as session:
            spec_json = session.get(ProcessVersionRecord, world.version_id).spec
    finally:
        db.drop()
    bare = PythonScriptEngine(environment=TaskDataEnvironment(dict(SCRIPT_GLOBALS)))
    floors = {}
    for name, engine, store in (("bare", bare, spiff_store(spec_json)), ("sandboxed", SCRIPT_ENGINE, spiff_store(spec_json)),
                                ("runtime", SCRIPT_ENGINE, runtime_store(spec_json))):
        replay(spec_json, steps, engine, store, check=True)  # the floor waits where the engine waited, step by step
        runs = [replay(spec_json, steps, engine, store) for _ in range(max(cases_timed, 10) + WARM_UP)][WARM_UP:]
        floors[name] = {"case_ms": statistics.median(sum(t for _, t in r) for r in runs) * 1000,
                        "step_ms": {label: ms * 1000 for label, ms in per_step_medians(runs).items()}}
    tsunagu_steps = per_step_medians(walks)
    case_ms = statistics.median(sum(t for _, t in w) for w in walks) * 1000
    floor_ms = floors["bare"]["case_ms"]
    return {
        "database": db.engine.dialect.name, "cases": cases_timed, "steps": len(steps),
        "case_ms": case_ms, "floor_ms": floor_ms, "floor_sandboxed_ms": floors["sandboxed"]["case_ms"],
        "runtime_ms": floors["runtime"]["case_ms"],
        "ratio": case_ms / floor_ms, "ratio_sandboxed": case_ms / floors["sandboxed"]["case_ms"],
        "ratio_runtime": case_ms / floors["runtime"]["case_ms"],
        "step_ms": {label: tsunagu_steps[label] * 1000 for label in tsunagu_steps},
        "floor_step_ms": floors["bare"]["step_ms"], "floor_sandboxed_step_ms": floors["sandboxed"]["step_ms"],
        "runtime_step_ms": floors["runtime"]["step_ms"],
        "per_step_ms": case_ms / len(steps), "floor_per_step_ms": floor_ms / len(steps),
    }


def report(result: dict[str, Any]) -> None:
    print(f"engine overhead: the standard process's main path, {result['steps']} steps, "
          f"median of {result['cases']} cases ({result['database']})")
    print(f"{'step':<28}{'Tsunagu ms':>11}{'floor ms':>10}{'ratio':>7}{'floor+sandbox':>15}{'runtime layer':>15}")
    for label, ms in result["step_ms"].items():
        bare = result["floor_step_ms"][label]
        print(f"{label:<28}{ms:>11.2f}{bare:>10.2f}{ms / bare:>7.1f}{result['floor_sandboxed_step_ms'][label]:>15.2f}"
              f"{result['runtime_step_ms'][label]:>15.2f}")
    print(f"{'whole case':<28}{result['case_ms']:>11.1f}{result['floor_ms']:>10.1f}{result['ratio']:>7.1f}"
          f"{result['floor_sandboxed_ms']:>15.1f}{result['runtime_ms']:>15.1f}")
    print(f"per step: Tsunagu {result['per_step_ms']:.2f} ms, floor {result['floor_per_step_ms']:.2f} ms; "
          f"Tsunagu / floor = {result['ratio']:.1f}x (against the sandboxed floor {result['ratio_sandboxed']:.1f}x, "
          f"against Tsunagu's runtime layer without the database {result['ratio_runtime']:.1f}x)")
    print("floor: bare SpiffWorkflow, in-process scripts, serialize_json/deserialize_json (specs included) per step; "
          "floor+sandbox: the same with Tsunagu's sandboxed script engine; runtime layer: Tsunagu's "
          "dump_state/load_state (specs stored once, joined back on load) and the sandbox, no database")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--cases", type=int, default=20, help="cases timed (median), after warm-up cases")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    result = measure(args.database_url, args.cases)
    report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
