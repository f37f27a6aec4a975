"""The default member bodies and support-action catalogue a new municipality starts from."""
from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy.orm import Session

from tsunagu.engine.casefile.tables import ActionTypeRecord, OrganisationKind, OrganisationRecord
from tsunagu.engine.errors import FieldError, FormInvalid

DEFAULT_CATALOGUE = Path(__file__).resolve().parent / "catalogue.json"
_CODE = re.compile(r"[a-z0-9_]{1,64}")


def read_catalogue(path: Path = DEFAULT_CATALOGUE) -> dict:
    """Parse a catalogue file and check every entry; `FormInvalid` names each bad one by its place."""
    try:
        catalogue = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise FormInvalid([FieldError("catalogue", "unreadable", {"reason": str(error)[:200]})],
                          element=str(path)) from error
    errors: list[FieldError] = []
    if not isinstance(catalogue, dict):
        raise FormInvalid([FieldError("catalogue", "type", {"type": "object"})], element=str(path))
    bodies = catalogue.get("member_bodies")
    actions = catalogue.get("action_types")
    if not isinstance(bodies, list) or not bodies:
        errors.append(FieldError("member_bodies", "required"))
        bodies = []
    if not isinstance(actions, list):
        errors.append(FieldError("action_types", "required"))
        actions = []
    keys: set[str] = set()
    for n, body in enumerate(bodies):
        where = f"member_bodies[{n}]"
        if not isinstance(body, dict):
            errors.append(FieldError(where, "type", {"type": "object"}))
            continue
        errors += _text(body, "key", where) + _text(body, "name", where)
        if body.get("key") in keys:
            errors.append(FieldError(f"{where}.key", "duplicate"))
        keys.add(body.get("key"))
    codes: set[str] = set()
    for n, action in enumerate(actions):
        where = f"action_types[{n}]"
        if not isinstance(action, dict):
            errors.append(FieldError(where, "type", {"type": "object"}))
            continue
        errors += _text(action, "name", where)
        code = action.get("code")
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            errors.append(FieldError(f"{where}.code", "pattern", {"pattern": _CODE.pattern}))
        elif code in codes:
            errors.append(FieldError(f"{where}.code", "duplicate"))
        codes.add(code)
        if action.get("owner") not in keys:
            errors.append(FieldError(f"{where}.owner", "unknown_member_body"))
        days = action.get("service_days")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
            errors.append(FieldError(f"{where}.service_days", "range", {"minimum": 1, "maximum": 365}))
    if errors:
        raise FormInvalid(errors, element=str(path))
    return catalogue


def _text(entry: dict, name: str, where: str) -> list[FieldError]:
    value = entry.get(name)
    if not isinstance(value, str) or not value.strip():
        return [FieldError(f"{where}.{name}", "required")]
    if len(value) > 200 or "\x00" in value:
        return [FieldError(f"{where}.{name}", "maxLength", {"limit": 200})]
    return []


def install_catalogue(session: Session, municipality_id: int, path: Path = DEFAULT_CATALOGUE) -> dict[str, OrganisationRecord]:
    """Create the member bodies and action types of a catalogue file; return the bodies by key."""
    catalogue = read_catalogue(path)
    bodies = {}
    for entry in catalogue["member_bodies"]:
        body = OrganisationRecord(municipality_id=municipality_id, name=entry["name"].strip(),
                                  kind=OrganisationKind.MEMBER_BODY,
                                  is_coordinating_body=bool(entry.get("coordinating", False)))
        session.add(body)
        bodies[entry["key"]] = body
    session.flush()
    for entry in catalogue["action_types"]:
        session.add(ActionTypeRecord(municipality_id=municipality_id, code=entry["code"], name=entry["name"].strip(),
                                     default_owner_body_id=bodies[entry["owner"]].id,
                                     service_days=entry["service_days"]))
    session.flush()
    return bodies
