"""API tokens: a secret shown once and stored only as its hash, signing in its user with at most the roles of
its scope, until it expires, is revoked or its user is deactivated; administered only within a municipality."""
from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from tsunagu.engine.access import tokens, users
from tsunagu.engine.access.tokens import authenticate, create_token, revoke_token, tokens_of_municipality
from tsunagu.engine.admin.staff import deactivate_user, reactivate_user, update_staff_user
from tsunagu.engine.errors import FieldError, Forbidden, FormInvalid, NotFound
from tsunagu.engine.models import AuditRecord, MunicipalityRecord

PASSWORD = "tsunagu-test-password"


def _user(session, clock, town, username, roles):
    person = users.create_user(session, clock, municipality_id=town.id, username=username, display_name=username,
                               password=PASSWORD, roles=roles)
    session.commit()
    return person


@pytest.fixture
def system_user(session, clock, municipality):
    """The staff account a consultation desk's software works as."""
    return _user(session, clock, municipality, "soudan-system", ["caseworker", "supervisor"])


@pytest.fixture
def admin(session, clock, municipality):
    return _user(session, clock, municipality, "kanri", ["admin"])


@pytest.fixture
def chiyoda(session, clock):
    """Another municipality with its own administrator."""
    town = MunicipalityRecord(code="131016", name="千代田区")
    session.add(town)
    session.commit()
    return town, _user(session, clock, town, "chiyoda-admin", ["admin"])


def _actions(session, action):
    return list(session.scalars(select(AuditRecord).where(AuditRecord.action == action)))


def test_a_new_token_signs_its_user_in_with_all_their_roles_and_only_its_hash_is_kept(
        session, clock, admin, system_user):
    record, secret = create_token(session, clock, admin, system_user, "相談窓口システム")

    assert secret.startswith("tsunagu_") and len(secret) > 40
    assert record.prefix == secret[:14] and record.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    user, token, roles = authenticate(session, clock, secret)
    assert (user.id, token.id, roles) == (system_user.id, record.id, {"caseworker", "supervisor"})
    stored = session.execute(text("SELECT * FROM api_tokens")).mappings().all()
    logged = [json.dumps(row.detail, ensure_ascii=False) for row in session.scalars(select(AuditRecord))]
    assert secret not in str(stored) and not any(secret[14:] in detail for detail in logged)
    [created] = _actions(session, "token.created")
    assert created.actor_id == admin.id and created.municipality_id == system_user.municipality_id
    assert created.detail["prefix"] == record.prefix and created.detail["via"] == "web"


def test_a_scoped_token_acts_only_with_the_roles_it_names_that_its_user_still_holds(
        session, clock, admin, system_user):
    _record, secret = create_token(session, clock, admin, system_user, "集計", roles=["caseworker"])
    assert authenticate(session, clock, secret)[2] == {"caseworker"}

    update_staff_user(session, clock, admin, system_user.id, roles=["supervisor"])

    with pytest.raises(tokens.TokenRolesWithdrawn) as refused:
        authenticate(session, clock, secret)
    assert refused.value.code == "token_roles_withdrawn"


def test_an_unscoped_token_follows_the_roles_its_user_holds_at_each_request(session, clock, admin, system_user):
    _record, secret = create_token(session, clock, admin, system_user, "全部")
    update_staff_user(session, clock, admin, system_user.id, roles=["caseworker", "partner"])
    assert authenticate(session, clock, secret)[2] == {"caseworker", "partner"}


def test_a_role_the_user_does_not_hold_is_refused_by_name_and_nothing_is_written(session, clock, admin, system_user):
    with pytest.raises(FormInvalid) as refused:
        create_token(session, clock, admin, system_user, "管理用", roles=["caseworker", "admin", "wizard"])

    assert refused.value.errors == [FieldError("roles", "enum", {"values": ["wizard"]}),
                                    FieldError("roles", "role_not_held", {"role": "admin"})]
    assert session.execute(text("SELECT count(*) FROM api_tokens")).scalar() == 0
    assert _actions(session, "token.created") == []


@pytest.mark.parametrize(("name", "days", "problem"), [
    ("", None, FieldError("name", "required")),
    ("x" * 101, None, FieldError("name", "maxLength", {"limit": 100})),
    ("a\x00b", None, FieldError("name", "pattern")),
    ("ok", 0, FieldError("expires_days", "minimum", {"limit": 1})),
    ("ok", 3651, FieldError("expires_days", "maximum", {"limit": 3650})),
    ("ok", "30日", FieldError("expires_days", "type", {"type": "integer"})),
])
def test_a_bad_name_or_lifetime_is_refused_with_its_field(session, clock, admin, system_user, name, days, problem):
    with pytest.raises(FormInvalid) as refused:
        create_token(session, clock, admin, system_user, name, expires_days=days)
    assert refused.value.errors == [problem]


def test_a_token_stops_working_when_it_expires(session, clock, admin, system_user):
    record, secret = create_token(session, clock, admin, system_user, "30日", expires_days="30")
    assert record.expires_at == clock() + timedelta(days=30)

    clock.advance(timedelta(days=30) - timedelta(seconds=1))
    assert authenticate(session, clock, secret)[1].id == record.id
    clock.advance(timedelta(seconds=1))
    with pytest.raises(tokens.TokenExpired) as refused:
        authenticate(session, clock, secret)
    assert refused.value.code == "token_expired" and refused.value.element == record.prefix


def test_a_revoked_token_is_refused_for_good_and_revoking_again_changes_nothing(session, clock, admin, system_user):
    record, secret = create_token(session, clock, None, system_user, "CSV連携", operator="root")
    revoke_token(session, clock, admin, record.id)
    clock.advance(timedelta(hours=1))
    again = revoke_token(session, clock, admin, record.id)

    assert again.revoked_at == clock() - timedelta(hours=1) and again.revoked_by_id == admin.id
    with pytest.raises(tokens.TokenRevoked) as refused:
        authenticate(session, clock, secret)
    assert refused.value.code == "token_revoked"
    [revoked] = _actions(session, "token.revoked")
    assert revoked.detail["token"] == record.id and revoked.actor_id == admin.id
    [created] = _actions(session, "token.created")
    assert created.actor_id is None and created.detail["via"] == "cli" and created.detail["operator"] == "root"


def test_a_deactivated_users_tokens_are_refused_until_the_account_is_opened_again(
        session, clock, admin, system_user):
    _record, secret = create_token(session, clock, admin, system_user, "夜間連携")
    deactivate_user(session, clock, admin, system_user.id)

    with pytest.raises(tokens.UserInactive) as refused:
        authenticate(session, clock, secret)
    assert refused.value.code == "user_inactive"
    with pytest.raises(FormInvalid) as not_created:
        create_token(session, clock, admin, system_user, "新しい")
    assert not_created.value.errors == [FieldError("user", "user_inactive")]
    reactivate_user(session, clock, admin, system_user.id)
    assert authenticate(session, clock, secret)[0].id == system_user.id


@pytest.mark.parametrize("raw", [None, "", "tsunagu_", "Bearer tsunagu_x", "tsunagu_" + "x" * 500, 42,
                                 "tsunagu_\x00", "tsunagu_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
def test_anything_but_an_issued_token_is_unknown(session, clock, admin, system_user, raw):
    _record, secret = create_token(session, clock, admin, system_user, "本物")
    with pytest.raises(tokens.TokenUnknown) as refused:
        authenticate(session, clock, raw)
    assert refused.value.code == "token_unknown" and isinstance(refused.value, Forbidden)
    with pytest.raises(tokens.TokenUnknown):
        authenticate(session, clock, secret[:-1])


def test_the_last_use_is_written_at_most_once_a_minute(session, clock, admin, system_user):
    record, secret = create_token(session, clock, admin, system_user, "頻繁")
    assert record.last_used_at is None
    first = clock()
    authenticate(session, clock, secret)
    clock.advance(timedelta(seconds=59))
    authenticate(session, clock, secret)
    session.expire_all()
    assert session.get(tokens.ApiTokenRecord, record.id).last_used_at == first
    clock.advance(timedelta(seconds=1))
    authenticate(session, clock, secret)
    session.expire_all()
    assert session.get(tokens.ApiTokenRecord, record.id).last_used_at == clock()


def test_another_municipalitys_administrator_cannot_see_create_or_revoke_its_tokens(
        session, clock, admin, system_user, chiyoda):
    town, other_admin = chiyoda
    record, _secret = create_token(session, clock, admin, system_user, "つながり市の連携")
    theirs, _ = create_token(session, clock, other_admin, other_admin, "千代田区の連携")

    with pytest.raises(NotFound):
        create_token(session, clock, other_admin, system_user, "横取り")
    with pytest.raises(NotFound):
        revoke_token(session, clock, other_admin, record.id)
    with pytest.raises(Forbidden):
        tokens_of_municipality(session, other_admin, system_user.municipality_id)
    assert [t.id for t in tokens_of_municipality(session, other_admin, town.id)] == [theirs.id]
    assert [t.id for t in tokens_of_municipality(session, admin, admin.municipality_id)] == [record.id]
    session.expire_all()
    assert session.get(tokens.ApiTokenRecord, record.id).revoked_at is None


def test_only_administrators_create_revoke_or_list_tokens(session, clock, admin, system_user, caseworker):
    record, _secret = create_token(session, clock, admin, system_user, "連携")
    with pytest.raises(Forbidden):
        create_token(session, clock, caseworker, caseworker, "自分用")
    with pytest.raises(Forbidden):
        revoke_token(session, clock, system_user, record.id)
    with pytest.raises(Forbidden):
        tokens_of_municipality(session, system_user, system_user.municipality_id)
