"""The words pages show for stored codes (statuses, risks, bases, reasons), in the reader's language.

Each set is translated once per request and language, not once per row: a list of 50 cases asked for its
status words 250 times before. Templates read them through the `label` global (`label("risk", code)`),
which the macros in `_macros.html` use."""
from __future__ import annotations

from collections.abc import Callable

from flask import g, has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from tsunagu.engine.roles import ROLE_CODES

from .messages import role_name

SETS: dict[str, Callable[[], dict[str, str]]] = {
    "task_status": lambda: {"open": _("Open"), "completed": _("Done"), "cancelled": _("Withdrawn")},
    "case_status": lambda: {"running": _("In progress"), "waiting": _("Waiting"), "completed": _("Closed"),
                            "error": _("Error"), "suspended": _("Suspended")},
    "agenda_basis": lambda: {"consent": _("Person's consent"), "council_art16": _("Council (Act Arts. 16 and 18)")},
    "disclosure_basis": lambda: {"consent": _("Person's consent"), "council": _("Council"),
                                 "life_protection": _("Protection of life or body"), "statute": _("Statute")},
    "access_basis": lambda: {
        "staff": _("Staff working the case"), "council": _("Council (Act Arts. 16 and 18)"), "lead_body": _("Lead body"),
        "action": _("Body carrying out a support action"), "consent": _("Body named in the person's consent"),
        "break_glass": _("Emergency opening (time-limited)"), "supervision": _("Supervisor of the caseworker's team")},
    "risk": lambda: {"normal": _("Normal"), "high": _("High"), "urgent": _("Urgent"),
                     "refer_out": _("Refer to another scheme")},
    "action_status": lambda: {"proposed": _("Requested"), "accepted": _("Accepted"), "declined": _("Declined"),
                              "in_contact": _("First contact made"), "delivered": _("Delivered"),
                              "not_delivered": _("Not delivered")},
    "closure_reason": lambda: {"goal_reached": _("Goal reached"), "moved_away": _("Moved away"),
                               "declined": _("The person does not want support"), "died": _("Died"),
                               "transferred": _("Moved to another scheme")},
    "stage": lambda: {"baseline": _("Baseline"), "review": _("Review")},
    "consent_decision": lambda: {"given": _("Given"), "refused": _("Refused")},
    "consent_method": lambda: {"written": _("In writing"), "oral": _("Orally")},
    "respondent": lambda: {"self": _("The person"), "proxy": _("Supporter's account")},
    "role": lambda: {code: role_name(code) for code in ROLE_CODES},
}


def label_set(kind: str) -> dict[str, str]:
    """The words of one set, translated once per request and language."""
    if not has_request_context():
        return SETS[kind]()
    key = (kind, str(get_locale()))
    cache: dict[tuple[str, str], dict[str, str]] = g.setdefault("label_sets", {})
    found = cache.get(key)
    if found is None:
        found = cache[key] = SETS[kind]()
    return found


def label(kind: str, code: object) -> Markup:
    """The word for `code` in the set `kind` (a translation, trusted as Jinja's own `_` trusts it); an unknown
    code as it is written, escaped."""
    text = str(getattr(code, "value", code))
    found = label_set(kind).get(text)
    return Markup(found) if found is not None else escape(text)  # noqa: S704  (our own catalogue's words)
