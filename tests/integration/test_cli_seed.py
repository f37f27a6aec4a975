"""`tsunagu seed`: made-up cases for a municipality set up by `municipality add`, with a progress bar and
an audit row, and a clear refusal where real cases are."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from tsunagu.engine.access.users import create_user
from tsunagu.engine.commands import cases
from tsunagu.engine.models import AuditRecord, CaseRecord, CaseStatus, MunicipalityRecord, ProcessVersionRecord
from tsunagu.web.cli import main


def run(database_url, *args):
    return CliRunner().invoke(main, list(args), env={"TSUNAGU_DATABASE_URL": database_url})


def test_seed_fills_a_municipality_and_reports_counts_and_seconds(database_url, session, clock):
    assert run(database_url, "municipality", "add", "--code", "131016", "--name", "千代田区").exit_code == 0
    tester = create_user(session, clock, municipality_id=session.scalar(select(MunicipalityRecord.id)),
                         username="tester", display_name="試験 担当", password="tester-password-1", roles=["admin"])
    session.commit()

    result = run(database_url, "seed", "--municipality", "131016", "--cases", "20", "--open-share", "0", "--seed", "3",
                 "--by", "tester")

    assert result.exit_code == 0, result.output
    assert "20 件のケースを作成しました（継続中 0 件、終結 20 件" in result.output and " 秒" in result.output
    assert "ケースを作成しています" in result.output  # the progress bar (stderr, mixed in by the runner)
    assert "パスワード: " in result.output  # the seed staff were made by this run
    statuses = session.scalars(select(CaseRecord.status)).all()
    assert statuses == [CaseStatus.COMPLETED] * 20
    (row,) = session.scalars(select(AuditRecord).where(AuditRecord.action == "seed.cases"))
    assert (row.detail["cases"], row.detail["closed"], row.detail["seed"], row.detail["via"]) == (20, 20, 3, "cli")
    assert row.actor_id == tester.id and row.detail["operator"]


def test_seed_refuses_a_municipality_with_real_cases_and_an_unknown_one(database_url, session, clock):
    assert run(database_url, "municipality", "add", "--code", "131016", "--name", "千代田区").exit_code == 0
    town = session.scalar(select(MunicipalityRecord))
    worker = create_user(session, clock, municipality_id=town.id, username="real-worker", display_name="相談",
                         password="real-password-12", roles=["caseworker"])
    session.commit()
    cases.start_case(session, clock, worker, session.scalar(select(ProcessVersionRecord)), "本物の相談")

    refused = run(database_url, "seed", "--municipality", "131016", "--cases", "20")
    unknown = run(database_url, "seed", "--municipality", "999999", "--cases", "20")
    too_few = run(database_url, "seed", "--municipality", "131016", "--cases", "0")

    assert refused.exit_code == 1 and "seed_refused [municipality]" in refused.output
    assert "1 real case" in refused.output
    assert unknown.exit_code == 1 and "not_found" in unknown.output
    assert too_few.exit_code == 2 and "--cases" in too_few.output
    assert session.scalar(select(func.count()).select_from(CaseRecord)) == 1
    assert session.scalar(select(AuditRecord).where(AuditRecord.action == "seed.cases")) is None
