"""Deploying process versions per municipality: the template for everyone, a municipality's own copy for
its new cases only, rollback by deploying an older folder, and what runs on each version."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from tsunagu.engine.access import users
from tsunagu.engine.commands import cases, events
from tsunagu.engine.errors import Forbidden, FormInvalid, NotFound
from tsunagu.engine.models import AuditRecord, CaseRecord, CaseStatus, MunicipalityRecord, ProcessVersionRecord
from tsunagu.processes.deployment import deploy, deploy_folder_tree
from tsunagu.processes.loader import build_definition, load_definition
from tsunagu.processes.registry import live_version, process_overview, startable_versions

from .helpers import count, open_task, reload_case
from .versions import LONG_NOTE, changed_definition

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"
SHIPPED = Path(__file__).resolve().parents[2] / "bpmn"
MAIN = "kodoku_koritsu_case"


@pytest.fixture
def other_town(session):
    town = MunicipalityRecord(code="131024", name="中央区")
    session.add(town)
    session.commit()
    return town


@pytest.fixture
def other_caseworker(session, clock, other_town, user_password):
    user = users.create_user(session, clock, municipality_id=other_town.id, username="chuo-caseworker",
                             display_name="中央 一子", password=user_password, roles=["caseworker"])
    session.commit()
    return user


@pytest.fixture
def divider(session, clock):
    """The two-task fixture process (enter a divisor, confirm the result) as the national template."""
    result = deploy(session, clock, load_definition(FIXTURES / "failing_script"))
    session.commit()
    return result.version


def divisor_at_most(definition, maximum: int):
    """The divider with a limit on its divisor: a changed copy a municipality might deploy."""
    schema = json.loads(definition.files["value-schema.json"])
    schema["properties"]["divisor"]["maximum"] = maximum
    return build_definition({**definition.files, "value-schema.json": json.dumps(schema)}, definition.process_id)


def audit_rows(session_factory, action: str) -> list[AuditRecord]:
    with session_factory() as fresh:
        return list(fresh.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id)))


def finish(session, session_factory, clock, user, case) -> None:
    """Complete both tasks of a divider case, so it is closed."""
    for _ in range(2):
        cases.complete_task(session, clock, user, open_task(session_factory, case.id).id, {"divisor": 5})
    assert reload_case(session_factory, case.id).status == CaseStatus.COMPLETED


def test_deploying_unchanged_files_is_a_no_op_that_says_so_and_writes_nothing(
        session, session_factory, clock, municipality, standard_definition):
    for scope in (None, municipality.id):
        assert deploy(session, clock, standard_definition, municipality_id=scope).outcome == "created"
        session.commit()
    versions, audits = count(session_factory, ProcessVersionRecord), count(session_factory, AuditRecord)
    clock.advance(timedelta(days=1))

    for scope in (None, municipality.id):
        again = deploy(session, clock, standard_definition, municipality_id=scope, note="もう一度")
        session.commit()
        assert (again.outcome, again.version.version_number) == ("unchanged", 1)
        assert again.version.activated_at == clock() - timedelta(days=1)

    assert (count(session_factory, ProcessVersionRecord), count(session_factory, AuditRecord)) == (versions, audits)
    assert [r.detail["scope"] for r in audit_rows(session_factory, "process.deployed")] == ["template", "municipal"]


def test_a_municipality_s_own_version_starts_its_new_cases_while_others_and_running_cases_keep_theirs(
        session, session_factory, clock, municipality, caseworker, other_caseworker, standard_definition,
        standard_version, intake_data, assessment_data):
    running = cases.start_case(session, clock, caseworker, live_version(session, municipality.id, MAIN), "前から")
    cases.complete_task(session, clock, caseworker, open_task(session_factory, running.id).id, intake_data)

    own = deploy(session, clock, changed_definition(standard_definition), municipality_id=municipality.id,
                 note="所見は10字まで", operator="ops")
    session.commit()

    assert (own.outcome, own.version.version_number, own.version.municipality_id) == ("created", 1, municipality.id)
    assert live_version(session, municipality.id, MAIN).id == own.version.id
    assert live_version(session, other_caseworker.municipality_id, MAIN).id == standard_version.id
    assert [v.id for v in startable_versions(session, municipality.id)] == [own.version.id]
    assert [v.id for v in startable_versions(session, other_caseworker.municipality_id)] == [standard_version.id]
    (deployed,) = audit_rows(session_factory, "process.deployed")[-1:]
    assert deployed.detail | {"hash": "-"} == {
        "process": MAIN, "scope": "municipal", "municipality": municipality.id, "version_number": 1,
        "hash": "-", "note": "所見は10字まで", "via": "cli", "operator": "ops"}

    # The running case finishes its assessment under the old version's longer limit.
    cases.complete_task(session, clock, caseworker, open_task(session_factory, running.id).id,
                        dict(assessment_data, assessment_note=LONG_NOTE))
    assert reload_case(session_factory, running.id).process_version_id == standard_version.id
    assert open_task(session_factory, running.id).element_id == "consent_capture"

    def start_and_assess(user):
        case = cases.start_case(session, clock, user, live_version(session, user.municipality_id, MAIN), "新規")
        cases.complete_task(session, clock, user, open_task(session_factory, case.id).id, intake_data)
        cases.complete_task(session, clock, user, open_task(session_factory, case.id).id,
                            dict(assessment_data, assessment_note=LONG_NOTE))
        return case

    with pytest.raises(FormInvalid) as caught:
        start_and_assess(caseworker)
    assert [(e.field, e.code) for e in caught.value.errors] == [("assessment_note", "maxLength")]
    elsewhere = start_and_assess(other_caseworker)
    assert reload_case(session_factory, elsewhere.id).process_version_id == standard_version.id
    assert open_task(session_factory, elsewhere.id).element_id == "consent_capture"


def test_deploying_an_older_folder_again_makes_it_live_again(
        session, session_factory, clock, municipality, standard_definition, standard_version):
    first = deploy(session, clock, changed_definition(standard_definition, limit=10), municipality_id=municipality.id)
    second = deploy(session, clock, changed_definition(standard_definition, limit=20), municipality_id=municipality.id)
    session.commit()
    assert live_version(session, municipality.id, MAIN).id == second.version.id

    # Same clock reading as the deploys above: the rollback must still win.
    back = deploy(session, clock, changed_definition(standard_definition, limit=10), municipality_id=municipality.id,
                  note="20字版は取りやめ")
    session.commit()

    assert (back.outcome, back.version.id, back.version.version_number) == ("reactivated", first.version.id, 1)
    assert live_version(session, municipality.id, MAIN).id == first.version.id
    assert count(session_factory, ProcessVersionRecord) == 3  # the template and two of the municipality's own
    (reactivated,) = audit_rows(session_factory, "process.reactivated")
    assert (reactivated.detail["version_number"], reactivated.detail["note"]) == (1, "20字版は取りやめ")

    clock.advance(timedelta(minutes=5))
    forward = deploy(session, clock, changed_definition(standard_definition, limit=20), municipality_id=municipality.id)
    session.commit()
    assert (forward.outcome, live_version(session, municipality.id, MAIN).version_number) == ("reactivated", 2)
    assert live_version(session, None, MAIN).id == standard_version.id  # the template never moved


def test_a_case_cannot_be_started_on_another_municipality_s_version(
        session, session_factory, clock, caseworker, other_caseworker, divider):
    theirs = deploy(session, clock, divisor_at_most(load_definition(FIXTURES / "failing_script"), 9),
                    municipality_id=other_caseworker.municipality_id).version
    session.commit()

    with pytest.raises(NotFound) as refused:
        cases.start_case(session, clock, caseworker, theirs, "よその版")
    with pytest.raises(NotFound) as missing:
        live_version(session, caseworker.municipality_id, "no_such_process")

    assert (refused.value.code, refused.value.element) == ("not_found", "failing_script")
    assert str(refused.value) == str(missing.value).replace("no_such_process", "failing_script")
    assert count(session_factory, CaseRecord) == 0
    assert cases.start_case(session, clock, other_caseworker, theirs, "自分の版").process_version_id == theirs.id


def test_the_overview_counts_open_and_all_cases_per_version_in_one_grouped_query(
        session, session_factory, clock, engine, municipality, caseworker, other_caseworker, divider):
    finished = cases.start_case(session, clock, caseworker, divider, "終わった")
    finish(session, session_factory, clock, caseworker, finished)
    cases.start_case(session, clock, caseworker, divider, "進行中")
    cases.start_case(session, clock, other_caseworker, divider, "よその進行中")
    own = deploy(session, clock, divisor_at_most(load_definition(FIXTURES / "failing_script"), 9),
                 municipality_id=municipality.id, note="割る数は9まで").version
    session.commit()
    cases.start_case(session, clock, caseworker, own, "新版")

    statements = []

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    (item,) = process_overview(session, municipality.id)
    event.remove(engine, "before_cursor_execute", note)

    assert (item.process_id, item.live.version.id, item.live.scope) == ("failing_script", own.id, "municipal")
    assert (item.deployed_by, item.note) == (None, "割る数は9まで")  # None: the command line
    assert [(u.scope, u.version.version_number, u.live, u.open_cases, u.all_cases) for u in item.versions] == [
        ("template", 1, False, 1, 2), ("municipal", 1, True, 1, 1)]
    assert len(statements) <= 3  # versions, their deployers, one grouped count: not one query per version

    (theirs,) = process_overview(session, other_caseworker.municipality_id)
    assert [(u.scope, u.open_cases, u.all_cases) for u in theirs.versions] == [("template", 1, 1)]
    (template,) = process_overview(session, None)
    assert [(u.scope, u.open_cases, u.all_cases) for u in template.versions] == [("template", 2, 3)]


def test_reopening_starts_the_next_episode_on_the_municipality_s_live_version(
        session, session_factory, clock, municipality, caseworker, other_caseworker, divider):
    here = cases.start_case(session, clock, caseworker, divider, "こちら")
    there = cases.start_case(session, clock, other_caseworker, divider, "よそ")
    for user, case in ((caseworker, here), (other_caseworker, there)):
        finish(session, session_factory, clock, user, case)
    own = deploy(session, clock, divisor_at_most(load_definition(FIXTURES / "failing_script"), 9),
                 municipality_id=municipality.id).version
    session.commit()

    assert events.reopen_case(session, clock, caseworker, here.id).process_version_id == own.id
    assert events.reopen_case(session, clock, other_caseworker, there.id).process_version_id == divider.id


def test_the_shipped_tree_is_made_available_once_and_only_the_command_line_deploys_the_template(
        session, session_factory, clock, municipality, caseworker, standard_definition):
    first = deploy_folder_tree(session, clock, SHIPPED, operator="ops")
    session.commit()
    second = deploy_folder_tree(session, clock, SHIPPED, operator="ops")
    session.commit()

    assert [r.outcome for r in first] == ["created"] and [r.outcome for r in second] == ["unchanged"]
    assert live_version(session, municipality.id, MAIN).id == first[0].version.id
    with pytest.raises(Forbidden):
        deploy(session, clock, changed_definition(standard_definition), actor=caseworker)
    with pytest.raises(Forbidden):
        deploy(session, clock, standard_definition, municipality_id=municipality.id, actor=caseworker)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ProcessVersionRecord)) == 1
