"""Injected data-quality defects, each recorded in ``truth/defects.jsonl`` with where it is.

Defect decisions use their own random stream, so that a data set with defects is the same data set as one
without, plus the defects. The unit each rate applies to:

* ``missing_mandatory`` — front-page rows (one required column emptied) and ADT^A01/A04 messages (PID-7,
  PID-8 or PV1-3 emptied);
* ``invalid_code`` — front-page rows (a diagnosis or operation code replaced by one that is not in ICD-10 /
  ICD-9-CM-3);
* ``discharge_before_admission`` — front-page rows (CYSJ before RYSJ) and ADT^A03 messages (PV1-45 before PV1-44);
* ``diagnosis_sex_mismatch`` / ``diagnosis_age_mismatch`` — front-page rows (an other diagnosis that cannot
  apply to the patient's sex or age is added);
* ``id_birthdate_mismatch`` — HIS registrations (a valid ID number built for another birth date);
* ``invalid_resident_id`` — registrations with an ID number in any system (a digit typo or a transposition);
* ``late_result`` — lab orders (the result is reported 26–96 hours after collection);
* ``late_frontpage`` — front-page rows (the quality-control date ZKRQ 8–30 days after discharge, where the
  generator writes 1–5; not with a discharge before admission or without a discharge time);
* ``order_never_resulted`` — lab orders (no ORU^R01 ever follows the OML^O21);
* ``duplicate_registration`` — persons with at least two encounters (HIS registers them a second time);
* ``unit_mismatch`` — lab results messages (one OBX reported in another unit than the catalogue's).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from huitong.synth.catalogues.lab import ANALYTE_BY_CODE
from huitong.synth.config import DefectKind, DefectRates
from huitong.synth.model import LabOrder
from huitong.synth.registration import Registration, id_for_other_birth, id_transposition, id_typo
from huitong.synth.writers.frontpage import OTHER_DIAGNOSES
from huitong.synth.writers.hl7 import get_field, with_field
from huitong.synth.writers.streams import ShardFiles

DEFECTS_FILE = "truth/defects.jsonl"
FRONTPAGE_FILE = "frontpage/frontpage.csv"
#: Front-page columns the missing-mandatory defect may empty.
_MANDATORY = ("XB", "CSRQ", "JBDM", "RYSJ", "CYSJ", "LYFS", "RYTJ", "XM", "ZFY", "CYKB")
_BAD_CODES = ("I21.X99", "K35.99", "J18.A", "R99.9X", "E11.900", "Z99.99X")
_BAD_PROCEDURES = ("51.2X", "99.999", "36.0A")


class Defects:
    """Decides, applies and records defects for one shard."""

    def __init__(self, rates: DefectRates, rng: random.Random, files: ShardFiles, shard: int) -> None:
        self.rates = rates
        self.rng = rng
        self.files = files
        self.shard = shard
        self.counts: dict[str, int] = {}
        self._n = 0

    def hit(self, kind: DefectKind) -> bool:
        """Whether the next unit of ``kind`` gets the defect."""
        rate = self.rates.rate(kind)
        return rate > 0 and self.rng.random() < rate

    def record(self, kind: DefectKind, location: dict[str, Any], original: Any, injected: Any, **extra: Any) -> str:
        """Write one defect record; returns its id."""
        self._n += 1
        defect_id = f"D{self.shard:03d}{self._n:06d}"
        self.files.ndjson(
            DEFECTS_FILE,
            {
                "id": defect_id,
                "kind": kind.value,
                "location": location,
                "original": original,
                "injected": injected,
                **extra,
            },
        )
        self.counts[kind.value] = self.counts.get(kind.value, 0) + 1
        return defect_id

    # -- registrations -------------------------------------------------------------------------------

    def registration(self, reg: Registration, files: list[str]) -> None:
        """ID-number defects of a new registration (visible wherever its PID or Patient is written)."""
        if not reg.resident_id:
            return
        location = {"system": reg.system, "local_id": reg.local_id, "field": "resident_id", "files": files}
        if reg.system == "his" and self.hit(DefectKind.ID_BIRTHDATE_MISMATCH):
            original = reg.resident_id
            reg.resident_id = id_for_other_birth(original, self.rng)
            reg.noise.append("id_birthdate_mismatch")
            self.record(
                DefectKind.ID_BIRTHDATE_MISMATCH,
                location,
                original,
                reg.resident_id,
                person_id=reg.person.key,
                birth_date=reg.person.birth.isoformat(),
            )
        elif self.hit(DefectKind.INVALID_RESIDENT_ID):
            original = reg.resident_id
            if self.rng.random() < 0.6:
                reg.resident_id, how = id_typo(original, self.rng), "id_typo"
            else:
                reg.resident_id, how = id_transposition(original, self.rng), "id_transposition"
            reg.noise.append(how)
            self.record(
                DefectKind.INVALID_RESIDENT_ID, location, original, reg.resident_id, person_id=reg.person.key, how=how
            )

    # -- front page ---------------------------------------------------------------------------------

    def frontpage(self, row: dict[str, str], age_days: int, sex: str) -> None:
        """Front-page defects of one row (mutates ``row``)."""
        rng = self.rng
        key = {"ZYH": row["ZYH"]}

        def change(kind: DefectKind, column: str, value: str, **extra: Any) -> None:
            location = {"file": FRONTPAGE_FILE, "key": key, "column": column}
            self.record(kind, location, row[column], value, **extra)
            row[column] = value

        if self.hit(DefectKind.MISSING_MANDATORY):
            change(DefectKind.MISSING_MANDATORY, rng.choice(_MANDATORY), "")
        if self.hit(DefectKind.INVALID_CODE):
            ops = [c for c in ("SSJCZBM1",) if row[c]]
            if ops and rng.random() < 0.3:
                change(DefectKind.INVALID_CODE, ops[0], rng.choice(_BAD_PROCEDURES))
            else:
                filled = [f"JBDM{i}" for i in range(1, OTHER_DIAGNOSES + 1) if row[f"JBDM{i}"]]
                column = rng.choice(filled) if filled and rng.random() < 0.5 else "JBDM"
                if row[column]:
                    change(DefectKind.INVALID_CODE, column, rng.choice(_BAD_CODES))
        wrong_discharge = False
        if self.hit(DefectKind.DISCHARGE_BEFORE_ADMISSION) and row["RYSJ"] and row["CYSJ"]:
            earlier = datetime.strptime(row["RYSJ"], "%Y-%m-%d %H:%M:%S") - timedelta(hours=rng.randint(2, 72))
            change(DefectKind.DISCHARGE_BEFORE_ADMISSION, "CYSJ", earlier.strftime("%Y-%m-%d %H:%M:%S"))
            wrong_discharge = True
        # a late front page counts from a discharge time that is there and right
        if self.hit(DefectKind.LATE_FRONTPAGE) and row["CYSJ"] and row["ZKRQ"] and not wrong_discharge:
            late = datetime.strptime(row["CYSJ"][:10], "%Y-%m-%d") + timedelta(days=rng.randint(8, 30))
            change(DefectKind.LATE_FRONTPAGE, "ZKRQ", late.strftime("%Y-%m-%d"))
        if self.hit(DefectKind.DIAGNOSIS_SEX_MISMATCH):
            code, name = ("N40", "前列腺增生") if sex == "F" else ("N83.2", "卵巢囊肿")
            self._add_diagnosis(row, DefectKind.DIAGNOSIS_SEX_MISMATCH, code, name, key)
        if self.hit(DefectKind.DIAGNOSIS_AGE_MISMATCH):
            code, name = ("P07.3", "早产儿") if age_days > 365 else ("H25.9", "老年性白内障")
            self._add_diagnosis(row, DefectKind.DIAGNOSIS_AGE_MISMATCH, code, name, key)

    def _add_diagnosis(self, row: dict[str, str], kind: DefectKind, code: str, name: str, key: dict[str, str]) -> None:
        for i in range(1, OTHER_DIAGNOSES + 1):
            if not row[f"JBDM{i}"]:
                for column, value in ((f"QTZD{i}", name), (f"JBDM{i}", code), (f"RYBQ{i}", "1")):
                    self.record(kind, {"file": FRONTPAGE_FILE, "key": key, "column": column}, row[column], value)
                    row[column] = value
                return

    # -- HL7 ----------------------------------------------------------------------------------------

    def adt(self, stream: str, control_id: str, event: str, segments: list[str]) -> None:
        """ADT defects (mutates ``segments``): missing PID-7/PID-8/PV1-3 in A01/A04, discharge before admission
        in A03."""
        rng = self.rng
        if event in ("A01", "A04") and self.hit(DefectKind.MISSING_MANDATORY):
            name, field = rng.choice(
                (("PID", 7), ("PID", 8), ("PV1", 3)) if event == "A01" else (("PID", 7), ("PID", 8))
            )
            self._edit(DefectKind.MISSING_MANDATORY, stream, control_id, segments, name, field, "")
        if event == "A03" and self.hit(DefectKind.DISCHARGE_BEFORE_ADMISSION):
            pv1 = next(seg for seg in segments if seg.startswith("PV1|"))
            earlier = datetime.strptime(get_field(pv1, 44), "%Y%m%d%H%M%S") - timedelta(hours=rng.randint(2, 72))
            self._edit(
                DefectKind.DISCHARGE_BEFORE_ADMISSION,
                stream,
                control_id,
                segments,
                "PV1",
                45,
                earlier.strftime("%Y%m%d%H%M%S"),
            )

    def _edit(
        self,
        kind: DefectKind,
        stream: str,
        control_id: str,
        segments: list[str],
        name: str,
        field: int,
        value: str,
        set_id: str = "",
    ) -> None:
        for i, seg in enumerate(segments):
            if seg.startswith(name + "|") and (not set_id or get_field(seg, 1) == set_id):
                location: dict[str, Any] = {"file": stream, "message": control_id, "segment": name, "field": field}
                if set_id:
                    location["set_id"] = set_id
                self.record(kind, location, get_field(seg, field), value)
                segments[i] = with_field(seg, field, value)
                return

    def lab_timing(self, order: LabOrder) -> tuple[bool, int]:
        """Whether the order will never be resulted; or how many seconds late its result comes (0 if on time)."""
        if self.hit(DefectKind.ORDER_NEVER_RESULTED):
            return True, 0
        if self.hit(DefectKind.LATE_RESULT):
            late = order.collected + self.rng.randint(26, 96) * 3600
            return False, max(0, late - order.reported)
        return False, 0

    def unit_mismatch(self, stream: str, control_id: str, segments: list[str], order: LabOrder) -> None:
        """Report one OBX in the analyser's alternative unit (value converted)."""
        candidates = [(i, r) for i, r in enumerate(order.results, 1) if ANALYTE_BY_CODE[r.analyte].alt_unit]
        if not candidates or not self.hit(DefectKind.UNIT_MISMATCH):
            return
        set_id, result = self.rng.choice(candidates)
        analyte = ANALYTE_BY_CODE[result.analyte]
        value = f"{result.value * analyte.alt_factor:.2f}"
        for i, seg in enumerate(segments):
            if seg.startswith("OBX|") and get_field(seg, 1) == str(set_id):
                location = {"file": stream, "message": control_id, "segment": "OBX", "set_id": str(set_id), "field": 6}
                self.record(
                    DefectKind.UNIT_MISMATCH,
                    location,
                    get_field(seg, 6),
                    f"{analyte.alt_unit}^^UCUM",
                    original_value=get_field(seg, 5),
                    injected_value=value,
                    analyte=analyte.code,
                )
                segments[i] = with_field(with_field(seg, 6, f"{analyte.alt_unit}^^UCUM"), 5, value)
                return
