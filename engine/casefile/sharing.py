"""Which legal basis lets case data reach another body, decided once for every kind of sharing, or a refusal.

The bases are those of the privacy law for public bodies (Art. 69) and the Act (Art. 16): the person's
consent for that purpose and that recipient; the council's exchange, for a case on the agenda of a meeting
the body attends, within the meeting's window; protection of life, body or property; another statute,
named; internal use or provision to another public body, with good reason. A sharing that fits none is
refused, never relabelled.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..clock import DEFAULT_ZONE, Clock
from ..errors import FieldError, FormInvalid
from ..models import CaseRecord, MunicipalityRecord, UserRecord
from .tables import (
    AgendaAttendeeRecord,
    AgendaItemRecord,
    ConsentRecord,
    CouncilMeetingRecord,
    DisclosureRecord,
    MeetingBodyRecord,
)

# The purposes a consent names (the consent form's `purposes`); each use of a consent checks its own.
SUPPORT_PLANNING = "support_planning"
INFORMATION_SHARING = "information_sharing"
COUNCIL = "council"
STATISTICS = "statistics"
PURPOSES = (SUPPORT_PLANNING, INFORMATION_SHARING, COUNCIL, STATISTICS)

# Bases a caller names outright, and what each must carry with it.
EXPLICIT_BASES = {"life_protection": "reason", "statute": "statute", "internal": "reason", "public_body": "reason"}
MISSING = {"life_protection": "life_protection_needs_reason", "statute": "statute_not_named",
           "internal": "internal_needs_reason", "public_body": "public_body_needs_reason"}
ZONE = ZoneInfo(DEFAULT_ZONE)


class SharingRefused(FormInvalid):
    """No basis lets this body receive the case's data for this purpose now; `code` says what is missing."""

    def __init__(self, code: str, field: str, *, element: str | None = None, body: str | None = None,
                 purpose: str | None = None) -> None:
        params = {k: v for k, v in (("body", body), ("purpose", purpose)) if v is not None}
        super().__init__([FieldError(field, code, params)], element=element)
        self.code = code
        self.message = f"{code}: {body or 'recipient'} ({purpose})"
        self.args = (self.message,)
        self.details = params


@dataclass(frozen=True)
class Basis:
    """The basis a sharing rests on, with what the disclosure log must name beside it."""

    basis: str  # consent, council, life_protection, statute, internal, public_body
    purpose: str
    consent_id: int | None = None
    statute: str | None = None
    reason: str | None = None
    agenda_item_id: int | None = None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _consents(session: Session, case_id: int) -> list[ConsentRecord]:
    return list(session.scalars(select(ConsentRecord).where(
        ConsentRecord.case_id == case_id, ConsentRecord.decision == "given").order_by(ConsentRecord.id.desc())))


def consent_recorded_after(consent: ConsentRecord, moment: datetime) -> bool:
    """Whether the person gave this consent after `moment` (a consent renewed after the switch to secrecy)."""
    return _aware(consent.recorded_at) > _aware(moment)


def _consent_usable(case: CaseRecord, consent: ConsentRecord) -> bool:
    """In force, and not overtaken by the switch to the council's secrecy (a consent given after it counts)."""
    if consent.withdrawn_at is not None:
        return False
    return case.secrecy_since is None or consent_recorded_after(consent, case.secrecy_since)


def window_end(session: Session, case: CaseRecord, meeting: CouncilMeetingRecord) -> datetime:
    """The last moment a meeting's tabled papers may be shared: the end of the day, window days after it."""
    town = session.get(MunicipalityRecord, case.municipality_id)
    days = town.council_window_days if town is not None else 30
    return datetime.combine(meeting.held_on + timedelta(days=days), time.max, ZONE)


def attending_item(session: Session, case: CaseRecord, body_id: int, moment: datetime) -> AgendaItemRecord | None:
    """The agenda item, within its meeting's window, of a meeting this body attends for this case."""
    items = session.scalars(select(AgendaItemRecord).where(AgendaItemRecord.case_id == case.id)
                            .order_by(AgendaItemRecord.id.desc())).all()
    now = _aware(moment)
    for item in items:
        if not _aware(item.tabled_at) <= now <= window_end(session, case, item.meeting):
            continue
        chosen = set(session.scalars(select(AgendaAttendeeRecord.organisation_id).where(
            AgendaAttendeeRecord.agenda_item_id == item.id)))
        if not chosen:
            chosen = set(session.scalars(select(MeetingBodyRecord.organisation_id).where(
                MeetingBodyRecord.meeting_id == item.meeting_id)))
        if body_id in chosen:
            return item
    return None


def _tabled_now(session: Session, case: CaseRecord, moment: datetime) -> bool:
    now = _aware(moment)
    return any(_aware(item.tabled_at) <= now <= window_end(session, case, item.meeting)
               for item in session.scalars(select(AgendaItemRecord).where(AgendaItemRecord.case_id == case.id)))


def decide(session: Session, case: CaseRecord, body_id: int | None, purpose: str, moment: datetime, *,
           explicit: str | None = None, reason: str | None = None, statute: str | None = None,
           field: str = "recipient", element: str | None = None, body_name: str | None = None) -> Basis:
    """The basis on which `body_id` (None: a recipient that is not a member body) may receive the case's
    data for `purpose` at `moment`, or SharingRefused saying what is missing."""
    if explicit is not None:
        needs = EXPLICIT_BASES.get(explicit)
        if needs is None:
            raise SharingRefused("sharing_basis_unknown", field, element=element, body=body_name, purpose=purpose)
        given = statute if needs == "statute" else reason
        if not (given or "").strip():
            raise SharingRefused(MISSING[explicit], field, element=element, body=body_name, purpose=purpose)
        return Basis(explicit, purpose, statute=statute if needs == "statute" else None, reason=reason)
    consents = _consents(session, case.id) if body_id is not None else []
    naming = [c for c in consents if body_id in (c.recipient_body_ids or [])]
    for consent in naming:
        if _consent_usable(case, consent) and purpose in (consent.purposes or []):
            return Basis("consent", purpose, consent_id=consent.id)
    if body_id is not None:
        item = attending_item(session, case, body_id, moment)
        withdrawn = any(c.withdrawn_at is not None for c in naming)
        if item is not None and (case.secrecy_since is not None or not withdrawn):
            return Basis("council", purpose, agenda_item_id=item.id)
        if withdrawn and case.secrecy_since is None:
            raise SharingRefused("consent_withdrawn", field, element=element, body=body_name, purpose=purpose)
    if any(_consent_usable(case, c) for c in naming):
        raise SharingRefused("consent_lacks_purpose", field, element=element, body=body_name, purpose=purpose)
    if body_id is not None and _tabled_now(session, case, moment):
        raise SharingRefused("body_not_attending", field, element=element, body=body_name, purpose=purpose)
    if body_id is None:
        raise SharingRefused("recipient_needs_consent_or_reason", field, element=element, body=body_name,
                             purpose=purpose)
    raise SharingRefused("sharing_needs_consent_or_tabling", field, element=element, body=body_name,
                         purpose=purpose)


def consent_for(session: Session, case: CaseRecord, purpose: str) -> ConsentRecord | None:
    """A usable consent listing `purpose`, for a recipient outside the member bodies (named in its free text)."""
    for consent in _consents(session, case.id):
        if _consent_usable(case, consent) and purpose in (consent.purposes or []):
            return consent
    return None


def basis_in_force(session: Session, case: CaseRecord, body_id: int, purpose: str, moment: datetime) -> Basis | None:
    """The consent or council basis a body has now, or None (for access checks that must not raise)."""
    try:
        return decide(session, case, body_id, purpose, moment)
    except SharingRefused:
        return None


def disclose(session: Session, clock: Clock, actor: UserRecord, case_id: int, recipient: str, basis: Basis | str, *,
             consent_id: int | None = None, action_id: int | None = None, reason: str | None = None,
             purpose: str | None = None, statute: str | None = None) -> None:
    """Log that case data reached another body, with the legal basis, purpose and named law it reached it on."""
    if isinstance(basis, Basis):
        consent_id = basis.consent_id if consent_id is None else consent_id
        purpose = purpose or basis.purpose
        statute = statute or basis.statute
        reason = reason or basis.reason
        basis = basis.basis
    session.add(DisclosureRecord(case_id=case_id, recipient=recipient, basis=basis, purpose=purpose,
                                 statute=statute, consent_id=consent_id, action_id=action_id, reason=reason,
                                 recorded_by_id=actor.id, recorded_at=clock()))


def sharing_basis(session: Session, case: CaseRecord, body_id: int, moment: datetime,
                  purpose: str = INFORMATION_SHARING) -> tuple[str, int | None]:
    """The (basis, consent id) pair older callers expect; refuses as `decide` does."""
    decided = decide(session, case, body_id, purpose, moment)
    return decided.basis, decided.consent_id
