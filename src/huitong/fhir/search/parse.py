"""Query string → :class:`~huitong.fhir.search.request.SearchRequest`.

Only :class:`~huitong.fhir.search.errors.SearchError` escapes (a property test holds this). Unknown
parameters are errors unless the client sends ``Prefer: handling=lenient``; then they are ignored and
left out of the self link, as the FHIR spec asks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from huitong.fhir.resource_types import NOT_STORED, RESOURCE_TYPES
from huitong.fhir.search.cursor import decode_cursor
from huitong.fhir.search.errors import SearchError
from huitong.fhir.search.filter import parse_filter
from huitong.fhir.search.fulltext import FULLTEXT, of_type_code, query_terms
from huitong.fhir.search.params import SearchParam, search_params
from huitong.fhir.search.request import (
    CompositeValue,
    Criterion,
    Include,
    RangeValue,
    ReferenceValue,
    SearchRequest,
    TokenValue,
    Value,
)
from huitong.fhir.search.values import date_range, decimal_range

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
#: Modifiers each parameter type accepts (``:Type`` on references is handled apart).
MODIFIERS: dict[str, frozenset[str]] = {
    "string": frozenset({"exact", "contains", "missing"}),
    "token": frozenset({"not", "missing", "text", "in", "not-in", "below", "above", "of-type"}),
    "date": frozenset({"missing"}),
    "reference": frozenset({"missing"}),
    "quantity": frozenset({"missing"}),
    "number": frozenset({"missing"}),
    "uri": frozenset({"below", "above", "missing"}),
    "composite": frozenset({"missing"}),
}
#: Parameters that shape the result rather than select resources.
RESULT_PARAMS = frozenset(
    {
        "_sort",
        "_count",
        "_offset",
        "_cursor",
        "_total",
        "_include",
        "_revinclude",
        "_summary",
        "_elements",
        "_format",
        "_pretty",
    }
)
#: The full-text parameters (``_text``: the narrative; ``_content``: all text), see :mod:`.fulltext`.
FULLTEXT_PARAMS = {code: SearchParam(code, "string", "", ()) for code in FULLTEXT}
_SUMMARY = ("true", "text", "data", "count", "false")
_TOTAL = ("none", "estimate", "accurate")


def parse_search(
    rtype: str,
    pairs: Sequence[tuple[str, str]],
    *,
    lenient: bool = False,
    default_count: int = 50,
    max_count: int = 1000,
) -> SearchRequest:
    """Parse the (key, value) pairs of a search on ``rtype``. Raises only :class:`SearchError`."""
    try:
        return _parse(rtype, pairs, lenient, default_count, max_count)
    except SearchError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, ArithmeticError, RecursionError) as exc:
        raise SearchError(f"invalid search: {exc}") from exc


def _parse(
    rtype: str, pairs: Sequence[tuple[str, str]], lenient: bool, default_count: int, max_count: int
) -> SearchRequest:
    check_type(rtype)
    request = SearchRequest(rtype, count=default_count)
    for key, value in pairs:
        if key in ("_include:iterate", "_revinclude:iterate"):
            request.includes.append(_include(rtype, key.split(":")[0], value))
            request.self_params.append((key, value))
            continue
        if key in RESULT_PARAMS:
            _result_param(request, key, value, max_count)
            if key not in ("_format", "_pretty"):
                request.self_params.append((key, value))
            continue
        try:
            if key == "_filter":
                request.filters.append(parse_filter(rtype, value, parse_criterion))
            else:
                request.criteria.append(parse_criterion(rtype, key, value))
        except SearchError:
            if lenient and _is_unknown(rtype, key):
                request.ignored.append(key)
                continue
            raise
        request.self_params.append((key, value))
    return request


def check_type(rtype: str) -> None:
    """Refuse a type that is not a stored R4 resource type."""
    if rtype not in RESOURCE_TYPES or rtype in NOT_STORED:
        raise SearchError(f"unknown resource type {rtype!r}", 404)


def _is_unknown(rtype: str, key: str) -> bool:
    name = key.split(":")[0].split(".")[0]
    known = name in search_params(rtype) or name in FULLTEXT_PARAMS or name in ("_has", "_filter")
    return not known


def parse_criterion(rtype: str, key: str, value: str) -> Criterion:
    """One ``key=value`` search parameter of ``rtype`` (chains and ``_has`` included)."""
    if key.startswith("_has:"):
        return _has(rtype, key, value)
    if key in FULLTEXT_PARAMS:
        return _fulltext(key, value)
    name, dot, rest = key.partition(".")
    code, _, modifier_text = name.partition(":")
    param = _param(rtype, code)
    modifier: str | None = modifier_text or None
    if dot:
        if param.type != "reference":
            raise SearchError(f"{code} is not a reference parameter and cannot be chained")
        target = modifier or _single_target(param)
        check_type(target)
        if not param.allows_target(target):
            raise SearchError(f"{rtype}.{code} cannot refer to {target}")
        if "." in rest or rest.startswith("_has"):
            raise SearchError("chains of more than one level are not supported")
        inner = parse_criterion(target, rest, value)
        return Criterion(param, None, (), target_type=target, chain=inner)
    target_type: str | None = None
    if modifier is not None and param.type == "reference" and modifier != "missing":
        check_type(modifier)
        if not param.allows_target(modifier):
            raise SearchError(f"{rtype}.{code} cannot refer to {modifier}")
        target_type, modifier = modifier, None
    if modifier is not None and modifier not in MODIFIERS[param.type]:
        raise SearchError(f"modifier :{modifier} is not supported on {param.type} parameter {code}")
    if modifier == "missing":
        if value not in ("true", "false"):
            raise SearchError(f"{code}:missing must be true or false, got {value!r}")
        return Criterion(param, modifier, (value,))
    values = tuple(_value(param, modifier, part, target_type) for part in split_escaped(value, ","))
    if not values:
        raise SearchError(f"{code} has no value")
    return Criterion(param, modifier, values, target_type=target_type)


def _fulltext(key: str, value: str) -> Criterion:
    """``_text=words`` / ``_content=words``: every word must match (comma-separated alternatives are OR'ed)."""
    alternatives = tuple(part for part in split_escaped(value, ",") if part.strip())
    if not alternatives:
        raise SearchError(f"{key} has no value")
    for part in alternatives:
        if not query_terms(part):
            raise SearchError(f"{key}: {part!r} has no word to search for (letters, digits or Chinese characters)")
    return Criterion(FULLTEXT_PARAMS[key], None, alternatives)


def _has(rtype: str, key: str, value: str) -> Criterion:
    parts = key.split(":")
    if len(parts) != 4:
        raise SearchError(f"_has must look like _has:Type:reference:parameter, got {key!r}")
    _, source_type, ref_code, inner_key = parts
    check_type(source_type)
    ref = _param(source_type, ref_code)
    if ref.type != "reference" or not ref.allows_target(rtype):
        raise SearchError(f"{source_type}.{ref_code} is not a reference to {rtype}")
    if inner_key.startswith("_has") or "." in inner_key:
        raise SearchError("_has of more than one level is not supported")
    inner = parse_criterion(source_type, inner_key, value)
    return Criterion(ref, None, (), chain=inner, has_type=source_type)


def _param(rtype: str, code: str) -> SearchParam:
    param = search_params(rtype).get(code)
    if param is None:
        raise SearchError(f"unknown search parameter {code!r} for {rtype}")
    return param


def _single_target(param: SearchParam) -> str:
    if len(param.targets) == 1 and param.targets[0] != "*":
        return param.targets[0]
    raise SearchError(f"chaining {param.code} needs a type, e.g. {param.code}:Patient.name (it may refer to many)")


def split_escaped(text: str, sep: str) -> list[str]:
    """Split at ``sep`` not preceded by a backslash; unescape ``\\,``, ``\\|``, ``\\$`` and ``\\\\``."""
    parts: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            current.append(nxt if nxt in ",|$\\" else ch + nxt)
        elif ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _split_prefix(text: str) -> tuple[str, str]:
    if len(text) > 2 and text[:2] in PREFIXES and (text[2].isdigit() or text[2] in "-+."):
        return text[:2], text[2:]
    return "eq", text


def _value(param: SearchParam, modifier: str | None, text: str, target_type: str | None) -> Value:
    if not text:
        raise SearchError(f"{param.code} has an empty value")
    kind = param.type
    if kind == "composite":
        return _composite(param, text)
    if kind in ("string", "uri") or modifier in ("text", "in", "not-in"):
        return text
    if modifier == "of-type":
        parts = split_escaped(text, "|")
        if len(parts) != 3 or not parts[1] or not parts[2]:
            raise SearchError(f"{param.code}:of-type takes system|code|value (the identifier's type, then its value)")
        return TokenValue(parts[0] or None, of_type_code(parts[1], parts[2]))
    if modifier in ("below", "above"):
        pieces = split_escaped(text, "|")
        if len(pieces) != 2 or not pieces[0] or not pieces[1]:
            raise SearchError(f"{param.code}:{modifier} takes system|code (the code system holds the hierarchy)")
        return TokenValue(pieces[0], pieces[1])
    if kind == "token":
        if "|" in text.replace("\\|", ""):
            token_system, _, token_code = _unescaped_partition(text)
            return TokenValue(token_system, token_code or None)
        return TokenValue(None, text)
    if kind == "date":
        prefix, rest = _split_prefix(text)
        try:
            low, high = date_range(rest)
        except ValueError as exc:
            raise SearchError(f"{param.code}: {exc}") from exc
        return RangeValue(prefix, low, high)
    if kind in ("number", "quantity"):
        prefix, rest = _split_prefix(text)
        number: str = rest
        system: str | None = None
        code: str | None = None
        if kind == "quantity" and "|" in rest:
            pieces = split_escaped(rest, "|")
            if len(pieces) != 3:
                raise SearchError(f"{param.code}: a quantity is number|system|code, got {text!r}")
            number, system, code = pieces[0], pieces[1] or None, pieces[2] or None
        try:
            exact, lower, upper = decimal_range(number)
        except ValueError as exc:
            raise SearchError(f"{param.code}: {exc}") from exc
        return RangeValue(prefix, float(lower), float(upper), exact, system, code)
    return _reference(param, text, target_type)


def _composite(param: SearchParam, text: str) -> CompositeValue:
    parts = split_escaped(text.replace("\\|", "\\\\|"), "$")
    if len(parts) != 2 or not all(parts):
        raise SearchError(f"{param.code} is composite: give token$value, got {text!r}")
    (code1, expr1, _k1), (code2, expr2, kind2) = param.components
    first = _value(SearchParam(code1, "token", expr1, ()), None, parts[0], None)
    second = _value(SearchParam(code2, kind2, expr2, ()), None, parts[1], None)
    assert isinstance(first, TokenValue)  # noqa: S101 - a token parameter parses to a TokenValue
    assert not isinstance(second, CompositeValue)  # noqa: S101 - components are never composite
    return CompositeValue(first, second)


def _unescaped_partition(text: str) -> tuple[str, str, str]:
    parts = split_escaped(text, "|")
    return parts[0], "|", "|".join(parts[1:])


def _reference(param: SearchParam, text: str, target_type: str | None) -> ReferenceValue:
    if "://" in text or text.startswith("urn:"):
        pieces = text.split("/")
        if len(pieces) >= 2 and pieces[-2][:1].isupper() and pieces[-2] in RESOURCE_TYPES:
            return ReferenceValue(pieces[-2], pieces[-1], text)
        return ReferenceValue(None, None, text)
    if "/" in text:
        rtype, _, rid = text.partition("/")
        check_type(rtype)
        if target_type is not None and rtype != target_type:
            raise SearchError(f"{param.code}:{target_type} cannot match a {rtype} reference")
        return ReferenceValue(rtype, rid.split("/")[0])
    return ReferenceValue(target_type, text)


def _result_param(request: SearchRequest, key: str, value: str, max_count: int) -> None:
    rtype = request.rtype
    if key == "_count":
        if not value.isdigit():
            raise SearchError(f"_count must be a non-negative integer, got {value!r}")
        request.count = min(int(value), max_count)
    elif key == "_offset":
        if not value.isdigit():
            raise SearchError(f"_offset must be a non-negative integer, got {value!r}")
        request.offset = int(value)
    elif key == "_cursor":
        request.cursor = decode_cursor(value)
        request.offset = request.cursor.offset
    elif key == "_total":
        if value not in _TOTAL:
            raise SearchError(f"_total must be one of {', '.join(_TOTAL)}")
        request.total = value
    elif key == "_summary":
        if value not in _SUMMARY:
            raise SearchError(f"_summary must be one of {', '.join(_SUMMARY)}")
        request.summary = value
    elif key == "_elements":
        request.elements = tuple(e.strip() for e in value.split(",") if e.strip())
    elif key == "_sort":
        for item in value.split(","):
            descending = item.startswith("-")
            code = item.removeprefix("-")
            param = _param(rtype, code)
            if param.type not in ("string", "token", "date", "number", "quantity", "uri", "reference"):
                raise SearchError(f"cannot sort by {code}")
            request.sort.append((param, descending))
    elif key in ("_include", "_revinclude"):
        request.includes.append(_include(rtype, key, value))


def _include(rtype: str, key: str, value: str) -> Include:
    reverse = key == "_revinclude"
    parts = value.split(":")
    iterate = False
    if parts and parts[-1] == "iterate":
        parts, iterate = parts[:-1], True
    if value == "*":
        return Include(rtype, None, None, reverse, iterate)
    if len(parts) not in (2, 3):
        raise SearchError(f"{key} must look like Type:parameter[:TargetType], got {value!r}")
    source_type = parts[0]
    check_type(source_type)
    if not reverse and source_type != rtype:
        raise SearchError(f"_include must start with the searched type {rtype}")
    if parts[1] == "*":
        return Include(source_type, None, None, reverse, iterate)
    param = _param(source_type, parts[1])
    if param.type != "reference":
        raise SearchError(f"{source_type}.{parts[1]} is not a reference parameter")
    target = parts[2] if len(parts) == 3 else None
    if target is not None:
        check_type(target)
    if reverse and not param.allows_target(rtype):
        raise SearchError(f"{source_type}.{parts[1]} cannot refer to {rtype}")
    return Include(source_type, param, target, reverse, iterate)


def now_ms() -> int:
    """The current time in epoch ms (for ``ap`` on dates)."""
    return int(datetime.now(UTC).timestamp() * 1000)
