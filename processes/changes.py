"""What a comparison of two process versions is made of: one change per element, rule, field or file,
each with the attributes that changed (old and new values as text).

Shared by `version_diff` (BPMN), `dmn_diff` (decision tables) and `form_diff` (forms); pure, no I/O.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from .bpmn_reading import clean

Shape = tuple[Any, ...]  # an XML subtree in comparable form (see `canonical`)


class ChangeStatus(enum.StrEnum):
    """How one thing differs between the two versions."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True)
class AttributeChange:
    """One attribute of one thing, before and after (None where it was or is not set).

    `attribute` is a stable key (`name`, `lane`, `properties.dueIn`, `script`, `input.<id>`, `required`,
    `option.<value>`, `other`, ...); `label` is the designer's own name for it where the file gives one
    (a decision table's input label, an option's title)."""

    attribute: str
    old: str | None
    new: str | None
    label: str | None = None


@dataclass(frozen=True)
class FileChange:
    """A file added, removed, or changed in a way no element, decision or form change explains."""

    name: str
    status: ChangeStatus


def compare_attributes(old: Mapping[str, str | None], new: Mapping[str, str | None],
                       labels: Mapping[str, str] | None = None) -> tuple[AttributeChange, ...]:
    """The attributes whose values differ, in the order they first appear (old side, then new)."""
    labels = labels or {}
    keys = dict.fromkeys([*old, *new])
    return tuple(AttributeChange(key, old.get(key), new.get(key), labels.get(key))
                 for key in keys if (old.get(key) or None) != (new.get(key) or None))


def entries(values: Iterable[tuple[str, str | None]]) -> dict[str, str | None]:
    """Attribute values by key, with empty text taken as not set."""
    return {key: (value if value else None) for key, value in values}


def canonical(el: etree._Element, skip: Callable[[etree._Element], bool] | None = None) -> Shape:
    """A comparable form of an XML subtree that ignores prefixes, attribute order, whitespace and
    comments, leaving out the children `skip` says are compared elsewhere."""
    children = tuple(canonical(c, skip) for c in el
                     if isinstance(c.tag, str) and not (skip is not None and skip(c)))
    attributes = tuple(sorted((str(k), _qname(el, v) if k == _XSI_TYPE else clean(v)) for k, v in el.attrib.items()))
    return (str(el.tag), attributes, clean(el.text).strip(), children)


_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def _qname(el: etree._Element, value: str) -> str:
    """A prefixed name (`bpmn:tFormalExpression`) with its prefix resolved, so renaming a prefix is no change."""
    prefix, _colon, local = value.rpartition(":")
    namespace = el.nsmap.get(prefix or None)  # no prefix: the default namespace
    return f"{{{namespace}}}{local}" if namespace else clean(value)

