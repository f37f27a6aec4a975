"""The roles a user may hold; a BPMN lane names one of them by its code."""
from __future__ import annotations

import enum


class Role(str, enum.Enum):
    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"
    COORDINATOR = "coordinator"
    COUNCIL_MEMBER = "council_member"
    PARTNER = "partner"
    DESIGNER = "designer"
    ADMIN = "admin"
    REFERRER = "referrer"


ROLE_CODES = frozenset(r.value for r in Role)
