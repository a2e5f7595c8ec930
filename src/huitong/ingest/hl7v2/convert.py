"""``huitong hl7 convert``: an archive of HL7 v2 messages as FHIR NDJSON, for ``huitong import``.

A hospital that goes live keeps years of messages its systems already sent (the pharmacy's RDE/RAS, the LIS's
ORU …). Sending them through the MLLP listener and the pipeline stores them one message at a time; converting
them with the same mapping the pipeline uses (:func:`huitong.ingest.mapping.map_to_fhir`: deterministic ids,
``meta.source``) and loading the NDJSON with ``huitong import`` (the bulk path, which queues the Patients for
EMPI linking) stores the same resources about four times faster on this machine (``bench import`` ~2,900
resources/s against ``bench pipeline`` ~60–95 messages of ~8 resources each per second).

* Files of any size are read in blocks (:func:`read_messages`); every MSH at a line start begins a message, with
  the same rules as :func:`~huitong.ingest.hl7v2.parse.split_messages` (CR, LF or CRLF, batch envelopes).
* Output: one ``<ResourceType>.ndjson`` per type in the output directory, in message order. A resource that
  later messages repeat unchanged (the patient and the visit of every order) is written once; one that a later
  message changes is written again, and the import stores it as a new version — as the pipeline would (which
  also means: a second sending system restating the same content, differing only in ``meta.source``, is no
  change). A visit that a non-ADT message only refers to (``ingest/mapping.py``) is written only if no earlier
  message of the conversion wrote it, so a late result never re-opens a stay; the import, which updates what a
  store already holds, should therefore load the ADT archive's output after (or together with) the others'.
* Encounters get their department (``serviceProvider``) from PV1-10 by ``department_reference`` — the setting
  ``HUITONG_INGEST__DEPARTMENT_REFERENCE`` the pipeline uses (:func:`~huitong.ingest.prepare.set_departments`): the
  department's staff reach a patient through it (docs/security.md), so an archive loaded without it would leave
  its patients out of every department's reach.
* A message that cannot be parsed or mapped is written to ``rejected.ndjson`` (file, position, control id, ACK
  code, reason) and none of its resources are written.
* With ``processes`` > 0 the mapping runs in that many worker processes (blocks of messages, results in order).
"""

from __future__ import annotations

import collections
import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from huitong.ingest.errors import IngestError
from huitong.ingest.hl7v2.header import control_id_of
from huitong.ingest.hl7v2.parse import parse_message, split_messages

BLOCK_BYTES = 1 << 24  # read size; a block is cut after the last MSH at a line start
BATCH_MESSAGES = 2_000  # messages per unit of work handed to a worker process
REJECTED = "rejected.ndjson"
_LINE_START_MSH = re.compile(rb"[\r\n]MSH")

Progress = Callable[[int], None]  # called with the bytes read so far


def read_messages(handle: IO[bytes], *, block: int = BLOCK_BYTES, progress: Progress | None = None) -> Iterator[bytes]:
    """Every message of a binary stream, as :func:`split_messages` would split the whole of it, reading
    ``block`` bytes at a time (the last, possibly incomplete, message of a block waits for the next one)."""
    carry = b""
    read = 0
    while chunk := handle.read(block):
        read += len(chunk)
        data = carry + chunk
        cut = -1
        for found in _LINE_START_MSH.finditer(data, max(0, len(data) - len(chunk) - 1)):
            cut = found.start() + 1
        if cut <= 0:
            carry = data
        else:
            yield from split_messages(data[:cut])
            carry = data[cut:]
        if progress is not None:
            progress(read)
    if carry:
        yield from split_messages(carry)


@dataclass(slots=True)
class Converted:
    """One message's outcome: its resources as compact JSON ``(type, id, bytes, sameness, context)``, or why it was
    rejected (``sameness``: :func:`_sameness`; ``context``: the message only refers to it, ``ingest/mapping.py``)."""

    position: int
    resources: list[tuple[str, str, bytes, int, bool]] = field(default_factory=list)
    rejected: dict[str, Any] | None = None


def convert_message(raw: bytes, position: int, department_reference: str = "") -> Converted:
    """Parse and map one message as the pipeline does (with ``department_reference``, the Encounters'
    departments as well)."""
    from huitong.ingest.mapping import map_to_fhir
    from huitong.ingest.prepare import set_departments

    try:
        mapped = map_to_fhir(parse_message(raw))
    except IngestError as exc:
        reason = {
            "control_id": control_id_of(raw),
            "ack": exc.ack_code,
            "error_code": exc.error_code,
            "reason": exc.reason,
        }
        return Converted(position, rejected=reason)
    if department_reference:
        set_departments(mapped.resources, department_reference)
    context = mapped.context
    return Converted(
        position,
        [
            (r["resourceType"], r["id"], orjson.dumps(r), _sameness(r), (r["resourceType"], r["id"]) in context)
            for r in mapped.resources
        ],
    )


def _sameness(body: dict[str, Any]) -> int:
    """What decides whether a later message changed a resource: a digest of its JSON without ``meta.source``
    (the pipeline keeps the first sender when a second one restates the same content; see
    ``Transaction.put_many``). A keyed hash, not :func:`hash`, which differs between worker processes."""
    meta = body.get("meta")
    if isinstance(meta, dict) and "source" in meta:
        rest = {k: v for k, v in meta.items() if k != "source"}
        body = {**body, "meta": rest} if rest else {k: v for k, v in body.items() if k != "meta"}
    return int.from_bytes(hashlib.blake2b(orjson.dumps(body), digest_size=8).digest(), "little")


def convert_batch(batch: list[tuple[int, bytes]], department_reference: str = "") -> list[Converted]:
    """:func:`convert_message` over a block of ``(position, message)`` (the unit a worker process maps)."""
    return [convert_message(raw, position, department_reference) for position, raw in batch]


@dataclass
class ConvertReport:
    """What a conversion did."""

    messages: int = 0
    accepted: int = 0
    rejected: int = 0
    written: dict[str, int] = field(default_factory=dict)  # resources written per type
    repeated: int = 0  # resources a later message carried unchanged (written once)
    versions: int = 0  # resources written again because a later message changed them
    kept: int = 0  # resources a later message only referred to (a result's visit), already written: not written

    def as_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "resources": sum(self.written.values()),
            "written": dict(sorted(self.written.items())),
            "repeated_unchanged": self.repeated,
            "changed_versions": self.versions,
            "kept_context": self.kept,
        }


class NdjsonWriter:
    """The output directory: one file per resource type, opened when its first resource comes; a resource is
    written unless the last one written under its type and id had the same bytes."""

    def __init__(self, directory: Path, report: ConvertReport) -> None:
        existing = sorted(p.name for p in directory.glob("*.ndjson")) if directory.exists() else []
        if existing:
            raise FileExistsError(
                f"{directory} already holds {', '.join(existing[:3])}: convert into an empty directory "
                "(a repeated resource is recognised only within one conversion)"
            )
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.report = report
        self._files: dict[str, IO[bytes]] = {}
        self._last: dict[str, int] = {}  # "Type/id" → hash of the bytes last written

    def _file(self, name: str) -> IO[bytes]:
        handle = self._files.get(name)
        if handle is None:
            handle = self._files[name] = (self.directory / name).open("xb")
        return handle

    def add(self, converted: Converted, source: str) -> None:
        report = self.report
        report.messages += 1
        if converted.rejected is not None:
            report.rejected += 1
            line = {"file": source, "position": converted.position, **converted.rejected}
            self._file(REJECTED).write(orjson.dumps(line) + b"\n")
            return
        report.accepted += 1
        for rtype, rid, body, digest, context in converted.resources:
            key = f"{rtype}/{rid}"
            last = self._last.get(key)
            if last == digest:
                report.repeated += 1
                continue
            if context and last is not None:  # the pipeline keeps the stored one (Transaction.put_many create_only)
                report.kept += 1
                continue
            if last is not None:
                report.versions += 1
            self._last[key] = digest
            self._file(f"{rtype}.ndjson").write(body + b"\n")
            report.written[rtype] = report.written.get(rtype, 0) + 1

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()


def _batches(messages: Iterable[bytes], size: int) -> Iterator[list[tuple[int, bytes]]]:
    batch: list[tuple[int, bytes]] = []
    for position, raw in enumerate(messages, start=1):
        batch.append((position, raw))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _in_order(
    pool: ProcessPoolExecutor,
    batches: Iterator[list[tuple[int, bytes]]],
    window: int,
    convert: Callable[[list[tuple[int, bytes]]], list[Converted]] = convert_batch,
) -> Iterator[list[Converted]]:
    """The results of ``convert`` (:func:`convert_batch`) over ``batches`` in order, at most ``window`` blocks in
    flight (the file is never read far ahead of the writing)."""
    flight: collections.deque[Future[list[Converted]]] = collections.deque()
    for batch in batches:
        flight.append(pool.submit(convert, batch))
        if len(flight) >= window:
            yield flight.popleft().result()
    while flight:
        yield flight.popleft().result()


def convert_files(
    files: Iterable[Path],
    output: Path,
    *,
    processes: int = 0,
    progress: Progress | None = None,
    batch: int = BATCH_MESSAGES,
    department_reference: str = "",
) -> ConvertReport:
    """Convert every message of ``files`` (in order) into NDJSON files in ``output`` (an empty directory);
    ``department_reference``: see the module docstring."""
    report = ConvertReport()
    convert = functools.partial(convert_batch, department_reference=department_reference)
    writer = NdjsonWriter(output, report)
    pool: ProcessPoolExecutor | None = None
    if processes > 0:
        from huitong.processes import spawn_pool

        pool, _started = spawn_pool(processes)
    done = 0
    try:
        for path in files:
            base = done

            def advance(read: int, base: int = base) -> None:
                if progress is not None:
                    progress(base + read)

            with path.open("rb") as handle:
                batches = _batches(read_messages(handle, progress=advance), batch)
                results = _in_order(pool, batches, processes * 2, convert) if pool else map(convert, batches)
                for converted in results:
                    for one in converted:
                        writer.add(one, str(path))
            done += path.stat().st_size
    finally:
        writer.close()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return report
