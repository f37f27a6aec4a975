"""The expectation table of the engine access matrix (tests/integration/test_access_matrix.py), written
from the rules in engine/access/policy.py and docs/architecture.md, not from running the code."""
from __future__ import annotations

from collections.abc import Callable

MEETING = "2026-12-03"
BREAK_GLASS_HOURS = 2
ROLES = ("cw_a", "cw_b", "supervisor", "coordinator", "coord_npo", "coord_none", "p_shakyo", "p_npo",
         "council_member", "member_npo", "admin", "foreign")
COUNCIL_WINDOW_DAYS = 30  # the municipality's setting (municipalities.council_window_days), the default
ROLE_NOTES = {
    "cw_a": "caseworker who opened and works the case",
    "cw_b": "caseworker of the same municipality, not on the case",
    "supervisor": "supervisor with no task on the case",
    "coordinator": "coordinating body (福祉課, fukushi)",
    "coord_npo": "coordinator role given to a user of the NPO, not the designated coordinating body",
    "coord_none": "coordinator role with no organisation",
    "p_shakyo": "partner of 社協 (owner body of the action)",
    "p_npo": "partner of NPO つながる居場所 (another member body)",
    "council_member": "council member of 保健センター, attending the meeting",
    "member_npo": "council member of the NPO, whose body does not attend",
    "admin": "administrator",
    "foreign": "caseworker of another municipality",
}
PARTNER_ROLES = ("p_shakyo", "p_npo")
READS = ("view_case", "view_task", "export_case", "who_accessed")
REFUSED = "refused"
ALLOWED = "allowed"


# --- The expectation table, from the rules ------------------------------------------------------
#
# Per situation and operation: for view_case, role -> "scope:basis" for the roles that may read;
# for other operations, the set of roles that are allowed. Every role not named is refused.
# `view_task:<element>` is the case's open task of that element, `complete_task:<element>` the open
# partner task (tried by the partner roles only), `withdraw_consent` the consent in force.

STAFF_ONLY = {"cw_a"}
COUNCIL_CASE = {"cw_a", "coordinator"}  # case staff with the whole file (add action, review, withdraw)

EXPECTED: dict[str, dict[str, object]] = {
    # (1) own case just after intake, not tabled: only the staff basis exists.
    "1_intake": {
        "view_case": {"cw_a": "full:staff"},
        "view_task:baseline_assessment": {"cw_a", "cw_b"},  # caseworker lane, shared inbox of the municipality
        "export_case": STAFF_ONLY,
        "who_accessed": set(),  # the caseworker's role may not; the supervisor has no basis; not tabled
        "add_support_action": STAFF_ONLY,
        "request_review": STAFF_ONLY,
    },
    # (2) consent refused, tabled under Art. 16: council bases, no consent basis for anyone.
    "2_tabled_art16": {
        "view_case": {"cw_a": "full:staff", "coordinator": "full:council", "council_member": "full:council"},
        "export_case": STAFF_ONLY,  # exports are for case staff only
        "who_accessed": {"coordinator"},
        "add_support_action": COUNCIL_CASE,
        "request_review": COUNCIL_CASE,
    },
    # (3) consent given naming the NPO only, tabled on the consent basis.
    "3_tabled_consent": {
        "view_case": {"cw_a": "full:staff", "coordinator": "full:council", "council_member": "full:council",
                      "p_npo": "full:consent", "member_npo": "full:consent"},  # the consent names the NPO
        "export_case": STAFF_ONLY,  # exports are for case staff only
        "who_accessed": {"coordinator"},
        "add_support_action": COUNCIL_CASE,
        "request_review": COUNCIL_CASE,
        "withdraw_consent": COUNCIL_CASE,
    },
    # (4) decided under Art. 16 (no consent); an open action owned by 社協, shared on the council basis.
    "4_action_open_council": {
        "view_case": {"cw_a": "full:staff", "coordinator": "full:council", "council_member": "full:council",
                      "p_shakyo": "packet:action"},
        "view_task:action_response": {"p_shakyo"},
        "export_case": STAFF_ONLY,  # exports are for case staff only
        "who_accessed": {"coordinator"},
        "add_support_action": COUNCIL_CASE,
        "request_review": COUNCIL_CASE,
        "complete_task:action_response": {"p_shakyo"},
    },
    # (5) as (4) but the action was shared on a consent (naming the NPO), then the consent was withdrawn:
    # the owner body's basis ended with the consent, the NPO's consent basis too.
    "5_action_consent_withdrawn": {
        "view_case": {"cw_a": "full:staff", "coordinator": "full:council", "council_member": "full:council"},
        "view_task:action_response": set(),  # offered to 社協, whose basis is gone
        "view_task:withdrawal_followup": {"cw_a", "cw_b"},  # caseworker lane
        "export_case": STAFF_ONLY,  # exports are for case staff only
        "who_accessed": {"coordinator"},
        "add_support_action": COUNCIL_CASE,
        "request_review": COUNCIL_CASE,
        "complete_task:action_response": set(),
    },
    # (6) as (4), and 社協 accepted, made first contact and delivered: the action is closed.
    "6_action_closed": {
        "view_case": {"cw_a": "full:staff", "coordinator": "full:council", "council_member": "full:council"},
        "export_case": STAFF_ONLY,  # exports are for case staff only
        "who_accessed": {"coordinator"},
        "add_support_action": COUNCIL_CASE,
        "request_review": COUNCIL_CASE,
    },
    # (2b) as (2), the meeting held and its window over, the council's decision not yet recorded: the
    # members' reading ended with the window; the coordinating body keeps the case while it awaits its decision.
    "2b_tabled_window_over": {
        "view_case": {"cw_a": "full:staff", "coordinator": "full:council"},
        "export_case": STAFF_ONLY,
        "who_accessed": {"coordinator"},
    },
    # (7) as (1), and the supervisor opened the case by break-glass: full, time-limited, and read-only:
    # no export (no copy leaves the system), no command.
    "7_break_glass": {
        "view_case": {"cw_a": "full:staff", "supervisor": "full:break_glass"},
        "view_task:baseline_assessment": {"cw_a", "cw_b"},  # break-glass reads; it does not change lanes
        "export_case": STAFF_ONLY,
        "who_accessed": {"supervisor"},  # a supervisor with a basis
        "add_support_action": STAFF_ONLY,
        "request_review": STAFF_ONLY,
    },
    # (7b) the break-glass has run out: back to (1).
    "7b_break_glass_expired": {
        "view_case": {"cw_a": "full:staff"},
        "view_task:baseline_assessment": {"cw_a", "cw_b"},
        "export_case": STAFF_ONLY,
        "who_accessed": set(),
        "add_support_action": STAFF_ONLY,
        "request_review": STAFF_ONLY,
    },
}


# Defects: (predicate over (situation, role, cell)) -> why the rules want something else. Empty now:
# refused exports and access-log reads are audited (they were not, when this matrix was first run).
KNOWN_MISMATCHES: list[tuple[Callable[[str, str, str], bool], str]] = []


def expected_outcome(situation: str, role: str, op: str) -> str:
    rule = EXPECTED[situation][op]
    if isinstance(rule, dict):
        return rule.get(role, REFUSED)
    return ALLOWED if role in rule else REFUSED


def known_defect(situation: str, role: str, cell: str) -> str | None:
    for matches, reason in KNOWN_MISMATCHES:
        if matches(situation, role, cell):
            return reason
    return None
