"""Sex-specific diagnoses follow the patient's sex: no female patient with N40 (prostate), no male one with
C53.9 (cervix). Seed 1 at tiny scale once had a woman discharged with N40."""

from __future__ import annotations

from pathlib import Path

import pytest

from huitong.synth import DefectRates, SynthOutput, generate
from huitong.synth.catalogues.diagnoses import DIAGNOSES

SEX = {"1": "M", "2": "F"}


@pytest.mark.parametrize("seed", [1, 7])
def test_front_page_diagnoses_fit_sex(tmp_path: Path, seed: int) -> None:
    out = tmp_path / f"seed{seed}"
    generate("tiny", seed, 2024, out, defects=DefectRates.none())
    only = {d.code: ("M" if "M" in d.flags else "F") for d in DIAGNOSES if "M" in d.flags or "F" in d.flags}
    checked, wrong = 0, []
    for row in SynthOutput(out).table("frontpage/frontpage.csv"):
        for column in ["JBDM", *(f"JBDM{i}" for i in range(1, 11))]:
            code = row.get(column, "")
            if code in only:
                checked += 1
                if SEX[row["XB"]] != only[code]:
                    wrong.append((row["ZYH"], code, row["XB"]))
    assert not wrong
    assert checked or seed != 1  # seed 1 has a sex-specific case (the N40 stay)
