"""Task settings without XML: a designer changes a task's due time in the table, the change becomes a draft
validated like an upload, and once deployed new cases follow it."""
from __future__ import annotations

import difflib
import re
from datetime import timedelta

from page_text import element, text
from sqlalchemy import func, select

from tsunagu.engine.commands import cases, queries
from tsunagu.engine.commands.versions import live_version
from tsunagu.engine.models import AuditRecord, ProcessDraftRecord

KEY = "kodoku_koritsu_case"
BPMN = f"{KEY}.bpmn"


def _form(html: str) -> dict[str, str]:
    """Every field of the table as the browser would post it unchanged."""
    fields = dict(re.findall(r'<input type="(?:text|number|hidden)"[^>]*? name="([^"]+)" value="([^"]*)"', html))
    for name, body in re.findall(r'<select id="[^"]*" name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        fields[name] = chosen.group(1) if chosen else ""
    for name, body in re.findall(r'<textarea id="[^"]*" name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        fields[name] = body
    fields.pop("csrf_token", None)
    return fields


def test_a_due_time_changed_in_the_table_becomes_a_draft_that_new_cases_follow_once_deployed(
        client, login, designer, standard_version, session, clock, caseworker, municipality):
    login(designer)
    page = client.get(f"/designer/processes/{KEY}/tasks")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "相談受付" in text(element(html, "task-intake")) and 'value="P3D"' in element(html, "task-intake")
    posted = _form(html)
    assert posted["due:intake"] == "P3D" and posted["role:table_case"] == "Lane_coordinator"

    saved = client.post(f"/designer/processes/{KEY}/tasks", data={**posted, "due:intake": "P10D"})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert saved.headers["Location"].endswith(f"/designer/processes/{KEY}?draft=1")
    session.rollback()
    draft = session.scalar(select(ProcessDraftRecord))
    old, new = standard_version.files, draft.files
    assert {n for n in set(old) | set(new) if old.get(n) != new.get(n)} == {BPMN}
    changed = [line for line in difflib.unified_diff(old[BPMN].splitlines(), new[BPMN].splitlines(), lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ['-          <spiffworkflow:property name="dueIn" value="P3D" />',
                       '+          <spiffworkflow:property name="dueIn" value="P10D" />']
    audited = session.scalars(select(AuditRecord).where(AuditRecord.action == "process.task_settings_changed")).all()
    assert [row.detail["changes"] for row in audited] == [[{"task": "intake", "field": "due", "from": "P3D",
                                                           "to": "P10D"}]]

    again = client.get(f"/designer/processes/{KEY}/tasks").get_data(as_text=True)
    assert 'value="P10D"' in element(again, "task-intake")  # the table now shows the waiting draft
    assert client.post(f"/designer/processes/{KEY}/draft/deploy", data={"note": "受付の期限を10日に"}).status_code == 302
    session.rollback()
    version = live_version(session, municipality.id, KEY)
    case = cases.start_case(session, clock, caseworker, version, "新しい期限で始まる相談")
    [task] = queries.open_tasks_of_case(session, case.id)
    assert task.element_id == "intake" and task.due_at == clock() + timedelta(days=10)


def test_invalid_values_are_refused_naming_the_task_and_nothing_is_stored(
        client, login, designer, standard_version, session):
    login(designer)
    posted = _form(client.get(f"/designer/processes/{KEY}/tasks").get_data(as_text=True))
    refused = client.post(f"/designer/processes/{KEY}/tasks",
                          data={**posted, "due:intake": "3日", "priority:closure": "500"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    listed = text(element(html, "refused"))
    assert "相談受付" in listed and "終結" in listed
    assert 'class="invalid"' in element(html, "task-intake") and 'value="3日"' in element(html, "task-intake")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ProcessDraftRecord)) == 0


def test_an_unchanged_table_saves_nothing_and_other_staff_are_refused(
        client, login, designer, caseworker, standard_version, session):
    login(caseworker)
    assert client.get(f"/designer/processes/{KEY}/tasks").status_code == 403
    assert client.post(f"/designer/processes/{KEY}/tasks", data={"due:intake": "P1D"}).status_code == 403
    client.post("/logout")
    login(designer)
    assert client.get("/designer/processes/nope/tasks").status_code == 404
    posted = _form(client.get(f"/designer/processes/{KEY}/tasks").get_data(as_text=True))
    unchanged = client.post(f"/designer/processes/{KEY}/tasks", data=posted)
    assert unchanged.status_code == 302 and unchanged.headers["Location"].endswith(f"/designer/processes/{KEY}/tasks")
    stale = client.post(f"/designer/processes/{KEY}/tasks", data={**posted, "base": "0" * 64, "due:intake": "P9D"})
    assert stale.status_code == 302
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ProcessDraftRecord)) == 0
