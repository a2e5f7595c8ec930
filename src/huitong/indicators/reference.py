"""Reference data the indicators need beside clinical data: master data (departments, staff, procedure and
diagnosis catalogues with their flags, charge items, the drug dictionary with ATC/DDD, antimicrobial,
essential-medicine and volume-based-procurement flags, the imaging exam list with the large-equipment flag) and
the hospital's figures from reports (finance).

Each table is imported from a CSV with a header into ``indicator_reference`` (one JSON row per line, the
table replaced as a whole) and copied into DuckDB as ``ref_<table>`` before indicators are computed.
``TABLES`` names the files read from a master-data directory and the columns each must have.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from huitong.db import Database

#: table → (file name in a master-data directory, required columns).
TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "department": ("departments.csv", ("code", "name_zh", "name_en", "beds")),
    "staff": ("staff.csv", ("staff_id", "role", "department", "title_grade", "practice_scope")),
    "procedure": ("procedures.csv", ("code", "category", "level", "minimally_invasive", "incision_class")),
    "diagnosis": ("diagnoses.csv", ("code", "name_zh", "complication")),
    "charge_item": ("charge_items.csv", ("code", "income_category", "medical_service")),
    "finance": ("finance.csv", ("year", "item", "value")),
    "drug": (
        "drugs.csv",
        ("code", "generic_zh", "strength", "dose_unit", "ddd", "ddd_unit", "antimicrobial", "essential", "vbp"),
    ),
    "imaging_exam": ("imaging_exams.csv", ("code", "modality", "large_equipment")),
}
_REF = sa.table(
    "indicator_reference",
    sa.column("table_name", sa.String),
    sa.column("position", sa.Integer),
    sa.column("data", sa.Text),
)


class ReferenceError(ValueError):
    """A reference CSV lacks a required column or is not a known table."""


def read_csv(path: Path, table: str) -> list[dict[str, str]]:
    """Rows of one reference CSV; refuses a file without the table's required columns."""
    if table not in TABLES:
        raise ReferenceError(f"unknown reference table {table!r}; known: {', '.join(TABLES)}")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in TABLES[table][1] if c not in (reader.fieldnames or [])]
        if missing:
            raise ReferenceError(f"{path}: missing column(s) {', '.join(missing)} for table {table!r}")
        return [dict(row) for row in reader]


def store_table(db: Database, table: str, rows: list[dict[str, str]]) -> int:
    """Replace ``table`` in ``indicator_reference`` with ``rows``."""

    def job(conn: sa.Connection) -> int:
        conn.execute(sa.delete(_REF).where(_REF.c.table_name == table))
        if rows:
            conn.execute(
                sa.insert(_REF),
                [
                    {"table_name": table, "position": n, "data": json.dumps(row, ensure_ascii=False)}
                    for n, row in enumerate(rows)
                ],
            )
        return len(rows)

    return db.write(job)


def import_directory(db: Database, directory: Path) -> dict[str, int]:
    """Import every known reference file present in ``directory``; returns rows per table."""
    counts: dict[str, int] = {}
    for table, (name, _) in TABLES.items():
        path = directory / name
        if path.exists():
            counts[table] = store_table(db, table, read_csv(path, table))
    return counts


def load_table(db: Database, table: str) -> list[dict[str, Any]]:
    """The stored rows of one reference table (empty when never imported)."""
    with db.read() as conn:
        result = conn.execute(
            sa.select(_REF.c.data).where(_REF.c.table_name == table).order_by(_REF.c.position)
        ).scalars()
        return [json.loads(text) for text in result]


def digest(db: Database) -> str:
    """SHA-256 of every stored reference row (table, position, JSON): changes whenever a table is imported with
    other content."""
    hasher = hashlib.sha256()
    query = sa.select(_REF.c.table_name, _REF.c.position, _REF.c.data).order_by(_REF.c.table_name, _REF.c.position)
    with db.read() as conn:
        for table, position, data in conn.execute(query):
            hasher.update(f"{table}\x1f{position}\x1f{data}\x1e".encode())
    return hasher.hexdigest()


def copy_to_duckdb(db: Database, con: duckdb.DuckDBPyConnection, *, persist: bool = False) -> dict[str, int]:
    """Create the table ``ref_<table>`` for every reference table (all VARCHAR; empty ones too): temporary, or
    with ``persist`` a table of the DuckDB file."""
    kind = "TABLE" if persist else "TEMP TABLE"
    counts: dict[str, int] = {}
    for table, (_, required) in TABLES.items():
        rows = load_table(db, table)
        columns = list(dict.fromkeys([*required, *(k for row in rows[:1] for k in row)]))
        data = pa.table({c: pa.array([row.get(c) for row in rows], pa.string()) for c in columns})
        con.register("_ref_rows", data)
        try:
            con.execute(f'CREATE OR REPLACE {kind} "ref_{table}" AS SELECT * FROM _ref_rows')  # noqa: S608 (our names)
        finally:
            con.unregister("_ref_rows")
        counts[table] = len(rows)
    return counts
