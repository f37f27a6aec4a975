"""Setting up a municipality from nothing: its record, member bodies, action catalogue, secrecy pledge
and the shipped national template, in one transaction."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from tsunagu.engine.admin.municipalities import register_municipality
from tsunagu.engine.casefile.governance import DEFAULT_PLEDGE, PledgeTextRecord, publish_pledge
from tsunagu.engine.casefile.tables import OrganisationRecord
from tsunagu.engine.clock import Clock
from tsunagu.engine.db import transaction
from tsunagu.engine.models import MunicipalityRecord

from .catalogue import DEFAULT_CATALOGUE, install_catalogue, read_catalogue
from .deployment import deploy_folder_tree


@dataclass(frozen=True)
class MunicipalitySetUp:
    """What `set_up_municipality` created, for the command to report."""

    municipality: MunicipalityRecord
    bodies: list[OrganisationRecord]
    action_types: int
    pledge: PledgeTextRecord
    processes: list  # the deploy results of the national template


def set_up_municipality(session: Session, clock: Clock, *, code: str, name: str, process_dir: Path,
                        catalogue: Path = DEFAULT_CATALOGUE, operator: str | None = None) -> MunicipalitySetUp:
    """Create a municipality ready for its administrator: all or nothing."""
    actions = len(read_catalogue(catalogue)["action_types"])  # a bad file is refused before anything is written
    with transaction(session):
        town = register_municipality(session, clock, code=code, name=name, operator=operator)
        bodies = install_catalogue(session, town.id, catalogue)
        pledge = publish_pledge(session, clock, town.id, DEFAULT_PLEDGE)
        deployed = deploy_folder_tree(session, clock, Path(process_dir), operator=operator)
    return MunicipalitySetUp(town, list(bodies.values()), actions, pledge, deployed)
