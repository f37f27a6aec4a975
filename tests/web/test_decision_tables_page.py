"""Decision tables in the browser: a designer edits the standard process's risk triage in the page, saves it
as the draft, deploys it, and the next case's triage follows the edited rule."""
from __future__ import annotations

import pytest
from page_text import element, text
from sqlalchemy import select

from tsunagu.engine.commands import cases
from tsunagu.engine.commands.versions import live_version
from tsunagu.engine.models import ProcessDraftRecord, TaskRecord, TaskStatus
from tsunagu.processes import decision_tables, drafts

KEY = "kodoku_koritsu_case"
PAGE = f"/designer/processes/{KEY}/decisions/risk_triage"
INTAKE = {"consultation_date": "2026-11-27", "channel": "phone", "person_name": "山田 花子",
          "person_kana": "ヤマダ ハナコ", "birth_year": 1956, "household": "alone",
          "concern": "一人暮らしで話し相手がいない", "wishes": "近所で気軽に話せる場がほしい",
          "special_care": [], "immediate_danger": False, "existing_scheme": "none"}
# Lonely "now and then" (3) and a UCLA-3 total of 7: "normal" under the shipped table (high from 9).
ASSESSMENT = {"assessed_on": "2026-11-27", "respondent": "self", "loneliness_direct": 3, "ucla_1": 2, "ucla_2": 2,
              "ucla_3": 3, "contact_frequency": "monthly", "participation": "no", "support_received": "yes",
              "helps_others": "no"}


def _form(table: decision_tables.DecisionTable, **changes: str) -> dict[str, str]:
    """The page's form as the browser posts it for `table`, with some fields changed."""
    form = {"rule_count": str(len(table.rules)), "hit_policy": table.hit_policy}
    for i, rule in enumerate(table.rules):
        form[f"rule-{i}-id"] = rule.id or ""
        form[f"rule-{i}-note"] = rule.annotation
        form.update({f"rule-{i}-in-{j}": entry for j, entry in enumerate(rule.inputs)})
        form.update({f"rule-{i}-out-{k}": entry for k, entry in enumerate(rule.outputs)})
    form.update(changes)
    return form


def _triage_of_a_new_case(session, clock, caseworker, municipality) -> str | None:
    version = live_version(session, municipality.id, KEY)
    case = cases.start_case(session, clock, caseworker, version, "山田さんの相談")
    for element_id, data in (("intake", INTAKE), ("baseline_assessment", ASSESSMENT)):
        task = session.scalar(select(TaskRecord).where(TaskRecord.case_id == case.id, TaskRecord.element_id == element_id,
                                                       TaskRecord.status == TaskStatus.OPEN))
        cases.complete_task(session, clock, caseworker, task.id, dict(data))
    session.refresh(case)
    return case.risk


def _ucla_rule(table: decision_tables.DecisionTable) -> int:
    """The rule that makes a UCLA-3 total high risk, found by reading the table."""
    column = next(j for j, c in enumerate(table.inputs) if c.expression == "ucla_total")
    return next(i for i, r in enumerate(table.rules) if r.inputs[column].startswith(">=") and r.outputs == ['"high"'])


def test_a_rule_edited_in_the_page_changes_a_new_case_s_triage(
        client, login, designer, caseworker, municipality, standard_version, standard_definition, session, clock):
    assert _triage_of_a_new_case(session, clock, caseworker, municipality) == "normal"
    login(designer)
    listing = client.get(f"/designer/processes/{KEY}/decisions").get_data(as_text=True)
    assert "リスク判定" in text(element(listing, "decision-risk_triage"))
    page = client.get(PAGE).get_data(as_text=True)
    assert 'value="&gt;= 9"' in element(page, "rule-4") and 'value="Rule_high_ucla"' in element(page, "rule-4")
    assert "UCLA合計が9点以上" in element(page, "rule-4-note")

    table = decision_tables.find_table(standard_definition.files, "risk_triage")
    rule, column = _ucla_rule(table), 3
    response = client.post(PAGE, data=_form(table, **{f"rule-{rule}-in-{column}": ">= 7", "action": "save"}))
    assert response.status_code == 302, response.get_data(as_text=True)
    session.expire_all()
    draft = session.scalar(select(ProcessDraftRecord).where(ProcessDraftRecord.process_id == KEY))
    assert "&gt;= 7" in draft.files["risk_triage.dmn"] and "Rule_high_ucla_ucla_total" in draft.files["risk_triage.dmn"]
    shown = client.get(PAGE).get_data(as_text=True)
    assert "下書き" in text(element(shown, "draft-note")) and 'value="&gt;= 7"' in shown

    drafts.deploy_draft(session, clock, designer, municipality.id, KEY, "UCLA 7点から高リスク")
    assert _triage_of_a_new_case(session, clock, caseworker, municipality) == "high"


def test_the_try_box_evaluates_the_unsaved_table_and_names_the_deciding_rule(
        client, login, designer, standard_version, standard_definition, session):
    login(designer)
    table = decision_tables.find_table(standard_definition.files, "risk_triage")
    samples = {"try-suicidal_thoughts": "False", "try-special_care": "[]", "try-immediate_danger": "False",
               "try-existing_scheme": "none", "try-ucla_total": "7", "try-loneliness_direct": "3"}
    before = client.post(f"{PAGE}/try", data=_form(table, **samples)).get_data(as_text=True)
    assert "normal" in text(element(before, "trial-result")) and "ルール6" in text(element(before, "trial-result"))
    after = client.post(f"{PAGE}/try", data=_form(table, **samples, **{"rule-3-in-3": ">= 7"}))
    result = text(element(after.get_data(as_text=True), "trial-result"))
    assert after.status_code == 200 and "high" in result and "ルール4" in result
    assert session.scalar(select(ProcessDraftRecord)) is None  # trying saves nothing


@pytest.mark.parametrize("entry", ["__import__('os')", "().__class__", "open('x')", "x" * 5000])
def test_a_hostile_or_broken_entry_is_refused_beside_it_in_japanese(
        client, login, designer, standard_version, standard_definition, session, entry):
    login(designer)
    table = decision_tables.find_table(standard_definition.files, "risk_triage")
    response = client.post(PAGE, data=_form(table, **{"rule-1-in-2": entry, "action": "save"}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    beside = text(element(html, "err-rule-1-in-2"))
    assert any(word in beside for word in ("サンドボックス", "文字", "長すぎ")), beside
    assert session.scalar(select(ProcessDraftRecord)) is None


def test_a_nul_byte_in_an_entry_saves_nothing(client, login, designer, standard_version, standard_definition, session):
    login(designer)
    table = decision_tables.find_table(standard_definition.files, "risk_triage")
    response = client.post(PAGE, data=_form(table, **{"rule-1-in-2": "1\x00", "action": "save"}))
    assert response.status_code == 422  # the application refuses NUL bytes in any form before the page runs
    assert session.scalar(select(ProcessDraftRecord)) is None


def test_an_unsupported_hit_policy_is_refused(client, login, designer, standard_version, standard_definition, session):
    login(designer)
    table = decision_tables.find_table(standard_definition.files, "risk_triage")
    response = client.post(PAGE, data=_form(table, hit_policy="RULE ORDER", action="save"))
    assert response.status_code == 422
    assert "ヒットポリシー" in text(element(response.get_data(as_text=True), "err-hit_policy"))


def test_rules_are_added_removed_and_moved_without_saving(
        client, login, designer, standard_version, standard_definition, session):
    login(designer)
    table = decision_tables.find_table(standard_definition.files, "review_interval")
    url = f"/designer/processes/{KEY}/decisions/review_interval"
    added = client.post(url, data=_form(table, action="add")).get_data(as_text=True)
    assert 'id="rule-4"' in added and 'name="rule-3-in-0" value="-"' in added
    moved = client.post(url, data=_form(table, action="up-2")).get_data(as_text=True)
    assert 'name="rule-1-id" value="Rule_default"' in moved
    removed = client.post(url, data=_form(table, action="remove-0")).get_data(as_text=True)
    assert 'value="Rule_high_risk"' not in removed and 'id="rule-3"' not in removed
    emptied = _form(table, rule_count="0", action="save")
    response = client.post(url, data=emptied)
    assert response.status_code == 422 and "ルールが" in text(element(response.get_data(as_text=True), "problems"))
    assert session.scalar(select(ProcessDraftRecord)) is None


@pytest.mark.parametrize("path", [f"/designer/processes/{KEY}/decisions", PAGE])
def test_a_caseworker_is_refused_the_decision_pages(client, login, caseworker, standard_version, path):
    login(caseworker)
    assert client.get(path).status_code == 403
    assert client.post(f"{PAGE}/try", data={}).status_code == 403


def test_an_unknown_decision_or_process_is_not_found(client, login, designer, standard_version):
    login(designer)
    assert client.get(f"/designer/processes/{KEY}/decisions/nope").status_code == 404
    assert client.get("/designer/processes/nope/decisions").status_code == 404
    assert client.post(PAGE, data={"rule_count": "abc", "hit_policy": "\x00"}).status_code == 422
