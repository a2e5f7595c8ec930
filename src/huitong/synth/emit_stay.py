"""Output of one inpatient stay: ADT (admission, transfers, updates, cancellations, discharge), pharmacy orders
and administrations, lab and imaging orders and results, the EMR bundle, the front page and charges."""

from __future__ import annotations

from typing import TYPE_CHECKING

from huitong.synth.catalogues.diagnoses import DIAGNOSIS_BY_CODE
from huitong.synth.clock import HOUR, MINUTE, bed_days
from huitong.synth.model import Stay
from huitong.synth.outputs import ADT, EMR, ENCOUNTERS, FRONTPAGE, PHARMACY
from huitong.synth.truth import record_stay
from huitong.synth.writers import fhir, frontpage
from huitong.synth.writers import hl7 as v2
from huitong.synth.writers import hl7_messages as msg

if TYPE_CHECKING:
    from huitong.synth.emit import Emitter


def _segment_at(stay: Stay, t: int) -> int:
    index = 0
    for i, seg in enumerate(stay.segments):
        if seg.start <= t:
            index = i
    return index


def emit_stay(e: Emitter, s: Stay) -> None:
    """Emit one stay through the emitter ``e``."""
    e.inpatient.fill(s)
    person, clock, rng = s.person, e.clock, e.rng
    reg = e._his(person, s.admit)
    pid = v2.pid(reg)
    admit_ts = clock.hl7(s.admit)
    attending = s.team.get("ZZYS")
    admission_type = "E" if s.route == "1" else ("L" if s.admit_department == "0302" else "R")
    pv1s = []
    for i, seg in enumerate(s.segments):
        prior = v2.location(s.segments[i - 1].ward, s.segments[i - 1].room, s.segments[i - 1].bed) if i else ""
        pv1s.append(
            v2.pv1(
                "I",
                v2.location(seg.ward, seg.room, seg.bed),
                admission_type,
                attending,
                seg.department,
                s.route,
                s.stay_no,
                person.payer,
                admit_ts,
                prior_loc=prior,
            )
        )
    # an admission entered by mistake and cancelled (ADT^A01 then ADT^A11) before the real one
    showcase = e.config.scale.showcase and e.stats.get("stays", 0) < 3
    if rng.random() < 0.004 or (showcase and e.stats.get("stays", 0) == 0):
        wrong = s.admit - rng.randint(30, 240) * MINUTE
        bogus_no = "ZX" + s.stay_no[2:]
        bogus = v2.pv1(
            "I",
            pv1s[0].split("|")[3],
            admission_type,
            attending,
            s.admit_department,
            s.route,
            bogus_no,
            person.payer,
            clock.hl7(wrong),
        )
        e._send(ADT, wrong, msg.adt("A01", e._id(ADT), clock.hl7(wrong), pid, bogus))
        cancel = wrong + rng.randint(5, 25) * MINUTE
        e._send(ADT, cancel, msg.adt("A11", e._id(ADT), clock.hl7(cancel), pid, bogus))
        e.files.csv_row(
            ENCOUNTERS,
            [
                bogus_no,
                "cancelled_admission",
                person.key,
                reg.local_id,
                s.admit_department,
                clock.iso(wrong),
                clock.iso(cancel),
                "",
            ],
        )
    ctrl = e._id(ADT)
    segments = msg.adt("A01", ctrl, admit_ts, pid, pv1s[0])
    e.defects.adt(ADT, ctrl, "A01", segments)
    e._send(ADT, s.admit, segments)
    e._log_duplicate(ctrl)
    for i, seg in enumerate(s.segments[1:], 1):
        e._send(ADT, seg.start, msg.adt("A02", e._id(ADT), clock.hl7(seg.start), pid, pv1s[i]))
    if (rng.random() < 0.1 or (showcase and e.stats.get("stays", 0) == 1)) and s.discharge - s.admit > 2 * HOUR:
        t = s.admit + rng.randint(1, max(1, (s.discharge - s.admit) // HOUR - 1)) * HOUR
        e._send(ADT, t, msg.adt("A08", e._id(ADT), clock.hl7(t), pid, pv1s[_segment_at(s, t)]))
    # orders, administrations, results
    for order in s.meds:
        pv1 = pv1s[_segment_at(s, order.start)]
        e._send(PHARMACY, order.start, msg.rde_o11(e._id(PHARMACY), clock.hl7(order.start), pid, pv1, [order], clock))
        nurses = e.staffing.nurses.get(s.segments[_segment_at(s, order.start)].department) or ()
        parts = msg.ras_parts(order)
        for seq, t in enumerate(order.administrations, 1):
            nurse = rng.choice(nurses) if nurses else None
            e._send(
                PHARMACY, t, msg.ras_o17(e._id(PHARMACY), clock.hl7(t), pid, pv1s[_segment_at(s, t)], parts, seq, nurse)
            )
        e._count("administrations", len(order.administrations))
    e._count("medication_orders", len(s.meds))
    for lab in s.labs:
        e._lab(person, pid, pv1s[_segment_at(s, lab.ordered)], lab)
    for exam in s.imaging:
        e._exam(person, pid, pv1s[_segment_at(s, exam.ordered)], exam)
    # discharge (sometimes first entered too early, cancelled with A13, then entered again)
    last = s.segments[-1]
    discharge_ts = clock.hl7(s.discharge)
    final_pv1 = v2.pv1(
        "I",
        v2.location(last.ward, last.room, last.bed),
        admission_type,
        attending,
        last.department,
        s.route,
        s.stay_no,
        person.payer,
        admit_ts,
        disposition=s.disposition,
        discharge_ts=discharge_ts,
    )
    extra = [
        msg.dg1(i, dx.code, DIAGNOSIS_BY_CODE[dx.code].name_zh, i)
        for i, dx in enumerate([d for d in (s.principal, *s.others) if d is not None], 1)
    ]
    extra += [
        msg.pr1(i, op.procedure.code, op.procedure.name_zh, clock.hl7(op.start), op.surgeon, op.procedure.anaesthesia)
        for i, op in enumerate(s.operations, 1)
    ]
    if (rng.random() < 0.005 or (showcase and e.stats.get("stays", 0) == 2)) and s.discharge - s.admit > 6 * HOUR:
        s.cancelled_discharge = True
        early = s.discharge - rng.randint(2, 5) * HOUR
        early_pv1 = v2.pv1(
            "I",
            v2.location(last.ward, last.room, last.bed),
            admission_type,
            attending,
            last.department,
            s.route,
            s.stay_no,
            person.payer,
            admit_ts,
            disposition="1",
            discharge_ts=clock.hl7(early),
        )
        e._send(ADT, early, msg.adt("A03", e._id(ADT), clock.hl7(early), pid, early_pv1))
        cancel = early + rng.randint(10, 60) * MINUTE
        e._send(ADT, cancel, msg.adt("A13", e._id(ADT), clock.hl7(cancel), pid, pv1s[-1]))
    death_pid = v2.pid(reg, death_ts=discharge_ts) if s.died else pid
    ctrl = e._id(ADT)
    segments = msg.adt("A03", ctrl, discharge_ts, death_pid, final_pv1, extra)
    e.defects.adt(ADT, ctrl, "A03", segments)
    e._send(ADT, s.discharge, segments)
    # EMR bundle, front page, charges, truth
    emr = e.registry.get(person, "emr", s.admit)
    e.files.ndjson(EMR, fhir.stay_bundle(s, emr, clock))
    row = frontpage.row(s, reg, clock, rng)
    e.defects.frontpage(row, (clock.date(s.admit) - person.birth).days, person.sex)
    e.files.csv_row(FRONTPAGE, frontpage.as_list(row))
    e._charges("I", s.stay_no, reg.local_id, s.department, s.charges.items)
    record_stay(e.cells, s, clock)
    e.files.csv_row(
        ENCOUNTERS,
        [
            s.stay_no,
            "inpatient",
            person.key,
            reg.local_id,
            s.department,
            clock.iso(s.admit),
            clock.iso(s.discharge),
            "",
        ],
    )
    e._count("stays")
    e._count("bed_days", bed_days(s.admit, s.discharge))
    s.meds, s.labs, s.imaging = [], [], []
