"""Generated data sets shared by the synth tests (tiny scale, so each takes about a second)."""

from __future__ import annotations

from pathlib import Path

import pytest

from huitong.synth import DefectRates, SynthOutput, generate

SEED = 7
YEAR = 2024


@pytest.fixture(scope="session")
def tiny_defective(tmp_path_factory: pytest.TempPathFactory) -> SynthOutput:
    """Tiny scale with every defect kind at a high rate, so that each kind occurs."""
    out = tmp_path_factory.mktemp("synth") / "defective"
    generate("tiny", SEED, YEAR, out, defects=DefectRates.uniform(0.12))
    return SynthOutput(out)


@pytest.fixture(scope="session")
def tiny_clean(tmp_path_factory: pytest.TempPathFactory) -> SynthOutput:
    """Tiny scale without defects."""
    out = tmp_path_factory.mktemp("synth") / "clean"
    generate("tiny", SEED, YEAR, out, defects=DefectRates.none())
    return SynthOutput(out)


def hl7_files(output: SynthOutput) -> list[Path]:
    """Every HL7 stream of a data set."""
    return [path for _, path in output.hl7_streams()]
