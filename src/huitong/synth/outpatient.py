"""The details of a planned outpatient or emergency visit: how it was booked (channel, slot), when the patient
checked in and was seen, the doctor, the diagnosis, prescriptions, lab and imaging orders, charges.

Appointment channels: ``app`` (web, WeChat or app), ``phone``, ``onsite`` (booked in the hospital, at a kiosk
or by the doctor for a follow-up), ``referral`` (two-way referral) — these count as appointments for indicator
22 — and ``walkin`` (registered on the day) and ``emergency``.
"""

from __future__ import annotations

import random

from huitong.synth.billing import bill_visit
from huitong.synth.catalogues import Staffing
from huitong.synth.catalogues.diagnoses import DIAGNOSIS_BY_CODE
from huitong.synth.catalogues.drugs import DRUG_BY_CODE
from huitong.synth.catalogues.lab import EXAM_BY_CODE, PANEL_BY_CODE
from huitong.synth.catalogues.outpatient_mix import CLINICS
from huitong.synth.catalogues.staff import StaffMember
from huitong.synth.clock import DAY, HOUR, MINUTE, Clock
from huitong.synth.model import Visit
from huitong.synth.orders import OrderFactory

CHANNELS = {
    "app": ("APP", "网上/APP预约"),
    "phone": ("TEL", "电话预约"),
    "onsite": ("SITE", "院内/诊间预约"),
    "referral": ("REF", "双向转诊预约"),
    "walkin": ("WALK", "现场挂号"),
    "emergency": ("EMER", "急诊"),
}
_CHANNEL_NAMES = ("app", "phone", "onsite", "referral", "walkin")
_CHANNEL_WEIGHTS = (45.0, 5.0, 15.0, 2.0, 33.0)
#: Morning and afternoon appointment slots (minutes after midnight), 30 minutes each.
SLOTS = tuple(range(480, 690, 30)) + tuple(range(810, 1020, 30))
_EMERGENCY_HOURS = (2, 1.5, 1, 1, 1, 1.5, 2, 4, 6, 7, 7, 6, 5, 6, 6, 6, 6, 6, 7, 7, 6, 5, 4, 3)


def eligible(code: str, sex: str, age: int) -> bool:
    """Whether a diagnosis fits a patient's sex and age (the flags of the diagnosis catalogue)."""
    flags = DIAGNOSIS_BY_CODE[code].flags
    if ("M" in flags and sex != "M") or ("F" in flags and sex != "F"):
        return False
    if "P" in flags and (sex != "F" or not 12 <= age <= 55):
        return False
    return not ("N" in flags and age > 0)


class OutpatientDetails:
    """Fills in planned visits."""

    def __init__(self, rng: random.Random, staffing: Staffing, orders: OrderFactory, clock: Clock) -> None:
        self.rng = rng
        self.staffing = staffing
        self.orders = orders
        self.clock = clock

    def fill(self, visit: Visit, diagnosis: str = "", admit: int = 0) -> None:
        """Timing, doctor, diagnosis, orders and charges of a visit; ``diagnosis``/``admit`` for the visit that
        led to an admission."""
        self._timing(visit, admit)
        rng = self.rng
        doctor = rng.choice(self.staffing.physicians[visit.department])
        visit.doctor = doctor
        clinic = CLINICS[visit.department]
        age = visit.person.age_on(self.clock.date(visit.consult))
        visit.diagnosis = diagnosis or self._diagnosis(visit, age)
        if visit.admits:
            if rng.random() < 0.5:
                self._labs(visit, clinic.panels or ("LP01",), doctor)
        else:
            if rng.random() < clinic.p_rx:
                self._prescription(visit, doctor)
            if clinic.panels and rng.random() < clinic.p_lab:
                self._labs(visit, clinic.panels, doctor)
            if clinic.exams and rng.random() < clinic.p_exam:
                exam = EXAM_BY_CODE[rng.choice(clinic.exams)]
                visit.imaging.append(
                    self.orders.imaging(exam, visit.consult + rng.randint(10, 20) * MINUTE, doctor, 0.45)
                )
        bill_visit(visit)

    def _timing(self, visit: Visit, admit: int) -> None:
        rng = self.rng
        base = visit.day * DAY
        if visit.kind == "E":
            visit.channel = "emergency"
            if visit.fixed_consult:
                visit.consult = visit.fixed_consult
                visit.checkin = visit.consult - rng.randint(3, 30) * MINUTE
            else:
                hour = rng.choices(range(24), _EMERGENCY_HOURS)[0]
                visit.checkin = base + hour * HOUR + rng.randrange(HOUR)
                visit.consult = visit.checkin + max(60, int(rng.expovariate(1 / 600)))
            return
        same_day = bool(admit) and admit // DAY == visit.day
        visit.channel = "walkin" if same_day else rng.choices(_CHANNEL_NAMES, _CHANNEL_WEIGHTS)[0]
        if same_day:
            visit.consult = admit - rng.randint(60, 180) * MINUTE
            visit.checkin = visit.consult - rng.randint(5, 40) * MINUTE
            return
        if visit.channel == "walkin":
            visit.checkin = base + rng.randint(450, 990) * MINUTE + rng.randrange(MINUTE)
            visit.consult = visit.checkin + max(120, int(rng.expovariate(1 / 2400)))
            return
        slot = rng.choice(SLOTS)
        visit.slot_start = base + slot * MINUTE
        visit.slot_end = visit.slot_start + 30 * MINUTE
        lead = {
            "app": rng.choice((0.1, 0.3, 1, 1, 2, 3, 5, 7)),
            "phone": rng.choice((1, 2, 3, 5)),
            "onsite": rng.choice((0.1, 7, 14, 28)),
            "referral": rng.choice((1, 2, 3, 5)),
        }[visit.channel]
        visit.booked = visit.slot_start - int(lead * DAY) - rng.randint(30, 600) * MINUTE
        if rng.random() < 0.85:
            visit.checkin = visit.slot_start - rng.randint(0, 25) * MINUTE - rng.randrange(MINUTE)
        else:
            visit.checkin = visit.slot_start + rng.randint(1, 25) * MINUTE + rng.randrange(MINUTE)
        visit.consult = max(visit.checkin, visit.slot_start) + max(30, int(rng.expovariate(1 / 480)))

    def _diagnosis(self, visit: Visit, age: int) -> str:
        rng = self.rng
        options = CLINICS[visit.department].diagnoses
        codes = [c for c, _ in options if eligible(c, visit.person.sex, age)]
        if not codes:
            return "R50.9"
        weights = [w for c, w in options if eligible(c, visit.person.sex, age)]
        return rng.choices(codes, weights)[0]

    def _prescription(self, visit: Visit, doctor: StaffMember) -> None:
        rng = self.rng
        drugs = CLINICS[visit.department].drugs
        used: set[str] = set()
        when = visit.consult + rng.randint(5, 15) * MINUTE
        for _ in range(rng.choices((1, 2, 3), (50, 35, 15))[0]):
            code, _, dose, per_day, days = rng.choices(drugs, [d[1] for d in drugs])[0]
            drug = DRUG_BY_CODE[code]
            if drug.generic_en in used:
                continue
            used.add(drug.generic_en)
            purpose = "therapeutic" if drug.is_antimicrobial else ""
            visit.meds.append(self.orders.outpatient_med(drug, dose, per_day, days, when, doctor, purpose))

    def _labs(self, visit: Visit, panels: tuple[str, ...], doctor: StaffMember) -> None:
        rng = self.rng
        codes = (visit.diagnosis,)
        for panel in rng.sample(panels, min(len(panels), rng.choice((1, 1, 2)))):
            visit.labs.append(
                self.orders.lab(
                    PANEL_BY_CODE[panel], visit.consult + rng.randint(10, 20) * MINUTE, doctor, visit.person.sex, codes
                )
            )
