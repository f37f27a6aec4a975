"""A case disposed of at the end of its retention (its case file anonymised) is gone for readers, like a
missing case, while the lists that still count it keep working."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tsunagu.engine.models import CaseRecord, CaseStatus
from tsunagu.engine.records import disposal
from tsunagu.engine.records.retention import CASE_BOUND
from tsunagu.engine.records.tables import CaseRemovalRecord


def dispose_of(session, clock, case_id):
    """Close the case as if its process had ended, let its retention run out and dispose of it."""
    case = session.get(CaseRecord, case_id)
    case.status, case.completed_at = CaseStatus.COMPLETED, clock()
    session.add_all(CaseRemovalRecord(case_id=case_id, record_type=kind, municipality_id=case.municipality_id,
                                      removal_at=clock()) for kind in CASE_BOUND)
    session.commit()
    clock.advance(timedelta(minutes=1))
    assert disposal.dispose_due(session, clock, None, case.municipality_id, run_by="test")
    session.expire_all()
    assert session.get(CaseRecord, case_id).anonymised_at is not None


def test_an_anonymised_case_is_not_found_and_the_lists_still_show(client, login, session, clock, caseworker,
                                                                   standard_case):
    case = standard_case("decided")
    reference = case.reference
    login(caseworker)
    assert client.get(f"/cases/{case.id}").status_code == 200

    dispose_of(session, clock, case.id)

    page = client.get(f"/cases/{case.id}")
    assert page.status_code == 404
    assert "山田" not in page.get_data(as_text=True)
    for address in ("/cases", "/", "/ledger", f"/cases?q={reference}"):
        response = client.get(address)
        assert response.status_code in (200, 403), address
        assert "山田さんの相談" not in response.get_data(as_text=True), address
        assert f"/cases/{case.id}\"" not in response.get_data(as_text=True), address  # not listed at all
    for address in (f"/cases/{case.id}/print", f"/cases/{case.id}/export.json"):
        assert client.get(address).status_code == 404, address
    assert session.scalar(select(CaseRecord.title).where(CaseRecord.id == case.id)) == ""
