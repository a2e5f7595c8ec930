"""``huitong import``: load FHIR NDJSON files and transaction/batch/collection Bundles (e.g. Synthea output).

The trusted path: resources get the structural check only (see :mod:`huitong.fhir.validate`). NDJSON is
written in chunks, each chunk one database transaction (one commit, index rows inserted together); a
resource with an id is stored under that id (an update that changes nothing makes no new version, so a
re-run is idempotent), one without gets a new id. Lines that are not JSON or not a resource are skipped
and reported with their file and line number. Progress is saved after every committed chunk in a state
file, so an interrupted import resumes where it stopped. Transaction bundles keep their all-or-nothing
meaning; a bundle that fails is reported as rejected and the import goes on.
"""

from __future__ import annotations

import collections
import contextlib
import gzip
import hashlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from huitong.fhir import jsonio
from huitong.fhir.batch.process import BundleProcessor, EntryResult, bundle_entries
from huitong.fhir.bulk import DEFAULT_CHUNK
from huitong.fhir.bulk.lines import Line, parse_line, prepare_lines
from huitong.fhir.errors import FhirError
from huitong.fhir.search.index import PreparedIndex
from huitong.fhir.transaction import Transaction
from huitong.fhir.validate import check_structure
from huitong.processes import spawn_pool
from huitong.security.actor import Actor
from huitong.services import Services

Progress = Callable[[int], None]  # called with bytes consumed


@dataclass
class ImportReport:
    """What an import did."""

    files: int = 0
    resources: int = 0
    rejected: int = 0
    skipped_files: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)


class ImportState:
    """Resume points: for each file (by path, size and mtime), the lines or bundles already committed."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.done: dict[str, int] = {}
        if path is not None and path.exists():
            self.done = {str(k): int(v) for k, v in orjson.loads(path.read_bytes()).items()}

    @staticmethod
    def key(file: Path) -> str:
        stat = file.stat()
        return hashlib.sha256(f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:24]

    def get(self, file: Path) -> int:
        return self.done.get(self.key(file), 0)

    def set(self, file: Path, position: int) -> None:
        self.done[self.key(file)] = position
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_bytes(orjson.dumps(self.done))
            tmp.replace(self.path)


#: Marks a file as finished in the state file.
FINISHED = -1


class Importer:
    """Imports files into the store through :class:`~huitong.fhir.transaction.Transaction`."""

    def __init__(
        self,
        services: Services,
        actor: Actor,
        *,
        chunk: int = DEFAULT_CHUNK,
        state: ImportState | None = None,
        processes: int = 0,
    ):
        self.services = services
        self.actor = actor
        self.chunk = chunk
        self.state = state or ImportState(None)
        self.report = ImportReport()
        #: Worker processes parsing, checking and indexing NDJSON lines ahead of the writes (0: none).
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        #: resources written since the ``resource`` table's statistics were last sampled (PostgreSQL)
        self._since_statistics = 0
        #: transaction bundles read but not yet written (:meth:`import_paths`)
        self._queued: list[_QueuedBundle] = []

    def import_path(self, path: Path, progress: Progress | None = None) -> None:
        """Import one file (``.ndjson``, ``.ndjson.gz``, ``.json`` bundle or resource)."""
        self.import_paths([path], progress)

    def import_paths(
        self, paths: Iterable[Path], progress: Progress | None = None, *, starting: Callable[[Path], None] | None = None
    ) -> None:
        """Import files in turn (``starting`` is told of each). Consecutive transaction bundles of fewer than
        ``chunk`` entries in all are written in one database transaction (:meth:`_write_bundles`); a file counts as
        finished in the state file only once its resources are committed."""
        for path in paths:
            if starting is not None:
                starting(path)
            self.report.files += 1
            if self.state.get(path) == FINISHED:
                self.report.skipped_files += 1
                if progress:
                    progress(path.stat().st_size)
                continue
            name = path.name.lower()
            if name.endswith((".ndjson", ".ndjson.gz", ".jsonl")):
                self._write_bundles()
                self._ndjson(path, progress)
            elif self._json(path, progress):
                continue  # a transaction bundle, written with the next ones (and then marked finished)
            self.state.set(path, FINISHED)
        self._write_bundles()

    # -- NDJSON -------------------------------------------------------------------------------------

    def _ndjson(self, path: Path, progress: Progress | None) -> None:
        chunks = self._line_chunks(path, self.state.get(path))
        pool = self._start_pool()
        if pool is None:
            for lines, last, consumed in chunks:
                self._chunk_done(path, [parse_line(n, raw) for n, raw in lines], last, consumed, progress)
            return
        # worker processes parse, check and index the next chunks while this process writes the current one
        window: collections.deque[tuple[Future[list[Line]], int, int]] = collections.deque()
        fulltext = tuple(self.services.settings.fhir.fulltext_types)
        for lines, last, consumed in chunks:
            window.append((pool.submit(prepare_lines, lines, fulltext), last, consumed))
            if len(window) > self.processes:
                future, at, size = window.popleft()
                self._chunk_done(path, future.result(), at, size, progress)
        while window:
            future, at, size = window.popleft()
            self._chunk_done(path, future.result(), at, size, progress)

    def _line_chunks(self, path: Path, start: int) -> Iterator[tuple[list[tuple[int, bytes]], int, int]]:
        """``(lines, last line number, bytes consumed)`` per chunk of ``self.chunk`` non-blank lines after
        ``start`` (the resume point)."""
        lines: list[tuple[int, bytes]] = []
        consumed = 0
        number = 0
        with _open(path) as stream:
            for number, line in enumerate(stream, 1):
                consumed += len(line)
                if number <= start or not line.strip():
                    continue
                lines.append((number, line))
                if len(lines) >= self.chunk:
                    yield lines, number, consumed
                    lines, consumed = [], 0
        if lines or consumed:
            yield lines, number, consumed

    def _chunk_done(self, path: Path, lines: list[Line], last: int, consumed: int, progress: Progress | None) -> None:
        """Report the rejected lines, write the rest in one transaction, save the resume point."""
        batch: list[tuple[int, dict[str, Any]]] = []
        index: list[PreparedIndex | None] = []
        for line in lines:
            if line.resource is None:
                self._reject(path, line.number, line.reason or "not a resource")
            else:
                batch.append((line.number, line.resource))
                index.append(line.prepared)
        if batch:
            self._write_chunk(path, batch, index)
        if lines and last > self.state.get(path):
            self.state.set(path, last)
        if progress:
            progress(consumed)

    def _start_pool(self) -> ProcessPoolExecutor | None:
        if self.processes > 0 and self._pool is None:
            self._pool, _started = spawn_pool(self.processes)
        return self._pool

    def close(self) -> None:
        """Stop the worker processes (if any were started)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=True, cancel_futures=True)

    def _write_chunk(
        self,
        path: Path,
        batch: list[tuple[int, dict[str, Any]]],
        index: list[PreparedIndex | None] | None = None,
    ) -> None:
        try:
            written = self.services.store.transaction(self.actor, lambda tx: self._store_all(tx, batch, index))
        except FhirError:
            # One resource spoilt the chunk: store them one by one, each in its own savepoint.
            written = self.services.store.transaction(self.actor, lambda tx: self._store_each(tx, path, batch))
        self.report.resources += written
        self._since_statistics += written
        self._keep_statistics()

    def _keep_statistics(self) -> None:
        """PostgreSQL: sample the ``resource`` table's planner statistics again (``ANALYZE`` of its type and id
        columns, seconds at most) once this import has at least doubled the table since they were taken, or when it
        has none. On a new database the planner otherwise believes the table empty while a first import fills it,
        and looks up each chunk's current rows through the type's other indexes, filtering every row of the type
        (chunks of 5,000: ~900 resources/s instead of ~4,000; docs/fhir-store.md); autovacuum would analyse it only
        at its next round. A store already holding millions of rows is analysed again only after as many more."""
        db = self.services.db
        if db.is_sqlite or not self._since_statistics:
            return
        with db.read() as conn:
            rows = conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE oid = 'resource'::regclass").scalar()
        if rows is not None and rows >= 0 and self._since_statistics < rows:
            return
        # the columns the look-up is planned on: the JSON column's statistics would cost most of the sampling
        db.write(lambda conn: conn.exec_driver_sql("ANALYZE resource (res_type, res_id)"))
        self._since_statistics = 0

    def _store_all(
        self,
        tx: Transaction,
        batch: list[tuple[int, dict[str, Any]]],
        index: list[PreparedIndex | None] | None = None,
    ) -> int:
        resources = [resource for _number, resource in batch]
        with_id = [i for i, r in enumerate(resources) if isinstance(r.get("id"), str)]
        tx.put_many([resources[i] for i in with_id], index=[index[i] for i in with_id] if index else None)
        tx.create_many([r for r in resources if not isinstance(r.get("id"), str)])
        return len(batch)

    def _store_each(self, tx: Transaction, path: Path, batch: list[tuple[int, dict[str, Any]]]) -> int:
        written = 0
        for number, resource in batch:
            try:
                with tx.savepoint():
                    _store(tx, resource)
                written += 1
            except FhirError as exc:
                self._reject(path, number, str(exc))
        return written

    # -- JSON bundles and single resources ----------------------------------------------------------

    def _json(self, path: Path, progress: Progress | None) -> bool:
        """Import a JSON file; a transaction bundle is queued to be written with the next ones (then True). The
        bundles queued before are written before anything else is, so files are written in the order given."""
        raw = path.read_bytes()
        try:
            document = jsonio.loads(raw)
        except jsonio.JsonError as exc:
            self._reject(path, 0, str(exc))
            return False
        finally:
            if progress:
                progress(len(raw))
        bundle = isinstance(document, dict) and document.get("resourceType") == "Bundle"
        kind = document.get("type") if bundle else None
        if kind == "transaction":
            try:
                self._queued.append(_QueuedBundle(path, bundle_entries(document)[1]))
            except FhirError as exc:
                self._reject(path, 0, f"bundle rejected: {exc}")
                return False
            if sum(len(q.entries) for q in self._queued) >= self.chunk:
                self._write_bundles()
            return True
        self._write_bundles()
        if kind == "batch":
            self._bundle(path, document)
            return False
        if bundle:
            entries = [e.get("resource") for e in document.get("entry") or [] if isinstance(e, dict)]
            batch = [(i, r) for i, r in enumerate(entries, 1) if isinstance(r, dict) and self._checked(path, i, r)]
            for at in range(0, len(batch), self.chunk):
                self._write_chunk(path, batch[at : at + self.chunk])
            return False
        if self._checked(path, 1, document):
            self._write_chunk(path, [(1, document)])
        return False

    def _checked(self, path: Path, number: int, resource: Any) -> bool:
        try:
            check_structure(resource)
        except FhirError as exc:
            self._reject(path, number, str(exc))
            return False
        return True

    def _write_bundles(self) -> None:
        """Write the queued transaction bundles — together in one database transaction when there are several, else
        (or when that fails: one of them is at fault) each in its own, so that a failing bundle is rejected alone —
        then mark their files finished. Many small bundles (one per patient) paid a commit, an audit append and an
        insert per index table each; together, once per group (docs/fhir-api.md, "Import")."""
        queued, self._queued = self._queued, []
        if not queued:
            return
        results: list[list[EntryResult]] | None = None
        processor = BundleProcessor(self.services.search)
        if len(queued) > 1:
            with contextlib.suppress(FhirError):
                results = processor.process_transactions(self.actor, [q.entries for q in queued])
        for n, item in enumerate(queued):
            if results is not None:
                self._count(item.path, [r.status for r in results[n]])
            else:
                self._bundle(item.path, {"resourceType": "Bundle", "type": "transaction", "entry": item.entries})
            self.state.set(item.path, FINISHED)

    def _bundle(self, path: Path, bundle: dict[str, Any]) -> None:
        processor = BundleProcessor(self.services.search)
        try:
            response = processor.process(self.actor, bundle)
        except FhirError as exc:
            self._reject(path, 0, f"bundle rejected: {exc}")
            return
        self._count(path, [entry["response"]["status"] for entry in response["entry"]])

    def _count(self, path: Path, statuses: list[str]) -> None:
        for i, status in enumerate(statuses, 1):
            if status[:1] in ("2",):
                self.report.resources += 1
            else:
                self._reject(path, i, f"entry {i - 1}: {status}")

    def _reject(self, path: Path, number: int, reason: str) -> None:
        self.report.rejected += 1
        if len(self.report.rejects) < 100_000:
            self.report.rejects.append({"file": str(path), "line": number, "reason": reason[:500]})


@dataclass(slots=True)
class _QueuedBundle:
    """A transaction bundle read, waiting to be written with the next ones."""

    path: Path
    entries: list[dict[str, Any]]


def _store(tx: Transaction, resource: dict[str, Any]) -> None:
    res_id = resource.get("id")
    if isinstance(res_id, str):
        tx.update(resource, res_id)
    else:
        tx.create(resource)


@contextlib.contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rb") as stream:
            yield stream  # type: ignore[misc]  # GzipFile reads bytes
    else:
        with path.open("rb") as stream:
            yield stream


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files to import: the paths given, with folders expanded to their ``*.json``/``*.ndjson`` files.

    Synthea's ``hospitalInformation``/``practitionerInformation`` bundles sort first (their names start
    with a digit), as the patients' bundles refer to them.
    """
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(_SUFFIXES)]
            out.extend(sorted(files, key=lambda p: (not _is_reference_data(p), p.name)))
        else:
            out.append(path)
    return out


_SUFFIXES = (".json", ".ndjson", ".ndjson.gz", ".jsonl")


def _is_reference_data(path: Path) -> bool:
    return "hospitalInformation" in path.name or "practitionerInformation" in path.name
