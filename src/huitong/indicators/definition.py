"""Indicator definition files: ``definitions/*.sql``, one per indicator.

Each file starts with a header of ``-- key: value`` lines (id, names, dimension, direction, unit, factor,
national-monitoring flag, source, numerator and denominator descriptions, the national rule followed, the
configurable choices and whether the definition is unconfirmed; ``-- param NAME: default`` for each bound
parameter) followed by one SQL query over the shared tables of ``definitions/_base.sql``. The query returns one
row per case: ``case_id, day, department, numerator, denominator, rule`` (and ``sub_id`` for indicators with
sub-measures). A value is Σ numerator / Σ denominator × factor over the cases of a period and department; a count
(denominator NULL) is Σ numerator × factor. A file with ``growth_of`` and no query is the year-on-year growth of
another indicator. The SHA-256 of a definition covers its file and ``_base.sql``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

DEFINITIONS_DIR = Path(str(resources.files("huitong.indicators") / "definitions"))
BASE_FILE = "_base.sql"
REQUIRED_KEYS = (
    "id",
    "name_zh",
    "name_en",
    "dimension",
    "national_monitoring",
    "direction",
    "unit",
    "factor",
    "source",
    "numerator",
    "denominator",
    "rule",
    "configurable",
    "unconfirmed",
)
DIRECTIONS = frozenset({"higher", "lower", "monitor"})
_HEADER = re.compile(r"--\s*(param\s+)?([a-z_]+):\s*(.*)")
_PARAM_USE = re.compile(r"\$([a-z_]+)")


class DefinitionError(ValueError):
    """A definition file is malformed."""


@dataclass(frozen=True, slots=True)
class SubMeasure:
    """One sub-measure of an indicator with several (``10.ami.cases``, ``45.tcm``)."""

    unit: str
    factor: float
    count: bool


@dataclass(frozen=True, slots=True)
class Definition:
    """One parsed definition file."""

    path: Path
    meta: dict[str, str]
    params: dict[str, str]
    sql: str
    sha256: str
    sub_units: dict[str, SubMeasure] = field(default_factory=dict)
    sub_names: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.meta["id"]

    @property
    def name_zh(self) -> str:
        return self.meta["name_zh"]

    @property
    def name_en(self) -> str:
        return self.meta["name_en"]

    @property
    def unit(self) -> str:
        return self.meta["unit"]

    @property
    def factor(self) -> float:
        return float(self.meta["factor"])

    @property
    def direction(self) -> str:
        return self.meta["direction"]

    @property
    def national(self) -> bool:
        return self.meta["national_monitoring"] == "yes"

    @property
    def growth_of(self) -> str | None:
        return self.meta.get("growth_of")

    @property
    def year_only(self) -> bool:
        return self.meta.get("periods") == "year"

    @property
    def hospital_only(self) -> bool:
        return self.meta.get("scope") == "hospital"

    @property
    def is_count(self) -> bool:
        return self.meta["denominator"].startswith("(none")

    @property
    def unconfirmed(self) -> bool:
        return self.meta["unconfirmed"].startswith("yes")

    def used_params(self) -> list[str]:
        """The ``$names`` the query binds (``from`` and ``to`` are the period bounds)."""
        return sorted(set(_PARAM_USE.findall(self.sql)))

    def sub_measure(self, sub_id: str) -> SubMeasure:
        """Unit, factor and count flag of a sub-measure, by the last dotted part of its id."""
        key = sub_id.rsplit(".", 1)[-1]
        return self.sub_units.get(key, SubMeasure(self.unit, self.factor, self.is_count))

    def sub_name(self, sub_id: str) -> str:
        """The Chinese name of a sub-measure (``急性心肌梗死·例数``)."""
        return "·".join(self.sub_names.get(part, part) for part in sub_id.split("."))


def _sub_units(text: str) -> dict[str, SubMeasure]:
    out = {}
    for item in filter(None, (part.strip() for part in text.split(";"))):
        key, _, spec = item.partition("=")
        unit, factor, *flags = spec.split("|")
        out[key.strip()] = SubMeasure(unit.strip(), float(factor), "count" in flags)
    return out


def _pairs(text: str) -> dict[str, str]:
    return {k.strip(): v.strip() for k, _, v in (part.partition("=") for part in text.split(";") if part.strip())}


def parse(path: Path, base_sql: str) -> Definition:
    """Parse one definition file; raises :class:`DefinitionError` on a missing key or an unknown direction."""
    text = path.read_text(encoding="utf-8")
    meta: dict[str, str] = {}
    params: dict[str, str] = {}
    body: list[str] = []
    in_header = True
    for line in text.splitlines():
        match = _HEADER.fullmatch(line.strip()) if in_header else None
        if match:
            target = params if match.group(1) else meta
            target[match.group(2)] = match.group(3).strip()
            continue
        if in_header and line.strip().startswith("--"):
            continue
        in_header = False
        body.append(line)
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise DefinitionError(f"{path.name}: missing header key(s) {', '.join(missing)}")
    if meta["direction"] not in DIRECTIONS:
        raise DefinitionError(f"{path.name}: direction must be one of {', '.join(sorted(DIRECTIONS))}")
    sql = "\n".join(body).strip()
    if not sql and "growth_of" not in meta:
        raise DefinitionError(f"{path.name}: no query and no growth_of")
    digest = hashlib.sha256(text.encode("utf-8") + b"\0" + base_sql.encode("utf-8")).hexdigest()
    unknown = [p for p in _PARAM_USE.findall(sql) if p not in params and p not in ("from", "to")]
    if unknown:
        raise DefinitionError(f"{path.name}: parameter(s) without a default: {', '.join(sorted(set(unknown)))}")
    return Definition(
        path,
        meta,
        params,
        sql,
        digest,
        _sub_units(meta.get("sub_units", "")),
        _pairs(meta.get("sub_names", "")),
    )


def base_sql() -> str:
    """The shared tables every definition runs over."""
    return (DEFINITIONS_DIR / BASE_FILE).read_text(encoding="utf-8")


@cache
def load_definitions() -> tuple[Definition, ...]:
    """Every definition, sorted by catalogue order (numbered indicators first, then companion measures)."""
    base = base_sql()
    defs = [parse(path, base) for path in sorted(DEFINITIONS_DIR.glob("*.sql")) if path.name != BASE_FILE]
    ids = [d.id for d in defs]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise DefinitionError(f"duplicate indicator id(s): {', '.join(sorted(duplicates))}")
    return tuple(sorted(defs, key=lambda d: sort_key(d.id)))


def sort_key(indicator_id: str) -> tuple[int, int, str]:
    """Catalogue order: 1–55 numerically, then ``new-*``, then ``aux.*``."""
    head = indicator_id.split(".")[0]
    if head.isdigit():
        return (0, int(head), indicator_id)
    return (1 if head.startswith("new") else 2, 0, indicator_id)


def by_id() -> dict[str, Definition]:
    """The definitions keyed by indicator id."""
    return {d.id: d for d in load_definitions()}
