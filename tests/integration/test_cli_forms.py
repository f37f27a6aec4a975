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


def test_a_designer_renames_a_field_nothing_reads_and_is_refused_one_a_condition_reads(
        run, session, clock, towns, standard_version):  # noqa: F811
    chiyoda, _ = towns
    users.create_user(session, clock, municipality_id=chiyoda.id, username="designer", display_name="設計 太郎",
                      password="tsunagu-test-password", roles=["designer"])
    session.commit()
    contact = "contact-attempt-schema.json"
    message = refused(run("form", "rename-field", KEY, contact, "attempt_next_step", "next_step", "--by", "designer"))
    assert "attempt_next_step: field_read_by" in message
    assert "flow_contact_retry" in message and "kodoku_koritsu_case.bpmn" in message and "条件式" in message
    assert "何も変更していません" in message
    assert "name_invalid" in refused(run("form", "rename-field", KEY, contact, "contact_note", "note-1",
                                         "--by", "designer"))
    assert "name_in_other_form" in refused(run("form", "rename-field", KEY, contact, "contact_note", "person_name",
                                               "--by", "designer"))
    assert "field_recorded_name" in refused(run("form", "rename-field", KEY, FORM, "concern", "worry",
                                                "--by", "designer"))
    session.expire_all()
    assert session.scalar(select(ProcessDraftRecord)) is None

    renamed = ok(run("form", "rename-field", KEY, contact, "contact_note", "visit_record", "--by", "designer"))
    assert "visit_record: renamed（contact_note → visit_record）" in renamed and "下書きとして保存しました" in renamed
    shown = ok(run("form", "show", KEY, contact, "--municipality", "131016"))
    assert "4. visit_record  記録" in shown and "contact_note" not in shown
    session.expire_all()
    draft = session.scalar(select(ProcessDraftRecord))
    assert json.loads(draft.files["contact-attempt-uischema.json"])["visit_record"] == {"ui:widget": "textarea"}
    row = session.scalar(select(AuditRecord).where(AuditRecord.action == "process.form_changed"))
    assert row.detail["via"] == "cli" and row.detail["changes"] == [
        {"field": "visit_record", "change": "renamed", "from": "contact_note"}]
