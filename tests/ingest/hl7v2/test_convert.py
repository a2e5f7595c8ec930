"""``huitong hl7 convert``: HL7 v2 archives as FHIR NDJSON, imported with ``huitong import`` into a real store."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from huitong.fhir.bulk.importer import Importer
from huitong.fhir.store import ResourceStore
from huitong.ingest.errors import IngestError
from huitong.ingest.hl7v2.cli import app
from huitong.ingest.hl7v2.convert import REJECTED, convert_files, read_messages
from huitong.ingest.hl7v2.parse import parse_message, split_messages
from huitong.ingest.mapping import map_to_fhir
from huitong.security.actor import Actor
from huitong.services import Services
from tests.ingest.server.conftest import DISCHARGE, ORU_IN_VISIT, adt

DATA = Path(__file__).resolve().parents[2] / "data" / "hl7v2"
runner = CliRunner()
CASES = sorted(p / "input.hl7" for p in DATA.iterdir() if (p / "input.hl7").is_file())


def _archive(tmp_path: Path) -> tuple[Path, list[bytes]]:
    """Every sample message, then the ORU again unchanged, the RDE with its patient's name changed, a stay
    admitted, discharged and then restated by a late result, and a message that cannot be mapped, with LF line
    ends (as archives are often kept)."""
    messages = [m for case in CASES for m in split_messages(case.read_bytes())]
    oru = next(m for m in messages if b"|ORU^R01" in m)
    rde = next(m for m in messages if b"|RDE^O11" in m)
    pid = next(seg for seg in rde.split(b"\r") if seg.startswith(b"PID|"))
    fields = pid.split(b"|")
    fields[5] = "王^改名".encode()
    changed = rde.replace(pid, b"|".join(fields))
    bad = b"MSH|^~\\&|A|B|C|D|2026||BAR^P01|B1|P|2.5\rEVN|P01\r"
    stay = [adt("S1", mrn="31"), DISCHARGE.format(mrn="31").encode(), ORU_IN_VISIT.format(mrn="31", cid="S3").encode()]
    all_messages = [*messages, oru, changed, *stay, bad]
    path = tmp_path / "archive.hl7"
    path.write_bytes(b"".join(m.replace(b"\r", b"\n") + b"\n" for m in all_messages))
    return path, all_messages


def _sans_source(body: dict[str, Any] | None) -> dict[str, Any] | None:
    if body is None:
        return None
    return {**body, "meta": {k: v for k, v in body.get("meta", {}).items() if k != "source"}}


def _expected(messages: list[bytes]) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[tuple[str, str], int]]:
    """What the pipeline would store: the last mapping of each resource (a visit a message only refers to: the
    first), and how many distinct versions."""
    last: dict[tuple[str, str], dict[str, Any]] = {}
    versions: dict[tuple[str, str], int] = {}
    for raw in messages:
        try:
            mapped = map_to_fhir(parse_message(raw))
        except IngestError:  # the unmappable message: rejected
            continue
        for body in mapped.resources:
            key = (body["resourceType"], body["id"])
            if key in mapped.context and key in last:
                continue
            if _sans_source(last.get(key)) != _sans_source(body):  # another sender restating it changes nothing
                versions[key] = versions.get(key, 0) + 1
                last[key] = body
    return last, versions


@given(
    sizes=st.lists(st.integers(1, 400), min_size=1, max_size=6),
    ends=st.sampled_from([b"\r", b"\n", b"\r\n"]),
    block=st.integers(1, 700),
    bom=st.booleans(),
)
def test_blocks_split_like_the_whole(sizes: list[int], ends: bytes, block: int, bom: bool) -> None:
    text = b"".join(
        b"MSH|^~\\&|S|F|R|F|2026||ADT^A01|C%d|P|2.5" % i + ends + b"PID|1||" + b"x" * n + ends
        for i, n in enumerate(sizes)
    )
    data = (b"\xef\xbb\xbf" if bom else b"") + b"FHS|^~\\&" + ends + text + b"BTS|1" + ends + b"junk" + ends
    assert list(read_messages(io.BytesIO(data), block=block)) == split_messages(data)


def test_convert_writes_what_the_pipeline_maps(tmp_path: Path, services: Services, store: ResourceStore) -> None:
    archive, messages = _archive(tmp_path)
    out = tmp_path / "ndjson"
    report = convert_files([archive], out)
    assert report.messages == len(messages) and report.rejected == 1 and report.accepted == len(messages) - 1
    assert report.repeated > 0 and report.versions > 0 and report.kept > 0
    rejected = [orjson.loads(line) for line in (out / REJECTED).read_bytes().splitlines()]
    assert len(rejected) == 1
    assert rejected[0]["reason"].startswith("message type 'BAR' is not mapped to FHIR")
    assert {k: v for k, v in rejected[0].items() if k != "reason"} == {
        "file": str(archive),
        "position": len(messages),
        "control_id": "B1",
        "ack": "AR",
        "error_code": "200",
    }
    expected, versions = _expected(messages)
    lines = {p.stem: p.read_bytes().splitlines() for p in out.glob("*.ndjson") if p.name != REJECTED}
    assert sum(map(len, lines.values())) == sum(versions.values())  # unchanged repeats written once
    assert {t: len(v) for t, v in lines.items()} == report.written

    importer = Importer(services, Actor.system("test"))
    for path in sorted(out.glob("*.ndjson")):
        if path.name != REJECTED:
            importer.import_path(path)
    assert importer.report.rejected == 0
    for (rtype, rid), body in expected.items():
        stored = store.read(Actor.system("test"), rtype, rid)
        assert stored is not None and stored.content is not None, (rtype, rid)
        got = orjson.loads(stored.content)
        got.pop("meta", None)
        want = {k: v for k, v in body.items() if k != "meta"}
        assert got == want, (rtype, rid)
        assert stored.version_id == versions[(rtype, rid)], (rtype, rid)


def test_worker_processes_write_the_same_files(tmp_path: Path) -> None:
    """Two workers, two messages per block: repeats are recognised across blocks mapped in different processes."""
    archive, _ = _archive(tmp_path)
    convert_files([archive], tmp_path / "here")
    convert_files([archive], tmp_path / "workers", processes=2, batch=2)
    here = {p.name: p.read_bytes() for p in (tmp_path / "here").iterdir()}
    assert here == {p.name: p.read_bytes() for p in (tmp_path / "workers").iterdir()}


def test_cli_refuses_a_directory_with_output_and_reports(tmp_path: Path) -> None:
    archive, messages = _archive(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(app, ["convert", str(archive), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["messages"] == len(messages) and summary["rejected"] == 1
    again = runner.invoke(app, ["convert", str(archive), "-o", str(out)])
    assert again.exit_code == 2
    assert "convert into an empty directory" in again.stderr
    missing = runner.invoke(app, ["convert", str(tmp_path / "nope.hl7"), "-o", str(tmp_path / "x")])
    assert missing.exit_code == 2 and "is not a readable file" in missing.stderr


@pytest.mark.parametrize("block", [7, 64, 1 << 20])
def test_every_sample_message_is_read_at_any_block_size(block: int) -> None:
    data = b"".join(case.read_bytes() for case in CASES)
    assert list(read_messages(io.BytesIO(data), block=block)) == split_messages(data)


def test_shared_directory_entries_carry_no_sender() -> None:
    """A doctor or a ward named by two sending systems is one unchanged resource (no new version per message):
    only the clinical resources are stamped with their sender."""
    oru = (DATA / "oru_r01_critical" / "input.hl7").read_bytes()
    sender = oru.split(b"|")[2]
    other = oru.replace(b"|" + sender + b"|", b"|OTHER-LAB|", 1)
    first, second = (map_to_fhir(parse_message(m)).resources for m in (oru, other))
    by_type = {r["resourceType"]: r for r in first}
    assert {"Practitioner", "Location"} <= set(by_type)
    for one, two in zip(first, second, strict=True):
        if one["resourceType"] in ("Practitioner", "Location"):
            assert one == two and "source" not in one.get("meta", {})
        else:
            assert (one["meta"]["source"], two["meta"]["source"]) == (sender.decode(), "OTHER-LAB")


def test_encounters_get_their_department_as_the_pipeline_gives_it(tmp_path: Path, services: Services) -> None:
    """With the pipeline's department setting, converted Encounters name their department (PV1-10), so after the
    import the department's staff reach the patient — an archive loaded without it left every patient out of
    every department's reach. Worker processes write the same."""
    from huitong.security.schema import sec_patient_department

    archive = tmp_path / "archive.hl7"
    with_service = adt("D1", mrn="41").replace(b"PV1|1|I|W1^101^1||||||||", b"PV1|1|I|W1^101^1|||||||0101|")
    archive.write_bytes(with_service + adt("D2", mrn="42"))
    template = services.settings.ingest.department_reference
    assert template  # the default: Organization/dept-{code}
    convert_files([archive], tmp_path / "here", department_reference=template)
    convert_files([archive], tmp_path / "workers", processes=2, batch=1, department_reference=template)
    here = {p.name: p.read_bytes() for p in (tmp_path / "here").iterdir()}
    assert here == {p.name: p.read_bytes() for p in (tmp_path / "workers").iterdir()}
    encounters = [orjson.loads(line) for line in here["Encounter.ndjson"].splitlines()]
    assert sorted(str(e.get("serviceProvider")) for e in encounters) == [
        "None",
        str({"reference": template.replace("{code}", "0101")}),
    ]
    # without the setting nothing is added (what the mapping alone gives)
    convert_files([archive], tmp_path / "plain")
    plain = [orjson.loads(line) for line in (tmp_path / "plain" / "Encounter.ndjson").read_bytes().splitlines()]
    assert all("serviceProvider" not in e for e in plain)

    importer = Importer(services, Actor.system("test"))
    for path in sorted((tmp_path / "here").glob("*.ndjson")):
        if path.name != REJECTED:
            importer.import_path(path)
    with services.db.read() as conn:
        departments = conn.execute(sa.select(sec_patient_department.c.department)).scalars().all()
    assert departments == [template.replace("{code}", "0101").removeprefix("Organization/")]
