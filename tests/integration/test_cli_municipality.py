"""`tsunagu municipality add`: a municipality ready for its administrator, or nothing at all."""
from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner
from sqlalchemy import func, select

from tsunagu.engine.access.audit_reports import export_audit_csv
from tsunagu.engine.casefile.governance import PledgeTextRecord
from tsunagu.engine.casefile.tables import ActionTypeRecord, OrganisationRecord
from tsunagu.engine.models import AuditRecord, MunicipalityRecord, ProcessVersionRecord, UserRecord
from tsunagu.web.cli import main


def run(database_url, *args):
    return CliRunner().invoke(main, list(args), env={"TSUNAGU_DATABASE_URL": database_url})


def count(session, record, *where):
    return session.scalar(select(func.count()).select_from(record).where(*where))


def test_municipality_add_installs_bodies_catalogue_pledge_and_the_national_template(database_url, session):
    result = run(database_url, "municipality", "add", "--code", "131016", "--name", "千代田区")

    assert result.exit_code == 0, result.output
    assert "千代田区（131016）を登録しました" in result.output
    town = session.scalar(select(MunicipalityRecord).where(MunicipalityRecord.code == "131016"))
    assert town.name == "千代田区" and not town.is_demo
    assert count(session, OrganisationRecord, OrganisationRecord.municipality_id == town.id) == 6
    assert count(session, ActionTypeRecord, ActionTypeRecord.municipality_id == town.id) == 8
    assert session.scalar(select(PledgeTextRecord.text).where(PledgeTextRecord.municipality_id == town.id)).startswith(
        "孤独・孤立対策推進法第18条")
    template = session.scalars(select(ProcessVersionRecord).where(ProcessVersionRecord.municipality_id.is_(None))).all()
    assert {v.process_id for v in template} == {"kodoku_koritsu_case"}
    added = session.scalar(select(AuditRecord).where(AuditRecord.action == "municipality.added"))
    assert added.detail["code"] == "131016" and added.detail["via"] == "cli" and added.detail["operator"]


def test_a_second_municipality_shares_the_template_already_deployed(database_url, session):
    assert run(database_url, "municipality", "add", "--code", "131016", "--name", "千代田区").exit_code == 0
    second = run(database_url, "municipality", "add", "--code", "１３１０２４", "--name", "中央区")

    assert second.exit_code == 0, second.output
    assert count(session, ProcessVersionRecord) == 1
    assert {t.code for t in session.scalars(select(MunicipalityRecord))} == {"131016", "131024"}
    listed = run(database_url, "municipality", "list")
    assert "131016  千代田区" in listed.output and "131024  中央区" in listed.output


def test_a_code_with_a_wrong_check_digit_is_refused_and_nothing_is_written(database_url, session):
    result = run(database_url, "municipality", "add", "--code", "131017", "--name", "千代田区")

    assert result.exit_code == 1
    assert "code" in result.output and "check_digit_wrong" in result.output
    assert "Traceback" not in result.output
    assert count(session, MunicipalityRecord) == 0 and count(session, OrganisationRecord) == 0


def test_a_code_already_registered_is_refused(database_url, session):
    run(database_url, "municipality", "add", "--code", "131016", "--name", "千代田区")
    again = run(database_url, "municipality", "add", "--code", "131016", "--name", "千代田区")
    assert again.exit_code == 1 and "municipality_exists" in again.output
    assert count(session, OrganisationRecord) == 6


def test_a_broken_catalogue_file_names_each_bad_entry_and_writes_nothing(database_url, session, tmp_path):
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(json.dumps({
        "member_bodies": [{"key": "shakyo", "name": "社会福祉協議会"}, {"key": "shakyo", "name": ""}],
        "action_types": [{"code": "Home Visit", "name": "訪問", "owner": "nowhere", "service_days": 0}]},
        ensure_ascii=False), encoding="utf-8")

    result = run(database_url, "municipality", "add", "--code", "131016", "--name", "千代田区",
                 "--catalogue", str(catalogue))

    assert result.exit_code == 1
    for where in ("member_bodies[1].name", "member_bodies[1].key", "action_types[0].code",
                  "action_types[0].owner", "action_types[0].service_days"):
        assert where in result.output, (where, result.output)
    assert count(session, MunicipalityRecord) == 0


def test_a_catalogue_that_is_not_json_is_refused_clearly(database_url, session, tmp_path):
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_bytes(b"\xff\xfe not json")
    result = run(database_url, "municipality", "add", "--code", "131016", "--name", "千代田区",
                 "--catalogue", str(catalogue))
    assert result.exit_code == 1 and "unreadable" in result.output and "Traceback" not in result.output
    assert count(session, MunicipalityRecord) == 0


def test_a_command_against_a_database_not_yet_prepared_says_to_run_init_db_and_creates_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'not-there' / 'tsunagu.db'}"
    result = CliRunner().invoke(main, ["municipality", "add", "--code", "131016", "--name", "千代田区"],
                                env={"TSUNAGU_DATABASE_URL": url})
    assert result.exit_code == 1
    assert "tsunagu init-db" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "not-there").exists()


def test_the_set_up_done_at_the_command_line_is_in_the_municipalitys_audit_export(database_url, session, clock):
    run(database_url, "municipality", "add", "--code", "131016", "--name", "千代田区")
    run(database_url, "municipality", "add", "--code", "131024", "--name", "中央区")
    added = CliRunner().invoke(main, ["user", "add", "kanri", "--municipality", "131016", "--role", "admin",
                                      "--password-stdin"], input="kanri-no-nagai-aikotoba\n",
                               env={"TSUNAGU_DATABASE_URL": database_url})
    assert added.exit_code == 0, added.output
    admin = session.scalar(select(UserRecord).where(UserRecord.username == "kanri"))

    exported = export_audit_csv(session, clock, admin)

    rows = list(csv.DictReader(io.StringIO(exported)))
    actions = [row["action"] for row in rows]
    assert "municipality.added" in actions and "user.created" in actions
    setup = next(row for row in rows if row["action"] == "municipality.added")
    assert json.loads(setup["detail"])["code"] == "131016"  # 中央区's own set-up is not in 千代田区's log
    assert all(json.loads(row["detail"]).get("code") != "131024" for row in rows)
