"""Task settings from the command line: print the table, change a task into a draft, refuse bad values."""
from __future__ import annotations

from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.models import AuditRecord, ProcessDraftRecord

from .test_cli_organisations import ok, refused, run, towns  # noqa: F401  (fixtures)

KEY = "kodoku_koritsu_case"


def test_a_designer_changes_a_due_time_into_a_draft_and_bad_values_are_refused(
        run, session, clock, towns, standard_version, tmp_path):  # noqa: F811
    chiyoda, _ = towns
    users.create_user(session, clock, municipality_id=chiyoda.id, username="designer", display_name="設計 太郎",
                      password="tsunagu-test-password", roles=["designer"])
    session.commit()
    listed = ok(run("process", "tasks", KEY, "--municipality", "131016"))
    assert "有効な版 1" in listed and "期限: P3D" in listed.split("intake", 1)[1].split("\n", 2)[1]

    message = refused(run("process", "set-task", KEY, "intake", "--priority", "101", "--due", "3日", "--by", "designer"))
    assert "intake の 優先度: priority_invalid" in message and "intake の 期限: duration_invalid" in message
    session.expire_all()
    assert session.scalar(select(ProcessDraftRecord)) is None

    notes = tmp_path / "notes.md"
    notes.write_text("本人に電話で確認する", encoding="utf-8")
    saved = ok(run("process", "set-task", KEY, "intake", "--due", "P10D", "--instructions-file", str(notes),
                   "--by", "designer"))
    assert "intake の 期限: P3D → P10D" in saved and "下書きとして保存しました" in saved
    listed = ok(run("process", "tasks", KEY, "--municipality", "131016"))
    assert "下書き" in listed and "期限: P10D" in listed
    session.expire_all()
    draft = session.scalar(select(ProcessDraftRecord))
    assert draft.uploaded_via == "cli" and 'name="dueIn" value="P10D"' in draft.files[f"{KEY}.bpmn"]
    row = session.scalar(select(AuditRecord).where(AuditRecord.action == "process.task_settings_changed"))
    assert [c["field"] for c in row.detail["changes"]] == ["due", "instructions"] and row.detail["via"] == "cli"
    assert "変更はありません" in ok(run("process", "set-task", KEY, "intake", "--due", "P10D", "--by", "designer"))
