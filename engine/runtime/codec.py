"""Task data as JSON text for the trip to and from a sandbox worker, dates and decimals tagged."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Callable

TAG = "__tsunagu__"
MAX_DEPTH = 100


class NotData(TypeError):
    """A value that cannot travel to or from a script (a function, an iterator, an object)."""


def _encode(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise NotData("the data is nested too deeply")
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else {TAG: "float", "v": repr(value)}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: _encode(v, depth + 1) for k, v in value.items()}
        return {TAG: "map", "v": [[_encode(k, depth + 1), _encode(v, depth + 1)] for k, v in value.items()]}
    if isinstance(value, list):
        return [_encode(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": [_encode(v, depth + 1) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {TAG: "set", "v": [_encode(v, depth + 1) for v in value]}
    if isinstance(value, datetime):
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {TAG: "time", "v": value.isoformat()}
    if isinstance(value, timedelta):
        return {TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, Decimal):
        return {TAG: "decimal", "v": str(value)}
    raise NotData(f"a {type(value).__name__} is not data a script can take or give")


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "float": float, "tuple": tuple, "set": set,
    "datetime": datetime.fromisoformat, "date": date.fromisoformat, "time": time.fromisoformat,
    "timedelta": lambda v: timedelta(days=v[0], seconds=v[1], microseconds=v[2]), "decimal": Decimal,
}


def _decode_object(obj: dict[str, Any]) -> Any:
    kind = obj.get(TAG)
    if kind is None or set(obj) != {TAG, "v"}:
        return obj
    if kind == "map":
        return {_hashable(k): v for k, v in obj["v"]}
    if kind == "set":
        return {_hashable(v) for v in obj["v"]}
    return _DECODERS[kind](obj["v"])


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def dumps(value: Any) -> str:
    """JSON text of `value`; raises `NotData` for anything but data."""
    try:
        return json.dumps(_encode(value, 0), separators=(",", ":"), allow_nan=False)
    except RecursionError:
        raise NotData("the data is nested too deeply") from None


def loads(text: str | bytes) -> Any:
    """The value `dumps` wrote."""
    return json.loads(text, object_hook=_decode_object)
