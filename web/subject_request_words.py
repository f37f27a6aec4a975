"""The words of the data-subject request pages: the statutory names of the kinds, statuses and outcomes
(開示請求, 部分開示, 不開示 ...), the forms' field names, and how a held value reads in the document."""
from __future__ import annotations

import json
from typing import Any

from flask_babel import gettext as _

from tsunagu.engine.records import subject_data
from tsunagu.engine.records.tables import RequestKind

# A case whose use can be stopped: anything not closed and not already suspended.
OPEN_CASE_STATES = ("running", "waiting", "error")


def kind_labels() -> dict[str, str]:
    return {RequestKind.DISCLOSURE.value: _("Disclosure request"),
            RequestKind.CORRECTION.value: _("Correction request"),
            RequestKind.SUSPENSION.value: _("Request to stop use")}


def status_labels() -> dict[str, str]:
    return {"received": _("Received, awaiting decision"), "decided": _("Decided"),
            "withdrawn": _("Withdrawn by the requester")}


def due_label(kind: object) -> str:
    """The statutory name of the deadline (Arts. 83, 94, 102)."""
    code = str(getattr(kind, "value", kind))
    return {RequestKind.DISCLOSURE.value: _("Disclosure decision due"),
            RequestKind.CORRECTION.value: _("Correction decision due"),
            RequestKind.SUSPENSION.value: _("Stop-use decision due")}.get(code, _("Decision due"))


def outcome_labels(kind: object = None) -> dict[str, str]:
    """The decisions open to the desk, in the words of the kind of request."""
    code = str(getattr(kind, "value", kind))
    if code == RequestKind.CORRECTION.value:
        return {"granted": _("Correct"), "partly": _("Correct in part"), "refused": _("Do not correct")}
    if code == RequestKind.SUSPENSION.value:
        return {"granted": _("Stop use"), "partly": _("Stop use in part"), "refused": _("Do not stop use")}
    return {"granted": _("Disclose in full"), "partly": _("Partial disclosure"), "refused": _("Non-disclosure")}


def person_field_labels() -> dict[str, str]:
    return {"name": _("Full name"), "kana": _("Kana"), "birth_year": _("Birth year")}


def FORM_TITLES(form: str | None) -> dict[str, str]:  # noqa: N802  (a table of names, read like a constant)
    """The fields of each form on the pages, by the name the engine's errors use."""
    common = {"confirmed": _("Confirmation"), "reason": _("Reason"), "value": _("Corrected value"),
              "form": _("Form")}
    own = {
        "receive": {"kind": _("Kind of request"), "requester": _("Requester"), "received_on": _("Received on"),
                    "details": _("What is asked")},
        "link": {"person_id": _("Person")},
        "decide": {"outcome": _("Decision"), "note": _("Note on the decision")},
        "withdraw": {"note": _("Note"), "withdraw_note": _("Note")},
        "correct_person": {"field": _("Item to correct")},
        "correct_answer": {"answer": _("Answer to correct"), "field": _("Answer to correct"),
                           "submission_id": _("Answer to correct")},
    }
    return {**common, **own.get(form or "", {})}


def shown(value: Any) -> str:
    """A held value as a reader sees it: yes/no, lists joined, nothing as a dash."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, (list, tuple)):
        return "、".join(shown(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def withheld_words() -> dict[str, str]:
    """The engine's fixed phrases for what is withheld and why (engine/records/subject_data.py: WHAT_* and
    *_REASON, kept word for word here; a test checks each has its translation), translated."""
    return {
        "A form answer naming another person": _("A form answer naming another person"),
        "Who referred the person": _("Who referred the person"),
        "The key person named by the council": _("The key person named by the council"),
        "Minutes of a council meeting": _("Minutes of a council meeting"),
        "The coordinating body's note on the agenda item": _("The coordinating body's note on the agenda item"),
        "A supervisor's review of an emergency sharing": _("A supervisor's review of an emergency sharing"),
        "The review note on an emergency sharing": _("The review note on an emergency sharing"),
        subject_data.THIRD_PARTY_REASON: _(
            "Information about an individual other than the requester by which that individual can be "
            "identified (privacy law Art. 78(1)(ii))."),
        subject_data.DELIBERATION_REASON: _(
            "Deliberation or examination within or between public bodies whose disclosure would unduly harm "
            "the frank exchange of opinions (privacy law Art. 78(1)(vi); council secrecy, Act Art. 18)."),
        subject_data.MINUTES_REASON: _(
            "The minutes record the council's deliberation and other persons' cases (privacy law Art. 78(1)(ii) "
            "and (vi); council secrecy, Act Art. 18)."),
    }


def purpose_words() -> dict[str, str]:
    """A consent's purposes (the codes the consent form stores)."""
    return {"support_planning": _("support planning"), "information_sharing": _("sharing with named bodies"),
            "council": _("tabling at the council"), "statistics": _("statistics")}


def agenda_purpose_words() -> dict[str, str]:
    return {"tabling": _("Tabled for a decision"), "review": _("Progress review")}
