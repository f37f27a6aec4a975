"""A municipality's security settings: a second factor for every staff member, and its idle timeout.

They are stored and shown here; signing in enforces them. Administrators always need a second factor.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..access import permissions
from ..clock import Clock
from ..db import transaction
from ..errors import NotFound
from ..models import MunicipalityRecord, UserRecord
from .checks import Checks, record_change

IDLE_MINUTES = (5, 480)  # from a shared counter terminal to one working day


def security_settings(session: Session, actor: UserRecord | None, municipality_id: int) -> MunicipalityRecord:
    """The municipality whose settings are shown (`require_second_factor`, `idle_minutes`)."""
    permissions.require_municipal_admin(actor, municipality_id)
    town = session.get(MunicipalityRecord, municipality_id)
    if town is None:
        raise NotFound("no such municipality", element=str(municipality_id))
    return town


def set_security_settings(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, *,
                          require_second_factor: bool, idle_minutes, operator: str | None = None) -> MunicipalityRecord:
    """Store both settings at once; `idle_minutes` None or empty means the installation's default. Audited."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        town = security_settings(session, actor, municipality_id)
        checks = Checks()
        if idle_minutes is None or (isinstance(idle_minutes, str) and not idle_minutes.strip()):
            minutes = None
        else:
            minutes = checks.integer("idle_minutes", idle_minutes, *IDLE_MINUTES)
        checks.done("security_settings")
        before = {"require_second_factor": town.require_second_factor, "idle_minutes": town.idle_minutes}
        after = {"require_second_factor": bool(require_second_factor), "idle_minutes": minutes}
        if after != before:
            town.require_second_factor, town.idle_minutes = after["require_second_factor"], minutes
            record_change(session, clock, actor, "settings.changed", municipality_id, operator, before=before,
                          after=after)
    return town
