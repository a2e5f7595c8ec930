"""Compute indicators in DuckDB: refresh the views, copy the reference data, build the shared tables, run each
definition into case rows and aggregate them per month, quarter and year, per department and hospital-wide.

Values are Σ numerator / Σ denominator × factor (or Σ numerator × factor for counts). Growth indicators compare a
period with the same period one year earlier. ``drill_down`` returns the cases behind one value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import duckdb

from huitong.db import Database
from huitong.indicators import reference
from huitong.indicators.definition import Definition, base_sql, by_id, load_definitions
from huitong.indicators.flatten import refresh_all
from huitong.security.actor import Actor

HOSPITAL = "*"
_CASE_COLUMNS = "case_id, day, department, sub_id, numerator, denominator, rule"


@dataclass(frozen=True, slots=True)
class IndicatorValue:
    """One computed value of one indicator (or sub-measure) for one period and department (``*``: hospital)."""

    id: str
    name_zh: str
    name_en: str
    period: str
    department: str
    numerator: float | None
    denominator: float | None
    value: float | None
    unit: str
    sha256: str

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name_zh,
            "name_en": self.name_en,
            "period": self.period,
            "department": self.department,
            "value": self.value,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "unit": self.unit,
        }


def prepare(con: duckdb.DuckDBPyConnection, db: Database, actor: Actor, *, full: bool = False) -> None:
    """Refresh the views, copy the reference tables and build the shared tables of ``_base.sql``."""
    refresh_all(con, db, actor, full=full)
    reference.copy_to_duckdb(db, con)
    build_base(con)


def build_base(con: duckdb.DuckDBPyConnection, *, persist: bool = False) -> None:
    """(Re)build the shared tables from the current views and reference tables: temporary ones (this connection
    only), or with ``persist`` tables and macros of the DuckDB file itself (read by later connections)."""
    for statement in _statements(base_sql()):
        con.execute(_PERSIST_PREFIX.sub("CREATE OR REPLACE ", statement, count=1) if persist else statement)


_PERSIST_PREFIX = re.compile(r"^CREATE OR REPLACE TEMP(ORARY)? ", re.IGNORECASE)


def _statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def bind_params(definition: Definition, start: date, end: date, overrides: Mapping[str, str]) -> dict[str, object]:
    """The values of the ``$names`` a definition's query uses: period bounds, overrides, defaults."""
    values: dict[str, object] = {"from": start, "to": end}
    for name in definition.used_params():
        if name not in values:
            values[name] = overrides.get(f"{definition.id}.{name}", overrides.get(name, definition.params[name]))
    return {k: v for k, v in values.items() if k in definition.used_params()}


def _cases_query(
    definition: Definition, start: date, end: date, overrides: Mapping[str, str] | None
) -> tuple[str, dict[str, object]]:
    """The query of a definition's cases in [start, end] (typed columns) and its parameters."""
    sub = "CAST(sub_id AS VARCHAR)" if definition.sub_units else "CAST(NULL AS VARCHAR)"
    query = (
        "SELECT CAST(case_id AS VARCHAR) AS case_id, "  # noqa: S608 - the definition's own SQL
        f"CAST(day AS DATE) AS day, CAST(department AS VARCHAR) AS department, {sub} AS sub_id, "
        "CAST(numerator AS DOUBLE) AS numerator, CAST(denominator AS DOUBLE) AS denominator, "
        f"CAST(rule AS VARCHAR) AS rule FROM ({definition.sql}) WHERE CAST(day AS DATE) BETWEEN $from AND $to"
    )
    params = bind_params(definition, start, end, overrides or {})
    params.update({"from": start, "to": end})
    return query, params


def load_cases(
    con: duckdb.DuckDBPyConnection,
    definition: Definition,
    start: date,
    end: date,
    overrides: Mapping[str, str] | None = None,
) -> str:
    """Run a definition's query into a temporary table of its cases in [start, end]; returns the table name."""
    table = "cases_" + re.sub(r"[^a-z0-9]", "_", definition.id.lower())
    query, params = _cases_query(definition, start, end, overrides)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {query}", params)
    return table


# Two stages: the cases are first summed per sub-measure, department and month (one hash aggregation over the
# cases, on a date key), and only those sums are grouped into months, quarters, years and the whole range, per
# department and hospital-wide. Sums of sums equal the sums (counts exactly; amounts up to the rounding of the
# additions, whose order DuckDB's parallel aggregation never fixed).
_AGGREGATE = """
WITH s AS (
  SELECT sub_id, department, date_trunc('month', day) AS mo,
         sum(numerator) AS num, sum(denominator) AS den, count(denominator) AS n_den
  FROM {table} GROUP BY sub_id, department, mo
), c AS (
  SELECT *, strftime(mo, '%Y') AS y, strftime(mo, '%Y') || '-Q' || quarter(mo) AS q, strftime(mo, '%Y-%m') AS m
  FROM s
)
SELECT coalesce(sub_id, '') AS sub, {period} AS period, {dept} AS dept,
       sum(num) AS num, sum(den) AS den, sum(n_den) AS n_den
FROM c GROUP BY GROUPING SETS {sets}
"""


def _aggregate(
    con: duckdb.DuckDBPyConnection,
    source: str,
    definition: Definition,
    range_label: str | None,
    params: Mapping[str, object] | None = None,
) -> list[tuple[str, str, str, float, float | None, int]]:
    """Sums per period and department of the cases in ``source`` (a table, or a parenthesised query whose
    ``params`` are given)."""
    if definition.year_only:
        period, sets, dept = "y", "((sub_id, y))", "'*'"
    else:
        period = (
            "CASE WHEN grouping(m) = 0 THEN m WHEN grouping(q) = 0 THEN q WHEN grouping(y) = 0 THEN y ELSE $label END"
        )
        whole = ", (sub_id), (sub_id, department)" if range_label is not None else ""
        sets = (
            "((sub_id, y), (sub_id, y, department), (sub_id, q), (sub_id, q, department), (sub_id, m), "
            f"(sub_id, m, department){whole})"
        )
        dept = "CASE WHEN grouping(department) = 1 THEN '*' ELSE coalesce(department, '?') END"
    sql = _AGGREGATE.format(table=source, period=period, sets=sets, dept=dept)
    bound = dict(params or {})
    if "$label" in sql:
        bound["label"] = range_label or ""
    rows = con.execute(sql, bound).fetchall()
    return [(str(r[0]), str(r[1]), "*" if r[2] is None else str(r[2]), r[3] or 0.0, r[4], int(r[5])) for r in rows]


def _make_value(
    definition: Definition, sub: str, period: str, dept: str, num: float, den: float | None, n_den: int
) -> IndicatorValue:
    measure = definition.sub_measure(sub) if sub else None
    factor = measure.factor if measure else definition.factor
    count = measure.count if measure else definition.is_count
    unit = measure.unit if measure else definition.unit
    if count or n_den == 0:
        value: float | None = num * factor
        den = None
    else:
        value = num / den * factor if den else None
    indicator_id = f"{definition.id}.{sub}" if sub else definition.id
    name_zh = f"{definition.name_zh}·{definition.sub_name(sub)}" if sub else definition.name_zh
    name_en = f"{definition.name_en}: {sub}" if sub else definition.name_en
    return IndicatorValue(indicator_id, name_zh, name_en, period, dept, num, den, value, unit, definition.sha256)


def range_label(start: date, end: date) -> str:
    """The period label of [start, end]: ``2024``, ``2024-Q1``, ``2024-03`` when it is one, else ``FROM..TO``."""
    if start.day == 1 and start.month == 1 and end == date(start.year, 12, 31):
        return str(start.year)
    if start.day == 1 and start.year == end.year and start.month in (1, 4, 7, 10):
        quarter_end = start.month + 2
        if end.month == quarter_end and _month_end(end):
            return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if start.day == 1 and (start.year, start.month) == (end.year, end.month) and _month_end(end):
        return f"{start.year}-{start.month:02d}"
    return f"{start.isoformat()}..{end.isoformat()}"


def _month_end(day: date) -> bool:
    return _last_day(day.year, day.month) == day


def compute_definition(
    con: duckdb.DuckDBPyConnection,
    definition: Definition,
    start: date,
    end: date,
    overrides: Mapping[str, str] | None = None,
) -> list[IndicatorValue]:
    """Every value of one (non-growth) definition in [start, end]."""
    label = range_label(start, end)
    query, params = _cases_query(definition, start, end, overrides)
    rows = _aggregate(con, f"({query})", definition, label, params)
    seen: set[tuple[str, str, str]] = set()
    out = []
    for sub, period, dept, num, den, n_den in rows:
        if definition.hospital_only and dept != HOSPITAL:
            continue
        key = (sub, period, dept)
        if key in seen:
            continue
        seen.add(key)
        out.append(_make_value(definition, sub, period, dept, num, den, n_den))
    return out


def _previous(period: str) -> str | None:
    head, sep, tail = period.partition("-")
    if not head.isdigit() or ".." in period:
        return None
    return f"{int(head) - 1}{sep}{tail}"


def _year_before(start: date) -> date:
    return start.replace(year=start.year - 1, day=28 if (start.month, start.day) == (2, 29) else start.day)


def compute_growth(
    con: duckdb.DuckDBPyConnection,
    definition: Definition,
    base: Definition,
    start: date,
    end: date,
    overrides: Mapping[str, str] | None = None,
) -> list[IndicatorValue]:
    """Year-on-year growth of ``base``: (current − previous) / previous × 100 for each period with both."""
    earlier = _year_before(start)
    return _growth(definition, compute_definition(con, base, earlier, end, overrides), start, end)


def _growth(definition: Definition, values: list[IndicatorValue], start: date, end: date) -> list[IndicatorValue]:
    """The growth values of ``definition`` from its base's values over [the year before ``start``, ``end``]."""
    earlier = _year_before(start)
    current = {(v.period, v.department): v for v in values}
    out = []
    for (period, dept), value in current.items():
        if ".." in period or period < start.isoformat()[:4]:
            continue
        if period == range_label(earlier, end):
            continue
        previous = current.get((_previous(period) or "", dept))
        if previous is None or value.value is None or not previous.value:
            continue
        diff = value.value - previous.value
        out.append(
            IndicatorValue(
                definition.id,
                definition.name_zh,
                definition.name_en,
                period,
                dept,
                diff,
                previous.value,
                diff / previous.value * definition.factor,
                definition.unit,
                definition.sha256,
            )
        )
    return out


def compute(
    con: duckdb.DuckDBPyConnection,
    start: date,
    end: date,
    *,
    ids: Iterable[str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> list[IndicatorValue]:
    """Every value of the chosen definitions (default: all) in [start, end]; the shared tables must be built.

    A growth indicator needs its base over two years. When [start, end] is one calendar year, the base's own values
    are those two-year values of the year's periods (every month, quarter and the year lie wholly inside or wholly
    outside it), so the base query runs once for both."""
    chosen = set(ids) if ids is not None else None
    defs = by_id()
    wanted = [d for d in load_definitions() if chosen is None or d.id in chosen]
    label = range_label(start, end)
    one_year = label == str(start.year)
    bases = {d.growth_of for d in wanted if d.growth_of}
    two_years: dict[str, list[IndicatorValue]] = {}

    def over_two_years(base: Definition) -> list[IndicatorValue]:
        if base.id not in two_years:
            two_years[base.id] = compute_definition(con, base, _year_before(start), end, overrides)
        return two_years[base.id]

    out: list[IndicatorValue] = []
    for definition in wanted:
        if definition.growth_of:
            out += _growth(definition, over_two_years(defs[definition.growth_of]), start, end)
        elif one_year and definition.id in bases:
            out += [v for v in over_two_years(definition) if v.period.startswith(label)]
        else:
            out += compute_definition(con, definition, start, end, overrides)
    return out


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of ``2024``, ``2024-Q2``, ``2024-03`` or ``FROM..TO``."""
    if ".." in period:
        a, b = period.split("..")
        return date.fromisoformat(a), date.fromisoformat(b)
    if len(period) == 4:
        year = int(period)
        return date(year, 1, 1), date(year, 12, 31)
    year = int(period[:4])
    if "Q" in period:
        first = (int(period[-1]) - 1) * 3 + 1
        return date(year, first, 1), _last_day(year, first + 2)
    month = int(period[5:7])
    return date(year, month, 1), _last_day(year, month)


def _last_day(year: int, month: int) -> date:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


@dataclass(frozen=True, slots=True)
class Case:
    """One case behind a value: what it added to the numerator and the denominator, and the rule it met."""

    case_id: str
    day: date | None
    department: str | None
    numerator: float | None
    denominator: float | None
    rule: str


def drill_down(
    con: duckdb.DuckDBPyConnection,
    indicator_id: str,
    period: str,
    department: str = HOSPITAL,
    *,
    only_numerator: bool = False,
    limit: int = 1000,
    overrides: Mapping[str, str] | None = None,
) -> list[Case]:
    """The cases behind one value (for a growth indicator: those of its base indicator), largest numerator first,
    then by case (and sub-measure, denominator, rule: rows of one case in several sub-measures come in a fixed
    order)."""
    defs = by_id()
    head, sub = indicator_id, ""
    if head not in defs:
        for candidate in defs:
            if indicator_id.startswith(candidate + "."):
                head, sub = candidate, indicator_id[len(candidate) + 1 :]
    definition = defs[head]
    if definition.growth_of:
        definition = defs[definition.growth_of]
    start, end = period_bounds(period)
    # One query (no table of the period's cases first): DuckDB keeps only the top ``limit`` rows while scanning.
    query, params = _cases_query(definition, start, end, overrides)
    sql = f"SELECT case_id, day, department, numerator, denominator, rule FROM ({query}) WHERE true"  # noqa: S608
    if sub:
        sql += " AND sub_id = $sub"
        params["sub"] = sub
    if department != HOSPITAL and not definition.hospital_only:
        sql += " AND department = $dept"
        params["dept"] = department
    if only_numerator:
        sql += " AND numerator <> 0"
    sql += " ORDER BY numerator DESC, case_id, sub_id NULLS FIRST, denominator NULLS FIRST, rule LIMIT $limit"
    params["limit"] = limit
    return [Case(*row) for row in con.execute(sql, params).fetchall()]
