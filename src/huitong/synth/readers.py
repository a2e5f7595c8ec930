"""Reading a generated data set back: HL7 v2 streams (each message decoded with the charset its MSH-18
declares), FHIR bundles, CSV tables and the ground truth. This is what ``huitong demo`` and tests use to feed
the data to the platform's own ingest paths."""

from __future__ import annotations

import csv
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from huitong.synth import outputs
from huitong.synth.errors import OutputFormatError
from huitong.synth.writers.streams import declared_charset


def iter_hl7_raw(path: Path) -> Iterator[bytes]:
    """Each message of a stream file as bytes (segments separated by CR, no trailing LF)."""
    with path.open("rb") as handle:
        for line in handle:
            message = line.rstrip(b"\n")
            if message:
                if not message.startswith(b"MSH|"):
                    raise OutputFormatError(f"{path}: a message does not start with MSH")
                yield message


def iter_hl7_messages(path: Path) -> Iterator[str]:
    """Each message of a stream file as text, decoded with the charset its MSH-18 declares."""
    for raw in iter_hl7_raw(path):
        yield raw.decode(declared_charset(raw))


def iter_bundles(path: Path) -> Iterator[dict[str, Any]]:
    """Each FHIR transaction bundle of an NDJSON file."""
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


def read_csv(path: Path) -> Iterator[dict[str, str]]:
    """Rows of a CSV table as mappings from column name."""
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def iter_defects(path: Path) -> Iterator[dict[str, Any]]:
    """Records of ``truth/defects.jsonl``."""
    with path.open("rb") as handle:
        for line in handle:
            if line.strip():
                yield orjson.loads(line)


@dataclass(frozen=True, slots=True)
class SynthOutput:
    """A generated data set on disk."""

    root: Path

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest (scale, seed, year, rates, counts, files)."""
        return orjson.loads((self.root / outputs.MANIFEST).read_bytes())  # type: ignore[no-any-return]

    def hl7_streams(self) -> list[tuple[str, Path]]:
        """(sending system, path) of every HL7 v2 stream, in a sensible load order (ADT first)."""
        return [
            (system, self.root / name)
            for name, (system, _) in outputs.HL7_STREAMS.items()
            if (self.root / name).exists()
        ]

    def messages(self) -> Iterator[tuple[str, str]]:
        """(sending system, message text) of every HL7 message, stream by stream."""
        for system, path in self.hl7_streams():
            for message in iter_hl7_messages(path):
                yield system, message

    def messages_in_time_order(self) -> Iterator[tuple[str, str]]:
        """(sending system, message text) of every HL7 message of every stream, interleaved by MSH-7 — the order
        an interface engine would have received them in (ties keep stream order: ADT before orders and results)."""

        def keyed(rank: int, system: str, path: Path) -> Iterator[tuple[bytes, int, int, str, bytes]]:
            for n, raw in enumerate(iter_hl7_raw(path)):
                yield raw.split(b"|", 7)[6], rank, n, system, raw

        streams = [keyed(rank, system, path) for rank, (system, path) in enumerate(self.hl7_streams())]
        for _, _, _, system, raw in heapq.merge(*streams):
            yield system, raw.decode(declared_charset(raw))

    def bundles(self) -> Iterator[dict[str, Any]]:
        """The master-data bundle, then one transaction bundle per encounter."""
        master = self.root / outputs.FHIR_MASTER
        if master.exists():
            yield orjson.loads(master.read_bytes())
        yield from iter_bundles(self.root / outputs.EMR)

    def table(self, name: str) -> Iterator[dict[str, str]]:
        """Rows of a CSV table by its relative path (e.g. ``frontpage/frontpage.csv``)."""
        return read_csv(self.root / name)

    def defects(self) -> Iterator[dict[str, Any]]:
        """Injected defects with their locations."""
        return iter_defects(self.root / outputs.DEFECTS)
