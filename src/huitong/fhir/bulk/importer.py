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

import contextlib
import gzip
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from huitong.fhir import jsonio
from huitong.fhir.batch.process import BundleProcessor
from huitong.fhir.errors import FhirError
from huitong.fhir.transaction import Transaction
from huitong.fhir.validate import check_structure
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

    def __init__(self, services: Services, actor: Actor, *, chunk: int = 1000, state: ImportState | None = None):
        self.services = services
        self.actor = actor
        self.chunk = chunk
        self.state = state or ImportState(None)
        self.report = ImportReport()

    def import_path(self, path: Path, progress: Progress | None = None) -> None:
        """Import one file (``.ndjson``, ``.ndjson.gz``, ``.json`` bundle or resource)."""
        self.report.files += 1
        if self.state.get(path) == FINISHED:
            self.report.skipped_files += 1
            if progress:
                progress(path.stat().st_size)
            return
        name = path.name.lower()
        if name.endswith((".ndjson", ".ndjson.gz", ".jsonl")):
            self._ndjson(path, progress)
        else:
            self._json(path, progress)
        self.state.set(path, FINISHED)

    # -- NDJSON -------------------------------------------------------------------------------------

    def _ndjson(self, path: Path, progress: Progress | None) -> None:
        start = self.state.get(path)
        batch: list[tuple[int, dict[str, Any]]] = []
        consumed = 0
        with _open(path) as stream:
            for number, line in enumerate(stream, 1):
                consumed += len(line)
                if number <= start or not line.strip():
                    continue
                resource = self._parse_line(path, number, line)
                if resource is not None:
                    batch.append((number, resource))
                if len(batch) >= self.chunk:
                    self._write_chunk(path, batch)
                    self.state.set(path, number)
                    batch = []
                    if progress:
                        progress(consumed)
                        consumed = 0
        if batch:
            self._write_chunk(path, batch)
        if progress:
            progress(consumed)

    def _parse_line(self, path: Path, number: int, line: bytes) -> dict[str, Any] | None:
        try:
            return check_structure(jsonio.loads(line))
        except jsonio.JsonError as exc:
            self._reject(path, number, str(exc))
        except FhirError as exc:
            self._reject(path, number, str(exc))
        return None

    def _write_chunk(self, path: Path, batch: list[tuple[int, dict[str, Any]]]) -> None:
        try:
            written = self.services.store.transaction(self.actor, lambda tx: self._store_all(tx, batch))
        except FhirError:
            # One resource spoilt the chunk: store them one by one, each in its own savepoint.
            written = self.services.store.transaction(self.actor, lambda tx: self._store_each(tx, path, batch))
        self.report.resources += written

    def _store_all(self, tx: Transaction, batch: list[tuple[int, dict[str, Any]]]) -> int:
        resources = [resource for _number, resource in batch]
        tx.put_many([r for r in resources if isinstance(r.get("id"), str)])
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

    def _json(self, path: Path, progress: Progress | None) -> None:
        raw = path.read_bytes()
        try:
            document = jsonio.loads(raw)
        except jsonio.JsonError as exc:
            self._reject(path, 0, str(exc))
            return
        finally:
            if progress:
                progress(len(raw))
        if isinstance(document, dict) and document.get("resourceType") == "Bundle":
            kind = document.get("type")
            if kind in ("transaction", "batch"):
                self._bundle(path, document)
                return
            entries = [e.get("resource") for e in document.get("entry") or [] if isinstance(e, dict)]
            batch = [(i, r) for i, r in enumerate(entries, 1) if isinstance(r, dict) and self._checked(path, i, r)]
            for at in range(0, len(batch), self.chunk):
                self._write_chunk(path, batch[at : at + self.chunk])
            return
        if self._checked(path, 1, document):
            self._write_chunk(path, [(1, document)])

    def _checked(self, path: Path, number: int, resource: Any) -> bool:
        try:
            check_structure(resource)
        except FhirError as exc:
            self._reject(path, number, str(exc))
            return False
        return True

    def _bundle(self, path: Path, bundle: dict[str, Any]) -> None:
        processor = BundleProcessor(self.services.search)
        try:
            response = processor.process(self.actor, bundle)
        except FhirError as exc:
            self._reject(path, 0, f"bundle rejected: {exc}")
            return
        for i, entry in enumerate(response["entry"], 1):
            status = entry["response"]["status"]
            if status[:1] in ("2",):
                self.report.resources += 1
            else:
                self._reject(path, i, f"entry {i - 1}: {status}")

    def _reject(self, path: Path, number: int, reason: str) -> None:
        self.report.rejected += 1
        if len(self.report.rejects) < 100_000:
            self.report.rejects.append({"file": str(path), "line": number, "reason": reason[:500]})


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
