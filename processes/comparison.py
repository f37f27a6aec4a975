"""Two versions of a process side by side, for a designer: the versions named by selectors (`template:N`,
`municipal:N`, `draft`), their difference (`version_diff.diff_files`), and one audit row per look.

The page /designer/processes/<key>/diff and `tsunagu process diff` call `compare_versions`.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tsunagu.engine import audit
from tsunagu.engine.access import permissions
from tsunagu.engine.clock import Clock
from tsunagu.engine.db import transaction
from tsunagu.engine.errors import FieldError, FormInvalid
from tsunagu.engine.models import ProcessDraftRecord, ProcessVersionRecord, UserRecord

from .drafts import draft_of, version_of
from .version_diff import VersionDiff, diff_files

_SELECTOR = re.compile(r"(template|municipal):([1-9][0-9]{0,8})|draft")
_CACHE: OrderedDict[tuple[str, str], VersionDiff] = OrderedDict()
_CACHE_SIZE = 32


@dataclass(frozen=True)
class Selector:
    """One side of a comparison: a version of the template or of the municipality, or the draft."""

    scope: str  # "template", "municipal" or "draft"
    number: int | None = None

    def __str__(self) -> str:
        return "draft" if self.scope == "draft" else f"{self.scope}:{self.number}"


@dataclass(frozen=True)
class Side:
    """A compared version with its files; exactly one of `version` and `draft` is set."""

    selector: Selector
    files: dict[str, str]
    version: ProcessVersionRecord | None = None
    draft: ProcessDraftRecord | None = None


@dataclass(frozen=True)
class Comparison:
    """What changed from `old` to `new`."""

    old: Side
    new: Side
    diff: VersionDiff


def parse_selector(text: str | None) -> Selector | None:
    """`template:N`, `municipal:N` or `draft` as a selector; None for anything else."""
    found = _SELECTOR.fullmatch((text or "").strip())
    if found is None:
        return None
    return Selector("draft") if found.group(1) is None else Selector(found.group(1), int(found.group(2)))


def _side(session: Session, municipality_id: int | None, process_id: str, selector: Selector, name: str) -> Side:
    if municipality_id is None:
        if selector.scope != "template":
            raise FormInvalid([FieldError(name, "municipality_required")])
        municipality_id = 0  # no municipality has id 0: only the template's versions are found
    if selector.scope == "draft":
        draft = draft_of(session, municipality_id, process_id)
        return Side(selector, dict(draft.files), draft=draft)
    assert selector.number is not None  # noqa: S101 (a version selector always has a number)
    version = version_of(session, municipality_id, process_id, selector.number,
                         template=selector.scope == "template")
    return Side(selector, dict(version.files), version=version)


def _hash(side: Side) -> str:
    record = side.version if side.version is not None else side.draft
    return record.content_hash if record is not None else ""


def diff_sides(old: Side, new: Side) -> VersionDiff:
    """The difference of two sides, worked out once per pair of contents (a diff never changes)."""
    key = (_hash(old), _hash(new))
    if not all(key):
        return diff_files(old.files, new.files)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = diff_files(old.files, new.files)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    _CACHE.move_to_end(key)
    return found


def compare_versions(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int | None,
                     process_id: str, old: str | None, new: str | None, *, via: str = "web",
                     operator: str | None = None) -> Comparison:
    """Compare two versions the municipality can see (`FormInvalid` names a malformed selector with the
    code `selector_invalid`, `NotFound` a version or draft that does not exist) and audit the look.
    Without a municipality (the operator at the command line) only template versions can be compared."""
    if actor is not None or municipality_id is not None:
        permissions.require_designer(actor, municipality_id or 0)
    selectors = {"from": parse_selector(old), "to": parse_selector(new)}
    wrong = [FieldError(side, "selector_invalid") for side, selector in selectors.items() if selector is None]
    if wrong:
        raise FormInvalid(wrong)
    old_selector, new_selector = selectors["from"], selectors["to"]
    assert old_selector is not None and new_selector is not None  # noqa: S101 (checked just above)
    with transaction(session):
        before = _side(session, municipality_id, process_id, old_selector, "from")
        after = _side(session, municipality_id, process_id, new_selector, "to")
        diff = diff_sides(before, after)
        audit.record(session, clock, actor, "process.diff_viewed", process=process_id, municipality=municipality_id,
                     old=str(old_selector), new=str(new_selector), via=via, operator=operator)
    return Comparison(before, after, diff)
