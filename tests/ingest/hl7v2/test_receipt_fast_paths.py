"""The receive path's shortcuts give exactly what the general code gives: the plain-MSH header reader and
the ACK templates (``huitong bench ingest`` relies on both)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huitong.ingest.hl7v2 import ack as ack_module
from huitong.ingest.hl7v2.ack import build_ack, read_ack
from huitong.ingest.hl7v2.bench import sample_messages
from huitong.ingest.hl7v2.header import Header, _general_header, header_of, peek_header
from huitong.ingest.hl7v2.message import DEFAULT_ENCODING, Segment
from huitong.ingest.hl7v2.parse import parse_message

values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=10)
hds = st.lists(values, min_size=0, max_size=3).map(lambda parts: "^".join(parts))


def _msh(app: str, facility: str, receiver: str, msg_type: str, control_id: str, version: str, charset: str) -> bytes:
    line = f"MSH|^~\\&|{app}|{facility}|{receiver}|HOSP|20261127080000||{msg_type}|{control_id}|P|{version}"
    return (line + f"|||AL|NE||{charset}\rPID|1||P1^^^H^MR\r").encode("utf-8")


field_texts = st.text(st.sampled_from(list('AZaz09 .^~\\&"#张')), max_size=8)


@given(st.lists(field_texts, min_size=0, max_size=18))
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
def test_plain_header_reads_what_the_general_reader_reads(texts: list[str]) -> None:
    msh = Segment("MSH", ["MSH", "|", "^~\\&", *texts], DEFAULT_ENCODING)
    assert header_of(msh) == _general_header(msh)


def test_plain_header_on_the_benchmark_messages() -> None:
    for raw in sample_messages(200):
        msh = parse_message(raw).msh
        assert header_of(msh) == _general_header(msh)


def _templated_equals_built(header: Header, code: str = "AA") -> None:
    templated = build_ack(header, code)  # type: ignore[arg-type]
    stamp = parse_message(templated).msh.raw(7)
    ack_id = parse_message(templated).msh.raw(10)
    charset_codec = ack_module.charset.codec_for(header.charset) if header.charset else None
    built = ack_module._build(header, code, None, "", ack_id, "HUITONG", "", stamp)  # type: ignore[arg-type]
    assert templated == built, (templated, built)
    assert read_ack(templated).control_id == header.control_id
    assert charset_codec is None or templated.decode(charset_codec)


@given(app=hds, facility=hds, receiver=hds, control_id=values.filter(lambda v: v.strip() != ""))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_ack_template_writes_what_the_builder_writes(app: str, facility: str, receiver: str, control_id: str) -> None:
    raw = _msh(app, facility, receiver, "ORU^R01^ORU_R01", control_id, "2.5.1", "UNICODE UTF-8")
    _templated_equals_built(peek_header(raw))


def test_ack_template_for_each_code_version_and_character_set() -> None:
    for version in ("2.3", "2.4", "2.5.1", "2.7", "2.8"):
        for charset in ("", "GB 18030", "8859/1"):
            raw = _msh("LIS", "LAB^1.2.3^ISO", "HIS", "ADT^A01", "C|1", version, charset).replace(b"C|1", b"C\\F\\1")
            for code in ("AA", "CA"):
                _templated_equals_built(peek_header(raw), code)
    for raw in sample_messages(50):
        _templated_equals_built(peek_header(raw))


def test_ack_control_ids_are_unique() -> None:
    header = peek_header(_msh("LIS", "LAB", "HIS", "ORU^R01", "C1", "2.5.1", ""))
    ids = {parse_message(build_ack(header)).msh.raw(10) for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 20 for i in ids)
