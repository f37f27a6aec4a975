"""`tsunagu decision save-file`: a DMN file edited whole (columns and rules, as the DMN editor saves it) becomes
the process's draft from the command line, with the page's checks, audited as via the CLI."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tsunagu.engine.access import users
from tsunagu.engine.models import AuditRecord, MunicipalityRecord, ProcessDraftRecord
from tsunagu.processes import decision_tables
from tsunagu.processes.deployment import deploy
from tsunagu.web.cli import decisions as _registers_decision  # noqa: F401  (until web/cli/__init__ imports it)
from tsunagu.web.cli import main

KEY = "kodoku_koritsu_case"
DMN = "risk_triage.dmn"
UCLA_LABEL = 'label="UCLA孤独感尺度 日本語版3項目 合計（3〜12）"'


@pytest.fixture
def town(session):
    record = MunicipalityRecord(code="131016", name="千代田区")
    session.add(record)
    session.commit()
    return record


@pytest.fixture
def designer(session, clock, town, user_password):
    user = users.create_user(session, clock, municipality_id=town.id, username="designer",
                             display_name="設計 太郎", password=user_password, roles=["designer"])
    session.commit()
    return user


@pytest.fixture
def shipped(session, clock, standard_definition):
    deploy(session, clock, standard_definition)
    session.commit()
    return standard_definition.files[DMN]


@pytest.fixture
def tsunagu(database_url):
    def run(*args: str):
        result = CliRunner().invoke(main, [str(a) for a in args], env={"TSUNAGU_DATABASE_URL": database_url})
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        return result

    return run


def _drafts(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(ProcessDraftRecord))


def test_a_dmn_file_with_a_renamed_column_and_an_edited_rule_becomes_the_draft(
        tsunagu, shipped, town, designer, session, tmp_path):
    edited = shipped.replace(UCLA_LABEL, 'label="UCLA合計点"').replace("&gt;= 9", "&gt;= 7")
    assert edited != shipped
    path = tmp_path / DMN
    path.write_text(edited, encoding="utf-8")
    result = tsunagu("decision", "save-file", KEY, path, "--by", "designer", "--municipality", town.code)
    assert result.exit_code == 0, result.output
    assert "下書きに保存しました" in result.output
    session.rollback()
    draft = session.scalar(select(ProcessDraftRecord).where(ProcessDraftRecord.process_id == KEY))
    table = decision_tables.find_table(draft.files, "risk_triage")
    assert table.inputs[3].label == "UCLA合計点" and table.inputs[3].expression == "ucla_total"
    assert ">= 7" in [r.inputs[3] for r in table.rules]
    [audited] = session.scalars(select(AuditRecord).where(AuditRecord.action == "decision.file_edited")).all()
    assert audited.detail["via"] == "cli" and audited.detail["file"] == DMN and audited.detail["operator"]

    again = tsunagu("decision", "save-file", KEY, path, "--by", "designer")
    assert again.exit_code == 0 and "変更はありません" in again.output


def test_a_refused_entry_is_printed_with_its_rule_and_column_and_nothing_is_stored(
        tsunagu, shipped, town, designer, session, tmp_path):
    path = tmp_path / DMN
    path.write_text(shipped.replace("&gt;= 9", "&gt;= _secret"), encoding="utf-8")
    result = tsunagu("decision", "save-file", KEY, path, "--by", "designer")
    assert result.exit_code == 1
    assert "risk_triage ルール4「UCLA孤独感尺度 日本語版3項目 合計（3〜12）」: entry_refused" in result.output
    assert "何も保存していません" in result.output
    assert _drafts(session) == 0


def test_a_file_the_process_does_not_have_broken_xml_and_a_caseworker_are_refused(
        tsunagu, shipped, town, designer, session, clock, user_password, tmp_path):
    users.create_user(session, clock, municipality_id=town.id, username="worker", display_name="相談 花子",
                      password=user_password, roles=["caseworker"])
    session.commit()
    other = tmp_path / "other.dmn"
    other.write_text(shipped, encoding="utf-8")
    unknown = tsunagu("decision", "save-file", KEY, other, "--by", "designer")
    assert unknown.exit_code == 1 and "risk_triage.dmn" in unknown.output
    path = tmp_path / DMN
    path.write_text(shipped.replace("</definitions>", ""), encoding="utf-8")
    broken = tsunagu("decision", "save-file", KEY, path, "--by", "designer")
    assert broken.exit_code == 1 and "xml_invalid" in broken.output
    path.write_text(shipped.replace("&gt;= 9", "&gt;= 7"), encoding="utf-8")
    refused = tsunagu("decision", "save-file", KEY, path, "--by", "worker")
    assert refused.exit_code == 1 and "forbidden" in refused.output
    assert _drafts(session) == 0
