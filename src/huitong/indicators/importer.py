"""Import CSV exports into the store: check every row, map the valid ones to FHIR and write them through
``ResourceStore.transaction`` in batches, each resource with a deterministic id (``PUT`` semantics), so that an
import run twice writes nothing new. A rejected row is reported with its line and reasons and none of its
resources are written; the resources of one row always go into the same transaction.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huitong.fhir.store import ResourceStore
from huitong.fhir.transaction import Transaction
from huitong.indicators import frontpage, his, reference
from huitong.indicators.frontpage import Catalogues, RowCheck
from huitong.security.actor import Actor

#: ``progress(done_rows, total_rows)``.
Progress = Callable[[int, int], None]
BATCH_ROWS = 200


@dataclass(slots=True)
class ImportReport:
    """What an import did: rows read, accepted and rejected (with reasons), resources written or unchanged."""

    file: str
    rows: int = 0
    accepted: int = 0
    rejected: list[RowCheck] = field(default_factory=list)
    warned: list[RowCheck] = field(default_factory=list)
    resources: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": [{"line": r.line, "key": r.key, "reasons": r.reasons} for r in self.rejected],
            "warnings": [{"line": r.line, "key": r.key, "warnings": r.warnings} for r in self.warned],
            "resources": self.resources,
        }


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k is not None}


def _count_rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return max(0, sum(1 for _ in csv.reader(handle)) - 1)


def _write(
    store: ResourceStore,
    actor: Actor,
    batch: list[dict[str, Any]],
    *,
    keep_source: bool = False,
    create_only: set[tuple[str, str]] | None = None,
) -> int:
    """Update-or-create every body of ``batch`` (distinct ids) in one transaction (``keep_source``,
    ``create_only``: see :meth:`Transaction.put_many`)."""

    def work(tx: Transaction) -> int:
        tx.put_many(batch, keep_source=keep_source, create_only=create_only or ())
        return len(batch)

    return store.transaction(actor, work) if batch else 0


def catalogues_from_store(store: ResourceStore) -> Catalogues:
    """The code lists imported as reference data (empty sets where none were imported: format checks only)."""
    db = store.db
    diagnoses = reference.load_table(db, "diagnosis")
    return Catalogues(
        icd10=frozenset(r["code"] for r in diagnoses),
        sex_specific={r["code"]: r["sex"] for r in diagnoses if r.get("sex") in ("M", "F")},
        icd9cm3=frozenset(r["code"] for r in reference.load_table(db, "procedure")),
        departments=frozenset(r["code"] for r in reference.load_table(db, "department")),
    )


def import_frontpage(
    store: ResourceStore,
    actor: Actor,
    path: Path,
    *,
    catalogues: Catalogues | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one front-page CSV; see the module docstring."""
    cats = catalogues if catalogues is not None else catalogues_from_store(store)
    report = ImportReport(str(path))
    total = _count_rows(path)
    batch: list[dict[str, Any]] = []
    rows_in_batch = 0
    for line, row in _rows(path):
        report.rows += 1
        check = frontpage.check_row(row, line, cats)
        if check.warnings:
            report.warned.append(check)
        if not check.ok:
            report.rejected.append(check)
            continue
        batch += frontpage.to_fhir(row)
        report.accepted += 1
        rows_in_batch += 1
        if rows_in_batch >= BATCH_ROWS:
            report.resources += _write(store, actor, batch)
            batch, rows_in_batch = [], 0
            if progress:
                progress(report.rows, total)
    report.resources += _write(store, actor, batch)
    if progress:
        progress(report.rows, total)
    return report


def import_visits(store: ResourceStore, actor: Actor, path: Path, *, progress: Progress | None = None) -> ImportReport:
    """Import the HIS outpatient register (one Encounter per visit)."""
    report = ImportReport(str(path))
    total = _count_rows(path)
    batch: list[dict[str, Any]] = []
    for line, row in _rows(path):
        report.rows += 1
        check = his.check_visit(row, line)
        if not check.ok:
            report.rejected.append(check)
            continue
        batch.append(his.visit_to_fhir(row))
        report.accepted += 1
        if len(batch) >= BATCH_ROWS * 4:
            report.resources += _write(store, actor, batch)
            batch = []
            if progress:
                progress(report.rows, total)
    report.resources += _write(store, actor, batch)
    if progress:
        progress(report.rows, total)
    return report


def import_charges(store: ResourceStore, actor: Actor, path: Path, *, progress: Progress | None = None) -> ImportReport:
    """Import the HIS itemised charges (one Claim per encounter). An encounter with a rejected row is rejected
    as a whole, so that no Claim is written with items missing."""
    report = ImportReport(str(path))
    total = _count_rows(path)
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    bad: dict[tuple[str, str], list[RowCheck]] = {}
    for line, row in _rows(path):
        report.rows += 1
        key = ("I" if row.get("encounter_type") == "I" else "O", row.get("encounter_no", ""))
        check = his.check_charge(row, line)
        if check.ok:
            groups.setdefault(key, []).append(row)
        else:
            bad.setdefault(key, []).append(check)
    batch: list[dict[str, Any]] = []
    done = 0
    for key, items in groups.items():
        done += len(items)
        if key in bad:
            continue
        batch.append(his.charges_claim(items[0]["encounter_type"], key[1], items))
        report.accepted += len(items)
        if len(batch) >= BATCH_ROWS * 4:
            report.resources += _write(store, actor, batch)
            batch = []
            if progress:
                progress(done, total)
    report.resources += _write(store, actor, batch)
    for key, checks in bad.items():
        report.rejected += checks
        for item in groups.get(key, []):
            report.rejected.append(
                RowCheck(0, f"{key[1]}/{item.get('item_code', '')}", ["encounter has a rejected row"])
            )
    if progress:
        progress(total, total)
    return report


def import_hl7(store: ResourceStore, actor: Actor, path: Path, *, progress: Progress | None = None) -> ImportReport:
    """Import a file of HL7 v2 messages (e.g. the pharmacy's RDE/RAS or the PACS's ORU archive) the way the
    integration engine maps them, without the inbox: each message is parsed and mapped to FHIR, and the
    resources of ``BATCH_ROWS`` messages are written in one transaction, the last version of a resource that
    several messages carry winning (as when the messages are processed in order). A message that cannot be
    parsed or mapped is reported with its position and reason, and none of its resources are written."""
    from huitong.ingest.errors import IngestError
    from huitong.ingest.hl7v2.convert import read_messages
    from huitong.ingest.hl7v2.header import control_id_of
    from huitong.ingest.hl7v2.parse import parse_message
    from huitong.ingest.mapping import map_to_fhir

    report = ImportReport(str(path))
    total = path.stat().st_size
    read = 0

    def advance(done: int) -> None:
        nonlocal read
        read = done

    batch: dict[tuple[str, str], dict[str, Any]] = {}
    context: set[tuple[str, str]] = set()  # in the batch only as a message's visit: written if absent
    in_batch = 0
    with path.open("rb") as handle:
        for n, raw in enumerate(read_messages(handle, progress=advance), start=1):
            report.rows += 1
            try:
                mapped = map_to_fhir(parse_message(raw))
            except IngestError as exc:
                report.rejected.append(RowCheck(n, control_id_of(raw), [f"{exc.error_code}: {exc.reason}"]))
                continue
            for body in mapped.resources:
                key = (body["resourceType"], body["id"])
                if key in mapped.context:  # ingest/mapping.py: never over the visit an earlier message wrote
                    if key not in batch:
                        batch[key] = body
                        context.add(key)
                    continue
                batch.pop(key, None)
                batch[key] = body
                context.discard(key)
            report.accepted += 1
            in_batch += 1
            if in_batch >= BATCH_ROWS:
                report.resources += _write(store, actor, list(batch.values()), keep_source=True, create_only=context)
                batch, context, in_batch = {}, set(), 0
                if progress:
                    progress(read, total)
    report.resources += _write(store, actor, list(batch.values()), keep_source=True, create_only=context)
    if progress:
        progress(total, total)
    return report
