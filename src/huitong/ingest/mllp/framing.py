"""MLLP framing as pure bytes: ``0x0B payload 0x1C 0x0D``.

:func:`frame` wraps one payload. :class:`MllpDecoder` takes a byte stream in chunks of any size and
returns whole payloads; the result does not depend on how the stream was chunked. Lenient where
senders differ, and explicit about it:

* bytes outside a frame (noise, keep-alives, a CR after the end) are skipped and counted in
  :attr:`MllpDecoder.skipped_bytes`;
* a frame ended by ``0x1C`` without the ``0x0D`` is accepted;
* a start byte ``0x0B`` inside a frame means the sender gave up on the previous frame: its partial
  payload is counted in :attr:`MllpDecoder.abandoned_frames` and a new frame starts;
* a frame longer than ``max_frame_size`` is not kept: the rest of it is skipped up to its end byte and
  an :class:`OversizedFrame` (its first bytes, for an AR ACK with the control id) is queued in
  :attr:`MllpDecoder.rejected`.
"""

from __future__ import annotations

from dataclasses import dataclass

START = b"\x0b"
END = b"\x1c"
CR = b"\x0d"
DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024
_HEAD_KEPT = 4096


def frame(payload: bytes) -> bytes:
    """``payload`` framed for MLLP. The payload must not contain the start or end byte."""
    if START in payload or END in payload:
        raise ValueError("an MLLP payload cannot contain 0x0B or 0x1C")
    return START + payload + END + CR


@dataclass(frozen=True, slots=True)
class OversizedFrame:
    """A frame dropped for exceeding the size limit: its first bytes and its size."""

    head: bytes
    size: int


class MllpDecoder:
    """Incremental MLLP decoder: ``feed(chunk)`` returns the payloads completed by that chunk."""

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        if max_frame_size < 1:
            raise ValueError("max_frame_size must be positive")
        self.max_frame_size = max_frame_size
        self._buf = bytearray()
        self._in_frame = False
        self._oversized: int | None = None  # bytes seen of a frame being skipped for size
        self._oversized_head = b""
        self._after_end = False  # the previous byte was an end byte: a CR here is part of the trailer
        self.skipped_bytes = 0
        self.abandoned_frames = 0
        self.rejected: list[OversizedFrame] = []

    @property
    def pending(self) -> int:
        """Bytes of an unfinished frame held (0 between frames)."""
        return len(self._buf)

    def feed(self, chunk: bytes) -> list[bytes]:
        """Consume ``chunk``; return every payload it completes, in order."""
        out: list[bytes] = []
        i = 0
        n = len(chunk)
        while i < n:
            if self._after_end:
                self._after_end = False
                if chunk[i] == 0x0D:
                    i += 1
                    continue
            if not self._in_frame:
                j = chunk.find(START, i)
                if j < 0:
                    self.skipped_bytes += n - i
                    break
                self.skipped_bytes += j - i
                self._in_frame = True
                i = j + 1
                continue
            end = chunk.find(END, i)
            restart = chunk.find(START, i, end if end >= 0 else n)
            if restart >= 0:  # a new start byte before this frame ended: the previous frame was abandoned
                self.abandoned_frames += 1
                self._reset_frame()
                self._in_frame = True
                i = restart + 1
                continue
            stop = end if end >= 0 else n
            self._take(chunk, i, stop)
            if end < 0:
                break
            self._finish(out)
            i = end + 1
        return out

    def _take(self, chunk: bytes, start: int, stop: int) -> None:
        if self._oversized is not None:
            self._oversized += stop - start
            return
        self._buf += chunk[start:stop]
        if len(self._buf) > self.max_frame_size:
            self._oversized = len(self._buf)
            self._oversized_head = bytes(self._buf[:_HEAD_KEPT])
            self._buf.clear()

    def _finish(self, out: list[bytes]) -> None:
        if self._oversized is not None:
            self.rejected.append(OversizedFrame(self._oversized_head, self._oversized))
        else:
            out.append(bytes(self._buf))
        self._reset_frame()
        self._after_end = True

    def _reset_frame(self) -> None:
        self._buf.clear()
        self._in_frame = False
        self._oversized = None
        self._oversized_head = b""

    def pop_rejected(self) -> list[OversizedFrame]:
        """The oversized frames seen since the last call, oldest first."""
        rejected, self.rejected = self.rejected, []
        return rejected
