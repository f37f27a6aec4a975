"""The default member bodies and support-action catalogue a new municipality starts from."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from tsunagu.engine.casefile import ActionTypeRecord, OrganisationKind, OrganisationRecord

DEFAULT_CATALOGUE = Path(__file__).resolve().parent / "catalogue.json"


def install_catalogue(session: Session, municipality_id: int, path: Path = DEFAULT_CATALOGUE) -> dict[str, OrganisationRecord]:
    """Create the member bodies and action types of a catalogue file; return the bodies by key."""
    catalogue = json.loads(Path(path).read_text(encoding="utf-8"))
    bodies = {}
    for entry in catalogue["member_bodies"]:
        body = OrganisationRecord(municipality_id=municipality_id, name=entry["name"],
                                  kind=OrganisationKind.MEMBER_BODY,
                                  is_coordinating_body=entry.get("coordinating", False))
        session.add(body)
        bodies[entry["key"]] = body
    session.flush()
    for entry in catalogue["action_types"]:
        session.add(ActionTypeRecord(municipality_id=municipality_id, code=entry["code"], name=entry["name"],
                                     default_owner_body_id=bodies[entry["owner"]].id,
                                     service_days=entry["service_days"]))
    session.flush()
    return bodies
