"""HL7 v2.5 messages of the synthetic hospital, one function per message type. Each returns the message's
segments (a list, so that defect injection can edit a field before the segments are joined).

Structures (v2.5): ADT^A01/A02/A03/A04/A08/A11/A13 (MSH EVN PID PV1 [DG1…] [PR1…]), ADT^A40 (ADT_A39: MSH
EVN PID MRG PV1), SIU^S12 (MSH SCH TQ1 PID PV1 RGS AIL AIP), OML^O21 and ORM^O01 (MSH PID PV1 ORC OBR),
ORU^R01 (MSH PID PV1 ORC OBR OBX… [NTE]), RDE^O11 (MSH PID PV1 {ORC RXE RXR}), RAS^O17 (MSH PID PV1 ORC RXA RXR).
"""

from __future__ import annotations

from functools import cache

from huitong.synth.catalogues.drugs import Drug
from huitong.synth.catalogues.lab import ANALYTE_BY_CODE, REPORT_FINDINGS_LOINC, REPORT_IMPRESSION_LOINC
from huitong.synth.catalogues.staff import StaffMember
from huitong.synth.clock import Clock
from huitong.synth.model import ImagingOrder, LabOrder, MedOrder
from huitong.synth.orders import FREQUENCY
from huitong.synth.writers.hl7 import FACILITY, escape, msh, segment, xcn

ROUTES = {"IV": "静脉滴注", "PO": "口服", "IM": "肌内注射", "SC": "皮下注射", "IH": "吸入"}
ADT_STRUCTURE = {
    "A01": "ADT_A01",
    "A02": "ADT_A02",
    "A03": "ADT_A03",
    "A04": "ADT_A01",
    "A08": "ADT_A01",
    "A11": "ADT_A09",
    "A13": "ADT_A01",
}


def adt(event: str, control_id: str, ts: str, pid: str, pv1: str, extra: list[str] | None = None) -> list[str]:
    """An ADT message of one of the A01-family events."""
    return [
        msh("HIS", "HUITONG-ESB", ts, f"ADT^{event}^{ADT_STRUCTURE[event]}", control_id),
        f"EVN|{event}|{ts}",
        pid,
        pv1,
        *(extra or []),
    ]


def a40(control_id: str, ts: str, pid: str, prior_id: str, pv1: str) -> list[str]:
    """ADT^A40: merge the duplicate ``prior_id`` into the patient in ``pid``."""
    return [msh("HIS", "HUITONG-ESB", ts, "ADT^A40^ADT_A39", control_id), f"EVN|A40|{ts}", pid, f"MRG|{prior_id}", pv1]


def dg1(set_id: int, code: str, name: str, priority: int) -> str:
    """A final (discharge) diagnosis, ICD-10."""
    return segment(
        "DG1", str(set_id), "", f"{code}^{escape(name)}^I10", "", "", "F", "", "", "", "", "", "", "", "", str(priority)
    )


def pr1(set_id: int, code: str, name: str, ts: str, surgeon: StaffMember | None, anaesthesia: str) -> str:
    """A procedure, ICD-9-CM-3."""
    return segment(
        "PR1", str(set_id), "", f"{code}^{escape(name)}^I9C", "", ts, "", "", "", anaesthesia, "", xcn(surgeon)
    )


def siu_s12(
    control_id: str,
    ts: str,
    appointment_id: str,
    slot: tuple[str, str],
    channel: tuple[str, str],
    pid: str,
    pv1: str,
    department: str,
    doctor: StaffMember | None,
) -> list[str]:
    """SIU^S12: a new outpatient appointment booked through ``channel`` (code, text)."""
    start, end = slot
    return [
        msh("HIS", "HUITONG-ESB", ts, "SIU^S12^SIU_S12", control_id),
        segment(
            "SCH",
            f"{appointment_id}^HIS",
            f"{appointment_id}^HIS",
            "",
            "",
            "",
            "NEW^新预约^99HTEVT",
            f"{channel[0]}^{channel[1]}^99HTCHN",
            "Normal",
            "30",
            "min",
            f"^^30^{start}^{end}",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "Booked",
        ),
        segment("TQ1", "1", "", "", "", "", "", start, end),
        pid,
        pv1,
        "RGS|1|A",
        segment("AIL", "1", "A", f"^^^HUITONG^^^^{department}"),
        segment("AIP", "1", "A", xcn(doctor)),
    ]


def _orc(control: str, order_no: str, filler: str, ts: str, orderer: StaffMember | None, status: str = "") -> str:
    return segment("ORC", control, f"{order_no}^HIS", filler, "", status, "", "", "", ts, "", "", xcn(orderer))


def oml_o21(control_id: str, ts: str, pid: str, pv1: str, order: LabOrder, clock: Clock) -> list[str]:
    """OML^O21: a lab order from HIS to LIS."""
    p = order.panel
    return [
        msh("HIS", "LIS", ts, "OML^O21^OML_O21", control_id),
        pid,
        pv1,
        _orc("NW", order.order_no, "", ts, order.orderer, "SC"),
        segment(
            "OBR",
            "1",
            f"{order.order_no}^HIS",
            "",
            f"{p.code}^{escape(p.name_zh)}^99HTLAB",
            "",
            ts,
            clock.hl7(order.collected),
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            f"{p.specimen}^^HL70487",
            xcn(order.orderer),
        ),
    ]


def orm_o01(control_id: str, ts: str, pid: str, pv1: str, order: ImagingOrder) -> list[str]:
    """ORM^O01: an imaging order from HIS to PACS."""
    e = order.exam
    return [
        msh("HIS", "PACS", ts, "ORM^O01^ORM_O01", control_id),
        pid,
        pv1,
        _orc("NW", order.order_no, "", ts, order.orderer, "SC"),
        segment(
            "OBR",
            "1",
            f"{order.order_no}^HIS",
            "",
            f"{e.code}^{escape(e.name_zh)}^99HTRIS",
            "",
            ts,
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            xcn(order.orderer),
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            e.modality,
        ),
    ]


def oru_lab(
    control_id: str, ts: str, pid: str, pv1: str, order: LabOrder, clock: Clock, sex: str, charset: str, app: str
) -> list[str]:
    """ORU^R01: lab results from LIS, one OBX per analyte; critical values carry an NTE."""
    p = order.panel
    collected = clock.hl7(order.collected)
    filler = f"{order.order_no.replace('L', 'F', 1)}^LIS"
    segments = [
        msh(app, "HUITONG-ESB", ts, "ORU^R01^ORU_R01", control_id, charset),
        pid,
        pv1,
        _orc("RE", order.order_no, filler, ts, order.orderer, "CM"),
        segment(
            "OBR",
            "1",
            f"{order.order_no}^HIS",
            filler,
            f"{p.code}^{escape(p.name_zh)}^99HTLAB",
            "",
            "",
            collected,
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            f"{p.specimen}^^HL70487",
            xcn(order.orderer),
            "",
            "",
            "",
            "",
            "",
            ts,
            "",
            "",
            "F",
        ),
    ]
    critical = False
    for i, r in enumerate(order.results, 1):
        ident, decimals, tail = obx_parts(r.analyte, sex)
        segments.append(f"OBX|{i}|NM|{ident}||{r.value:.{decimals}f}|{tail}|{r.flag}|||F|||{collected}")
        critical = critical or r.flag in ("HH", "LL")
    if critical:
        segments.append("NTE|1|L|危急值，已电话通知临床医师")
    return segments


@cache
def obx_parts(code: str, sex: str) -> tuple[str, int, str]:
    """An analyte's OBX-3 (LIS code and LOINC), its decimals, and OBX-6 to OBX-7 (UCUM unit, reference range for
    ``sex``), escaped: what every numeric lab OBX of the analyte repeats."""
    a = ANALYTE_BY_CODE[code]
    lo, hi = a.reference(sex)
    ident = f"{a.code}^{escape(a.name_zh)}^99HTLAB^{a.loinc}^{escape(a.name_en)}^LN"
    return ident, a.decimals, f"{a.unit}^^UCUM|{lo:.{a.decimals}f}-{hi:.{a.decimals}f}"


def oru_imaging(control_id: str, ts: str, pid: str, pv1: str, order: ImagingOrder, clock: Clock) -> list[str]:
    """ORU^R01: an imaging report from PACS (findings and impression; OBX-8 ``A`` marks a positive study)."""
    e = order.exam
    performed = clock.hl7(order.performed)
    filler = f"{order.order_no.replace('I', 'A', 1)}^PACS"
    flag = "A" if order.positive else "N"
    return [
        msh("PACS", "HUITONG-ESB", ts, "ORU^R01^ORU_R01", control_id),
        pid,
        pv1,
        _orc("RE", order.order_no, filler, ts, order.orderer, "CM"),
        segment(
            "OBR",
            "1",
            f"{order.order_no}^HIS",
            filler,
            f"{e.code}^{escape(e.name_zh)}^99HTRIS",
            "",
            "",
            performed,
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            xcn(order.orderer),
            "",
            "",
            "",
            "",
            "",
            ts,
            "",
            e.modality,
            "F",
            "",
            "",
            "",
            "",
            "",
            "",
            xcn(order.radiologist),
        ),
        segment(
            "OBX",
            "1",
            "TX",
            f"{REPORT_FINDINGS_LOINC}^影像所见^LN",
            "",
            escape(order.findings),
            "",
            "",
            "",
            "",
            "",
            "F",
            "",
            "",
            performed,
        ),
        segment(
            "OBX",
            "2",
            "TX",
            f"{REPORT_IMPRESSION_LOINC}^诊断意见^LN",
            "",
            escape(order.impression),
            "",
            "",
            flag,
            "",
            "",
            "F",
            "",
            "",
            performed,
        ),
    ]


@cache
def _drug_ce(drug: Drug) -> str:
    alt = f"^{drug.atc}^{escape(drug.generic_en)}^WHOATC" if drug.atc else ""
    return f"{drug.code}^{escape(drug.product_zh)}^99HTDRUG{alt}"


def rde_o11(control_id: str, ts: str, pid: str, pv1: str, orders: list[MedOrder], clock: Clock) -> list[str]:
    """RDE^O11: medication orders (one ORC/RXE/RXR group per drug) from HIS to the pharmacy."""
    segments = [msh("HIS", "PHARMACY", ts, "RDE^O11^RDE_O11", control_id), pid, pv1]
    for o in orders:
        d = o.drug
        freq = FREQUENCY[0 if o.once else o.per_day]
        dose = f"{o.dose:g}"
        segments.append(_orc("NW", o.order_no, "", ts, o.prescriber, "SC"))
        segments.append(
            segment(
                "RXE",
                f"^{freq}^^{clock.hl7(o.start)}^{clock.hl7(o.stop)}",
                _drug_ce(d),
                dose,
                dose,
                f"{d.dose_unit}^^UCUM",
                escape(d.form),
                "",
                "",
                "",
                str(o.packs),
                escape(d.pack_unit),
            )
        )
        segments.append(f"RXR|{d.route}^{ROUTES[d.route]}^HL70162")
    return segments


def ras_parts(order: MedOrder) -> tuple[str, str, str, str]:
    """The parts of an order's RAS^O17 messages that do not change between administrations."""
    d = order.drug
    return (
        f"ORC|RE|{order.order_no}^HIS|||IP||||",
        f"|||{xcn(order.prescriber)}",
        f"|{_drug_ce(d)}|{order.dose:g}|{d.dose_unit}^^UCUM|||",
        f"RXR|{d.route}^{ROUTES[d.route]}^HL70162",
    )


def ras_o17(
    control_id: str, ts: str, pid: str, pv1: str, parts: tuple[str, str, str, str], seq: int, nurse: StaffMember | None
) -> list[str]:
    """RAS^O17: one administration of an inpatient order (``parts`` from :func:`ras_parts`), recorded by the
    nurse who gave it."""
    orc_head, orc_tail, rxa_mid, rxr = parts
    return [
        f"MSH|^~\\&|HIS-NIS|{FACILITY}|HUITONG-ESB|{FACILITY}|{ts}||RAS^O17^RAS_O17|{control_id}|P|2.5|||AL|NE|CHN|"
        "UNICODE UTF-8",
        pid,
        pv1,
        f"{orc_head}{ts}{orc_tail}",
        f"RXA|0|{seq}|{ts}|{ts}{rxa_mid}{xcn(nurse)}||||||||||CP|A",
        rxr,
    ]
