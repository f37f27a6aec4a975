"""A municipality's security settings: a second factor for every staff member, its idle timeout, and how
long access lasts after a case closes (the grace period) and after a council meeting (the meeting window).

They are stored and shown here; signing in enforces them. Administrators always need a second factor.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..access import permissions
from ..clock import Clock
from ..db import transaction
from ..errors import NotFound
from ..models import MunicipalityRecord, UserRecord
from .checks import Checks, checked, record_change

IDLE_MINUTES = (5, 480)  # from a shared counter terminal to one working day
# After closure, consent-, council- and lead-body-based access ends this many days later; council members
# read a meeting's papers this many days after it. Both within a day and ten years.
ACCESS_DAYS = (1, 3650)


def security_settings(session: Session, actor: UserRecord | None, municipality_id: int) -> MunicipalityRecord:
    """The municipality whose settings are shown (`require_second_factor`, `idle_minutes`)."""
    permissions.require_municipal_admin(actor, municipality_id)
    town = session.get(MunicipalityRecord, municipality_id)
    if town is None:
        raise NotFound("no such municipality", element=str(municipality_id))
    return town


def set_security_settings(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, *,
                          require_second_factor: bool, idle_minutes: object, closure_grace_days: object = None,
                          council_window_days: object = None, operator: str | None = None) -> MunicipalityRecord:
    """Store the settings at once; `idle_minutes` None or empty means the installation's default, and a
    day count left None keeps what it is. Audited."""
    permissions.require_municipal_admin(actor, municipality_id)
    with transaction(session):
        town = security_settings(session, actor, municipality_id)
        checks = Checks()
        if idle_minutes is None or (isinstance(idle_minutes, str) and not idle_minutes.strip()):
            minutes = None
        else:
            minutes = checks.integer("idle_minutes", idle_minutes, *IDLE_MINUTES)
        grace = town.closure_grace_days if closure_grace_days is None else \
            checks.integer("closure_grace_days", closure_grace_days, *ACCESS_DAYS)
        window = town.council_window_days if council_window_days is None else \
            checks.integer("council_window_days", council_window_days, *ACCESS_DAYS)
        checks.done("security_settings")
        second_factor = bool(require_second_factor)
        before = {"require_second_factor": town.require_second_factor, "idle_minutes": town.idle_minutes,
                  "closure_grace_days": town.closure_grace_days, "council_window_days": town.council_window_days}
        after = {"require_second_factor": second_factor, "idle_minutes": minutes,
                 "closure_grace_days": grace, "council_window_days": window}
        if after != before:
            town.require_second_factor, town.idle_minutes = second_factor, minutes
            town.closure_grace_days, town.council_window_days = checked(grace), checked(window)
            record_change(session, clock, actor, "settings.changed", municipality_id, operator, before=before,
                          after=after)
    return town
