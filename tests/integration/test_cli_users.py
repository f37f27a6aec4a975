"""`tsunagu user ...` as an operator setting up a municipality's staff uses it."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from tsunagu.engine.access.security import LoginOutcome, check_password
from tsunagu.engine.casefile.tables import OrganisationKind, OrganisationRecord
from tsunagu.engine.models import AuditRecord, MunicipalityRecord, UserRecord
from tsunagu.web.cli import main

ONE_TIME = re.compile(r"[2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4}-[2-9a-z]{4}")


@pytest.fixture
def chiyoda(session):
    town = MunicipalityRecord(code="131016", name="千代田区")
    session.add(town)
    session.flush()
    session.add(OrganisationRecord(municipality_id=town.id, name="福祉課", kind=OrganisationKind.DEPARTMENT))
    session.commit()
    return town


@pytest.fixture
def tsunagu(database_url, session):
    """Run `tsunagu ARGS...` against the test database; the session sees what it committed afterwards."""

    def run(*args, stdin=None):
        result = CliRunner().invoke(main, list(args), env={"TSUNAGU_DATABASE_URL": database_url}, input=stdin)
        session.expire_all()
        return result

    return run


def user(session, username):
    return session.scalar(select(UserRecord).where(UserRecord.username == username))


def test_user_add_prints_a_one_time_password_once_that_signs_in_and_must_be_changed(tsunagu, session, clock,
                                                                                    chiyoda):
    result = tsunagu("user", "add", "hanako.sato", "--municipality", "131016", "--role", "caseworker",
                     "--role", "supervisor", "--organisation", "福祉課", "--team", "地域福祉係",
                     "--display-name", "佐藤 花子", "--email", "hanako@example.jp")
    assert result.exit_code == 0, result.output
    [initial] = ONE_TIME.findall(result.output)
    assert "初回ログイン時にパスワードの変更が必要です" in result.output
    hanako = user(session, "hanako.sato")
    assert hanako.must_change_password and hanako.team == "地域福祉係" and hanako.display_name == "佐藤 花子"
    assert hanako.role_codes == {"caseworker", "supervisor"}
    assert check_password(session, clock, "hanako.sato", initial).outcome == LoginOutcome.OK
    row = session.scalar(select(AuditRecord).where(AuditRecord.action == "user.created"))
    assert row.actor_id is None and row.detail["via"] == "cli" and row.detail["operator"]


def test_user_add_with_password_stdin_keeps_the_chosen_password(tsunagu, session, clock, chiyoda):
    result = tsunagu("user", "add", "kanri", "--municipality", "131016", "--role", "admin", "--password-stdin",
                     stdin="a long admin passphrase\n")
    assert result.exit_code == 0, result.output
    assert not ONE_TIME.search(result.output) and not user(session, "kanri").must_change_password
    assert check_password(session, clock, "kanri", "a long admin passphrase").outcome == LoginOutcome.OK


def test_user_add_names_every_bad_option_with_its_code_and_exits_1(tsunagu, session, chiyoda):
    result = tsunagu("user", "add", "a b", "--municipality", "131016", "--role", "wizard", "--email", "nope",
                     "--organisation", "無い課")
    assert result.exit_code == 1 and "Traceback" not in result.output
    for expected in ("username: username_invalid", "roles: enum", "email: email_invalid",
                     "organisation: organisation_unknown"):
        assert expected in result.output
    assert session.scalar(select(func.count()).select_from(UserRecord)) == 0
    weak = tsunagu("user", "add", "taro", "--municipality", "131016", "--role", "caseworker", "--password-stdin",
                   stdin="short\n")
    assert weak.exit_code == 1 and "password_too_short" in weak.output


def test_an_unknown_municipality_code_exits_1_saying_so(tsunagu):
    for args in (("add", "taro", "--role", "caseworker"), ("list",), ("import", "/dev/null")):
        result = tsunagu("user", *args, "--municipality", "131008")
        assert result.exit_code == 1 and "municipality 131008 not found" in result.output, args


def test_user_import_prints_each_one_time_password_and_refuses_a_bad_file_whole(tsunagu, session, clock, chiyoda,
                                                                                 tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("username,display_name,email,roles,organisation,team\n"
                   "sato,佐藤,,caseworker,福祉課,\nsato,佐藤,,caseworker,,\nsuzuki,,x,,,\n", encoding="utf-8")
    result = tsunagu("user", "import", str(bad), "--municipality", "131016")
    assert result.exit_code == 1 and "1人も登録していません" in result.output
    for expected in ("line 3: username: duplicate_in_file", "line 4: email: email_invalid", "line 4: roles: required"):
        assert expected in result.output
    assert session.scalar(select(func.count()).select_from(UserRecord)) == 0

    good = tmp_path / "staff.csv"
    good.write_bytes("\ufeffusername,display_name,email,roles,organisation,team\r\n"
                     "sato,佐藤 一郎,,caseworker;supervisor,福祉課,地域福祉係\r\nsuzuki,鈴木,,partner,,\r\n"
                     .encode("utf-8"))
    result = tsunagu("user", "import", str(good), "--municipality", "131016")
    assert result.exit_code == 0, result.output
    lines = dict(re.findall(r"^\s+(\S+)\t(\S+)$", result.output, re.MULTILINE))
    assert set(lines) == {"sato", "suzuki"} and all(ONE_TIME.fullmatch(p) for p in lines.values())
    assert check_password(session, clock, "suzuki", lines["suzuki"]).outcome == LoginOutcome.OK


def test_user_import_of_a_missing_or_shift_jis_file_exits_1_with_advice(tsunagu, chiyoda, tmp_path):
    missing = tsunagu("user", "import", str(tmp_path / "nope.csv"), "--municipality", "131016")
    assert missing.exit_code == 1 and "nope.csv" in missing.output and "Traceback" not in missing.output
    sjis = tmp_path / "sjis.csv"
    sjis.write_bytes("username,display_name,roles\nsato,佐藤,caseworker\n".encode("shift_jis"))
    result = tsunagu("user", "import", str(sjis), "--municipality", "131016")
    assert result.exit_code == 1 and "encoding_not_utf8" in result.output and "CSV UTF-8" in result.output


def test_user_edit_changes_only_the_options_given(tsunagu, session, chiyoda):
    tsunagu("user", "add", "hanako", "--municipality", "131016", "--role", "caseworker", "--team", "相談係",
            "--email", "h@example.jp")
    result = tsunagu("user", "edit", "hanako", "--role", "supervisor", "--organisation", "福祉課", "--email", "")
    assert result.exit_code == 0, result.output
    hanako = user(session, "hanako")
    assert hanako.role_codes == {"supervisor"} and hanako.team == "相談係" and hanako.email is None
    assert hanako.organisation_id is not None
    assert "スーパーバイザー" in result.output and "福祉課" in result.output


def test_the_last_administrator_cannot_be_deactivated_or_demoted_from_the_command_line(tsunagu, chiyoda):
    tsunagu("user", "add", "kanri", "--municipality", "131016", "--role", "admin")
    demote = tsunagu("user", "edit", "kanri", "--role", "caseworker")
    assert demote.exit_code == 1 and "roles: last_admin" in demote.output
    deactivate = tsunagu("user", "deactivate", "kanri")
    assert deactivate.exit_code == 1 and "last_admin" in deactivate.output


def test_deactivate_reactivate_and_reset_change_the_account_and_are_audited(tsunagu, session, clock, chiyoda):
    tsunagu("user", "add", "hanako", "--municipality", "131016", "--role", "caseworker")
    generation = user(session, "hanako").session_generation
    assert tsunagu("user", "deactivate", "hanako").exit_code == 0
    assert not user(session, "hanako").active and user(session, "hanako").session_generation == generation + 1
    assert tsunagu("user", "reactivate", "hanako").exit_code == 0
    assert user(session, "hanako").active
    result = tsunagu("user", "reset", "hanako")
    assert result.exit_code == 0
    [initial] = ONE_TIME.findall(result.output)
    assert check_password(session, clock, "hanako", initial).outcome == LoginOutcome.OK
    actions = session.scalars(select(AuditRecord.action).where(AuditRecord.action.like("user.%"))
                              .order_by(AuditRecord.id)).all()
    assert actions == ["user.created", "user.deactivated", "user.reactivated", "user.credentials_reset"]
    assert tsunagu("user", "reset", "nobody").exit_code == 1


def test_user_list_shows_every_account_with_roles_organisation_and_sign_in_state(tsunagu, chiyoda):
    tsunagu("user", "add", "hanako", "--municipality", "131016", "--role", "caseworker", "--organisation", "福祉課",
            "--team", "地域福祉係", "--display-name", "佐藤 花子")
    tsunagu("user", "add", "kanri", "--municipality", "131016", "--role", "admin", "--password-stdin",
            stdin="a long admin passphrase\n")
    tsunagu("user", "add", "gone", "--municipality", "131016", "--role", "partner")
    tsunagu("user", "deactivate", "gone")
    result = tsunagu("user", "list", "--municipality", "131016")
    assert result.exit_code == 0
    rows = [line.split("\t") for line in result.output.strip().splitlines()]
    assert rows[0][:3] == ["ユーザー名", "氏名", "役割"]
    assert rows[1] == ["hanako", "佐藤 花子", "相談支援員", "福祉課", "地域福祉係", "有効", "オフ", "要変更"]
    assert rows[2] == ["kanri", "kanri", "システム管理者", "—", "—", "有効", "オフ", "設定済み"]
    assert rows[3][0] == "gone" and rows[3][5] == "無効"


def test_every_user_command_has_help(tsunagu):
    for command in ("add", "import", "edit", "deactivate", "reactivate", "reset", "list"):
        result = tsunagu("user", command, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output, command
