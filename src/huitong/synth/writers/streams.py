"""Where a shard's output goes before the shards are merged.

HL7 streams are buffered per shard, sorted by message time and written as a part file; the merge step
interleaves the part files by MSH-7 so that each stream file is in time order. CSV and NDJSON part files are
written as rows come and concatenated at the merge (CSV headers are written once, by the merge).
"""

from __future__ import annotations

import csv
import heapq
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from huitong.synth.writers.hl7 import CHARSETS


class ShardFiles:
    """The part files of one shard under ``parts/<shard>/``."""

    def __init__(self, parts: Path, shard: int) -> None:
        self.dir = parts / f"{shard:03d}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.shard = shard
        self._hl7: dict[str, list[tuple[str, int, bytes]]] = {}
        self._csv: dict[str, tuple[IO[str], Any]] = {}
        self._ndjson: dict[str, IO[bytes]] = {}
        self._seq = 0
        self.counts: dict[str, int] = {}

    def hl7(self, stream: str, ts: str, segments: list[str], charset: str = "utf-8") -> None:
        """Buffer one message of ``stream`` (e.g. ``hl7/his/adt.hl7``) sent at ``ts``."""
        self._seq += 1
        data = ("\r".join(segments) + "\r\n").encode(charset)
        self._hl7.setdefault(stream, []).append((ts, self._seq, data))
        self.counts[stream] = self.counts.get(stream, 0) + 1

    def csv_row(self, table: str, row: list[str]) -> None:
        """Write one row of a CSV table (e.g. ``frontpage/frontpage.csv``)."""
        entry = self._csv.get(table)
        if entry is None:
            path = self.dir / table
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("w", encoding="utf-8", newline="")
            entry = (handle, csv.writer(handle, lineterminator="\n"))
            self._csv[table] = entry
        entry[1].writerow(row)
        self.counts[table] = self.counts.get(table, 0) + 1

    def ndjson(self, name: str, obj: Any) -> None:
        """Write one JSON object as a line of ``name``."""
        handle = self._ndjson.get(name)
        if handle is None:
            path = self.dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("wb")
            self._ndjson[name] = handle
        handle.write(orjson.dumps(obj) + b"\n")
        self.counts[name] = self.counts.get(name, 0) + 1

    def close(self) -> None:
        """Sort and write the HL7 buffers; close every file."""
        for stream, messages in self._hl7.items():
            messages.sort(key=lambda m: (m[0], m[1]))
            path = self.dir / stream
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as out:
                out.writelines(m[2] for m in messages)
        self._hl7.clear()
        for text, _ in self._csv.values():
            text.close()
        for binary in self._ndjson.values():
            binary.close()


def _hl7_lines(path: Path, shard: int) -> Iterator[tuple[bytes, int, int, bytes]]:
    with path.open("rb") as handle:
        for n, line in enumerate(handle):
            yield line.split(b"|", 7)[6], shard, n, line


def merge_hl7(parts: list[Path], target: Path) -> int:
    """Interleave time-sorted part files by MSH-7 (ties by shard order); returns the message count."""
    target.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with target.open("wb") as out:
        if len(parts) == 1:
            with parts[0].open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
            with parts[0].open("rb") as src:
                return sum(1 for _ in src)
        for _, _, _, line in heapq.merge(*(_hl7_lines(p, i) for i, p in enumerate(parts))):
            out.write(line)
            count += 1
    return count


def concat(parts: list[Path], target: Path, header: list[str] | None = None) -> None:
    """Concatenate part files, with a CSV header first when given."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        if header is not None:
            buffer = _HeaderBuffer()
            csv.writer(buffer, lineterminator="\n").writerow(header)
            out.write(buffer.text.encode("utf-8"))
        for part in parts:
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)


class _HeaderBuffer:
    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> int:
        self.text += s
        return len(s)


def declared_charset(message: bytes) -> str:
    """The Python codec named by a message's MSH-18 (``utf-8`` when absent)."""
    first = message.split(b"\r", 1)[0].split(b"|")
    value = first[17].decode("ascii") if len(first) > 17 else ""
    for codec, name in CHARSETS.items():
        if name == value:
            return codec
    return "utf-8"
