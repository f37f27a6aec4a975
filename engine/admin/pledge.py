"""Publishing the secrecy pledge (Act Art. 18): from an administrator's page or the command line."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..access import permissions
from ..casefile.governance import PLEDGE_MAX_LENGTH, PledgeTextRecord, publish_pledge
from ..clock import Clock
from ..db import transaction
from ..errors import FieldError, FormInvalid
from ..models import UserRecord
from .checks import record_change


def publish_pledge_as(session: Session, clock: Clock, admin: UserRecord, text: str) -> PledgeTextRecord:
    """An administrator publishes a new version of the pledge for their municipality; audited."""
    permissions.require_admin(admin)
    return publish_pledge_text(session, clock, admin, admin.municipality_id, text)


def publish_pledge_text(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, text: object,
                        *, operator: str | None = None) -> PledgeTextRecord:
    """Publish a new version for the municipality, from its administrator's page or the command line (actor
    None); every user accepts it again at their next page. Audited."""
    permissions.require_municipal_admin(actor, municipality_id)
    text = text.strip() if isinstance(text, str) else ""
    if not text:
        raise FormInvalid([FieldError("text", "required")], element="pledge")
    if len(text) > PLEDGE_MAX_LENGTH:
        raise FormInvalid([FieldError("text", "maxLength", {"limit": PLEDGE_MAX_LENGTH})], element="pledge")
    if "\x00" in text:  # PostgreSQL refuses NUL in text
        raise FormInvalid([FieldError("text", "pattern")], element="pledge")
    with transaction(session):
        pledge = publish_pledge(session, clock, municipality_id, text)
        record_change(session, clock, actor, "pledge.published", municipality_id, operator, pledge=pledge.id,
                      version=pledge.version)
    return pledge
