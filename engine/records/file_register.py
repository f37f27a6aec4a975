"""The personal-information file register (個人情報ファイル簿, privacy law Arts. 74 and 75), generated from the
municipality's own data.

The statutory entries are the file's name, the public body, the office that administers it, the purpose,
the record items (記録項目), the persons recorded (記録範囲), how records are collected, whether special-care
information (要配慮個人情報) is included, the regular recipients (経常的提供先), where requests are made, other
statutes' procedures and the kind of file. What only people can word (name, purpose, sources, the office,
notes) is the municipality's saved entry; the record items come from the live versions' forms, the
recipients from the disclosure log, the retention from the policies. Nothing here names a person.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit
from ..access import permissions
from ..casefile.governance import CouncilMunicipalityRecord, CouncilRecord
from ..casefile.tables import DisclosureRecord, OrganisationKind, OrganisationRecord, PersonRecord
from ..clock import Clock
from ..db import transaction
from ..errors import FieldError, FormInvalid, NotFound
from ..models import CaseRecord, MunicipalityRecord, ProcessVersionRecord, UserRecord
from ..runtime.forms import SPECIAL_CARE_KEY, resolve_refs
from ..runtime.stored_versions import files_of, spec_of
from .retention import Policy, policies_of
from .tables import InfoFileEntryRecord

NAME_LIMIT = 200  # file_name and department: the columns' length
TEXT_LIMIT = 2000  # purpose, sources, notes: a register's cell, not an essay
FIELDS = ("file_name", "purpose", "sources", "department", "notes")
FORM_PROPERTY = "formJsonSchemaFilename"
# A referrer's concern (engine.commands.cases.CONCERN_FORM) opens a case without a task: its form is read too.
CONCERN_FORM = "concern-schema.json"
CONCERN_TASK = "つなぎ元からの相談の受付"
# The law requires a register entry for a file of at least this many persons (Art. 74(2)(ix) with the
# Cabinet Order); a municipality's ordinance may ask for smaller files too.
STATUTORY_THRESHOLD = 1000

DEFAULT_FILE_NAME = "孤独・孤立対策相談支援記録ファイル"
DEFAULT_PURPOSE = ("孤独・孤立対策推進法に基づき、孤独・孤立の状態にある者等からの相談を受け付け、関係機関との支援の調整、"
                   "孤独・孤立対策地域協議会における検討及び支援の実施状況の管理を行うため。")
DEFAULT_SOURCES = ("本人からの相談及び聴き取りのほか、家族、民生委員、つながりサポーター等からのつなぎ、"
                   "関係機関及び地域協議会の構成機関等からの情報提供により収集する。")
DEFAULT_NOTES = "既定の記載です。公表する前に、名称・利用目的・収集方法・担当組織を確認し、保存してください。"
UNSET_DEPARTMENT = "（担当組織を記入してください）"


@dataclass(frozen=True)
class Entry:
    """What the municipality wrote; `saved` False: the default wording, still to be reviewed."""

    file_name: str
    purpose: str
    sources: str
    department: str
    notes: str | None
    saved: bool
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Item:
    """One record item: a field's title; `categories` names what a special-care choice field records."""

    title: str
    special_care: bool = False
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormItems:
    """The record items of one form of a live process version, with the tasks that fill it in."""

    process: str
    form: str
    tasks: tuple[str, ...]
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Recipient:
    """A recipient of the disclosure log by body (never a person) and basis, with how often it was given data."""

    name: str
    kind: str  # "body" (a member body or department), "council", or "other" (a free-text recipient, unnamed)
    basis: str
    count: int


@dataclass(frozen=True)
class FileRegister:
    municipality_code: str
    municipality_name: str
    public_body: str  # 行政機関等の名称
    entry: Entry
    scope: str  # 記録範囲
    forms: tuple[FormItems, ...]
    recipients: tuple[Recipient, ...]
    member_bodies: tuple[str, ...]
    councils: tuple[str, ...]
    retention: tuple[Policy, ...]
    persons: int

    @property
    def items(self) -> list[Item]:
        """Every record item once, in the order the forms first ask for it (a special-care mark wins)."""
        found: dict[str, Item] = {}
        for form in self.forms:
            for item in form.items:
                if item.title not in found or item.special_care and not found[item.title].special_care:
                    found[item.title] = item
        return list(found.values())

    @property
    def special_care(self) -> list[Item]:
        return [item for item in self.items if item.special_care]

    @property
    def includes_special_care(self) -> bool:
        return any(item.special_care for item in self.items)

    @property
    def below_threshold(self) -> bool:
        return self.persons < STATUTORY_THRESHOLD


def register_of(session: Session, actor: UserRecord | None, municipality_id: int,
                versions: Sequence[ProcessVersionRecord]) -> FileRegister:
    """The municipality's register, from its entry, the forms of `versions` (its live versions, as
    `processes.registry.startable_versions` gives them), its disclosure log, bodies and retention."""
    permissions.require_municipal_admin(actor, municipality_id)
    town = _town(session, municipality_id)
    return FileRegister(
        municipality_code=town.code, municipality_name=town.name, public_body=f"{town.name}長",
        entry=entry_of(session, municipality_id),
        scope=(f"{town.name}に孤独・孤立に関する相談があった者及び関係機関等からつながれた者"
               "（孤独・孤立の状態にある者又はそのおそれのある者）"),
        forms=tuple(form for version in versions for form in _forms_of(version)),
        recipients=tuple(_recipients(session, municipality_id)),
        member_bodies=tuple(session.scalars(
            select(OrganisationRecord.name).where(OrganisationRecord.municipality_id == municipality_id,
                                                  OrganisationRecord.kind == OrganisationKind.MEMBER_BODY,
                                                  OrganisationRecord.active.is_(True))
            .order_by(OrganisationRecord.id))),
        councils=tuple(session.scalars(
            select(CouncilRecord.name).join(CouncilMunicipalityRecord,
                                            CouncilMunicipalityRecord.council_id == CouncilRecord.id)
            .where(CouncilMunicipalityRecord.municipality_id == municipality_id).order_by(CouncilRecord.id))),
        retention=tuple(policies_of(session, municipality_id).values()),
        # An anonymised person (name "") is no longer anyone the file records.
        persons=session.scalar(select(func.count(PersonRecord.id)).where(
            PersonRecord.municipality_id == municipality_id, PersonRecord.name != "")) or 0,
    )


def entry_of(session: Session, municipality_id: int) -> Entry:
    """The municipality's saved entry, or the default wording (not `saved`) until it saves one."""
    row = session.get(InfoFileEntryRecord, municipality_id)
    if row is not None:
        return Entry(row.file_name, row.purpose, row.sources, row.department, row.notes, True, row.updated_at)
    department = session.scalar(
        select(OrganisationRecord.name).where(OrganisationRecord.municipality_id == municipality_id,
                                              OrganisationRecord.active.is_(True))
        .order_by(OrganisationRecord.is_coordinating_body.desc(),
                  (OrganisationRecord.kind == OrganisationKind.DEPARTMENT).desc(), OrganisationRecord.id).limit(1))
    return Entry(DEFAULT_FILE_NAME, DEFAULT_PURPOSE, DEFAULT_SOURCES, department or UNSET_DEPARTMENT, DEFAULT_NOTES,
                 False)


def save_entry(session: Session, clock: Clock, actor: UserRecord | None, municipality_id: int, *,
               file_name: object, purpose: object, sources: object, department: object, notes: object = None,
               operator: str | None = None) -> Entry:
    """Store the municipality's own wording of the register; every field is checked at once. Audited
    (`file_register.updated`, with the fields that changed, before and after)."""
    permissions.require_municipal_admin(actor, municipality_id)
    errors: list[FieldError] = []
    values = {"file_name": _text(errors, "file_name", file_name, NAME_LIMIT, line=True),
              "purpose": _text(errors, "purpose", purpose, TEXT_LIMIT),
              "sources": _text(errors, "sources", sources, TEXT_LIMIT),
              "department": _text(errors, "department", department, NAME_LIMIT, line=True),
              "notes": _text(errors, "notes", notes, TEXT_LIMIT, required=False) or None}
    if errors:
        raise FormInvalid(errors, element="file_register")
    with transaction(session):
        _town(session, municipality_id)
        row = session.get(InfoFileEntryRecord, municipality_id)
        before = {name: getattr(row, name) for name in FIELDS} if row is not None else {}
        if row is None:
            row = InfoFileEntryRecord(municipality_id=municipality_id)
            session.add(row)
        changed = [name for name in FIELDS if before.get(name) != values[name]]
        for name in FIELDS:
            setattr(row, name, values[name])
        row.updated_at, row.updated_by_id = clock(), actor.id if actor is not None else None
        detail: dict[str, Any] = {"fields": changed, "before": {n: before.get(n) for n in changed},
                                  "after": {n: values[n] for n in changed}, "first": not before}
        detail.update({"via": "cli", "operator": operator} if actor is None else {"via": "web"})
        audit.record(session, clock, actor, "file_register.updated", municipality=municipality_id, **detail)
    return entry_of(session, municipality_id)


def _town(session: Session, municipality_id: int) -> MunicipalityRecord:
    town = session.get(MunicipalityRecord, municipality_id)
    if town is None:
        raise NotFound("no such municipality", element=str(municipality_id))
    return town


def _text(errors: list[FieldError], field: str, value: object, limit: int, *, line: bool = False,
          required: bool = True) -> str:
    """A trimmed text within `limit`; a one-line field refuses line breaks, every field other control
    characters (PostgreSQL refuses NUL)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.append(FieldError(field, "type", {"type": "string"}))
        return ""
    value = value.replace("\r\n", "\n").strip()
    if not value:
        if required:
            errors.append(FieldError(field, "required"))
        return ""
    if len(value) > limit:
        errors.append(FieldError(field, "maxLength", {"limit": limit}))
    elif any(ord(ch) < 32 and not (ch in "\n\t" and not line) or ord(ch) == 127 for ch in value):
        errors.append(FieldError(field, "pattern"))
    return value


# --- Record items from the forms -----------------------------------------------------------------
# A version never changes (it is keyed by the hash of its files), so its items are read once per hash.
_KEEP = 64
_lock = threading.Lock()
_kept: OrderedDict[tuple[str, str], tuple[FormItems, ...]] = OrderedDict()


def _forms_of(version: ProcessVersionRecord) -> tuple[FormItems, ...]:
    key = (version.content_hash, version.name)
    with _lock:
        found = _kept.get(key)
    if found is None:
        found = tuple(read_forms(version.name, files_of(version), spec_of(version)))
        with _lock:
            _kept[key] = found
            while len(_kept) > _KEEP:
                _kept.popitem(last=False)
    return found


def read_forms(process: str, files: Any, spec_json: str) -> list[FormItems]:
    """The forms the user tasks of a version's specs name, each once with its tasks, in task order."""
    tasks: dict[str, list[str]] = {CONCERN_FORM: [CONCERN_TASK]} if CONCERN_FORM in files else {}
    for spec in _task_specs(json.loads(spec_json)):
        form = (spec.get("extensions") or {}).get("properties", {}).get(FORM_PROPERTY)
        if isinstance(form, str) and form in files:
            name = str(spec.get("bpmn_name") or spec.get("name") or form)
            if name not in tasks.setdefault(form, []):
                tasks[form].append(name)
    found = []
    for form, names in tasks.items():
        try:
            schema = json.loads(files[form])
        except ValueError:
            continue
        if isinstance(schema, dict):
            found.append(FormItems(process, str(schema.get("title") or form), tuple(names),
                                   tuple(_unique(_items(resolve_refs(schema))))))
    return found


def _task_specs(node: Any) -> Iterable[dict[str, Any]]:
    """Every serialized task spec with extensions, in the order SpiffWorkflow wrote them."""
    if isinstance(node, dict):
        if isinstance(node.get("extensions"), dict):
            yield node
        for value in node.values():
            yield from _task_specs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _task_specs(value)


def _items(schema: dict[str, Any], special: bool = False) -> Iterable[Item]:
    """A field per property, by its title (its name without one); a group's fields stand for it."""
    props = schema.get("properties")
    if not isinstance(props, dict):
        return
    for name, prop in props.items():
        if not isinstance(prop, dict):
            continue
        marked = special or prop.get(SPECIAL_CARE_KEY) is True
        inner = prop.get("items") if prop.get("type") == "array" else prop
        if isinstance(inner, dict) and isinstance(inner.get("properties"), dict):
            yield from _items(inner, marked)
            continue
        # A question's full stop would run into the list's separator (、).
        yield Item(str(prop.get("title") or name).strip().rstrip("。") or name, marked,
                   _choices(prop) if marked else ())


def _choices(prop: dict[str, Any]) -> tuple[str, ...]:
    """The titles of a choice field's options (the categories a special-care list records)."""
    items = prop.get("items")
    node: dict[str, Any] = items if isinstance(items, dict) else prop
    options = node.get("oneOf") or node.get("anyOf")
    if isinstance(options, list):
        return tuple(str(o.get("title") or o.get("const")) for o in options if isinstance(o, dict) and "const" in o)
    names = node.get("enumNames")
    if isinstance(node.get("enum"), list):
        return tuple(str(n) for n in (names if isinstance(names, list) else node["enum"]))
    return ()


def _unique(items: Iterable[Item]) -> list[Item]:
    found: dict[str, Item] = {}
    for item in items:
        if item.title not in found or item.special_care and not found[item.title].special_care:
            found[item.title] = item
    return list(found.values())


# --- Recipients from the disclosure log -----------------------------------------------------------

def _recipients(session: Session, municipality_id: int) -> list[Recipient]:
    """Who the log says was given data, by body and basis. A recipient is named only as a body of the
    municipality (a watcher's name after it is dropped) or its council; free text is counted, never shown."""
    rows = session.execute(
        select(DisclosureRecord.recipient, DisclosureRecord.basis, func.count(DisclosureRecord.id))
        .join(CaseRecord, CaseRecord.id == DisclosureRecord.case_id)
        .where(CaseRecord.municipality_id == municipality_id)
        .group_by(DisclosureRecord.recipient, DisclosureRecord.basis)).all()
    bodies = list(session.scalars(select(OrganisationRecord.name)
                                  .where(OrganisationRecord.municipality_id == municipality_id)))
    council_names = list(session.scalars(
        select(CouncilRecord.name).join(CouncilMunicipalityRecord,
                                        CouncilMunicipalityRecord.council_id == CouncilRecord.id)
        .where(CouncilMunicipalityRecord.municipality_id == municipality_id).order_by(CouncilRecord.id)))
    counts: dict[tuple[str, str, str], int] = {}
    for recipient, basis, count in rows:
        body = next((b for b in sorted(bodies, key=len, reverse=True)
                     if recipient == b or recipient.startswith(b + "（")), None)
        if body is not None:
            key = (body, "body", basis)
        elif basis == "council":  # a meeting's papers, logged under the meeting's title
            key = ("、".join(council_names) or "", "council", basis)
        else:
            key = ("", "other", basis)
        counts[key] = counts.get(key, 0) + count
    return [Recipient(name, kind, basis, count) for (name, kind, basis), count
            in sorted(counts.items(), key=lambda kv: ({"body": 0, "council": 1, "other": 2}[kv[0][1]], kv[0][0],
                                                      kv[0][2]))]

