"""The file register (個人情報ファイル簿): generated from the deployed forms, the disclosure log and the retention
policies; the municipality's own wording saved by administrators only, checked field by field and audited."""
from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.casefile.sharing import disclose
from tsunagu.engine.commands import cases
from tsunagu.engine.errors import Forbidden, FormInvalid
from tsunagu.engine.models import AuditRecord, MunicipalityRecord
from tsunagu.engine.records import file_register
from tsunagu.engine.records.tables import CountedFrom, RecordType, RetentionPolicyRecord
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import load_definition
from tsunagu.processes.registry import startable_versions
from tsunagu.web.cli import main
from tsunagu.web.cli.file_register import as_json, as_text

from .helpers import open_task

STANDARD_PROCESS = Path(__file__).resolve().parents[2] / "bpmn" / "kodoku_koritsu_case"
PERSON = "山田 花子"
WATCHER = "鈴木 一郎"
NEIGHBOUR = "佐藤 次郎"


def _register(session, municipality, actor=None):
    return file_register.register_of(session, actor, municipality.id, startable_versions(session, municipality.id))


@pytest.fixture
def admin(session, clock, municipality, user_password):
    user = users.create_user(session, clock, municipality_id=municipality.id, username="admin",
                             display_name="管理 五郎", password=user_password, roles=["admin"])
    session.commit()
    return user


@pytest.fixture
def recorded_case(session, session_factory, clock, caseworker, standard_case, intake_data, bodies):
    """A case whose intake recorded a person, and whose data reached bodies, a watcher and a neighbour."""
    cases.complete_task(session, clock, caseworker, open_task(session_factory, standard_case.id).id,
                        {**intake_data, "person_name": PERSON})
    body = bodies["fukushi"]
    for _ in range(2):
        disclose(session, clock, caseworker, standard_case.id, body.name, "consent", purpose="information_sharing")
    disclose(session, clock, caseworker, standard_case.id, f"{body.name}（{WATCHER}）", "life_protection",
             reason="安否確認")
    disclose(session, clock, caseworker, standard_case.id, f"民生委員 {NEIGHBOUR}", "life_protection", reason="安否確認")
    disclose(session, clock, caseworker, standard_case.id, "第1回 個別ケース検討会議", "council", purpose="council")
    session.commit()
    return standard_case


def test_items_come_from_the_live_forms_with_special_care_marked(session, municipality, standard_version):
    register = _register(session, municipality)
    forms = {form.form: form for form in register.forms}
    intake = forms["相談受付"]
    assert [item.title for item in intake.items][:4] == ["相談日", "相談経路", "紹介者・つなぎ元", "氏名"]
    # One form filled in by two tasks appears once, naming both.
    assert forms["孤独・孤立の状況（アセスメント）"].tasks == ("初回アセスメント（孤独・孤立の状況）", "モニタリング時のアセスメント")
    assert "つなぎ元からの相談の受付" in forms["相談のつなぎ"].tasks  # the referrer's form, which no task shows
    special = {item.title: item.categories for item in register.special_care}
    assert special["要配慮個人情報"] == ("精神保健", "希死念慮", "障害", "犯罪被害")
    assert "実施した安全確保の措置" in special and "相談日" not in special
    assert register.includes_special_care
    titles = [item.title for item in register.items]
    assert len(titles) == len(set(titles)) and titles.count("実施日") == 1
    assert not register.entry.saved and "確認" in register.entry.notes


def test_a_new_version_adding_a_field_changes_the_items(session, clock, municipality, standard_version, tmp_path):
    assert "よく行く場所" not in [item.title for item in _register(session, municipality).items]
    folder = tmp_path / "kodoku_koritsu_case"
    shutil.copytree(STANDARD_PROCESS, folder)
    schema_file = folder / "intake-schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    schema["properties"]["favourite_place"] = {"type": "string", "title": "よく行く場所", "maxLength": 200}
    schema["properties"]["clinic"] = {"type": "string", "title": "通院先", "maxLength": 200, "x-special-care": True}
    schema_file.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    deploy(session, clock, load_definition(folder), municipality_id=municipality.id)
    session.commit()
    register = _register(session, municipality)
    intake = next(form for form in register.forms if form.form == "相談受付")
    assert intake.items[-2:] == (file_register.Item("よく行く場所"), file_register.Item("通院先", True))
    assert "通院先" in [item.title for item in register.special_care]
    # Only the live version counts: the template's intake is not listed beside the municipality's own.
    assert [form.form for form in register.forms].count("相談受付") == 1


def test_recipients_come_from_the_disclosure_log_by_body_and_never_name_a_person(session, municipality,
                                                                                 recorded_case, bodies):
    register = _register(session, municipality)
    got = {(r.name, r.kind, r.basis): r.count for r in register.recipients}
    fukushi = bodies["fukushi"].name
    assert got == {(fukushi, "body", "consent"): 2, (fukushi, "body", "life_protection"): 1,
                   ("", "council", "council"): 1, ("", "other", "life_protection"): 1}
    assert set(register.member_bodies) == {body.name for body in bodies.values()}
    assert register.persons == 1
    text = as_text(register) + json.dumps(as_json(register), ensure_ascii=False)
    for name in (PERSON, WATCHER, NEIGHBOUR, "山田", "鈴木", "佐藤"):
        assert name not in text


def test_retention_comes_from_the_policies(session, clock, municipality, standard_version):
    before = {p.record_type: p for p in _register(session, municipality).retention}
    assert before[RecordType.CASE_FILE].years == 5 and before[RecordType.CASE_FILE].default
    session.add(RetentionPolicyRecord(municipality_id=municipality.id, record_type=RecordType.CASE_FILE, years=10,
                                      counted_from=CountedFrom.CLOSURE, rule="文書管理規程別表第2",
                                      updated_at=datetime(2026, 11, 1, tzinfo=timezone.utc)))
    session.commit()
    after = {p.record_type: p for p in _register(session, municipality).retention}
    assert (after[RecordType.CASE_FILE].years, after[RecordType.CASE_FILE].rule) == (10, "文書管理規程別表第2")
    assert not after[RecordType.CASE_FILE].default and len(after) == len(RecordType)


def test_an_administrator_saves_the_entry_and_it_is_audited(session, clock, municipality, admin):
    entry = file_register.save_entry(session, clock, admin, municipality.id, file_name=" 相談記録ファイル ",
                                     purpose="相談支援のため。\n協議会での検討のため。", sources="本人からの聴き取り",
                                     department="福祉課", notes="")
    assert entry.saved and entry.file_name == "相談記録ファイル" and entry.notes is None
    assert entry.purpose == "相談支援のため。\n協議会での検討のため。"
    file_register.save_entry(session, clock, admin, municipality.id, file_name="相談記録ファイル",
                             purpose=entry.purpose, sources="本人及び関係機関", department="福祉課")
    rows = session.scalars(select(AuditRecord).where(AuditRecord.action == "file_register.updated")
                           .order_by(AuditRecord.id)).all()
    assert [r.detail["first"] for r in rows] == [True, False]
    assert rows[1].detail["fields"] == ["sources"] and rows[1].detail["before"] == {"sources": "本人からの聴き取り"}
    assert rows[1].detail["via"] == "web" and rows[1].actor_id == admin.id
    assert _register(session, municipality, admin).entry.sources == "本人及び関係機関"


def test_save_entry_names_every_bad_field_and_changes_nothing(session, clock, municipality, admin):
    with pytest.raises(FormInvalid) as refused:
        file_register.save_entry(session, clock, admin, municipality.id, file_name="二行\nの名称", purpose="  ",
                                 sources="x" * (file_register.TEXT_LIMIT + 1), department=None, notes=42)
    assert {(e.field, e.code) for e in refused.value.errors} == {
        ("file_name", "pattern"), ("purpose", "required"), ("sources", "maxLength"), ("department", "required"),
        ("notes", "type")}
    with pytest.raises(FormInvalid) as refused:
        file_register.save_entry(session, clock, admin, municipality.id, file_name="名称", purpose="目的\x00",
                                 sources="本人", department="課" * 201)
    assert {(e.field, e.code) for e in refused.value.errors} == {("purpose", "pattern"), ("department", "maxLength")}
    assert not file_register.entry_of(session, municipality.id).saved
    assert session.scalars(select(AuditRecord).where(AuditRecord.action == "file_register.updated")).all() == []


def test_only_the_municipalitys_administrators_read_or_save(session, clock, municipality, admin, supervisor):
    other = MunicipalityRecord(code="011002", name="札幌市")
    session.add(other)
    session.commit()
    for actor, town in ((supervisor, municipality), (admin, other)):
        with pytest.raises(Forbidden):
            file_register.register_of(session, actor, town.id, [])
        with pytest.raises(Forbidden):
            file_register.save_entry(session, clock, actor, town.id, file_name="a", purpose="b", sources="c",
                                     department="d")


def _cli(database_url, *args):
    return CliRunner().invoke(main, ["file-register", *args], env={"TSUNAGU_DATABASE_URL": database_url})


def test_the_command_line_shows_and_sets_the_register(database_url, session, municipality, recorded_case):
    shown = _cli(database_url, "show")
    assert shown.exit_code == 0, shown.output
    assert "個人情報ファイルの名称: 孤独・孤立対策相談支援記録ファイル" in shown.output and "既定の記載" in shown.output
    assert "要配慮個人情報（精神保健、希死念慮、障害、犯罪被害）" in shown.output and PERSON not in shown.output
    result = _cli(database_url, "set", "--municipality", "139999", "--file-name", "相談記録", "--purpose", "支援のため",
                  "--sources", "本人から", "--department", "福祉課")
    assert result.exit_code == 0, result.output
    data = json.loads(_cli(database_url, "show", "--format", "json").output)
    assert data["entry"] == {**data["entry"], "file_name": "相談記録", "department": "福祉課", "saved": True}
    assert data["persons"] == 1 and "氏名" in data["items"] and data["includes_special_care"] is True
    assert {"name": None, "kind": "other", "basis": "life_protection", "count": 1} in data["recipients"]
    session.expire_all()
    (row,) = session.scalars(select(AuditRecord).where(AuditRecord.action == "file_register.updated")).all()
    assert row.detail["via"] == "cli" and row.detail["operator"] and row.municipality_id == municipality.id
    refused = _cli(database_url, "set", "--file-name", "", "--purpose", "p", "--sources", "s", "--department", "d")
    assert refused.exit_code == 1 and "file_name" in refused.output
    assert _cli(database_url, "show", "--municipality", "999999").exit_code == 1
