"""Turns one shard's plan into output: fills in each encounter (in time order per person), registers the person
in each source system, writes HL7 messages, FHIR bundles and CSV rows, injects defects, and adds the encounter
to the indicator truth."""

from __future__ import annotations

import random
from functools import cache

from huitong.synth.catalogues import Staffing, build_staffing
from huitong.synth.catalogues.charges import CHARGE_BY_CODE
from huitong.synth.catalogues.diagnoses import DIAGNOSIS_BY_CODE
from huitong.synth.clock import DAY, HOUR, Clock
from huitong.synth.config import DefectKind, SynthConfig
from huitong.synth.defects import Defects
from huitong.synth.emit_stay import emit_stay
from huitong.synth.inpatient import InpatientDetails
from huitong.synth.model import ImagingOrder, LabOrder, Stay, Visit
from huitong.synth.orders import OrderFactory
from huitong.synth.outpatient import CHANNELS, OutpatientDetails
from huitong.synth.outputs import (
    ADT,
    CHARGES,
    EMR,
    ENCOUNTERS,
    LIS,
    ORDERS,
    OUTPATIENT_VISITS,
    PACS,
    PERSONS,
    PHARMACY,
    SIU,
)
from huitong.synth.people import Person
from huitong.synth.plan import ShardPlan
from huitong.synth.registration import Registration
from huitong.synth.registry import Duplicate, Registry
from huitong.synth.truth import Cells, record_visit
from huitong.synth.writers import fhir
from huitong.synth.writers import hl7 as v2
from huitong.synth.writers import hl7_messages as msg
from huitong.synth.writers.streams import ShardFiles

_PREFIX = {ADT: "A", SIU: "S", ORDERS: "O", PHARMACY: "P", LIS: "L", PACS: "R"}
#: Lab panels run on the legacy analyser middleware, which sends GB 18030.
LEGACY_PANELS = frozenset({"LP04", "LP07", "LP09", "LP10", "LP11", "LP12"})


@cache
def staffing_for(seed: int) -> Staffing:
    """Staff of a seed (built once per process)."""
    return build_staffing(seed)


class Emitter:
    """Writes one shard."""

    def __init__(self, config: SynthConfig, shard: int, files: ShardFiles) -> None:
        self.config = config
        self.shard = shard
        self.files = files
        self.clock = Clock(config.year)
        base = f"huitong-synth:{config.seed}:{config.year}:{config.scale.name}:{shard}"
        self.rng = random.Random(f"{base}:detail")  # noqa: S311  # reproducible synthetic data, not security
        self.defects = Defects(config.defects, random.Random(f"{base}:defects"), files, shard)  # noqa: S311
        self.staffing = staffing_for(config.seed)
        self.registry = Registry(config, shard, files, self.defects)
        self.orders = OrderFactory(self.rng, shard, self.staffing)
        self.outpatient = OutpatientDetails(self.rng, self.staffing, self.orders, self.clock)
        self.inpatient = InpatientDetails(self.rng, self.staffing, self.orders, self.clock)
        self.cells: Cells = {}
        self.stats: dict[str, int] = {}
        self._ctrl = dict.fromkeys(_PREFIX, 0)
        self._seen_clinics: set[tuple[str, str]] = set()
        self._pending_dup: Duplicate | None = None

    def _count(self, key: str, n: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + n

    def _id(self, stream: str) -> str:
        self._ctrl[stream] += 1
        return f"{_PREFIX[stream]}{self.shard:03d}{self._ctrl[stream]:08d}"

    def _send(self, stream: str, t: int, segments: list[str], charset: str = "utf-8") -> None:
        self.files.hl7(stream, self.clock.hl7(t), segments, charset)

    # -- the shard ----------------------------------------------------------------------------------

    def run(self, plan: ShardPlan) -> None:
        """Emit every encounter of the plan, person by person in time order."""
        stays_by_no = {s.stay_no: s for s in plan.stays}
        timeline: dict[str, list[tuple[int, int, Visit | Stay]]] = {}
        for v in plan.visits:
            timeline.setdefault(v.person.key, []).append((v.day * DAY, 0, v))
        for s in plan.stays:
            timeline.setdefault(s.person.key, []).append((s.admit, 1, s))
        for person in plan.persons:
            events = sorted(timeline.get(person.key, ()), key=lambda e: (e[0], e[1]))
            self.registry.encounters_left[person.key] = len(events)
            for _, _, enc in events:
                if isinstance(enc, Visit):
                    self.visit(enc, stays_by_no.get(enc.admits))
                else:
                    self.stay(enc)
        for person, dup in self.registry.pending_merges(self.clock.end):
            self._merge(person, dup)
        for p in plan.persons:
            old = p.old_address
            self.files.csv_row(
                PERSONS,
                [
                    p.key,
                    p.family,
                    p.given,
                    p.sex,
                    p.birth.isoformat(),
                    p.resident_id,
                    p.phone,
                    p.address.text,
                    p.address.postcode,
                    p.address.division,
                    old.text if old else "",
                    self.clock.iso(p.moved_at) if old else "",
                    p.household,
                    p.twin_of,
                    p.occupation,
                    p.employer,
                    p.meta.get("mother", ""),
                ],
            )
        self.stats["persons"] = len(plan.persons)

    # -- HIS identity -------------------------------------------------------------------------------

    def _his(self, person: Person, when: int) -> Registration:
        reg, event, dup = self.registry.his(person, when)
        primary = self.registry.primary(person)
        if person.old_address is not None and when >= person.moved_at and primary.address is person.old_address:
            primary.address = person.address
            primary.pid_cache.clear()
            t = person.moved_at + self.rng.randint(1, 72) * HOUR
            self._send(ADT, t, msg.adt("A08", self._id(ADT), self.clock.hl7(t), v2.pid(primary), "PV1|1|N"))
        if event == "merged" and dup is not None:
            self._merge(person, dup)
        if event == "duplicated" and dup is not None:
            self._pending_dup = dup
        return reg

    def _merge(self, person: Person, dup: Duplicate) -> None:
        primary = self.registry.primary(person)
        t = dup.merge_at
        prior = f"{dup.registration.local_id}^^^{v2.AUTHORITY['his']}^PI"
        self._send(ADT, t, msg.a40(self._id(ADT), self.clock.hl7(t), v2.pid(primary), prior, "PV1|1|N"))
        self._count("merges")

    def _log_duplicate(self, control_id: str) -> None:
        dup = self._pending_dup
        if dup is None:
            return
        self._pending_dup = None
        reg = dup.registration
        primary = self.registry.primary(reg.person)
        self.defects.record(
            DefectKind.DUPLICATE_REGISTRATION,
            {"system": "his", "local_id": reg.local_id, "file": ADT, "message": control_id},
            primary.local_id,
            reg.local_id,
            person_id=reg.person.key,
            merged_at=self.clock.iso(dup.merge_at) if dup.merge_at else None,
        )

    # -- orders shared by visits and stays ------------------------------------------------------------

    def _lab(self, person: Person, his_pid: str, pv1: str, lab: LabOrder) -> None:
        self._send(
            ORDERS,
            lab.ordered,
            msg.oml_o21(self._id(ORDERS), self.clock.hl7(lab.ordered), his_pid, pv1, lab, self.clock),
        )
        order_ctrl = f"{_PREFIX[ORDERS]}{self.shard:03d}{self._ctrl[ORDERS]:08d}"
        never, late = self.defects.lab_timing(lab)
        if never:
            self.defects.record(
                DefectKind.ORDER_NEVER_RESULTED,
                {"file": ORDERS, "message": order_ctrl, "placer_order": lab.order_no},
                "ORU^R01",
                None,
            )
            return
        reg = self.registry.get(person, "lis", lab.collected)
        legacy = lab.panel.code in LEGACY_PANELS
        charset, app = ("gb18030", "LIS-LEGACY") if legacy else ("utf-8", "LIS")
        reported = lab.reported + late
        ctrl = self._id(LIS)
        segments = msg.oru_lab(
            ctrl, self.clock.hl7(reported), v2.pid(reg), pv1, lab, self.clock, person.sex, charset, app
        )
        if late:
            self.defects.record(
                DefectKind.LATE_RESULT,
                {"file": LIS, "message": ctrl, "segment": "OBR", "field": 22, "placer_order": lab.order_no},
                self.clock.hl7(lab.reported),
                self.clock.hl7(reported),
            )
        self.defects.unit_mismatch(LIS, ctrl, segments, lab)
        self._send(LIS, reported, segments, charset)
        self._count("lab_results", len(lab.results))

    def _exam(self, person: Person, his_pid: str, pv1: str, exam: ImagingOrder) -> None:
        self._send(
            ORDERS, exam.ordered, msg.orm_o01(self._id(ORDERS), self.clock.hl7(exam.ordered), his_pid, pv1, exam)
        )
        reg = self.registry.get(person, "pacs", exam.performed)
        self._send(
            PACS,
            exam.reported,
            msg.oru_imaging(self._id(PACS), self.clock.hl7(exam.reported), v2.pid(reg), pv1, exam, self.clock),
        )
        self._count("imaging_reports")

    def _charges(self, kind: str, number: str, patient_id: str, dept: str, items: dict[str, list[int]]) -> None:
        for code, (qty, amount, first, last) in items.items():
            item = CHARGE_BY_CODE[code]
            self.files.csv_row(
                CHARGES,
                [
                    kind,
                    number,
                    patient_id,
                    dept,
                    code,
                    item.name_zh,
                    item.income,
                    item.frontpage,
                    str(qty),
                    f"{item.price:.2f}",
                    f"{amount / 100:.2f}",
                    self.clock.iso(first),
                    self.clock.iso(last),
                ],
            )

    # -- visits ---------------------------------------------------------------------------------------

    def visit(self, v: Visit, stay: Stay | None) -> None:
        """Emit one outpatient or emergency visit."""
        self.outpatient.fill(v, stay.case.diagnosis if stay else "", stay.admit if stay else 0)
        person, clock = v.person, self.clock
        reg = self._his(person, v.checkin)
        pid = v2.pid(reg)
        checkin = clock.hl7(v.checkin)
        pv1 = v2.pv1(
            "E" if v.kind == "E" else "O",
            "",
            "E" if v.kind == "E" else "R",
            v.doctor,
            v.department,
            "",
            v.visit_no,
            person.payer,
            checkin,
        )
        if v.is_appointment:
            self._send(
                SIU,
                v.booked,
                msg.siu_s12(
                    self._id(SIU),
                    clock.hl7(v.booked),
                    f"YY{v.visit_no[2:]}",
                    (clock.hl7(v.slot_start), clock.hl7(v.slot_end)),
                    CHANNELS[v.channel],
                    pid,
                    pv1,
                    v.department,
                    v.doctor,
                ),
            )
        ctrl = self._id(ADT)
        segments = msg.adt("A04", ctrl, checkin, pid, pv1)
        self.defects.adt(ADT, ctrl, "A04", segments)
        self._send(ADT, v.checkin, segments)
        self._log_duplicate(ctrl)
        if v.meds:
            t = v.meds[0].start
            self._send(PHARMACY, t, msg.rde_o11(self._id(PHARMACY), clock.hl7(t), pid, pv1, v.meds, clock))
            self._count("medication_orders", len(v.meds))
        for lab in v.labs:
            self._lab(person, pid, pv1, lab)
        for exam in v.imaging:
            self._exam(person, pid, pv1, exam)
        emr = self.registry.get(person, "emr", v.checkin)
        self.files.ndjson(EMR, fhir.visit_bundle(v, emr, clock))
        first = (person.key, v.department) not in self._seen_clinics
        self._seen_clinics.add((person.key, v.department))
        total = v.charges.total_fen
        doctor = v.doctor
        self.files.csv_row(
            OUTPATIENT_VISITS,
            [
                v.visit_no,
                reg.local_id,
                "emergency" if v.kind == "E" else "outpatient",
                v.department,
                doctor.staff_id if doctor else "",
                doctor.title_zh if doctor else "",
                "1" if first else "0",
                v.channel,
                "1" if v.is_appointment else "0",
                clock.iso(v.booked) if v.booked else "",
                clock.iso(v.slot_start) if v.slot_start else "",
                clock.iso(v.slot_end) if v.slot_end else "",
                clock.iso(v.checkin),
                clock.iso(v.consult),
                v.diagnosis,
                DIAGNOSIS_BY_CODE[v.diagnosis].name_zh,
                person.payer,
                f"{total / 100:.2f}",
                f"{v.fund_paid_fen / 100:.2f}",
                f"{(total - v.fund_paid_fen) / 100:.2f}",
                v.admits,
            ],
        )
        self._charges("O", v.visit_no, reg.local_id, v.department, v.charges.items)
        record_visit(self.cells, v, clock)
        self.files.csv_row(
            ENCOUNTERS,
            [
                v.visit_no,
                "emergency" if v.kind == "E" else "outpatient",
                person.key,
                reg.local_id,
                v.department,
                clock.iso(v.checkin),
                clock.iso(v.consult),
                v.admits,
            ],
        )
        self._count("visits")
        v.meds, v.labs, v.imaging = [], [], []

    # -- stays ----------------------------------------------------------------------------------------

    def stay(self, s: Stay) -> None:
        """Emit one inpatient stay."""
        emit_stay(self, s)
