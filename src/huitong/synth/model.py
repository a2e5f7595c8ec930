"""The generator's internal truth about clinical events. Writers turn these into HL7, FHIR and CSV; the
ground truth (indicators, encounters) is computed from them, never from the written files."""

from __future__ import annotations

from dataclasses import dataclass, field

from huitong.synth.catalogues.casemix import CaseType
from huitong.synth.catalogues.drugs import Drug
from huitong.synth.catalogues.lab import Exam, Panel
from huitong.synth.catalogues.procedures import Procedure
from huitong.synth.catalogues.staff import StaffMember
from huitong.synth.people import Person
from huitong.synth.registration import Registration


@dataclass(slots=True)
class Segment:
    """Part of a stay spent in one department (a transfer starts a new segment)."""

    department: str
    start: int
    end: int
    ward: str = ""
    room: str = ""
    bed: str = ""
    extra_bed: bool = False


@dataclass(slots=True)
class Operation:
    """One operation or procedure on the front page."""

    procedure: Procedure
    start: int
    end: int
    elective: bool
    day_surgery: bool
    healing: str = ""  # 甲 乙 丙 其他; "" without an incision
    surgeon: StaffMember | None = None
    assistant1: StaffMember | None = None
    assistant2: StaffMember | None = None
    anaesthetist: StaffMember | None = None


@dataclass(slots=True)
class DiagnosisEntry:
    """A diagnosis of a stay with its present-on-admission flag (入院病情: 1 有, 2 临床未确定, 3 情况不明,
    4 无)."""

    code: str
    poa: str


@dataclass(slots=True)
class MedOrder:
    """A medication order; inpatient orders carry their administration times, outpatient ones a dispensed
    quantity only."""

    order_no: str
    drug: Drug
    dose: float
    per_day: int
    start: int
    stop: int
    prescriber: StaffMember
    purpose: str  # therapeutic | prophylaxis | "" (not an antimicrobial)
    administrations: list[int] = field(default_factory=list)
    packs: int = 0
    once: bool = False


@dataclass(slots=True)
class LabResult:
    """One analyte's result."""

    analyte: str
    value: float
    flag: str  # N, H, L, HH, LL


@dataclass(slots=True)
class LabOrder:
    """A lab order and, unless never resulted, its results."""

    order_no: str
    panel: Panel
    ordered: int
    collected: int
    reported: int
    orderer: StaffMember
    results: list[LabResult] = field(default_factory=list)


@dataclass(slots=True)
class ImagingOrder:
    """An imaging exam and its report."""

    order_no: str
    exam: Exam
    ordered: int
    performed: int
    reported: int
    orderer: StaffMember
    radiologist: StaffMember
    positive: bool
    findings: str
    impression: str


@dataclass(slots=True)
class Charges:
    """Charges of one encounter, summed per charge item: item → [quantity, amount in fen, first, last]."""

    items: dict[str, list[int]] = field(default_factory=dict)

    def add(self, item: str, quantity: int, amount_fen: int, when: int) -> None:
        """Book ``quantity`` of ``item`` costing ``amount_fen`` at ``when``."""
        row = self.items.get(item)
        if row is None:
            self.items[item] = [quantity, amount_fen, when, when]
        else:
            row[0] += quantity
            row[1] += amount_fen
            row[2] = min(row[2], when)
            row[3] = max(row[3], when)

    @property
    def total_fen(self) -> int:
        """Total in fen (1/100 yuan)."""
        return sum(row[1] for row in self.items.values())


@dataclass(slots=True)
class Visit:
    """An outpatient or emergency visit."""

    visit_no: str
    person: Person
    department: str
    kind: str  # "O" outpatient, "E" emergency
    day: int
    channel: str = ""  # app, phone, onsite, referral, walkin, emergency
    booked: int = 0
    slot_start: int = 0
    slot_end: int = 0
    checkin: int = 0
    consult: int = 0
    first_visit: bool = True
    diagnosis: str = ""
    doctor: StaffMember | None = None
    registration: Registration | None = None
    admits: str = ""  # stay number when the visit leads to an admission
    fixed_consult: int = 0  # consultation time fixed by the plan (admission visits)
    meds: list[MedOrder] = field(default_factory=list)
    labs: list[LabOrder] = field(default_factory=list)
    imaging: list[ImagingOrder] = field(default_factory=list)
    charges: Charges = field(default_factory=Charges)
    fund_paid_fen: int = 0

    @property
    def is_appointment(self) -> bool:
        """Whether the visit was booked in advance (indicator 22)."""
        return self.channel in ("app", "phone", "onsite", "referral")


@dataclass(slots=True)
class Stay:
    """An inpatient stay discharged in the generated year."""

    stay_no: str
    person: Person
    case: CaseType
    admit: int
    discharge: int
    route: str  # 入院途径: 1 急诊, 2 门诊, 3 其他医疗机构转入, 9 其他
    disposition: str  # 离院方式: 1 医嘱离院, 2 医嘱转院, 3 转社区, 4 非医嘱离院, 5 死亡, 9 其他
    segments: list[Segment]
    operations: list[Operation]
    complications: list[str]
    admission_count: int = 1
    principal: DiagnosisEntry | None = None
    others: list[DiagnosisEntry] = field(default_factory=list)
    external_cause: str = ""
    registration: Registration | None = None
    team: dict[str, StaffMember] = field(default_factory=dict)
    meds: list[MedOrder] = field(default_factory=list)
    labs: list[LabOrder] = field(default_factory=list)
    imaging: list[ImagingOrder] = field(default_factory=list)
    charges: Charges = field(default_factory=Charges)
    fund_paid_fen: int = 0
    nursing: str = "C0202"
    cancelled_discharge: bool = False

    @property
    def department(self) -> str:
        """Discharge department (the last segment's)."""
        return self.segments[-1].department

    @property
    def admit_department(self) -> str:
        """Admitting department."""
        return self.segments[0].department

    @property
    def died(self) -> bool:
        """Whether the patient died in hospital."""
        return self.disposition == "5"
