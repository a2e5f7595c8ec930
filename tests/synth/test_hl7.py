"""Every generated HL7 message is structurally sound: segment shapes per message type, MSH-18 matching the
actual encoding, parseable by an independent parser, escaping that round-trips, and resident ID numbers that
are valid unless a recorded defect made them otherwise."""

from __future__ import annotations

import re
from datetime import date

import hl7
import pytest

from huitong.empi.resident_id import ResidentIdError, parse
from huitong.synth import SynthOutput
from huitong.synth.readers import iter_hl7_raw
from huitong.synth.writers.hl7 import escape, unescape
from huitong.synth.writers.streams import declared_charset
from tests.synth.conftest import hl7_files

#: Segment sequence of each message type (regular expressions over the segment IDs).
SHAPES = {
    "ADT^A01": r"MSH EVN PID PV1( DG1)*( PR1)*",
    "ADT^A02": r"MSH EVN PID PV1",
    "ADT^A03": r"MSH EVN PID PV1( DG1)*( PR1)*",
    "ADT^A04": r"MSH EVN PID PV1",
    "ADT^A08": r"MSH EVN PID PV1",
    "ADT^A11": r"MSH EVN PID PV1",
    "ADT^A13": r"MSH EVN PID PV1",
    "ADT^A40": r"MSH EVN PID MRG PV1",
    "SIU^S12": r"MSH SCH TQ1 PID PV1 RGS AIL AIP",
    "OML^O21": r"MSH PID PV1 ORC OBR",
    "ORM^O01": r"MSH PID PV1 ORC OBR",
    "ORU^R01": r"MSH PID PV1 ORC OBR( OBX)+( NTE)?",
    "RDE^O11": r"MSH PID PV1( ORC RXE RXR)+",
    "RAS^O17": r"MSH PID PV1 ORC RXA RXR",
}
SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")


def _messages(output: SynthOutput) -> list[tuple[str, bytes]]:
    return [(path.name, raw) for path in hl7_files(output) for raw in iter_hl7_raw(path)]


def test_every_message_type_is_present(tiny_defective: SynthOutput) -> None:
    seen = set()
    for _, raw in _messages(tiny_defective):
        msh = raw.split(b"\r", 1)[0].split(b"|")
        seen.add("^".join(msh[8].decode().split("^")[:2]))
    assert seen == set(SHAPES)


def test_segments_have_the_shape_of_their_message_type(tiny_defective: SynthOutput) -> None:
    for name, raw in _messages(tiny_defective):
        text = raw.decode(declared_charset(raw))
        assert text.endswith("\r")
        segments = text[:-1].split("\r")
        assert all(SEGMENT_ID.fullmatch(s[:3]) and (len(s) == 3 or s[3] == "|") for s in segments), name
        msh = segments[0].split("|")
        assert msh[1] == "^~\\&" and msh[11] == "2.5"
        kind = "^".join(msh[8].split("^")[:2])
        ids = " ".join(s[:3] for s in segments)
        assert re.fullmatch(SHAPES[kind], ids), f"{name} {msh[9]}: {kind} has segments {ids}"


def test_declared_charset_matches_the_encoding(tiny_defective: SynthOutput) -> None:
    charsets = set()
    for _, raw in _messages(tiny_defective):
        charset = declared_charset(raw)
        charsets.add(charset)
        text = raw.decode(charset)
        assert text.encode(charset) == raw
        if charset == "gb18030" and any(ord(ch) > 127 for ch in text):
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
    assert charsets == {"utf-8", "gb18030"}


def test_an_independent_parser_reads_every_message(tiny_defective: SynthOutput) -> None:
    count = 0
    for _, raw in _messages(tiny_defective):
        message = hl7.parse(raw.decode(declared_charset(raw)))
        assert str(message.segment("MSH")[10])
        assert len(message) >= 3
        count += 1
    assert count > 500


def test_escaping_round_trips() -> None:
    for value in ("A&B电子科技有限公司", "3~8mm", "a|b^c\\d", "line\r\nbreak", "普通文本"):
        escaped = escape(value)
        assert not set(escaped) & set("|^~&\r\n") or escaped == value
        assert unescape(escaped) == value


def test_escaped_values_survive_in_messages(tiny_defective: SynthOutput) -> None:
    found = False
    for path in hl7_files(tiny_defective):
        if path.name == "reports.hl7":
            for raw in iter_hl7_raw(path):
                text = raw.decode(declared_charset(raw))
                if "\\R\\" in text:
                    findings = next(s for s in text.split("\r") if s.startswith("OBX|1|"))
                    assert "~" in unescape(findings.split("|")[5])
                    found = True
    assert found, "expected at least one report with an escaped ~ (a size range)"


def _injected_ids(output: SynthOutput) -> dict[tuple[str, str], str]:
    out = {}
    for d in output.defects():
        if d["kind"] in ("invalid_resident_id", "id_birthdate_mismatch"):
            out[(d["location"]["system"], d["location"]["local_id"])] = d["injected"]
    return out


def test_resident_ids_are_valid_unless_a_recorded_defect(tiny_defective: SynthOutput) -> None:
    injected = _injected_ids(tiny_defective)
    systems = {
        "adt.hl7": "his",
        "siu.hl7": "his",
        "orders.hl7": "his",
        "pharmacy.hl7": "his",
        "results.hl7": "lis",
        "reports.hl7": "pacs",
    }
    checked = 0
    for name, raw in _messages(tiny_defective):
        text = raw.decode(declared_charset(raw))
        pid = next(s for s in text.split("\r") if s.startswith("PID|")).split("|")
        ids = {rep.split("^")[-1]: rep.split("^")[0] for rep in pid[3].split("~")}
        local = next(rep.split("^")[0] for rep in pid[3].split("~") if rep.endswith("^PI"))
        number = ids.get("NNCHN")
        if number is None:
            continue
        checked += 1
        key = (systems[name], local)
        try:
            rid = parse(number, today=date(2030, 1, 1))
        except ResidentIdError:
            assert injected.get(key) == number, f"{name}: invalid ID {number} of {key} is not a recorded defect"
            continue
        birth = pid[7]
        if birth and rid.birth_date.strftime("%Y%m%d") != birth:
            assert injected.get(key) == number, f"{name}: ID {number} contradicts birth date {birth}"
    assert checked > 500
    assert injected, "expected the high defect rate to inject some ID defects"
