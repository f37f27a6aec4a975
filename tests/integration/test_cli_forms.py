"""Forms from the command line: list and show a form, change a field's title and add a required field as
the draft, and refuse a bad name or the removal of a field the process reads, naming the field."""
from __future__ import annotations

import json

from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.models import AuditRecord, ProcessDraftRecord
from tsunagu.web.cli import forms  # noqa: F401  (registers `tsunagu form` until web/cli/__init__.py imports it)

from .test_cli_organisations import ok, refused, run, towns  # noqa: F401  (fixtures)

KEY, FORM = "kodoku_koritsu_case", "intake-schema.json"


def test_a_designer_changes_and_adds_fields_into_a_draft_and_bad_changes_are_refused(
        run, session, clock, towns, standard_version):  # noqa: F811
    chiyoda, _ = towns
    users.create_user(session, clock, municipality_id=chiyoda.id, username="designer", display_name="設計 太郎",
                      password="tsunagu-test-password", roles=["designer"])
    session.commit()
    assert "intake-schema.json  相談受付  項目 12  相談受付 (intake)" in ok(run("form", "list", KEY, "--municipality",
                                                                            "131016"))
    shown = ok(run("form", "show", KEY, FORM, "--municipality", "131016"))
    assert "4. person_name  氏名  [文字] 必須" in shown and "選択肢: counter=窓口" in shown

    message = refused(run("form", "add-field", KEY, FORM, "1st", "--type", "string", "--title", "x", "--by", "designer"))
    assert "1st: name_invalid" in message
    message = refused(run("form", "remove-field", KEY, FORM, "immediate_danger", "--by", "designer"))
    assert "immediate_danger: field_in_use" in message and "risk_triage" in message
    session.expire_all()
    assert session.scalar(select(ProcessDraftRecord)) is None

    saved = ok(run("form", "set-field", KEY, FORM, "person_name", "--title", "氏名（本人）", "--by", "designer"))
    assert "person_name: title" in saved and "下書きとして保存しました" in saved
    added = ok(run("form", "add-field", KEY, FORM, "living_situation", "--type", "string", "--title", "住まいの状況",
                   "--required", "--choice", "own=持ち家", "--choice", "rent=賃貸", "--after", "household",
                   "--by", "designer"))
    assert "living_situation: added" in added
    shown = ok(run("form", "show", KEY, FORM, "--municipality", "131016"))
    assert "person_name  氏名（本人）" in shown and "8. living_situation  住まいの状況  [文字] 必須" in shown
    session.expire_all()
    draft = session.scalar(select(ProcessDraftRecord))
    assert draft.uploaded_via == "cli" and "living_situation" in json.loads(draft.files[FORM])["required"]
    rows = session.scalars(select(AuditRecord).where(AuditRecord.action == "process.form_changed")).all()
    assert [row.detail["via"] for row in rows] == ["cli", "cli"]
    assert "変更はありません" in ok(run("form", "set-field", KEY, FORM, "person_name", "--title", "氏名（本人）",
                                    "--by", "designer"))
