"""MLLP framing: the decoder yields the same payloads however the stream is chunked."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huitong.ingest.mllp.framing import MllpDecoder, frame

payloads = st.lists(st.binary(max_size=200).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b"")), max_size=8)
garbage = st.binary(max_size=10).map(lambda b: b.replace(b"\x0b", b""))


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=300, deadline=None)
@given(payloads, st.lists(garbage, min_size=9, max_size=9), st.lists(st.integers(0, 10_000), max_size=30))
def test_any_chunking_gives_the_same_messages(msgs: list[bytes], noise: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(noise[i] + frame(m) for i, m in enumerate(msgs)) + noise[-1]
    decoder = MllpDecoder()
    out: list[bytes] = []
    for part in chunked(stream, cuts):
        out.extend(decoder.feed(part))
    assert out == msgs
    assert decoder.pending == 0 or not stream.endswith(b"\x1c\x0d")


@settings(deadline=None)
@given(payloads)
def test_byte_by_byte(msgs: list[bytes]) -> None:
    stream = b"".join(frame(m) for m in msgs)
    decoder = MllpDecoder()
    out = [p for i in range(len(stream)) for p in decoder.feed(stream[i : i + 1])]
    assert out == msgs
    assert decoder.skipped_bytes == 0


def test_missing_cr_after_end_and_garbage_between_frames() -> None:
    decoder = MllpDecoder()
    assert decoder.feed(b"noise\x0bA\x1c\x0bB\x1c\r\r\n\x0bC") == [b"A", b"B"]
    assert decoder.feed(b"\x1c\r") == [b"C"]
    assert decoder.skipped_bytes == len("noise") + 2


def test_restart_inside_a_frame_abandons_it() -> None:
    decoder = MllpDecoder()
    assert decoder.feed(b"\x0bpartial\x0bwhole\x1c\r") == [b"whole"]
    assert decoder.abandoned_frames == 1


def test_oversized_frames_are_skipped_and_reported() -> None:
    decoder = MllpDecoder(max_frame_size=10)
    big = b"MSH|^~\\&|" + b"x" * 50
    out = decoder.feed(frame(big)[:20]) + decoder.feed(frame(big)[20:] + frame(b"small"))
    assert out == [b"small"]
    [rejected] = decoder.pop_rejected()
    assert rejected.size == len(big)
    assert rejected.head.startswith(b"MSH|")
    assert decoder.pop_rejected() == []


def test_frame_refuses_control_bytes() -> None:
    with pytest.raises(ValueError, match="cannot contain"):
        frame(b"a\x1cb")
