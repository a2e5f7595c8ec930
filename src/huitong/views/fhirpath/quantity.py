"""FHIRPath Quantity: a decimal value with a UCUM unit or a calendar duration (``year`` … ``millisecond``).

Unit conversion covers the UCUM units clinical data uses most (length, mass, volume, time, the
dimensionless ``1``) and products and quotients of them (``m2``, ``g/m``, ``mg/dL``); anything else compares
only with the same unit. Calendar years and months never equal UCUM ``a`` and ``mo`` (they vary in length).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

#: Calendar duration keywords (singular and plural) → the singular.
CALENDAR_UNITS = {
    name + suffix: name
    for name in ("year", "month", "week", "day", "hour", "minute", "second", "millisecond")
    for suffix in ("", "s")
}
#: Calendar durations that equal a UCUM unit exactly.
CALENDAR_TO_UCUM = {"week": "wk", "day": "d", "hour": "h", "minute": "min", "second": "s", "millisecond": "ms"}
UCUM_TO_CALENDAR = {v: k for k, v in CALENDAR_TO_UCUM.items()} | {"a": "year", "mo": "month"}


@dataclass(frozen=True, slots=True)
class Quantity:
    """``value unit``; ``unit`` is a UCUM code or a calendar keyword (always singular once built)."""

    value: Decimal
    unit: str = "1"

    def __post_init__(self) -> None:
        if self.unit in CALENDAR_UNITS:
            object.__setattr__(self, "unit", CALENDAR_UNITS[self.unit])

    @property
    def is_calendar(self) -> bool:
        return self.unit in CALENDAR_TO_UCUM or self.unit in ("year", "month")

    def __str__(self) -> str:
        number = format_decimal(self.value)
        if self.is_calendar:
            return f"{number} {self.unit}"
        return f"{number} '{self.unit}'"


def format_decimal(value: Decimal) -> str:
    """A decimal in plain notation, keeping its written precision (``0.040``, never ``4.0E-2``)."""
    return format(value, "f")


# -- UCUM ----------------------------------------------------------------------------------------------

_PREFIXES = {
    "k": Decimal("1000"),
    "h": Decimal("100"),
    "da": Decimal("10"),
    "d": Decimal("0.1"),
    "c": Decimal("0.01"),
    "m": Decimal("0.001"),
    "u": Decimal("0.000001"),
    "μ": Decimal("0.000001"),
    "n": Decimal("1E-9"),
    "p": Decimal("1E-12"),
}
#: Atom → (factor to base units, base dimensions). Prefixable atoms are marked in _METRIC.
_ATOMS: dict[str, tuple[Decimal, dict[str, int]]] = {
    "m": (Decimal(1), {"m": 1}),
    "g": (Decimal(1), {"g": 1}),
    "s": (Decimal(1), {"s": 1}),
    "L": (Decimal("0.001"), {"m": 3}),
    "l": (Decimal("0.001"), {"m": 3}),
    "mol": (Decimal(1), {"mol": 1}),
    "min": (Decimal(60), {"s": 1}),
    "h": (Decimal(3600), {"s": 1}),
    "d": (Decimal(86400), {"s": 1}),
    "wk": (Decimal(604800), {"s": 1}),
    "mo": (Decimal("2629800"), {"s": 1}),
    "a": (Decimal("31557600"), {"s": 1}),
    "[in_i]": (Decimal("0.0254"), {"m": 1}),
    "[ft_i]": (Decimal("0.3048"), {"m": 1}),
    "[lb_av]": (Decimal("453.59237"), {"g": 1}),
    "[oz_av]": (Decimal("28.349523125"), {"g": 1}),
    "%": (Decimal("0.01"), {}),
    "1": (Decimal(1), {}),
    "Cel": (Decimal(1), {"K": 1}),
    "K": (Decimal(1), {"K": 1}),
    "[iU]": (Decimal(1), {"[iU]": 1}),
    "U": (Decimal(1), {"U": 1}),
    "eq": (Decimal(1), {"mol": 1}),
    "mm[Hg]": (Decimal("133.322"), {"Pa": 1}),
    "Pa": (Decimal(1), {"Pa": 1}),
}
_METRIC = frozenset({"m", "g", "s", "L", "l", "mol", "U", "eq", "Pa"})
_TERM = re.compile(r"(\[[^\]]+\]|[A-Za-z%μ]+(?:\[[^\]]+\])?|1)(-?\d+)?")
Dims = tuple[tuple[str, int], ...]


def _atom(symbol: str) -> tuple[Decimal, dict[str, int]] | None:
    if symbol in _ATOMS:
        return _ATOMS[symbol]
    for prefix in sorted(_PREFIXES, key=len, reverse=True):
        rest = symbol[len(prefix) :]
        if symbol.startswith(prefix) and rest in _METRIC:
            factor, dims = _ATOMS[rest]
            return factor * _PREFIXES[prefix], dims
    return None


def canonical(unit: str) -> tuple[Decimal, Dims] | None:
    """``unit`` as (factor, base dimensions), or None if it is not a unit this table knows."""
    if unit in CALENDAR_TO_UCUM:
        unit = CALENDAR_TO_UCUM[unit]
    factor = Decimal(1)
    dims: dict[str, int] = {}
    sign = 1
    pos = 0
    text = unit
    if not text:
        return None
    while pos < len(text):
        match = _TERM.match(text, pos)
        if not match:
            return None
        atom = _atom(match.group(1))
        if atom is None:
            return None
        exponent = int(match.group(2) or 1) * sign
        atom_factor, atom_dims = atom
        factor *= atom_factor**exponent
        for dim, power in atom_dims.items():
            dims[dim] = dims.get(dim, 0) + power * exponent
        pos = match.end()
        if pos < len(text):
            if text[pos] == ".":
                sign = 1
            elif text[pos] == "/":
                sign = -1
            else:
                return None
            pos += 1
    return factor, tuple(sorted((d, p) for d, p in dims.items() if p))


def to_comparable(left: Quantity, right: Quantity) -> tuple[Decimal, Decimal] | None:
    """Both values in one unit, or None if the units cannot be compared."""
    if left.unit == right.unit:
        return left.value, right.value
    if left.unit in ("year", "month") or right.unit in ("year", "month"):
        if {left.unit, right.unit} == {"year", "month"}:
            months = {"year": 12, "month": 1}
            return left.value * months[left.unit], right.value * months[right.unit]
        return None
    lc, rc = canonical(left.unit), canonical(right.unit)
    if lc is None or rc is None or lc[1] != rc[1]:
        return None
    return left.value * lc[0], right.value * rc[0]


def multiply(left: Quantity, right: Quantity, divide: bool = False) -> Quantity | None:
    """``left * right`` or ``left / right`` in base units, or None if a unit is unknown."""
    lc, rc = canonical(left.unit), canonical(right.unit)
    if lc is None or rc is None:
        return None
    dims: dict[str, int] = dict(lc[1])
    for dim, power in rc[1]:
        dims[dim] = dims.get(dim, 0) + (-power if divide else power)
    if divide:
        if right.value * rc[0] == 0:
            return None
        value = (left.value * lc[0]) / (right.value * rc[0])
    else:
        value = left.value * lc[0] * right.value * rc[0]
    return Quantity(value, _format_dims(dims))


def _format_dims(dims: dict[str, int]) -> str:
    terms = [f"{dim}{power if power != 1 else ''}" for dim, power in sorted(dims.items()) if power > 0]
    negatives = [f"{dim}{-power if power != -1 else ''}" for dim, power in sorted(dims.items()) if power < 0]
    text = ".".join(terms) or "1"
    if negatives:
        text += "/" + "/".join(negatives)
    return text


def is_known_unit(unit: str) -> bool:
    """Whether ``unit`` is a calendar keyword or a UCUM unit this table can convert."""
    return unit in CALENDAR_UNITS or unit in ("year", "month") or canonical(unit) is not None
