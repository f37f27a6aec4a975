"""`tsunagu token ...` as an operator connecting another system uses it: the secret printed once, never listed."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.access.tokens import ApiTokenRecord, TokenRevoked, authenticate
from tsunagu.engine.models import AuditRecord, MunicipalityRecord
from tsunagu.web.cli import main

SECRET = re.compile(r"^tsunagu_[A-Za-z0-9_-]{43}$", re.MULTILINE)


@pytest.fixture
def tsunagu(database_url, session):
    """Run `tsunagu ARGS...` against the test database; the session sees what it committed afterwards."""

    def run(*args):
        result = CliRunner().invoke(main, list(args), env={"TSUNAGU_DATABASE_URL": database_url})
        session.expire_all()
        return result

    return run


@pytest.fixture
def system_user(session, clock, municipality, user_password):
    person = users.create_user(session, clock, municipality_id=municipality.id, username="soudan-system",
                               display_name="相談窓口システム", password=user_password,
                               roles=["caseworker", "supervisor"])
    session.commit()
    return person


def _tokens(session):
    return list(session.scalars(select(ApiTokenRecord).order_by(ApiTokenRecord.id)))


def test_token_create_prints_the_secret_once_with_a_warning_and_it_signs_the_user_in(
        tsunagu, session, clock, system_user):
    result = tsunagu("token", "create", "soudan-system", "--name", "相談窓口", "--expires", "90",
                     "--role", "caseworker")

    assert result.exit_code == 0, result.output
    [secret] = SECRET.findall(result.output)
    assert "この一度だけ表示します" in result.output
    [record] = _tokens(session)
    assert (record.name, record.roles, record.created_by_id) == ("相談窓口", "caseworker", None)
    assert authenticate(session, clock, secret)[2] == {"caseworker"}
    row = session.scalar(select(AuditRecord).where(AuditRecord.action == "token.created"))
    assert row.detail["via"] == "cli" and row.detail["operator"] and secret not in str(row.detail)
    assert row.municipality_id == system_user.municipality_id


def test_token_create_without_a_name_names_the_token_after_its_user_and_the_day(tsunagu, session, system_user):
    result = tsunagu("token", "create", "soudan-system")
    assert result.exit_code == 0, result.output
    [record] = _tokens(session)
    assert re.fullmatch(r"soudan-system \d{4}-\d{2}-\d{2}", record.name) and record.expires_at is None


def test_token_create_refuses_a_role_the_user_lacks_by_name_and_an_unknown_user(tsunagu, session, system_user):
    lacking = tsunagu("token", "create", "soudan-system", "--role", "admin")
    nobody = tsunagu("token", "create", "no-such-user")
    never = tsunagu("token", "create", "soudan-system", "--expires", "0")

    assert lacking.exit_code == 1 and "role_not_held" in lacking.output and "'admin'" in lacking.output
    assert "利用者が持っていない役割" in lacking.output and not SECRET.search(lacking.output)
    assert nobody.exit_code == 1 and "not_found" in nobody.output
    assert never.exit_code == 2  # click refuses the range before anything runs
    assert _tokens(session) == []


def test_token_list_shows_each_token_by_its_start_and_never_its_secret(tsunagu, session, municipality, system_user):
    other = MunicipalityRecord(code="131016", name="千代田区")
    session.add(other)
    session.commit()
    created = tsunagu("token", "create", "soudan-system", "--name", "相談窓口")
    [secret] = SECRET.findall(created.output)

    listed = tsunagu("token", "list", "--municipality", municipality.code)
    everywhere = tsunagu("token", "list")
    elsewhere = tsunagu("token", "list", "--municipality", "131016")

    assert listed.exit_code == 0, listed.output
    assert secret not in listed.output and secret[:14] + "…" in listed.output
    row = listed.output.splitlines()[1].split("\t")
    assert row[2:5] == ["相談窓口", "soudan-system", "すべて"] and row[-1] == "—"
    assert everywhere.output == listed.output
    assert "まだありません" in elsewhere.output and secret[:14] not in elsewhere.output


def test_token_revoke_ends_the_token_and_shows_as_revoked_in_the_list(tsunagu, session, clock, municipality,
                                                                      system_user):
    [secret] = SECRET.findall(tsunagu("token", "create", "soudan-system").output)
    [record] = _tokens(session)

    result = tsunagu("token", "revoke", str(record.id))
    again = tsunagu("token", "revoke", str(record.id))
    missing = tsunagu("token", "revoke", "999999")

    assert result.exit_code == 0 and "失効させました" in result.output
    assert again.exit_code == 0 and "既に失効しています" in again.output
    assert missing.exit_code == 1 and "not_found" in missing.output
    with pytest.raises(TokenRevoked):
        authenticate(session, clock, secret)
    revoked = session.scalars(select(AuditRecord).where(AuditRecord.action == "token.revoked")).all()
    assert len(revoked) == 1 and revoked[0].detail["via"] == "cli"
    row = tsunagu("token", "list").output.splitlines()[1].split("\t")
    assert row[-1] != "—"
