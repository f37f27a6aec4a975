"""`tsunagu retention ...` as a records officer uses it: periods shown, set and reset, a case held from
disposal and released, what is due tried out and then disposed of, and the disposal log; every change
audited as the operator at the command line."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select

from tsunagu.engine.commands import cases, queries
from tsunagu.engine.models import AuditRecord, CaseRecord, CaseStatus, MunicipalityRecord
from tsunagu.engine.records import retention
from tsunagu.engine.records.tables import DisposalRecord, LegalHoldRecord, RecordType
from tsunagu.processes.deployment import deploy
from tsunagu.processes.loader import load_definition
from tsunagu.web.cli import main

TWO_FORMS = Path(__file__).resolve().parents[2] / "bench" / "models" / "two_forms"  # start, A, B, end
CODE = "139999"  # the `municipality` fixture's code


@pytest.fixture
def tsunagu(database_url, session, clock):
    """Run `tsunagu ARGS...` against the test database at the test clock's time; the session then sees what
    the command committed."""

    def run(*args):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("tsunagu.web.cli.base.system_clock", clock)
            result = CliRunner().invoke(main, list(args), env={"TSUNAGU_DATABASE_URL": database_url})
        session.expire_all()
        return result

    return run


@pytest.fixture
def closed_case(session, clock, municipality, caseworker):
    """A case of the two-form process worked to its end: its retention counts from its closure."""
    version = deploy(session, clock, load_definition(TWO_FORMS)).version
    session.commit()
    case = cases.start_case(session, clock, caseworker, version, "山田さんの電話相談")
    for data in ({"note": "話を聞いた", "count": 1}, {"outcome": "done"}):
        cases.complete_task(session, clock, caseworker, queries.open_tasks_of_case(session, case.id)[0].id, data)
    session.expire_all()
    case = session.get(CaseRecord, case.id)
    assert case.status == CaseStatus.COMPLETED
    return case


def _audits(session, action):
    return list(session.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id)))


def test_retention_show_lists_every_record_type_with_its_default(tsunagu, municipality):
    result = tsunagu("retention", "show", "--municipality", CODE)

    assert result.exit_code == 0, result.output
    assert "つながり市（139999）の保存期間" in result.output
    for kind in RecordType:
        line = next(line for line in result.output.splitlines() if kind.value in line)
        assert "5年" in line and "既定値" in line
    assert "終結から5年" in result.output and "記録した時から5年" in result.output


def test_retention_set_changes_a_period_with_its_rule_audited_as_the_operator_and_reset_goes_back(
        tsunagu, session, municipality):
    result = tsunagu("retention", "set", "case_file", "--municipality", CODE, "--years", "10", "--from",
                     "closure", "--rule", "文書管理規程 別表第1")

    assert result.exit_code == 0, result.output
    assert "終結から10年（文書管理規程 別表第1）" in result.output
    policy = retention.policies_of(session, municipality.id)[RecordType.CASE_FILE]
    assert (policy.years, policy.rule, policy.default) == (10, "文書管理規程 別表第1", False)
    [audit] = _audits(session, "retention.policy_set")
    assert audit.actor_id is None and audit.detail["via"] == "cli" and audit.detail["operator"]
    assert audit.municipality_id == municipality.id
    shown = tsunagu("retention", "show", "--municipality", CODE).output
    assert "終結から10年（文書管理規程 別表第1）" in next(line for line in shown.splitlines() if "case_file" in line)

    reset = tsunagu("retention", "reset", "case_file", "--municipality", CODE)
    assert reset.exit_code == 0 and "既定値" in reset.output
    assert retention.policies_of(session, municipality.id)[RecordType.CASE_FILE].default


@pytest.mark.parametrize(("args", "field"), [
    (("case_file", "--years", "0", "--from", "closure"), "years"),
    (("case_file", "--years", "101", "--from", "closure"), "years"),
    (("case_file", "--years", "ten", "--from", "closure"), "years"),
    (("audit_log", "--years", "5", "--from", "closure"), "counted_from"),
    (("consents", "--years", "5", "--from", "closure", "--rule", "規" * 201), "rule"),
])
def test_retention_set_refuses_a_bad_value_naming_its_field(tsunagu, session, municipality, args, field):
    result = tsunagu("retention", "set", *args, "--municipality", CODE)

    assert result.exit_code == 1 and f"{field}: " in result.output and "変更しませんでした" in result.output
    assert all(p.default for p in retention.policies_of(session, municipality.id).values())
    assert _audits(session, "retention.policy_set") == []


def test_retention_set_refuses_an_unknown_type_and_municipality_before_anything_runs(tsunagu, municipality):
    unknown_type = tsunagu("retention", "set", "diaries", "--municipality", CODE, "--years", "5", "--from", "closure")
    unknown_town = tsunagu("retention", "show", "--municipality", "131016")

    assert unknown_type.exit_code == 2 and "case_file" in unknown_type.output
    assert unknown_town.exit_code == 1 and "not_found [131016]" in unknown_town.output


def test_a_case_is_held_listed_and_released_with_reasons_audited_as_the_operator(tsunagu, session, closed_case):
    ref = closed_case.reference
    held = tsunagu("retention", "hold", ref, "--municipality", CODE, "--reason", "訴訟係属中")

    assert held.exit_code == 0, held.output
    assert session.get(LegalHoldRecord, closed_case.id).reason == "訴訟係属中"
    listed = tsunagu("retention", "holds", "--municipality", CODE).output
    row = next(line for line in listed.splitlines() if line.startswith(ref))
    assert "訴訟係属中" in row and "コマンド" in row and "終結" in row

    again = tsunagu("retention", "hold", ref, "--municipality", CODE, "--reason", "監査")
    assert again.exit_code == 1 and "既に" in again.output
    blank = tsunagu("retention", "release", ref, "--municipality", CODE, "--reason", " ")
    assert blank.exit_code == 1 and "reason: required" in blank.output
    assert session.get(LegalHoldRecord, closed_case.id) is not None

    released = tsunagu("retention", "release", ref, "--municipality", CODE, "--reason", "判決確定")
    assert released.exit_code == 0, released.output
    assert session.get(LegalHoldRecord, closed_case.id) is None
    assert "保留しているケースはありません" in tsunagu("retention", "holds", "--municipality", CODE).output
    [placed], [lifted] = _audits(session, "case.held"), _audits(session, "case.hold_lifted")
    assert placed.detail["via"] == lifted.detail["via"] == "cli" and lifted.detail["reason"] == "判決確定"
    twice = tsunagu("retention", "release", ref, "--municipality", CODE, "--reason", "再度")
    assert twice.exit_code == 1 and "invalid_state" in twice.output


def test_holding_an_unknown_or_another_municipalitys_case_is_refused_by_its_reference(
        tsunagu, session, closed_case):
    session.add(MunicipalityRecord(code="131016", name="千代田区"))
    session.commit()
    unknown = tsunagu("retention", "hold", "1999-999999", "--municipality", CODE, "--reason", "訴訟")
    elsewhere = tsunagu("retention", "hold", closed_case.reference, "--municipality", "131016", "--reason", "訴訟")
    no_reason = tsunagu("retention", "hold", closed_case.reference, "--municipality", CODE, "--reason", "")

    assert unknown.exit_code == 1 and "reference: not_found" in unknown.output
    assert elsewhere.exit_code == 1 and "reference: not_found" in elsewhere.output
    assert no_reason.exit_code == 1 and "reason: required" in no_reason.output
    assert session.scalars(select(LegalHoldRecord)).all() == []


def test_dispose_dry_run_writes_nothing_and_dispose_anonymises_the_due_case_and_logs_it(
        tsunagu, session, clock, closed_case):
    clock.advance(timedelta(days=5 * 366 + 1))
    tried = tsunagu("retention", "dispose", "--municipality", CODE, "--dry-run")

    assert tried.exit_code == 0, tried.output
    assert "試行" in tried.output and "ケース記録・様式" in tried.output and "1 ケースの記録" in tried.output
    assert session.get(CaseRecord, closed_case.id).title == "山田さんの電話相談"
    assert session.scalars(select(DisposalRecord)).all() == []
    assert "廃棄の記録はまだありません" in tsunagu("retention", "disposals", "--municipality", CODE).output

    done = tsunagu("retention", "dispose", "--municipality", CODE)
    assert done.exit_code == 0, done.output
    assert "ケース記録・様式: 1 ケースの記録" in done.output and "匿名化しました" in done.output
    case = session.get(CaseRecord, closed_case.id)
    assert case.title == "" and case.anonymised_at is not None
    records = session.scalars(select(DisposalRecord)).all()
    assert RecordType.CASE_FILE in {r.record_type for r in records}
    assert all(r.run_by.startswith("cli:") for r in records)
    log = tsunagu("retention", "disposals", "--municipality", CODE).output
    assert "ケース記録・様式" in log and "コマンド（" in log and "山田" not in log
    again = tsunagu("retention", "dispose", "--municipality", CODE)
    assert again.exit_code == 0 and "ありませんでした" in again.output


def test_a_held_case_is_kept_by_dispose(tsunagu, session, clock, closed_case):
    assert tsunagu("retention", "hold", closed_case.reference, "--municipality", CODE,
                   "--reason", "開示請求への対応中").exit_code == 0
    clock.advance(timedelta(days=5 * 366 + 1))

    tried = tsunagu("retention", "dispose", "--municipality", CODE, "--dry-run")
    assert "ケース記録・様式" not in tried.output
    assert tsunagu("retention", "dispose", "--municipality", CODE).exit_code == 0
    assert session.get(CaseRecord, closed_case.id).title == "山田さんの電話相談"
    assert session.scalars(select(DisposalRecord).where(DisposalRecord.record_type == RecordType.CASE_FILE)).all() == []


def test_stamp_missing_starts_the_clocks_of_cases_kept_from_before_retention(tsunagu, session, clock, closed_case):
    from tsunagu.engine.records.tables import CaseRemovalRecord

    session.execute(delete(CaseRemovalRecord))  # as a case closed before retention was introduced
    session.commit()
    clock.advance(timedelta(days=5 * 366 + 1))
    before = tsunagu("retention", "dispose", "--municipality", CODE, "--dry-run").output
    assert "ケース記録・様式" not in before  # only old audit rows fall due by their own time

    stamped = tsunagu("retention", "stamp-missing", "--municipality", CODE)
    assert stamped.exit_code == 0 and "4 件の廃棄予定日を記録しました" in stamped.output, stamped.output
    assert [a.detail["removals"] for a in _audits(session, "retention.stamped")] == [4]
    assert "1 ケースの記録" in tsunagu("retention", "dispose", "--municipality", CODE, "--dry-run").output
    assert "0 件" in tsunagu("retention", "stamp-missing", "--municipality", CODE).output
