"""JSON in and out of the store.

FHIR decimals carry their precision (``7.0`` mmol/L is not ``7`` mmol/L), so resources from outside are
parsed with :class:`decimal.Decimal` for every number with a fraction or exponent and written back with
exactly the digits they came with. Serialisation uses orjson; stored JSON bytes are spliced into bundles
as they are (:class:`orjson.Fragment`), never parsed again on the read path.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

import orjson


class JsonError(ValueError):
    """The bytes are not a JSON document."""


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError("NaN and Infinity are not JSON numbers")
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def loads(data: bytes | str) -> Any:
    """Parse JSON, keeping decimals exact. Raises :class:`JsonError` with the position of a syntax error.

    The same as ``json.loads(data, parse_float=Decimal, …)``, with the decoder made once per thread instead of
    once per call (building it cost as much as parsing a small resource).
    """
    try:
        if isinstance(data, str):
            if data.startswith("\ufeff"):
                raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", data, 0)
            text = data
        else:
            text = data.decode(json.detect_encoding(data), "surrogatepass")
        return _decoder().decode(text)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise JsonError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
        raise JsonError(f"not valid JSON: {exc}") from exc


_local = threading.local()


def _decoder() -> json.JSONDecoder:
    decoder: json.JSONDecoder | None = getattr(_local, "decoder", None)
    if decoder is None:
        decoder = json.JSONDecoder(parse_float=Decimal, parse_int=_parse_int, parse_constant=_reject_constant)
        _local.decoder = decoder
    return decoder


def loads_fast(data: bytes | str) -> Any:
    """Parse trusted JSON we wrote ourselves (decimals become floats)."""
    return orjson.loads(data)


def _parse_int(text: str) -> int | Decimal:
    """Integers as ``int``; those beyond 64 bits (a large FHIR decimal written without a point) as Decimal."""
    value = int(text)
    return value if -(2**63) <= value < 2**64 else Decimal(text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def dumps(value: Any) -> bytes:
    """Serialise to compact UTF-8 JSON; decimals keep their digits."""
    return orjson.dumps(value, default=_default)


def dumps_pretty(value: Any) -> bytes:
    """Serialise with indentation, for people and for `_pretty=true`."""
    return orjson.dumps(value, default=_default, option=orjson.OPT_INDENT_2)


def dumps_canonical(value: Any) -> bytes:
    """Serialise with sorted keys, for comparing two documents regardless of element order."""
    return orjson.dumps(value, default=_default, option=orjson.OPT_SORT_KEYS)
