"""The synthetic hospital as the EMPI's ground truth: reading its registrations and linking them."""

from __future__ import annotations

from pathlib import Path

import pytest

from huitong.empi.batch import run_batch
from huitong.empi.bench import accuracy
from huitong.empi.synth_source import read_synth, record_from_pid
from huitong.settings import EmpiSettings

PID = (
    "PID|1||R000000008^^^PACS&2.16.156.10011.0.99999.3&ISO^PI~320115200908305367^^^CHN&2.16.156.10011.1.3&ISO^NNCHN"
    "||LIU^ZIHAN||20090830|F|||翠屏山庄30幢1单元2104室^^南京市^江苏省^210001^CHN^H^秦淮区^320104||13979681439^PRN^CP"
)


def test_record_from_pid() -> None:
    record = record_from_pid("pacs", PID)
    assert record is not None
    assert (record.key, record.name, record.id_number, record.phone) == (
        "PACS|R000000008",
        "LIU^ZIHAN",
        "320115200908305367",
        "13979681439",
    )
    assert record.address == "江苏省南京市秦淮区翠屏山庄30幢1单元2104室"


@pytest.fixture(scope="module")
def tiny_hospital(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from huitong.synth.generate import generate

    out = tmp_path_factory.mktemp("synth") / "tiny"
    generate("tiny", 1, 2025, out, workers=1)
    return out


def test_linking_the_synthetic_hospital(tiny_hospital: Path) -> None:
    records, truth = read_synth(tiny_hospital)
    assert {r.source_system for r in records} == {"HIS", "LIS", "PACS", "EMR"}
    assert len(truth) == len(records)
    result = run_batch(records, EmpiSettings())
    figures = accuracy(truth, result.person_of)
    assert figures["f1"] >= 0.97, figures
