"""The manifest of a backup: what it holds, proven by checksums, written as ``manifest.json`` beside the data.

Each backup records the sha256 of every file as stored (checkable without the key) and of its plain
content (checked after decryption), and for every table its row count and a sha256 over its rows in key
order, computed from the same snapshot the backup was taken from. Verification recomputes the table
figures on a restored copy and compares.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from huitong.ops.errors import VerificationError

MANIFEST = "manifest.json"
FORMAT = 1


@dataclass(frozen=True, slots=True)
class TableStat:
    """Rows of one table and the sha256 over them in primary-key order."""

    rows: int
    sha256: str


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of a backup."""

    name: str
    bytes: int
    sha256: str
    plain_sha256: str
    encrypted: bool
    key_fingerprint: str | None = None


@dataclass
class Manifest:
    """Everything needed to check and restore one backup."""

    backup_id: str
    created: str
    huitong_version: str
    dialect: str
    method: str
    source: str
    schema_revision: str | None
    files: list[FileEntry] = field(default_factory=list)
    tables: dict[str, TableStat] = field(default_factory=dict)
    seconds: float = 0.0
    format: int = FORMAT

    @property
    def total_bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data: dict[str, Any] = json.loads(text)
        if data.get("format") != FORMAT:
            raise VerificationError(f"unknown manifest format {data.get('format')!r}")
        data["files"] = [FileEntry(**f) for f in data["files"]]
        data["tables"] = {name: TableStat(**t) for name, t in data["tables"].items()}
        return cls(**data)

    def write(self, folder: Path) -> None:
        (folder / MANIFEST).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        path = folder / MANIFEST
        if not path.exists():
            raise VerificationError(f"{folder} has no {MANIFEST}: not a finished backup")
        return cls.from_json(path.read_text(encoding="utf-8"))


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def table_stats(conn: sa.Connection) -> dict[str, TableStat]:
    """Row count and row checksum of every table, as seen by ``conn``'s transaction (one snapshot)."""
    inspector = sa.inspect(conn)
    # One catalogue query for all tables (reflecting table by table costs seconds on PostgreSQL).
    primary_keys = {table: pk for (_schema, table), pk in inspector.get_multi_pk_constraint().items()}
    columns = {table: cols for (_schema, table), cols in inspector.get_multi_columns().items()}
    stats: dict[str, TableStat] = {}
    for name in sorted(columns):
        pk = primary_keys.get(name)
        key = (pk["constrained_columns"] if pk else None) or []
        digest = hashlib.sha256()
        rows = 0
        for line in _row_texts(conn, name, key):
            digest.update(line + b"\n")
            rows += 1
        stats[name] = TableStat(rows=rows, sha256=digest.hexdigest())
    return stats


def _row_texts(conn: sa.Connection, table: str, key: list[str]) -> Iterator[bytes]:
    """Each row as bytes, in primary-key order (whole-row order for a table without a primary key)."""
    quote = conn.dialect.identifier_preparer.quote
    # Names come from the database's own catalogue and are quoted; nothing here is user input.
    if conn.dialect.name == "postgresql":
        order = ", ".join(quote(c) for c in key) or "t::text"
        sql = f"SELECT t::text FROM {quote(table)} AS t ORDER BY {order}"  # noqa: S608
        result = conn.execution_options(stream_results=True, yield_per=2000).exec_driver_sql(sql)
        for (text,) in result:
            yield str(text).encode()
        return
    order = ", ".join(quote(c) for c in key) or ", ".join(str(i + 1) for i in range(_column_count(conn, table)))
    sql = f"SELECT * FROM {quote(table)} ORDER BY {order}"  # noqa: S608
    # The raw sqlite3 cursor, in the same transaction: values exactly as stored, without per-row objects.
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(5000):
            for row in rows:
                yield repr(row).encode()
    finally:
        cursor.close()


def _column_count(conn: sa.Connection, table: str) -> int:
    return len(sa.inspect(conn).get_columns(table))


def compare_tables(expected: dict[str, TableStat], actual: dict[str, TableStat]) -> list[str]:
    """Every difference between two sets of table figures, as sentences (empty when they agree)."""
    problems = []
    for name in sorted(set(expected) | set(actual)):
        want, got = expected.get(name), actual.get(name)
        if want is None:
            problems.append(f"table {name} is not in the manifest")
        elif got is None:
            problems.append(f"table {name} is missing after restore")
        elif want.rows != got.rows:
            problems.append(f"table {name}: {got.rows} rows restored, manifest says {want.rows}")
        elif want.sha256 != got.sha256:
            problems.append(f"table {name}: row checksum differs from the manifest")
    return problems
