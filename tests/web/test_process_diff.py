"""The designer's page comparing two versions of a process: the changes listed by group and marked on the
newer version's diagram, for designers only, wrong choices answered in Japanese, every look audited."""
from __future__ import annotations

import pytest
from page_text import element, text
from sqlalchemy import select

from tsunagu.engine.models import AuditRecord
from tsunagu.processes import drafts

KEY = "kodoku_koritsu_case"
BPMN_FILE = f"{KEY}.bpmn"


@pytest.fixture
def draft(session, clock, designer, municipality, standard_version, standard_definition):
    """A draft whose only change is the intake task's due time (P3D -> P5D)."""
    bpmn = standard_definition.files[BPMN_FILE].replace('name="dueIn" value="P3D"', 'name="dueIn" value="P5D"', 1)
    return drafts.save_draft(session, clock, designer, municipality.id, {**standard_definition.files,
                                                                          BPMN_FILE: bpmn})


def _diff_rows(session) -> list[AuditRecord]:
    session.rollback()
    return list(session.scalars(select(AuditRecord).where(AuditRecord.action == "process.diff_viewed")))


def test_a_changed_due_time_is_listed_once_and_marked_on_the_drafts_diagram(client, login, designer, draft, session):
    login(designer)
    response = client.get(f"/designer/processes/{KEY}/diff?from=template:1&to=draft")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "テンプレート第1版 → 下書き" in text(element(html, "diff-summary"))
    elements = text(element(html, "diff-elements"))
    assert "相談受付" in elements and "期限" in elements and "P3D → P5D" in elements
    assert html.count('<tr id="change-') == 1  # exactly that change
    for group in ("diff-decisions", "diff-forms", "diff-files", "layout-changed"):
        assert f'id="{group}"' not in html
    marked = element(html, "el-intake")
    assert "warning" in marked.split(">", 1)[0] and "変更：期限" in marked
    assert 'href="#change-intake"' in element(html, "diagram")
    (row,) = _diff_rows(session)
    assert row.actor_id == designer.id and row.detail == {
        "process": KEY, "municipality": designer.municipality_id, "old": "template:1", "new": "draft",
        "via": "web", "operator": None}


def test_without_a_choice_the_live_version_is_compared_with_the_draft(client, login, designer, draft):
    login(designer)
    html = client.get(f"/designer/processes/{KEY}/diff").get_data(as_text=True)
    picker = element(html, "diff-picker")
    assert '<option value="template:1" selected>' in picker and '<option value="draft" selected>' in picker
    assert "P3D → P5D" in text(element(html, "diff-elements"))


def test_the_same_version_on_both_sides_has_no_differences(client, login, designer, standard_version):
    login(designer)
    html = client.get(f"/designer/processes/{KEY}/diff?from=template:1&to=template:1").get_data(as_text=True)
    assert "違いはありません" in text(element(html, "diff-summary"))


@pytest.mark.parametrize(("query", "status", "sentence"), [
    ("from=template:1&to=nonsense", 400, "比較する二つの版を一覧から選んでください"),
    ("from=template:0&to=draft", 400, "比較する二つの版を一覧から選んでください"),
    ("from=template:1&to=" + "9" * 200, 400, "比較する二つの版を一覧から選んでください"),
    ("from=template:1&to=municipal:7", 404, "指定された版はこのプロセスにありません"),
    ("from=template:99999999999&to=draft", 400, "比較する二つの版を一覧から選んでください"),
    ("from=template:1&to=draft", 404, "指定された版はこのプロセスにありません"),  # there is no draft
])
def test_a_wrong_choice_is_answered_in_japanese_on_the_page(client, login, designer, standard_version, session,
                                                            query, status, sentence):
    login(designer)
    response = client.get(f"/designer/processes/{KEY}/diff?{query}")
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert sentence in text(element(html, "diff-error"))
    assert 'id="diff-picker"' in html
    assert _diff_rows(session) == []


def test_an_unknown_process_is_not_found(client, login, designer, standard_version):
    login(designer)
    assert client.get("/designer/processes/no_such_process/diff?from=template:1&to=template:1").status_code == 404


def test_a_caseworker_may_not_compare_versions(client, login, caseworker, standard_version, session):
    login(caseworker)
    response = client.get(f"/designer/processes/{KEY}/diff?from=template:1&to=template:1")
    assert response.status_code == 403
    assert "権限" in response.get_data(as_text=True)
    assert _diff_rows(session) == []
