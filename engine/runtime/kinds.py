"""What a human task is for, whatever its element is called in a municipality's own model.

Lists, the supervisor's dashboard, the ledger and the reports ask for "reviews" or "tablings", not for
the standard process's element ids: a municipality that renames `follow_up_review` keeps its numbers.
A task's kind is the element's `kind` property when it has one, else the case-file writer its `record`
property names (a `record="tabling"` task is a tabling). The loader refuses a `kind` outside this list.
"""
from __future__ import annotations

from collections.abc import Mapping

KIND_PROPERTY = "kind"
RECORD_PROPERTY = "record"

TABLING = "tabling"  # 協議会への付議
REVIEW = "review"  # モニタリング・評価, and the assessment that opens it
CONTACT = "contact"  # an attempt to reach the person
CONSENT_RENEWAL = "consent_renewal"
CRISIS_REVIEW = "crisis_review"  # the supervisor's review of an emergency disclosure
ESCALATION = "escalation"  # work a process opens because something ran late (an overdue review, a declined action)

# Kinds a designer may name in a `kind` property, besides any record writer's name.
KINDS = (TABLING, REVIEW, CONTACT, CONSENT_RENEWAL, CRISIS_REVIEW, ESCALATION, "intake", "assessment", "consent",
         "closure", "action_response", "action_contact", "action_outcome")

# Follow-up work the supervisor watches as "reviews": overdue ones escalate (DOMAIN: follow-up reviews).
REVIEW_KINDS = (REVIEW, CONSENT_RENEWAL, CRISIS_REVIEW)
# Work that means someone was in touch with the person: the ledger's "days since the last contact".
CONTACT_KINDS = (CONTACT, REVIEW, "action_response", "action_contact", "action_outcome")


def task_kind(properties: Mapping[str, str]) -> str | None:
    """The kind of a task from its element's properties (`kind`, else `record`), or None."""
    value = properties.get(KIND_PROPERTY) or properties.get(RECORD_PROPERTY)
    return str(value)[:32] if value else None
