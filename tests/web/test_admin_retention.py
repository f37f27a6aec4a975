"""The administrators' retention page: each record type's period changed and reset, a case held from disposal
and the hold lifted after a confirmation, what is due previewed and disposed of after a confirmation, with the
disposal log; refusals named beside their field, nobody else may use it, and odd input never gives a 500."""
from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import complete_next, enrol_totp, reread
from page_text import element
from sqlalchemy import select

from tsunagu.engine.access import users
from tsunagu.engine.commands import cases
from tsunagu.engine.models import AuditRecord, CaseRecord, CaseStatus, MunicipalityRecord
from tsunagu.engine.records import holds, retention
from tsunagu.engine.records.tables import DisposalRecord, LegalHoldRecord, RecordType

TYPES = [t.value for t in RecordType]


@pytest.fixture
def closed_case(session, clock, caseworker, two_forms):
    """A case of the two-form process, worked to its end: its retention counts from its closure."""
    case = cases.start_case(session, clock, caseworker, two_forms, "山田さんの電話相談")
    complete_next(session, clock, caseworker, case, {"note": "話を聞いた", "count": 1})
    complete_next(session, clock, caseworker, case, {"outcome": "done"})
    reread(session)
    case = session.get(CaseRecord, case.id)
    assert case.status == CaseStatus.COMPLETED
    return case


@pytest.fixture
def other_admin(session, clock):
    """An administrator of another municipality."""
    town = MunicipalityRecord(code="131016", name="千代田区")
    session.add(town)
    session.commit()
    person = users.create_user(session, clock, municipality_id=town.id, username="chiyoda-admin",
                               display_name="千代田 管理", password="chiyoda admin passphrase", roles=["admin"])
    session.commit()
    enrol_totp(session, clock, person)
    return person


def _policies(session, municipality):
    reread(session)
    return retention.policies_of(session, municipality.id)


def _audits(session, action):
    reread(session)
    return list(session.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id)))


def _past_retention(clock):
    clock.advance(timedelta(days=5 * 366 + 1))


def test_the_page_is_linked_from_the_admin_page_and_lists_every_record_type_with_its_default(client, login, admin):
    login(admin)

    assert 'href="/admin/retention"' in element(client.get("/admin").get_data(as_text=True), "admin-links")
    page = client.get("/admin/retention").get_data(as_text=True)
    for code in TYPES:
        row = element(page, f"policy-{code}")
        assert "5" in row and f'/admin/retention/policies/{code}' in row
    assert element(page, "no-holds") and element(page, "nothing-due") and element(page, "no-disposals")


def test_an_administrator_changes_a_period_with_its_rule_and_the_change_is_listed_and_audited(
        client, login, session, admin, municipality):
    login(admin)
    form = client.get("/admin/retention/policies/case_file").get_data(as_text=True)
    assert element(form, "policy-form") and 'value="closure" selected' in form

    response = client.post("/admin/retention/policies/case_file",
                           data={"years": "10", "counted_from": "closure", "rule": "文書管理規程 別表第1"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/retention#policies"
    policy = _policies(session, municipality)[RecordType.CASE_FILE]
    assert (policy.years, policy.counted_from.value, policy.rule, policy.default) == (
        10, "closure", "文書管理規程 別表第1", False)
    row = element(client.get("/admin/retention").get_data(as_text=True), "policy-case_file")
    assert "10" in row and "文書管理規程 別表第1" in row
    [audit] = _audits(session, "retention.policy_set")
    assert audit.actor_id == admin.id and audit.detail["via"] == "web"
    assert (audit.detail["before"]["years"], audit.detail["after"]["years"]) == (5, 10)


@pytest.mark.parametrize(("record_type", "fields", "field"), [
    ("case_file", {"years": "0", "counted_from": "closure"}, "years"),
    ("case_file", {"years": "101", "counted_from": "closure"}, "years"),
    ("case_file", {"years": "十", "counted_from": "closure"}, "years"),
    ("case_file", {"years": "", "counted_from": "closure"}, "years"),
    ("case_file", {"years": "9" * 5000, "counted_from": "closure"}, "years"),
    ("case_file", {"years": "5", "counted_from": "tomorrow"}, "counted_from"),
    ("audit_log", {"years": "5", "counted_from": "closure"}, "counted_from"),
    ("consents", {"years": "5", "counted_from": "creation", "rule": "規" * 5000}, "rule"),
])
def test_a_refused_period_is_named_beside_its_field_and_changes_nothing(
        client, login, session, admin, municipality, record_type, fields, field):
    login(admin)
    response = client.post(f"/admin/retention/policies/{record_type}", data=fields)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert element(page, f"err-{field}") and 'aria-invalid="true"' in element(page, f"field-{field}")
    assert all(p.default for p in _policies(session, municipality).values())
    assert _audits(session, "retention.policy_set") == []


def test_resetting_a_period_brings_back_the_default(client, login, session, clock, admin, municipality):
    retention.set_policy(session, clock, admin, municipality.id, RecordType.AUDIT_LOG, 7, "creation", "規程第9条")
    login(admin)
    form = client.get("/admin/retention/policies/audit_log").get_data(as_text=True)
    assert element(form, "reset-policy") and 'value="closure"' not in element(form, "counted_from")

    response = client.post("/admin/retention/policies/audit_log/reset")
    assert response.status_code == 302
    assert _policies(session, municipality)[RecordType.AUDIT_LOG] == retention.DEFAULTS[RecordType.AUDIT_LOG]
    assert 'id="reset-policy"' not in client.get("/admin/retention/policies/audit_log").get_data(as_text=True)


def test_a_case_is_held_by_its_reference_and_the_hold_is_lifted_only_with_a_reason_after_a_confirmation(
        client, login, session, admin, closed_case):
    login(admin)
    ref = closed_case.reference
    response = client.post("/admin/retention/holds", data={"reference": f" {ref} ", "reason": "訴訟係属中"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/retention#holds"
    row = element(client.get("/admin/retention").get_data(as_text=True), f"hold-{ref}")
    assert "訴訟係属中" in row and admin.display_name in row and f"/admin/retention/holds/{ref}/lift" in row

    confirm = client.get(f"/admin/retention/holds/{ref}/lift").get_data(as_text=True)
    assert element(confirm, "confirm-button") and "訴訟係属中" in element(confirm, "confirm")
    refused = client.post(f"/admin/retention/holds/{ref}/lift", data={"reason": "  "})
    assert refused.status_code == 422 and element(refused.get_data(as_text=True), "err-reason")
    reread(session)
    assert session.get(LegalHoldRecord, closed_case.id) is not None

    lifted = client.post(f"/admin/retention/holds/{ref}/lift", data={"reason": "判決確定"})
    assert lifted.status_code == 302
    reread(session)
    assert session.get(LegalHoldRecord, closed_case.id) is None
    assert element(client.get("/admin/retention").get_data(as_text=True), "no-holds")
    [placed], [ended] = _audits(session, "case.held"), _audits(session, "case.hold_lifted")
    assert (placed.case_id, placed.detail["via"]) == (closed_case.id, "web")
    assert (ended.case_id, ended.detail["reason"]) == (closed_case.id, "判決確定")
    assert client.get(f"/admin/retention/holds/{ref}/lift").status_code == 404


@pytest.mark.parametrize(("fields", "field"), [
    ({"reference": "1999-999999", "reason": "訴訟"}, "reference"),
    ({"reference": "", "reason": "訴訟"}, "reference"),
    ({"reference": "x" * 5000, "reason": "訴訟"}, "reference"),
    ({"reason": "訴訟"}, "reference"),
    ({"reference": "REF", "reason": ""}, "reason"),
    ({"reference": "REF", "reason": "理" * 501}, "reason"),
])
def test_a_refused_hold_is_named_beside_its_field(client, login, session, admin, closed_case, fields, field):
    login(admin)
    if fields.get("reference") == "REF":
        fields = fields | {"reference": closed_case.reference}
    response = client.post("/admin/retention/holds", data=fields)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert element(page, f"err-{field}")
    reread(session)
    assert session.scalars(select(LegalHoldRecord)).all() == []


def test_a_case_already_held_or_of_another_municipality_cannot_be_held(
        client, login, session, clock, admin, other_admin, closed_case):
    holds.place_hold(session, clock, admin, admin.municipality_id, closed_case.reference, "監査対象")
    login(admin)
    again = client.post("/admin/retention/holds", data={"reference": closed_case.reference, "reason": "訴訟"})
    assert again.status_code == 422 and element(again.get_data(as_text=True), "err-reference")

    login(other_admin, password="chiyoda admin passphrase")
    stranger = client.post("/admin/retention/holds", data={"reference": closed_case.reference, "reason": "訴訟"})
    assert stranger.status_code == 422 and element(stranger.get_data(as_text=True), "err-reference")
    assert closed_case.reference not in client.get("/admin/retention").get_data(as_text=True)
    assert client.get(f"/admin/retention/holds/{closed_case.reference}/lift").status_code == 404
    assert client.post(f"/admin/retention/holds/{closed_case.reference}/lift",
                       data={"reason": "終了"}).status_code == 404
    reread(session)
    assert [h.reason for h in session.scalars(select(LegalHoldRecord))] == ["監査対象"]


def test_what_is_due_is_previewed_without_writing_and_disposed_of_after_a_confirmation(
        client, login, session, clock, admin, closed_case):
    _past_retention(clock)
    login(admin)
    page = client.get("/admin/retention").get_data(as_text=True)
    assert element(page, "due-case_file") and element(page, "dispose-now")
    confirm = client.get("/admin/retention/dispose").get_data(as_text=True)
    assert element(confirm, "confirm-button") and element(confirm, "due-case_file")
    reread(session)
    assert session.get(CaseRecord, closed_case.id).title == "山田さんの電話相談"  # a preview writes nothing
    assert session.scalars(select(DisposalRecord)).all() == []

    response = client.post("/admin/retention/dispose")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/retention#disposals"
    reread(session)
    case = session.get(CaseRecord, closed_case.id)
    assert case.title == "" and case.anonymised_at is not None
    done = session.scalars(select(DisposalRecord)).all()
    assert RecordType.CASE_FILE in {d.record_type for d in done}
    assert {d.run_by for d in done} == {str(admin.id)}
    page = client.get("/admin/retention").get_data(as_text=True)
    assert element(page, "nothing-due")
    log = element(page, "disposal-log")
    assert admin.display_name in log and "山田" not in log
    assert element(client.get("/admin/retention/dispose").get_data(as_text=True), "nothing-due")


def test_a_held_case_is_neither_shown_as_due_nor_disposed_of_from_the_page(
        client, login, session, clock, admin, closed_case):
    holds.place_hold(session, clock, admin, admin.municipality_id, closed_case.reference, "開示請求への対応中")
    _past_retention(clock)
    login(admin)

    assert 'id="due-case_file"' not in client.get("/admin/retention").get_data(as_text=True)
    assert client.post("/admin/retention/dispose").status_code == 302
    reread(session)
    assert session.get(CaseRecord, closed_case.id).title == "山田さんの電話相談"
    assert session.scalars(select(DisposalRecord).where(DisposalRecord.record_type == RecordType.CASE_FILE)).all() == []


def test_staff_who_are_not_administrators_are_refused_every_retention_page(
        client, login, session, clock, admin, caseworker, supervisor, closed_case):
    holds.place_hold(session, clock, admin, admin.municipality_id, closed_case.reference, "監査対象")
    _past_retention(clock)
    ref = closed_case.reference
    for person in (caseworker, supervisor):
        login(person)
        assert client.get("/admin/retention").status_code == 403
        assert client.get("/admin/retention/policies/case_file").status_code == 403
        assert client.post("/admin/retention/policies/case_file",
                           data={"years": "1", "counted_from": "creation"}).status_code == 403
        assert client.post("/admin/retention/policies/case_file/reset").status_code == 403
        assert client.post("/admin/retention/holds", data={"reference": ref, "reason": "x"}).status_code == 403
        assert client.get(f"/admin/retention/holds/{ref}/lift").status_code == 403
        assert client.post(f"/admin/retention/holds/{ref}/lift", data={"reason": "x"}).status_code == 403
        assert client.get("/admin/retention/dispose").status_code == 403
        assert client.post("/admin/retention/dispose").status_code == 403
    reread(session)
    assert session.get(LegalHoldRecord, closed_case.id) is not None
    assert all(p.default for p in retention.policies_of(session, admin.municipality_id).values())
    assert session.scalars(select(DisposalRecord)).all() == []


def test_another_municipalitys_administrator_disposes_of_nothing_here(
        client, login, session, clock, other_admin, closed_case):
    _past_retention(clock)
    login(other_admin, password="chiyoda admin passphrase")

    assert 'id="due-case_file"' not in client.get("/admin/retention").get_data(as_text=True)
    assert client.post("/admin/retention/dispose").status_code == 302
    reread(session)
    assert session.get(CaseRecord, closed_case.id).title == "山田さんの電話相談"


@pytest.mark.parametrize("path", [
    "/admin/retention/policies/no_such_type", "/admin/retention/policies/" + "x" * 3000,
    "/admin/retention/policies/case_file%00", "/admin/retention/holds/1999-999999/lift",
    "/admin/retention/holds/" + "9" * 3000 + "/lift", "/admin/retention/holds/%00/lift",
])
def test_an_odd_address_is_not_found(client, login, admin, path):
    login(admin)
    assert client.get(path).status_code == 404
    assert client.post(path, data={"years": "5", "counted_from": "closure", "reason": "x"}).status_code in (404, 405)


@pytest.mark.parametrize("fields", [
    {"years": "5\x00", "counted_from": "closure"}, {"years": "5", "counted_from": "closure", "rule": "a\x00b"},
    {"years": "1e309", "counted_from": "closure"}, {"years": "-1", "counted_from": "closure"},
    {"years": "２", "counted_from": "closure"}, {"years": "5", "counted_from": "closure", "rule": "a\nb"},
    {"years": ["5", "6"], "counted_from": ["closure", "creation"]},
])
def test_odd_policy_input_is_refused_without_a_server_error(client, login, session, admin, municipality, fields):
    login(admin)
    response = client.post("/admin/retention/policies/case_file", data=fields)
    assert response.status_code in (302, 422)
    if response.status_code == 302:  # two values of one field: the first one counts
        assert _policies(session, municipality)[RecordType.CASE_FILE].years == 5


@pytest.mark.parametrize("fields", [
    {"reference": "a\x00b", "reason": "x"}, {"reference": "2026-000001", "reason": "a\x00b"},
    {"reference": "<b>\u202e</b>", "reason": "<script>alert(1)</script>"},
])
def test_odd_hold_input_is_refused_without_a_server_error(client, login, admin, fields):
    login(admin)
    response = client.post("/admin/retention/holds", data=fields)
    assert response.status_code == 422
    assert "<script>alert(1)" not in response.get_data(as_text=True)
