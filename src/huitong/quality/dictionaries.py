"""The hospital dictionaries validity rules check codes against, read from the documented CSV formats.

A directory holds any of ``diagnoses.csv`` (column ``code``: ICD-10), ``procedures.csv`` (``code``:
ICD-9-CM-3), ``lab_tests.csv`` (``loinc``, ``unit`` and optionally ``alt_unit``, ``alt_factor``: UCUM) and
``lab_panels.csv`` (``code``, ``turnaround_min``: the stated turnaround of each orderable test) —
the layout of the synthetic hospital's ``master/`` folder (docs/synth.md) and of the terminology loaders'
import formats. Missing files leave the matching rules checking the shape of a code only.
"""

from __future__ import annotations

import csv
from pathlib import Path

from huitong.quality.errors import QualityError
from huitong.quality.rule import Catalogues


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or ("code" not in reader.fieldnames and "loinc" not in reader.fieldnames):
            raise QualityError(f"{path}: expected a header row with a 'code' (or 'loinc') column")
        return [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]


def load(directory: Path) -> Catalogues:
    """Catalogues from ``directory`` (see the module docstring)."""
    if not directory.is_dir():
        raise QualityError(f"{directory} is not a directory; give the folder holding diagnoses.csv etc.")
    units: dict[str, str] = {}
    alt: dict[str, tuple[str, float]] = {}
    for row in _rows(directory / "lab_tests.csv"):
        loinc, unit = row.get("loinc", ""), row.get("unit", "")
        if loinc and unit:
            units[loinc] = unit
            if row.get("alt_unit") and row.get("alt_factor"):
                try:
                    alt[loinc] = (row["alt_unit"], float(row["alt_factor"]))
                except ValueError as exc:
                    raise QualityError(f"lab_tests.csv: alt_factor of {loinc} is not a number") from exc
    turnaround: dict[str, int] = {}
    for row in _rows(directory / "lab_panels.csv"):
        if row.get("code") and row.get("turnaround_min", "").isdigit():
            turnaround[row["code"]] = int(row["turnaround_min"])
    return Catalogues(
        icd10=frozenset(r["code"] for r in _rows(directory / "diagnoses.csv") if r.get("code")),
        icd9cm3=frozenset(r["code"] for r in _rows(directory / "procedures.csv") if r.get("code")),
        lab_units=units,
        lab_alt_units=alt,
        lab_turnaround=turnaround,
    )
