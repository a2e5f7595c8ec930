"""The clinical details of a planned stay: diagnoses with present-on-admission flags, the care team, who
operated, medication orders and administrations (antimicrobials therapeutic and prophylactic), lab and imaging
orders, nursing level and charges."""

from __future__ import annotations

import math
import random

from huitong.synth.billing import bill_stay
from huitong.synth.catalogues import Staffing
from huitong.synth.catalogues.casemix import CHEMO_CANCERS, COMORBIDITIES
from huitong.synth.catalogues.departments import ICU
from huitong.synth.catalogues.drugs import DRUG_BY_CODE
from huitong.synth.catalogues.lab import EXAM_BY_CODE, PANEL_BY_CODE
from huitong.synth.catalogues.regimens import (
    ADMISSION_PANELS,
    INPATIENT_EXAMS,
    PROPHYLAXIS,
    PROPHYLAXIS_SHARE,
    REGIMENS,
    REPEAT_PANELS,
    Regimen,
    therapeutic_choices,
)
from huitong.synth.catalogues.staff import StaffMember
from huitong.synth.clock import DAY, HOUR, MINUTE, Clock
from huitong.synth.model import DiagnosisEntry, Stay
from huitong.synth.orders import OrderFactory

_DELIVERIES = {"O80.0": 1.0, "O82.0": 1.0, "O34.2": 1.0, "O14.1": 1.0, "O42.0": 0.9, "O24.4": 0.5}
_EXTERNAL = {
    "T60.0": (("X68", 0.6), ("X49", 0.4)),
    "T60.3": (("X68", 0.8), ("X49", 0.2)),
    "T58": (("X47", 1.0),),
    "T42.4": (("X61", 1.0),),
    "T51.0": (("X45", 1.0),),
    "T62.0": (("X49", 1.0),),
    "T56.0": (("X49", 1.0),),
    "T56.1": (("X49", 1.0),),
    "T52.1": (("X49", 1.0),),
    "S": (("W19", 0.6), ("V89.2", 0.4)),
}
_COMORBIDITY_WEIGHTS = [w for _, w, _ in COMORBIDITIES]


def _poisson(rng: random.Random, lam: float) -> int:
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class StaffPicker:
    """Chooses staff by department and grade, falling back to any physician of the department."""

    def __init__(self, rng: random.Random, staffing: Staffing) -> None:
        self.rng = rng
        self.staffing = staffing

    def physician(self, department: str, *grades: str) -> StaffMember:
        """A physician of ``department`` with one of ``grades`` (senior, attending, junior), else any."""
        s = self.staffing
        pools = {"senior": s.seniors, "attending": s.attendings, "junior": s.juniors}
        for grade in grades:
            pool = pools[grade].get(department)
            if pool:
                return self.rng.choice(pool)
        return self.rng.choice(s.physicians.get(department) or s.physicians[ICU])

    def nurse(self, department: str) -> StaffMember:
        """A nurse of the department."""
        return self.rng.choice(self.staffing.nurses.get(department) or self.staffing.nurses[ICU])


class InpatientDetails:
    """Fills in planned stays."""

    def __init__(self, rng: random.Random, staffing: Staffing, orders: OrderFactory, clock: Clock) -> None:
        self.rng = rng
        self.staffing = staffing
        self.orders = orders
        self.clock = clock
        self.pick = StaffPicker(rng, staffing)

    def fill(self, stay: Stay) -> None:
        """Everything a stay needs besides its plan."""
        self._diagnoses(stay)
        self._team(stay)
        self._medications(stay)
        self._labs(stay)
        self._imaging(stay)
        surgical = stay.admit_department[:2] in ("02", "03") or stay.admit_department == "0502"
        stay.nursing = "C0201" if surgical or stay.case.mortality > 0.02 or stay.route == "1" else "C0202"
        bill_stay(stay)

    def _diagnoses(self, stay: Stay) -> None:
        rng = self.rng
        case = stay.case
        age = stay.person.age_on(self.clock.date(stay.admit))
        stay.principal = DiagnosisEntry(case.diagnosis, rng.choices("123", (90, 7, 3))[0])
        others: list[DiagnosisEntry] = []
        seen = {case.diagnosis}

        def add(code: str, poa: str) -> None:
            if code not in seen:
                seen.add(code)
                others.append(DiagnosisEntry(code, poa))

        if case.diagnosis == "Z51.1":
            add(rng.choice(CHEMO_CANCERS), "1")
        if rng.random() < _DELIVERIES.get(case.diagnosis, 0.0):
            add("Z37.0", "1")
        for _ in range(min(5, _poisson(rng, max(0.0, (age - 25) / 15)))):
            code, _, min_age = rng.choices(COMORBIDITIES, _COMORBIDITY_WEIGHTS)[0]
            if age >= min_age:
                add(code, "1")
        for code in stay.complications:
            add(code, "4")
        stay.others = others[:10]
        causes = _EXTERNAL.get(case.diagnosis) or (_EXTERNAL["S"] if case.diagnosis.startswith("S") else ())
        if causes:
            stay.external_cause = rng.choices([c for c, _ in causes], [w for _, w in causes])[0]

    def _team(self, stay: Stay) -> None:
        dept = stay.department
        pick = self.pick
        stay.team = {
            "ZRYS": pick.physician(dept, "senior", "attending"),
            "ZZYS": pick.physician(dept, "attending", "senior"),
            "ZYYS": pick.physician(dept, "junior", "attending"),
            "ZRHS": pick.nurse(dept),
            "ZKYS": pick.physician(dept, "senior", "attending"),
            "ZKHS": pick.nurse(dept),
        }
        head = self.staffing.heads.get(dept)
        if head is not None:
            stay.team["KZR"] = head
        if self.staffing.coders:
            stay.team["BMY"] = self.rng.choice(self.staffing.coders)
        for op in stay.operations:
            level = op.procedure.level
            op.surgeon = pick.physician(
                stay.admit_department, *(("senior", "attending") if level >= 3 else ("attending", "senior"))
            )
            op.assistant1 = pick.physician(stay.admit_department, "attending", "junior")
            op.assistant2 = pick.physician(stay.admit_department, "junior") if level >= 3 else None
            if op.procedure.anaesthesia in ("GA", "SA", "NB"):
                op.anaesthetist = self.rng.choice(self.staffing.anaesthetists)

    def _regimen(
        self, stay: Stay, regimens: tuple[Regimen, ...], start: int, end: int, prescriber: StaffMember, used: set[str]
    ) -> None:
        rng = self.rng
        for r in regimens:
            if rng.random() >= r.p:
                continue
            drug = DRUG_BY_CODE[r.drug]
            key = f"{drug.generic_en}|{drug.route}|{drug.strength}"
            if key in used:
                continue
            used.add(key)
            first = min(start + rng.randint(1, 6) * HOUR, end - 30 * MINUTE)
            if first <= start:
                first = start + MINUTE
            stop = end if r.days == 0 else min(end, first + int(r.days * DAY))
            stay.meds.append(self.orders.inpatient_med(drug, r.dose, r.per_day, first, stop, prescriber, once=r.once))

    def _medications(self, stay: Stay) -> None:
        rng = self.rng
        team = stay.team
        used: set[str] = set()
        self._regimen(stay, REGIMENS.get(stay.admit_department, ()), stay.admit, stay.discharge, team["ZYYS"], used)
        for seg in stay.segments:
            if seg.department == ICU and stay.admit_department != ICU:
                self._regimen(stay, REGIMENS[ICU], seg.start, seg.end, self.pick.physician(ICU, "attending"), set())
        infected = 1.2 * stay.case.infection + (0.8 if {"T81.4", "A41.9"} & set(stay.complications) else 0.0)
        if rng.random() < infected:
            choices = therapeutic_choices(stay.admit_department)
            code, _, dose, per_day = rng.choices(choices, [c[1] for c in choices])[0]
            start = stay.admit + rng.randint(1, 8) * HOUR
            span = stay.discharge - start
            days = min(span / DAY, max(3.0, 8.0 * math.exp(rng.gauss(0.0, 0.35))))
            first_end = start + int(days * DAY)
            if days >= 4 and rng.random() < 0.25:
                switch = start + 3 * DAY
                stay.meds.append(
                    self.orders.inpatient_med(
                        DRUG_BY_CODE[code], dose, per_day, start, switch, team["ZZYS"], "therapeutic"
                    )
                )
                code2, _, dose2, per_day2 = rng.choices(choices, [c[1] for c in choices])[0]
                stay.meds.append(
                    self.orders.inpatient_med(
                        DRUG_BY_CODE[code2], dose2, per_day2, switch, first_end, team["ZZYS"], "therapeutic"
                    )
                )
            else:
                stay.meds.append(
                    self.orders.inpatient_med(
                        DRUG_BY_CODE[code], dose, per_day, start, first_end, team["ZZYS"], "therapeutic"
                    )
                )
            if rng.random() < 0.3 and days >= 3:
                code3, _, dose3, per_day3 = rng.choices(choices, [c[1] for c in choices])[0]
                if code3 != code:
                    stop = start + int(min(days, 5.0) * DAY)
                    stay.meds.append(
                        self.orders.inpatient_med(
                            DRUG_BY_CODE[code3], dose3, per_day3, start, stop, team["ZZYS"], "therapeutic"
                        )
                    )
        for op in stay.operations:
            p = op.procedure
            if p.is_operation and rng.random() < PROPHYLAXIS_SHARE.get(p.incision, 0.0):
                drug_code, pre, follow, follow_n = PROPHYLAXIS.get(p.incision, PROPHYLAXIS["1"])
                drug = DRUG_BY_CODE[drug_code]
                stay.meds.append(
                    self.orders.inpatient_med(
                        drug,
                        pre,
                        0,
                        op.start - 50 * MINUTE,
                        op.start,
                        op.surgeon or team["ZZYS"],
                        "prophylaxis",
                        once=True,
                    )
                )
                if follow_n:
                    begin = op.end + 4 * HOUR
                    stay.meds.append(
                        self.orders.inpatient_med(
                            drug,
                            follow,
                            3,
                            begin,
                            min(stay.discharge, begin + follow_n * 8 * HOUR),
                            op.surgeon or team["ZZYS"],
                            "prophylaxis",
                        )
                    )
            if p.anaesthesia == "GA" and op.anaesthetist is not None:
                for code, dose in (("X0130", 200.0), ("X0131", 30.0)):
                    stay.meds.append(
                        self.orders.inpatient_med(
                            DRUG_BY_CODE[code], dose, 0, op.start - 15 * MINUTE, op.start, op.anaesthetist, once=True
                        )
                    )
            elif p.anaesthesia in ("LA", "SA", "NB"):
                stay.meds.append(
                    self.orders.inpatient_med(
                        DRUG_BY_CODE["X0141"],
                        100.0,
                        0,
                        op.start - 15 * MINUTE,
                        op.start,
                        op.surgeon or team["ZZYS"],
                        once=True,
                    )
                )

    def _labs(self, stay: Stay) -> None:
        rng = self.rng
        dept = stay.admit_department
        sex = stay.person.sex
        codes = tuple(d.code for d in ([stay.principal] if stay.principal else []) + stay.others)
        orderer = stay.team["ZYYS"]
        for panel, p in ADMISSION_PANELS["*"] + ADMISSION_PANELS.get(dept, ()):
            if rng.random() < p:
                when = min(stay.admit + rng.randint(30, 240) * MINUTE, stay.discharge - 30 * MINUTE)
                stay.labs.append(self.orders.lab(PANEL_BY_CODE[panel], max(when, stay.admit), orderer, sex, codes))
        repeats = dict(REPEAT_PANELS["*"])
        repeats.update(REPEAT_PANELS.get(dept, ()))
        for panel, every in repeats.items():
            t = stay.admit // DAY * DAY + int(every * DAY) + 6 * HOUR + rng.randint(0, 60) * MINUTE
            while t < stay.discharge - 12 * HOUR:
                stay.labs.append(self.orders.lab(PANEL_BY_CODE[panel], t, orderer, sex, codes))
                t += int(every * DAY) + rng.randint(-30, 30) * MINUTE
        for op in stay.operations:
            t = op.end // DAY * DAY + DAY + 6 * HOUR + rng.randint(0, 60) * MINUTE
            if op.procedure.is_operation and t < stay.discharge - HOUR:
                stay.labs.append(self.orders.lab(PANEL_BY_CODE["LP01"], t, orderer, sex, codes))

    def _imaging(self, stay: Stay) -> None:
        rng = self.rng
        for exam, p in INPATIENT_EXAMS.get(stay.admit_department, ()):
            if rng.random() < p:
                when = stay.admit + rng.randint(2, 48) * HOUR
                if when < stay.discharge - 2 * HOUR:
                    stay.imaging.append(self.orders.imaging(EXAM_BY_CODE[exam], when, stay.team["ZYYS"], 0.75))
