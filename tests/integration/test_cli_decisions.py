"""`tsunagu decision export|import|try|save-file`: a decision table edited in a spreadsheet, or a DMN file edited
whole (columns and rules, as the DMN editor saves it), becomes the draft with the page's checks, audited as via
the CLI."""
from __future__ import annotations

import csv
import io

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
def deployed(session, clock, standard_definition):
    deploy(session, clock, standard_definition)
    session.commit()


@pytest.fixture
def shipped(deployed, standard_definition):
    return standard_definition.files[DMN]


@pytest.fixture
def tsunagu(database_url):
    def run(*args: str):
        result = CliRunner().invoke(main, [str(a) for a in args], env={"TSUNAGU_DATABASE_URL": database_url})
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        return result

    return run


def _rows(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def test_a_table_exported_edited_and_imported_becomes_the_draft(tsunagu, deployed, town, designer, session, tmp_path):
    out = tmp_path / "triage.csv"
    result = tsunagu("decision", "export", KEY, "risk_triage", out, "--municipality", town.code)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as UTF-8
    rows = _rows(out)
    assert rows[0][0] == "rule_id" and rows[0][-2] == "risk_level" and len(rows) == 7
    ucla = next(r for r in rows if r[0] == "Rule_high_ucla")
    ucla[4] = ">= 7"
    rows.insert(1, ["", "-", "-", "-", "-", "5", '"high"', "孤独感「常にある」は先に判定"])
    edited = tmp_path / "edited.csv"
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)  # as a spreadsheet saves it: quotes doubled inside quoted cells
    edited.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    result = tsunagu("decision", "import", KEY, "risk_triage", edited, "--by", "designer")
    assert result.exit_code == 0, result.output
    assert "下書きに保存しました" in result.output
    draft = session.scalar(select(ProcessDraftRecord).where(ProcessDraftRecord.process_id == KEY))
    table = decision_tables.find_table(draft.files, "risk_triage")
    assert table.rules[0].inputs[4] == "5" and table.rules[0].id.startswith("DecisionRule_")
    assert [r.id for r in table.rules[1:]] == ["Rule_urgent_suicidal", "Rule_urgent_danger", "Rule_refer_out",
                                               "Rule_high_ucla", "Rule_high_direct", "Rule_normal"]
    assert table.rules[4].inputs[3] == ">= 7"

    tried = tsunagu("decision", "try", KEY, "risk_triage", "ucla_total=7", "loneliness_direct=3",
                    "existing_scheme=none", "--municipality", town.code)
    assert tried.exit_code == 0, tried.output
    assert "risk_level = 'high'" in tried.output and "ルール5" in tried.output


def test_a_hostile_entry_in_the_csv_is_refused_naming_rule_and_column(
        tsunagu, deployed, town, designer, session, tmp_path):
    out = tmp_path / "triage.csv"
    tsunagu("decision", "export", KEY, "risk_triage", out, "--municipality", town.code)
    text = out.read_bytes().decode("utf-8-sig").replace(">= 9", "().__class__")
    out.write_bytes(text.encode("utf-8-sig"))
    result = tsunagu("decision", "import", KEY, "risk_triage", out, "--by", "designer")
    assert result.exit_code == 1
    assert "ルール4「UCLA孤独感尺度 日本語版3項目 合計（3〜12）」: entry_refused" in result.output
    assert session.scalar(select(ProcessDraftRecord)) is None


def test_a_csv_with_other_headings_or_not_utf8_is_refused(tsunagu, deployed, town, designer, session, tmp_path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_bytes("id,a,b\n1,2,3\n".encode())
    assert "csv_header_mismatch" in tsunagu("decision", "import", KEY, "review_interval", wrong, "--by",
                                            "designer").output
    wrong.write_bytes("rule_id,リスク区分\n".encode("cp932"))
    assert "encoding_not_utf8" in tsunagu("decision", "import", KEY, "review_interval", wrong, "--by",
                                          "designer").output
    assert session.scalar(select(ProcessDraftRecord)) is None


def test_a_caseworker_cannot_import_a_table(tsunagu, deployed, town, session, clock, user_password, tmp_path):
    users.create_user(session, clock, municipality_id=town.id, username="worker", display_name="担当 一郎",
                      password=user_password, roles=["caseworker"])
    session.commit()
    out = tmp_path / "interval.csv"
    tsunagu("decision", "export", KEY, "review_interval", out)
    result = tsunagu("decision", "import", KEY, "review_interval", out, "--by", "worker")
    assert result.exit_code == 1 and "forbidden" in result.output
    assert session.scalar(select(ProcessDraftRecord)) is None


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
