"""Reading stored quality runs for people: the scorecard of a run (per source system and dimension), the trend
of each dimension over runs, the failing records of a rule, and CSV and Excel exports of both."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from huitong.db.database import Database
from huitong.quality.rule import DIMENSION_ZH, Dimension
from huitong.quality.schema import quality_finding, quality_run

DIMENSIONS = [d.value for d in Dimension]
DIMENSION_EN = {d.value: d.value.capitalize() for d in Dimension}
FINDING_COLUMNS = ("rule_id", "dimension", "severity", "source", "res_type", "res_id", "detail")
FINDING_HEADERS = {
    "zh": ("规则", "维度", "严重程度", "来源系统", "资源类型", "资源标识", "问题"),
    "en": ("Rule", "Dimension", "Severity", "Source system", "Resource type", "Resource id", "Problem"),
}
SCORE_HEADERS = {
    "zh": ("来源系统", "维度", "检查数", "不合格数", "得分"),
    "en": ("Source system", "Dimension", "Checked", "Failed", "Score"),
}


@dataclass(frozen=True, slots=True)
class Run:
    """One stored batch run and its scorecard."""

    id: int
    started: datetime
    finished: datetime | None
    scorecard: dict[str, Any]

    @property
    def rows(self) -> list[dict[str, Any]]:
        return list(self.scorecard.get("rows", []))

    def matrix(self) -> list[tuple[str, dict[str, float | None]]]:
        """Per source system, its score in each dimension (``None`` where it was not checked)."""
        by_source: dict[str, dict[str, float | None]] = defaultdict(dict)
        for row in self.rows:
            by_source[row["source"]][row["dimension"]] = row["score"]
        return sorted(by_source.items())

    def overall(self) -> dict[str, float | None]:
        """Each dimension's score over all sources: 1 − failed / checked."""
        checked: dict[str, int] = defaultdict(int)
        failed: dict[str, int] = defaultdict(int)
        for row in self.rows:
            checked[row["dimension"]] += row["checked"]
            failed[row["dimension"]] += row["failed"]
        return {d: (round(1 - failed[d] / checked[d], 4) if checked[d] else None) for d in DIMENSIONS}


def _run(row: Any) -> Run:
    return Run(int(row.id), row.started, row.finished, json.loads(row.scorecard or "{}"))


def runs(db: Database, limit: int = 60) -> list[Run]:
    """The latest ``limit`` finished runs, oldest first."""
    query = (
        sa.select(quality_run).where(quality_run.c.finished.is_not(None)).order_by(quality_run.c.id.desc()).limit(limit)
    )
    with db.read() as conn:
        found = [_run(r) for r in conn.execute(query)]
    return list(reversed(found))


def run(db: Database, run_id: int | None = None) -> Run | None:
    """Run ``run_id``, or the latest finished run; ``None`` when there is none."""
    query = sa.select(quality_run).where(quality_run.c.finished.is_not(None))
    query = query.where(quality_run.c.id == run_id) if run_id is not None else query.order_by(quality_run.c.id.desc())
    with db.read() as conn:
        row = conn.execute(query.limit(1)).first()
    return _run(row) if row is not None else None


def trend(all_runs: list[Run], lang: str = "zh") -> dict[str, list[list[Any]]]:
    """Score (%) of each dimension over the runs, for the ``trend`` chart: {name: [[time, value], …]}."""
    out: dict[str, list[list[Any]]] = {}
    for dim in DIMENSIONS:
        name = DIMENSION_ZH[Dimension(dim)] if lang == "zh" else DIMENSION_EN[dim]
        points = [
            [r.started.strftime("%Y-%m-%d %H:%M:%S"), round(100 * score, 2)]
            for r in all_runs
            if (score := r.overall()[dim]) is not None
        ]
        if points:
            out[name] = points
    return out


def per_rule(db: Database, scored: Run) -> list[dict[str, Any]]:
    """Findings per rule and source system of a run, most first: as the run recorded them (``per_rule_source`` in
    its scorecard), else counted from its findings (runs recorded before 2026-11-28; half a million findings took
    ~1.4 s to count, per page view)."""
    recorded = scored.scorecard.get("per_rule_source")
    return recorded if isinstance(recorded, list) else counted_per_rule(db, scored.id)


def counted_per_rule(db: Database, run_id: int) -> list[dict[str, Any]]:
    """:func:`per_rule` counted from the run's findings."""
    query = (
        sa.select(
            quality_finding.c.rule_id,
            quality_finding.c.dimension,
            quality_finding.c.severity,
            quality_finding.c.source,
            sa.func.count().label("n"),
        )
        .where(quality_finding.c.run_id == run_id)
        .group_by(
            quality_finding.c.rule_id, quality_finding.c.dimension, quality_finding.c.severity, quality_finding.c.source
        )
        .order_by(sa.func.count().desc(), quality_finding.c.rule_id)
    )
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def findings(
    db: Database,
    run_id: int,
    *,
    rule_id: str | None = None,
    source: str | None = None,
    dimension: str | None = None,
    limit: int | None = 200,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The failing records of a run, optionally of one rule, source system or dimension."""
    query = sa.select(*(quality_finding.c[c] for c in FINDING_COLUMNS)).where(quality_finding.c.run_id == run_id)
    if rule_id:
        query = query.where(quality_finding.c.rule_id == rule_id)
    if source:
        query = query.where(quality_finding.c.source == source)
    if dimension:
        query = query.where(quality_finding.c.dimension == dimension)
    query = query.order_by(quality_finding.c.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def _dimension_name(dim: str, lang: str) -> str:
    return f"{DIMENSION_ZH[Dimension(dim)]}" if lang == "zh" else DIMENSION_EN.get(dim, dim)


def score_table(scored: Run, lang: str = "zh") -> list[list[Any]]:
    """The scorecard as rows (header first)."""
    table: list[list[Any]] = [list(SCORE_HEADERS[lang])]
    for row in scored.rows:
        table.append(
            [row["source"], _dimension_name(row["dimension"], lang), row["checked"], row["failed"], row["score"]]
        )
    return table


def finding_table(rows: list[dict[str, Any]], lang: str = "zh") -> list[list[Any]]:
    """Failing records as rows (header first)."""
    return [list(FINDING_HEADERS[lang]), *([r[c] for c in FINDING_COLUMNS] for r in rows)]


def to_csv(table: list[list[Any]]) -> bytes:
    """UTF-8 CSV with a byte-order mark, so that spreadsheet programs read the Chinese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in table:
        writer.writerow(["" if v is None else _safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _safe_cell(value: Any) -> Any:
    """Text starting with a formula character is prefixed with ``'`` (CSV and formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_xlsx(sheets: dict[str, list[list[Any]]]) -> bytes:
    """An Excel workbook with one sheet per table (header row in bold)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    for default in list(book.worksheets):
        book.remove(default)
    for title, table in sheets.items():
        sheet = book.create_sheet(title[:31])
        for row in table:
            sheet.append([_safe_cell(v) for v in row])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for column, width in zip("ABCDEFG", (24, 14, 10, 22, 16, 40, 70), strict=False):
            sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
