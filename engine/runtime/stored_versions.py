"""A process version's files and serialized specs, read from the database once per process.

A deployed version never changes (its rows are written once, keyed by the hash of its files), yet every
step of a case needs its spec and every form its schema: reading the two large columns again on each
request cost a statement and the decoding of every file (about 140 KB for the standard process). They are
kept here by database, version id and content hash, at most `KEEP` versions, oldest first out."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy import inspect

from ..models import ProcessVersionRecord

KEEP = 64

_lock = threading.Lock()
_kept: OrderedDict[tuple[str, int, str], tuple[Mapping[str, str], str]] = OrderedDict()


def _key(version: ProcessVersionRecord) -> tuple[str, int, str]:
    session = inspect(version).session
    database = str(session.get_bind().engine.url) if session is not None else ""
    return database, version.id, version.content_hash


def _stored(version: ProcessVersionRecord) -> tuple[Mapping[str, str], str]:
    key = _key(version)
    with _lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
            return found
    found = (MappingProxyType(dict(version.files)), version.spec)  # the deferred columns load here
    with _lock:
        _kept[key] = found
        while len(_kept) > KEEP:
            _kept.popitem(last=False)
    return found


def files_of(version: ProcessVersionRecord) -> Mapping[str, str]:
    """The version's files (name -> text), read-only."""
    return _stored(version)[0]


def spec_of(version: ProcessVersionRecord) -> str:
    """SpiffWorkflow's serialization of the version's parsed specs."""
    return _stored(version)[1]
