"""The cold tier: old data moved out of the live database into Parquet files, still readable on demand.

``archive_old`` moves, in batches (each one write transaction, Parquet file written before the rows go):

1. **whole resources** not changed since the cut-off — the ``resource`` row and all its versions — unless a
   row of another domain refers to it by foreign key (a critical alert, a terminology entry): those stay hot.
   Derived rows keyed by ``resource_pk`` without a foreign key (search indexes, access links) are dropped
   with the resource and rebuilt by the store's write hooks on restore;
2. **old history**: versions older than the cut-off that are no longer current, of resources that stay hot.

A run is a folder ``<directory>/<run id>/`` of ``part-NNNNN.parquet`` files (one row per version:
type, id, version, time, method, deleted, the JSON, whether it was the current version, and the patient it
belongs to) and ``run.json``. :func:`read_archived` and :func:`patient_archive` read them on demand (the
``Patient/$everything`` operation can add the latter to a patient's record), :func:`restore_run` brings a
run back into the live database.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import sqlalchemy as sa

from huitong.db.schema import resource, resource_version, version_content
from huitong.fhir.hooks import ResourceChange
from huitong.fhir.store import ResourceStore
from huitong.security import audit
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry
from huitong.security.protection import index_view

SCHEMA = pa.schema(
    [
        ("res_type", pa.string()),
        ("res_id", pa.string()),
        ("version_id", pa.int32()),
        ("last_updated", pa.timestamp("us", tz="UTC")),
        ("method", pa.string()),
        ("deleted", pa.bool_()),
        ("content", pa.large_string()),
        ("current", pa.bool_()),
        ("patient", pa.string()),
    ]
)
_PATIENT_ELEMENTS = ("subject", "patient", "beneficiary", "individual")
#: Who archives and restores, in the audit trail.
ARCHIVIST = Actor.system("archive")


@dataclass
class ArchiveRun:
    """One archive run: what moved to the cold tier."""

    run_id: str
    cutoff: str
    resources: int = 0
    versions: int = 0
    parts: int = 0


@dataclass(frozen=True, slots=True)
class ArchivedVersion:
    """One version read back from the cold tier."""

    res_type: str
    res_id: str
    version_id: int
    last_updated: datetime
    method: str
    deleted: bool
    content: str | None
    current: bool


def patient_of(res_type: str, res_id: str, content: str | None) -> str | None:
    """The Patient id a resource belongs to (itself for a Patient; else subject/patient/… references)."""
    if res_type == "Patient":
        return res_id
    if not content:
        return None
    body = json.loads(content)
    for element in _PATIENT_ELEMENTS:
        ref = body.get(element)
        if isinstance(ref, dict) and str(ref.get("reference", "")).startswith("Patient/"):
            return str(ref["reference"]).removeprefix("Patient/")
    return None


def archive_old(store: ResourceStore, directory: Path, cutoff: datetime, *, batch: int = 2000) -> ArchiveRun:
    """Move data last updated before ``cutoff`` to a new run under ``directory``; see the module docstring."""
    run = ArchiveRun(run_id=f"{datetime.now(UTC):%Y%m%dT%H%M%S}Z-{secrets.token_hex(3)}", cutoff=cutoff.isoformat())
    folder = directory / run.run_id
    folder.mkdir(parents=True)
    after = 0
    while True:
        moved, after = store.db.write(
            partial(_move_resources, folder=folder, run=run, cutoff=cutoff, after=after, batch=batch)
        )
        if not moved:
            break
    while store.db.write(lambda conn: _move_history(conn, folder, run, cutoff, batch), background=True):
        pass
    if run.parts == 0:
        folder.rmdir()
    else:
        (folder / "run.json").write_text(json.dumps(asdict(run), indent=2) + "\n", encoding="utf-8")
    return run


def _referencing_tables(conn: sa.Connection) -> tuple[list[tuple[str, str]], list[str]]:
    """(table, column) pairs with a foreign key to ``resource``, and tables with a bare ``resource_pk``."""
    inspector = sa.inspect(conn)
    keyed: list[tuple[str, str]] = []
    derived: list[str] = []
    for name in inspector.get_table_names():
        if name in ("resource", "resource_version"):
            continue
        fk_columns = {
            col
            for fk in inspector.get_foreign_keys(name)
            if fk["referred_table"] == "resource"
            for col in fk["constrained_columns"]
        }
        keyed.extend((name, col) for col in sorted(fk_columns))
        if not fk_columns and any(c["name"] == "resource_pk" for c in inspector.get_columns(name)):
            derived.append(name)
    return keyed, derived


def _move_resources(
    conn: sa.Connection, *, folder: Path, run: ArchiveRun, cutoff: datetime, after: int, batch: int
) -> tuple[int, int]:
    keyed, derived = _referencing_tables(conn)
    query = sa.select(resource.c.pk, resource.c.res_id, resource.c.version_id).where(
        resource.c.last_updated < cutoff, resource.c.pk > after
    )
    for table, column in keyed:
        other = sa.table(table, sa.column(column))
        query = query.where(~sa.exists().where(other.c[column] == resource.c.pk))
    heads = conn.execute(query.order_by(resource.c.pk).limit(batch)).all()
    if not heads:
        return 0, after
    pks = [h.pk for h in heads]
    ids = {h.pk: (h.res_id, h.version_id) for h in heads}
    rv = resource_version
    versions = conn.execute(
        sa.select(*(c for c in rv.c if c.name != "content"), version_content())
        .join(resource, resource.c.pk == rv.c.resource_pk)
        .where(rv.c.resource_pk.in_(pks))
        .order_by(rv.c.resource_pk, rv.c.version_id)
    ).all()
    rows = [_row(v, ids[v.resource_pk][0], current=v.version_id == ids[v.resource_pk][1]) for v in versions]
    _write_part(folder, run, rows)
    for name in derived:
        index = sa.table(name, sa.column("resource_pk"))
        conn.execute(index.delete().where(index.c.resource_pk.in_(pks)))
    conn.execute(resource_version.delete().where(resource_version.c.resource_pk.in_(pks)))
    conn.execute(resource.delete().where(resource.c.pk.in_(pks)))
    _audit(conn, "archive", run.run_id, {(r["res_type"], r["res_id"]) for r in rows})
    run.resources += len(pks)
    run.versions += len(rows)
    return len(pks), pks[-1]


def _move_history(conn: sa.Connection, folder: Path, run: ArchiveRun, cutoff: datetime, batch: int) -> int:
    rv, r = resource_version, resource
    old = conn.execute(
        sa.select(rv, r.c.res_id)
        .join(r, r.c.pk == rv.c.resource_pk)
        .where(rv.c.last_updated < cutoff, rv.c.version_id < r.c.version_id)
        .order_by(rv.c.resource_pk, rv.c.version_id)
        .limit(batch)
    ).all()
    if not old:
        return 0
    _write_part(folder, run, [_row(v, v.res_id, current=False) for v in old])
    for v in old:
        conn.execute(rv.delete().where(rv.c.resource_pk == v.resource_pk, rv.c.version_id == v.version_id))
    _audit(conn, "archive", run.run_id, {(v.res_type, v.res_id) for v in old})
    run.versions += len(old)
    return len(old)


def _audit(conn: sa.Connection, interaction: str, run_id: str, resources: set[tuple[str, str]]) -> None:
    """One audit row per resource moved between the tiers, in the transaction that moves it."""
    entries = [
        AuditEntry(interaction, entity_type=rtype, entity_id=rid, query=f"archive run {run_id}")
        for rtype, rid in sorted(resources)
    ]
    audit.record(conn, ARCHIVIST, entries)


def _row(v: Any, res_id: str, *, current: bool) -> dict[str, Any]:
    stamp = v.last_updated if v.last_updated.tzinfo else v.last_updated.replace(tzinfo=UTC)
    return {
        "res_type": v.res_type,
        "res_id": res_id,
        "version_id": v.version_id,
        "last_updated": stamp,
        "method": v.method,
        "deleted": bool(v.deleted),
        "content": v.content,
        "current": current,
        "patient": patient_of(v.res_type, res_id, v.content),
    }


def _write_part(folder: Path, run: ArchiveRun, rows: list[dict[str, Any]]) -> None:
    run.parts += 1
    path = folder / f"part-{run.parts:05d}.parquet"
    staging = path.with_suffix(".partial")
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), staging, compression="zstd")
    staging.replace(path)


def _parts(directory: Path) -> list[str]:
    return sorted(str(p) for p in directory.glob("*/part-*.parquet")) if directory.is_dir() else []


def _read(directory: Path, condition: Any) -> list[ArchivedVersion]:
    files = _parts(directory)
    if not files:
        return []
    table = pads.dataset(files, schema=SCHEMA, format="parquet").to_table(filter=condition)
    found = [_version(r) for r in table.to_pylist()]
    return sorted(found, key=lambda v: (v.res_type, v.res_id, v.version_id))


def read_archived(directory: Path, res_type: str, res_id: str) -> list[ArchivedVersion]:
    """Every archived version of ``res_type/res_id``, oldest first (empty when none is archived)."""
    return _read(directory, (pads.field("res_type") == res_type) & (pads.field("res_id") == res_id))


def patient_archive(directory: Path, patient_id: str) -> list[ArchivedVersion]:
    """The archived current versions of a patient's resources (the Patient and what refers to it)."""
    condition = (pads.field("patient") == patient_id) & (pads.field("current") == True)  # noqa: E712
    return [v for v in _read(directory, condition) if not v.deleted]


def read_current(directory: Path, keys: Sequence[tuple[str, str]]) -> list[ArchivedVersion]:
    """The archived current versions (not deletions) of the resources ``keys`` (type, id); one scan of the files."""
    wanted = set(keys)
    if not wanted:
        return []
    ids = sorted({rid for _rtype, rid in wanted})
    condition = pads.field("res_id").isin(ids) & (pads.field("current") == True)  # noqa: E712
    return [v for v in _read(directory, condition) if (v.res_type, v.res_id) in wanted and not v.deleted]


def list_runs(directory: Path) -> list[ArchiveRun]:
    """The archive runs under ``directory``, oldest first."""
    runs = [ArchiveRun(**json.loads(p.read_text(encoding="utf-8"))) for p in directory.glob("*/run.json")]
    return sorted(runs, key=lambda r: r.run_id)


def restore_run(store: ResourceStore, directory: Path, run_id: str) -> tuple[int, int]:
    """Bring one run back into the live database, then delete it; returns (resources, versions) restored.

    A resource that exists in the live database again (re-created after archiving) keeps its live rows;
    only its missing history versions come back. Restored current versions pass through the store's write
    hooks so search indexes and access links are rebuilt.
    """
    folder = directory / run_id
    versions = _read_run(folder)
    restored = store.db.write(lambda conn: _insert(conn, versions, store, run_id))
    shutil.rmtree(folder)
    return restored


def _read_run(folder: Path) -> list[ArchivedVersion]:
    files = sorted(str(p) for p in folder.glob("part-*.parquet"))
    if not files:
        return []
    rows = pads.dataset(files, schema=SCHEMA, format="parquet").to_table().to_pylist()
    return [_version(r) for r in rows]


def _version(r: dict[str, Any]) -> ArchivedVersion:
    return ArchivedVersion(
        r["res_type"],
        r["res_id"],
        r["version_id"],
        r["last_updated"],
        r["method"],
        r["deleted"],
        r["content"],
        r["current"],
    )


def _insert(
    conn: sa.Connection, versions: Sequence[ArchivedVersion], store: ResourceStore, run_id: str
) -> tuple[int, int]:
    resources = versions_count = 0
    by_resource: dict[tuple[str, str], list[ArchivedVersion]] = {}
    for v in versions:
        by_resource.setdefault((v.res_type, v.res_id), []).append(v)
    for (res_type, res_id), group in by_resource.items():
        group.sort(key=lambda v: v.version_id)
        live = conn.execute(
            sa.select(resource.c.pk).where(resource.c.res_type == res_type, resource.c.res_id == res_id)
        ).scalar()
        head = next((v for v in group if v.current), None)
        created = live is None
        if live is None:
            if head is None:
                continue  # history of a resource that no longer exists: nothing to attach it to
            live = conn.execute(
                resource.insert()
                .values(
                    res_type=res_type,
                    res_id=res_id,
                    version_id=head.version_id,
                    last_updated=head.last_updated,
                    deleted=head.deleted,
                    content=head.content,
                )
                .returning(resource.c.pk)
            ).scalar_one()
            resources += 1
            if not head.deleted and head.content is not None:
                doc = index_view(json.loads(head.content))  # blind indexes, never ciphertext (security/protection.py)
                change = ResourceChange(live, res_type, res_id, head.version_id, doc, True)
                for hook in store.hooks:
                    hook.resource_written(conn, change)
        present = set(
            conn.execute(
                sa.select(resource_version.c.version_id).where(resource_version.c.resource_pk == live)
            ).scalars()
        )
        missing = [v for v in group if v.version_id not in present]
        if missing:
            conn.execute(
                resource_version.insert(),
                [
                    {
                        "resource_pk": live,
                        "version_id": v.version_id,
                        "res_type": res_type,
                        "last_updated": v.last_updated,
                        "method": v.method,
                        "deleted": v.deleted,
                        # a restored current version's JSON is in ``resource`` only (db/schema.py)
                        "content": None if created and v.current else v.content,
                    }
                    for v in missing
                ],
            )
            versions_count += len(missing)
    _audit(conn, "archive-restore", run_id, set(by_resource))
    return resources, versions_count
