"""A search request after parsing: typed criteria and result parameters (see :mod:`.parse`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from huitong.fhir.search.cursor import Cursor
from huitong.fhir.search.params import SearchParam


@dataclass(frozen=True, slots=True)
class TokenValue:
    """``system|code``: ``system`` None means any system, ``""`` means no system; ``code`` None means any."""

    system: str | None
    code: str | None


@dataclass(frozen=True, slots=True)
class RangeValue:
    """A date (epoch ms) or a number with its implied precision: ``[low, high)`` and the prefix."""

    prefix: str
    low: float
    high: float
    value: Decimal | None = None
    system: str | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class ReferenceValue:
    """A reference: by type and id, by id alone, or by absolute URL (canonical)."""

    target_type: str | None
    target_id: str | None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class CompositeValue:
    """``token$value``: a first component (a token) and a second of the composite's second type."""

    first: TokenValue
    second: str | TokenValue | RangeValue | ReferenceValue


Value = str | TokenValue | RangeValue | ReferenceValue | CompositeValue


@dataclass(frozen=True, slots=True)
class Criterion:
    """One search parameter with its values (OR'ed). Criteria of one request are AND'ed.

    ``chain`` is set for ``subject:Patient.name=…`` (the criterion on the referenced type, whose values
    are the real ones); ``has`` for ``_has:Observation:patient:code=…`` (the reverse direction).
    """

    param: SearchParam
    modifier: str | None
    values: tuple[Value, ...]
    target_type: str | None = None
    chain: Criterion | None = None
    has_type: str | None = None


@dataclass(frozen=True, slots=True)
class FilterAnd:
    """``_filter``: every part holds."""

    parts: tuple[FilterNode, ...]


@dataclass(frozen=True, slots=True)
class FilterOr:
    """``_filter``: one part holds."""

    parts: tuple[FilterNode, ...]


@dataclass(frozen=True, slots=True)
class FilterNot:
    """``_filter``: ``not (…)``."""

    part: FilterNode


#: A ``_filter`` expression: criteria combined with and, or, not (see :mod:`.filter`).
FilterNode = Criterion | FilterAnd | FilterOr | FilterNot


@dataclass(frozen=True, slots=True)
class Include:
    """``_include=Observation:subject[:Patient]`` or (``reverse``) ``_revinclude=Provenance:target``."""

    source_type: str
    param: SearchParam | None  # None for ``*``
    target_type: str | None
    reverse: bool
    iterate: bool = False


@dataclass
class SearchRequest:
    """Everything a search asks for."""

    rtype: str
    criteria: list[Criterion] = field(default_factory=list)
    filters: list[FilterNode] = field(default_factory=list)  # ``_filter`` expressions, AND'ed with the criteria
    sort: list[tuple[SearchParam, bool]] = field(default_factory=list)  # (param, descending)
    count: int = 50
    offset: int = 0
    cursor: Cursor | None = None  # set by ``_cursor`` (next/previous links)
    total: str = "none"  # none | estimate | accurate
    includes: list[Include] = field(default_factory=list)
    summary: str | None = None  # true | text | data | count | false
    elements: tuple[str, ...] = ()
    ignored: list[str] = field(default_factory=list)
    self_params: list[tuple[str, str]] = field(default_factory=list)
