"""`tsunagu report`: the same tables as /reports on the command line, the same Excel file, the same permission,
and an audit row saying the command line read it on the staff member's behalf."""
from __future__ import annotations

import io

from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select

from tsunagu.engine.models import AuditRecord
from tsunagu.web.cli import main

from .test_reports import seed


def _run(database_url, *args):
    return CliRunner().invoke(main, ["report", *args], env={"TSUNAGU_DATABASE_URL": database_url})


def test_report_prints_the_tables_and_writes_the_excel_file(database_url, session, municipality, standard_version,
                                                            supervisor, tmp_path):
    seed(session, municipality, standard_version, supervisor)
    out = tmp_path / "report.xlsx"
    result = _run(database_url, "--year", "2026", "--by", "supervisor", "--xlsx", str(out), "--lang", "en")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("つながり市（139999）")
    phone = next(line for line in lines if line.startswith("Telephone"))
    assert phone.split()[1:] == ["3"] + ["0"] * 11 + ["3"]  # April, ..., March, total
    total = next(line for line in lines if line.startswith("Total") and line.split()[-1] == "8")
    assert total.split()[1:4] == ["4", "2", "1"]
    assert any(line.startswith("Reviews held") and line.split()[-1] == "4" for line in lines)
    sheet = load_workbook(io.BytesIO(out.read_bytes())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert ("Telephone", 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3) in rows
    audit = session.scalars(select(AuditRecord).where(AuditRecord.action.like("report.%"))).all()
    assert [(a.action, a.actor_id, a.detail["via"], a.detail["format"]) for a in audit] == [
        ("report.exported", supervisor.id, "cli", "xlsx")]
    assert audit[0].detail["operator"] and audit[0].detail["period"]["fiscal_year"] == 2026


def test_one_month_in_japanese_and_the_publication_file(database_url, session, municipality, standard_version,
                                                        supervisor, tmp_path):
    seed(session, municipality, standard_version, supervisor)
    out = tmp_path / "published.xlsx"
    result = _run(database_url, "--year", "2026", "--month", "4", "--by", "supervisor", "--xlsx", str(out),
                  "--publish")
    assert result.exit_code == 0, result.output
    assert "目標達成" in result.output  # Japanese from the compiled catalogue ("Goal reached")
    assert "2026年4月" in result.output or "Apr 2026" in result.output  # the latter until reports.po is merged
    cells = [c for row in load_workbook(io.BytesIO(out.read_bytes())).active.iter_rows(values_only=True) for c in row]
    assert 3 in cells and 4 in cells and 1 not in cells and 2 not in cells and "x" in cells


def test_a_caseworker_is_refused_and_nothing_is_audited_as_read(database_url, session, municipality,
                                                                standard_version, supervisor, caseworker):
    seed(session, municipality, standard_version, supervisor)
    result = _run(database_url, "--by", "caseworker")
    assert result.exit_code == 1 and "forbidden" in result.output
    assert _run(database_url, "--by", "supervisor", "--municipality", "139998").exit_code == 1
    assert _run(database_url, "--by", "nobody").exit_code == 1
    assert _run(database_url, "--by", "supervisor", "--month", "13").exit_code == 2
    assert _run(database_url, "--by", "supervisor", "--year", "99999999999").exit_code == 2
    session.expire_all()
    assert session.scalars(select(AuditRecord).where(AuditRecord.action.like("report.%"))).all() == []
