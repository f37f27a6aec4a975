"""`tsunagu decision export|import|try`: a decision table edited in a spreadsheet becomes the draft, with the
same checks as the page."""
from __future__ import annotations

import csv
import io

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.models import MunicipalityRecord, ProcessDraftRecord
from tsunagu.processes import decision_tables
from tsunagu.processes.deployment import deploy
from tsunagu.web.cli import decisions as _registers_decision  # noqa: F401  (until web/cli/__init__ imports it)
from tsunagu.web.cli import main

KEY = "kodoku_koritsu_case"


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
