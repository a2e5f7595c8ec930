"""The plan of one shard: its persons, the skeleton of every stay (department, dates, transfers, operations,
complications, outcome) and the day and department of every outpatient visit.

The plan is a pure function of (config, shard): the generator computes it twice, once to collect every ward
stay of the whole hospital for bed assignment (:mod:`huitong.synth.beds`) and once to fill in the details.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate

from huitong.synth.catalogues.casemix import CASES_BY_DEPARTMENT, POPULATIONS, CaseType
from huitong.synth.catalogues.departments import DEPARTMENT_BY_CODE, DEPARTMENTS, EMERGENCY, ICU
from huitong.synth.catalogues.diagnoses import DIAGNOSIS_BY_CODE
from huitong.synth.catalogues.procedures import PROCEDURE_BY_CODE
from huitong.synth.clock import DAY, HOUR, MINUTE, Clock
from huitong.synth.config import SynthConfig
from huitong.synth.model import Operation, Segment, Stay, Visit
from huitong.synth.people import Person, PopulationBuilder, random_surname
from huitong.synth.places import random_address

#: Relative number of clinic visits and discharges by weekday (Monday first).
WEEKDAY_FACTOR = (1.25, 1.15, 1.1, 1.05, 1.0, 0.6, 0.45)
DISCHARGE_WEEKDAY_FACTOR = (1.0, 1.05, 1.05, 1.05, 1.1, 0.9, 0.6)
_HEALING = {"1": (97.9, 1.4, 0.7), "2": (96.0, 3.0, 1.0), "3": (90.0, 7.0, 3.0)}
_COMPLICATIONS = (("T81.0", 3.0), ("I80.2", 2.0), ("I26.9", 1.0), ("J95.8", 1.0), ("T81.3", 1.0), ("A41.9", 0.5))
_CHILD_CLINICS = {
    "0401": 60.0,
    EMERGENCY: 15.0,
    "0502": 6.0,
    "0501": 5.0,
    "0503": 5.0,
    "0504": 5.0,
    "0202": 2.0,
    "0201": 2.0,
}
_ADULT_ONLY = {"0401", "0402"}


def split(total: int, shards: int, shard: int) -> int:
    """This shard's share of ``total`` (the remainder goes to the first shards)."""
    return total // shards + (1 if shard < total % shards else 0)


@dataclass(slots=True)
class ShardPlan:
    """Persons, stays and visits of one shard (no details yet)."""

    shard: int
    persons: list[Person]
    stays: list[Stay]
    visits: list[Visit]
    builder: PopulationBuilder
    stays_of: dict[str, list[Stay]] = field(default_factory=dict)


def _department_weights() -> tuple[list[str], list[float]]:
    codes, cum = [], []
    total = 0.0
    for dept in DEPARTMENTS:
        cases = CASES_BY_DEPARTMENT.get(dept.code)
        if not cases:
            continue
        mean_los = sum(c.weight * c.los for c in cases) / sum(c.weight for c in cases)
        weight = dept.beds / mean_los * (0.35 if dept.code == ICU else 1.0)
        total += weight
        codes.append(dept.code)
        cum.append(total)
    return codes, cum


_DEPT_CODES, _DEPT_CUM = _department_weights()
_CASE_CUM = {d: list(accumulate(c.weight for c in cases)) for d, cases in CASES_BY_DEPARTMENT.items()}


def case_sex(case: CaseType) -> str:
    """``M`` or ``F`` when the case's principal diagnosis applies to one sex only (diagnosis catalogue), else ``""``."""
    diagnosis = DIAGNOSIS_BY_CODE.get(case.diagnosis)
    flags = diagnosis.flags if diagnosis is not None else ""
    return "M" if "M" in flags else "F" if "F" in flags else ""


class Planner:
    """Plans one shard."""

    def __init__(self, config: SynthConfig, shard: int) -> None:
        self.config = config
        self.shard = shard
        self.clock = Clock(config.year)
        base = f"huitong-synth:{config.seed}:{config.year}:{config.scale.name}:{shard}"
        self.rng = random.Random(f"{base}:plan")  # noqa: S311  # reproducible synthetic data, not security
        noise = config.noise
        self.builder = PopulationBuilder(
            self.rng, shard, config.scale.shards, config.year, noise.twins, noise.shared_phone
        )
        self._buckets: dict[tuple[str, int], list[Person]] = {}
        self._stay_n = 0
        self._visit_n = 0
        self._mrn_n = 0
        self._showcased = False

    # -- people -------------------------------------------------------------------------------------

    def people(self) -> list[Person]:
        """The shard's population, in households, some of whom move during the year."""
        scale = self.config.scale
        target = split(scale.persons, scale.shards, self.shard)
        b = self.builder
        while len(b.persons) < target:
            members = b.household()
            if self.rng.random() < self.config.noise.moved:
                moved_at = self.rng.randrange(self.clock.end)
                new = random_address(self.rng)
                for p in members:
                    p.old_address, p.address, p.moved_at = p.address, new, moved_at
        for p in b.persons:
            self._bucket(p)
        return b.persons

    def _bucket(self, person: Person) -> None:
        age = self.config.year - person.birth.year
        self._buckets.setdefault((person.sex, age), []).append(person)

    def _person_for(self, case: CaseType, admit_day: int) -> Person:
        pop = POPULATIONS[case.department]
        rng = self.rng
        when = self.clock.epoch + timedelta(days=admit_day)
        if pop.neonatal:
            birth = when - timedelta(days=int(rng.triangular(pop.age_min, pop.age_max, pop.age_mode)))
            mothers = self._buckets.get(("F", rng.randint(22, 38)), [])
            mother = rng.choice(mothers) if mothers and rng.random() < 0.7 else None
            baby = self.builder.newborn(mother, birth)
            if mother is not None:
                baby.meta["mother"] = mother.name
            return baby
        sex = pop.sex or ("M" if rng.random() < pop.male_share else "F")
        sex = case_sex(case) or sex  # a sex-specific principal diagnosis (N40, C61, C53.9 …) decides
        age = int(rng.triangular(pop.age_min, pop.age_max, pop.age_mode))
        for delta in (0, 1, -1, 2, -2, 3, -3, 4, -4):
            bucket = self._buckets.get((sex, age + delta))
            if bucket:
                return rng.choice(bucket)
        household = f"H{self.shard:03d}X{len(self.builder.persons):06d}"
        birth = when - timedelta(days=int(age * 365.25) + rng.randrange(365))
        person = self.builder.person(sex, birth, household, random_address(rng), "", random_surname(rng))
        person.phone = f"1{rng.randrange(30, 99)}{rng.randrange(100_000_000):08d}"
        self._bucket(person)
        return person

    # -- stays --------------------------------------------------------------------------------------

    def _day(self, factors: tuple[float, ...]) -> int:
        rng = self.rng
        while True:
            day = rng.randrange(self.clock.days_in_year)
            if rng.random() * 1.25 < factors[self.clock.weekday(day)]:
                return day

    def stays(self) -> list[Stay]:
        """Skeletons of the shard's discharges."""
        scale = self.config.scale
        count = split(scale.discharges, scale.shards, self.shard)
        rng = self.rng
        stays: list[Stay] = []
        previous: list[Person] = []
        for _ in range(count):
            dept = rng.choices(_DEPT_CODES, cum_weights=_DEPT_CUM)[0]
            case = rng.choices(CASES_BY_DEPARTMENT[dept], cum_weights=_CASE_CUM[dept])[0]
            stay = self._stay(case, previous)
            stays.append(stay)
            previous.append(stay.person)
        return stays

    def _stay(self, case: CaseType, previous: list[Person]) -> Stay:
        rng = self.rng
        self._stay_n += 1
        emergency = rng.random() < case.emergency
        route = "1" if emergency else rng.choices(("2", "3", "9"), (95.0, 4.0, 1.0))[0]
        has_op = bool(case.procedure) and rng.random() < case.p_procedure
        day_surgery = has_op and not emergency and rng.random() < case.day_surgery
        los = 0 if day_surgery else max(1, min(90, round(case.los * math.exp(rng.gauss(0.0, 0.45)))))
        discharge_day = self._day(DISCHARGE_WEEKDAY_FACTOR)
        # operations, complications (which lengthen the stay) and outcome
        ops: list[Operation] = []
        complications: list[str] = []
        if has_op:
            proc = PROCEDURE_BY_CODE[case.procedure]
            healing = ""
            if proc.incision in _HEALING:
                healing = rng.choices(("甲", "乙", "丙"), _HEALING[proc.incision])[0]
                if healing == "丙":
                    complications.append("T81.4")
            elif proc.incision == "0":
                healing = ""
            if proc.is_operation and rng.random() < (0.006 if not emergency else 0.012):
                extra = (
                    "T84.5"
                    if proc.code in ("81.51", "81.52", "81.54") and rng.random() < 0.4
                    else (rng.choices(_COMPLICATIONS, [w for _, w in _COMPLICATIONS])[0][0])
                )
                complications.append(extra)
            ops.append(Operation(proc, 0, 0, elective=not emergency, day_surgery=day_surgery, healing=healing))
            if proc.code == "36.07":
                ops.append(Operation(PROCEDURE_BY_CODE["88.56"], 0, 0, elective=not emergency, day_surgery=False))
        los += sum(rng.randint(3, 8) for _ in complications)
        if complications:
            day_surgery = False
            for op in ops:
                op.day_surgery = False
        admit_day = discharge_day - los
        person = self._readmission(case, previous) or self._person_for(case, admit_day)
        if day_surgery:
            admit = admit_day * DAY + rng.randint(450, 540) * MINUTE
            discharge = admit_day * DAY + rng.randint(900, 1080) * MINUTE
        else:
            admit = admit_day * DAY + (rng.randrange(DAY) if emergency else rng.randint(480, 690) * MINUTE)
            discharge = discharge_day * DAY + rng.randint(540, 840) * MINUTE
            if discharge <= admit + HOUR:
                discharge = admit + rng.randint(4, 20) * HOUR
        age = self.config.year - person.birth.year
        risk = 0.7 * case.mortality * min(2.5, max(0.3, 1 + (age - 60) / 30)) + (0.03 if complications else 0.0)
        if rng.random() < risk:
            disposition = "5"
            discharge = max(admit + 2 * HOUR, discharge_day * DAY + rng.randrange(DAY))
        else:
            disposition = rng.choices(
                ("1", "2", "3", "4", "9"), (94.0, 1.0, 2.0 if age >= 65 else 0.5, 2.0 + 80 * case.mortality, 0.3)
            )[0]
        self._schedule_ops(ops, admit, discharge, emergency, day_surgery)
        segments = self._segments(case, admit, discharge, ops)
        return Stay(
            f"ZY{self.shard:03d}{self._stay_n:06d}",
            person,
            case,
            admit,
            discharge,
            route,
            disposition,
            segments,
            ops,
            complications,
        )

    def _readmission(self, case: CaseType, previous: list[Person]) -> Person | None:
        rng = self.rng
        if not previous or rng.random() >= 0.08:
            return None
        pop = POPULATIONS[case.department]
        if pop.neonatal:
            return None
        for _ in range(3):
            person = rng.choice(previous)
            age = self.config.year - person.birth.year
            fits = (not pop.sex or pop.sex == person.sex) and case_sex(case) in ("", person.sex)
            if fits and pop.age_min <= age <= pop.age_max:
                return person
        return None

    def _schedule_ops(self, ops: list[Operation], admit: int, discharge: int, emergency: bool, day: bool) -> None:
        rng = self.rng
        if not ops:
            return
        if emergency or day:
            start = admit + rng.randint(60, 360) * MINUTE
        else:
            admit_day, last_day = admit // DAY, discharge // DAY
            op_day = min(admit_day + rng.choice((1, 1, 2, 2, 3)), max(admit_day, last_day - 1))
            start = max(admit + HOUR, op_day * DAY + rng.randint(480, 900) * MINUTE)
        start = min(start, discharge - 2 * HOUR) if discharge - admit > 3 * HOUR else admit + HOUR
        for op in ops:
            minutes = {0: 30, 1: 40, 2: 70, 3: 120, 4: 200}[op.procedure.level]
            op.start = start
            op.end = min(start + int(minutes * rng.uniform(0.7, 1.5)) * MINUTE, discharge - MINUTE)

    def _segments(self, case: CaseType, admit: int, discharge: int, ops: list[Operation]) -> list[Segment]:
        rng = self.rng
        dept = case.department
        if dept == ICU:
            if discharge - admit > 3 * DAY and rng.random() < 0.45:
                move = admit + int((discharge - admit) * rng.uniform(0.3, 0.7))
                to = rng.choice(("0102", "0104", "0101", "0203"))
                return [Segment(ICU, admit, move), Segment(to, move, discharge)]
            return [Segment(ICU, admit, discharge)]
        forced = self.config.scale.showcase and not self._showcased and discharge - admit > 2 * DAY
        if forced or (case.icu and rng.random() < case.icu and discharge - admit > DAY):
            self._showcased = self._showcased or forced
            start = ops[0].end + 10 * MINUTE if ops else admit + int((discharge - admit) * rng.uniform(0.0, 0.3))
            end = min(start + rng.randint(1, 4) * DAY, discharge)
            if end >= discharge - 6 * HOUR:
                return [Segment(dept, admit, start), Segment(ICU, start, discharge)]
            return [Segment(dept, admit, start), Segment(ICU, start, end), Segment(dept, end, discharge)]
        return [Segment(dept, admit, discharge)]

    # -- visits -------------------------------------------------------------------------------------

    def visits(self, persons: list[Person], stays: list[Stay]) -> list[Visit]:
        """Outpatient and emergency visits: the ones that led to admissions, then the rest."""
        scale = self.config.scale
        rng = self.rng
        target = split(scale.visits, scale.shards, self.shard)
        visits: list[Visit] = []
        inpatients: dict[str, list[Stay]] = {}
        for stay in stays:
            inpatients.setdefault(stay.person.key, []).append(stay)
            if stay.route == "1":
                consult = stay.admit - rng.randint(60, 300) * MINUTE
                visit = self._visit(stay.person, EMERGENCY, consult // DAY)
                visit.fixed_consult, visit.admits = consult, stay.stay_no
                visits.append(visit)
            elif stay.route == "2":
                clinic = (
                    stay.admit_department
                    if DEPARTMENT_BY_CODE[stay.admit_department].outpatient_weight
                    else (EMERGENCY)
                )
                day = stay.admit // DAY - rng.choices((0, 1, 2, 3, 5, 7, 10, 14), (20, 20, 15, 12, 10, 10, 7, 6))[0]
                visit = self._visit(stay.person, clinic, day)
                visit.admits = stay.stay_no
                visits.append(visit)
        base = [p for p in persons if p.key not in inpatients]
        extra = max(0, target - len(visits) - len(base))
        counts = dict.fromkeys((p.key for p in base), 1)
        if extra and persons:
            weights = [
                rng.gammavariate(0.7, 1.0)
                * (1.6 if self.config.year - p.birth.year >= 60 else 1.0)
                * (1.4 if p.key in inpatients else 1.0)
                for p in persons
            ]
            for p in rng.choices(persons, cum_weights=list(accumulate(weights)), k=extra):
                counts[p.key] = counts.get(p.key, 0) + 1
        by_key = {p.key: p for p in persons}
        for key, n in counts.items():
            person = by_key[key]
            home = self._clinic(person)
            own_stays = inpatients.get(key, [])
            for _ in range(n):
                if own_stays and rng.random() < 0.35:
                    stay = rng.choice(own_stays)
                    day = stay.discharge // DAY + rng.randint(7, 30)
                    clinic = stay.department if DEPARTMENT_BY_CODE[stay.department].outpatient_weight else home
                    if day < self.clock.days_in_year and self._eligible(person, clinic):
                        visits.append(self._visit(person, clinic, day))
                        continue
                clinic = home if rng.random() < 0.65 else self._clinic(person)
                day = rng.randrange(self.clock.days_in_year) if clinic == EMERGENCY else self._day(WEEKDAY_FACTOR)
                visits.append(self._visit(person, clinic, day))
        return visits

    def _visit(self, person: Person, clinic: str, day: int) -> Visit:
        self._visit_n += 1
        kind = "E" if clinic == EMERGENCY else "O"
        return Visit(f"MZ{self.shard:03d}{self._visit_n:07d}", person, clinic, kind, day)

    def _eligible(self, person: Person, clinic: str) -> bool:
        age = self.config.year - person.birth.year
        if age < 15:
            return clinic in _CHILD_CLINICS or (clinic == "0402" and age < 1)
        if clinic in _ADULT_ONLY:
            return False
        if clinic in ("0301", "0302") and person.sex != "F":
            return False
        return not (clinic == "0302" and not 18 <= age <= 45)

    def _clinic(self, person: Person) -> str:
        age = self.config.year - person.birth.year
        if age < 15:
            codes = list(_CHILD_CLINICS)
            return self.rng.choices(codes, [_CHILD_CLINICS[c] for c in codes])[0]
        eligible = [
            (d.code, d.outpatient_weight) for d in DEPARTMENTS if d.outpatient_weight and self._eligible(person, d.code)
        ]
        return self.rng.choices([c for c, _ in eligible], [w for _, w in eligible])[0]

    # -- the whole plan -----------------------------------------------------------------------------

    def plan(self) -> ShardPlan:
        """Persons, stays (with admission counts and record numbers) and visits of the shard."""
        persons = self.people()
        stays = self.stays()
        visits = self.visits(persons, stays)
        stays_of: dict[str, list[Stay]] = {}
        for stay in sorted(stays, key=lambda s: s.admit):
            stays_of.setdefault(stay.person.key, []).append(stay)
        for key, own in stays_of.items():
            person = own[0].person
            self._mrn_n += 1
            person.mrn = f"{self.shard:03d}{self._mrn_n:06d}"
            person.admissions_before = 0 if self.rng.random() < 0.7 else min(9, int(self.rng.expovariate(0.6)) + 1)
            for i, stay in enumerate(own):
                stay.admission_count = person.admissions_before + i + 1
            del key
        return ShardPlan(self.shard, self.builder.persons, stays, visits, self.builder, stays_of)


def plan_shard(config: SynthConfig, shard: int) -> ShardPlan:
    """The plan of shard ``shard`` (a pure function of its arguments)."""
    return Planner(config, shard).plan()


def age_on(person: Person, when: date) -> int:
    """Age in completed years."""
    return person.age_on(when)
