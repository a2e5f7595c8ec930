"""Charges of visits and stays, priced from the charge-item catalogue, and what insurance funds pay."""

from __future__ import annotations

from huitong.synth.catalogues.charges import ANAESTHESIA_ITEM, CHARGE_BY_CODE
from huitong.synth.catalogues.departments import ICU
from huitong.synth.clock import DAY, bed_days
from huitong.synth.model import Charges, Stay, Visit

#: Share of the amount above the deductible that the fund pays, by front-page payment method.
INPATIENT_FUND_SHARE = {"1": 0.72, "2": 0.58, "3": 0.55, "4": 0.6, "5": 0.0, "6": 0.95, "7": 0.0, "8": 0.5, "9": 0.0}
OUTPATIENT_FUND_SHARE = {"1": 0.5, "2": 0.3, "3": 0.2, "4": 0.3, "5": 0.0, "6": 0.9, "7": 0.0, "8": 0.3, "9": 0.0}
INPATIENT_DEDUCTIBLE_FEN = 80_000


def book(charges: Charges, item: str, quantity: int, when: int) -> None:
    """Book ``quantity`` units of a charge item at its list price."""
    if quantity <= 0:
        return
    charges.add(item, quantity, round(CHARGE_BY_CODE[item].price * 100) * quantity, when)


def consultation_item(title_code: str, emergency: bool) -> str:
    """The consultation fee item for a doctor's title."""
    if emergency:
        return "C0005"
    return {"231": "C0004", "232": "C0003"}.get(title_code, "C0002")


def bill_visit(visit: Visit) -> None:
    """Charges of an outpatient or emergency visit, and the fund's share."""
    c = visit.charges
    t = visit.checkin
    book(c, "C0001", 1, t)
    book(c, consultation_item(visit.doctor.title_code if visit.doctor else "", visit.kind == "E"), 1, visit.consult)
    for order in visit.meds:
        book(c, "Y" + order.drug.code, order.packs, order.start)
    if visit.meds:
        book(c, "C0701", 1, visit.meds[0].start)
    for lab in visit.labs:
        book(c, "J" + lab.panel.code, 1, lab.ordered)
    for exam in visit.imaging:
        book(c, "J" + exam.exam.code, 1, exam.ordered)
    visit.fund_paid_fen = round(c.total_fen * OUTPATIENT_FUND_SHARE.get(visit.person.payer, 0.0))


def bill_stay(stay: Stay) -> None:
    """Charges of a stay (beds, nursing, daily fees, drugs, tests, operations), and the fund's share."""
    c = stay.charges
    total_days = bed_days(stay.admit, stay.discharge)
    spans = [max(0, s.end - s.start) for s in stay.segments]
    whole = sum(spans) or 1
    left = total_days
    for i, (seg, span) in enumerate(zip(stay.segments, spans, strict=True)):
        days = left if i == len(spans) - 1 else min(left, round(total_days * span / whole))
        left -= days
        if seg.department == ICU:
            book(c, "C0102", days, seg.start)
            book(c, "C0203", days, seg.start)
            book(c, "C0404", days, seg.start)
            book(c, "C0403", days, seg.start)
        else:
            book(c, "C0103" if seg.extra_bed else "C0101", days, seg.start)
            book(c, stay.nursing, days, seg.start)
    book(c, "C0301", total_days, stay.admit)
    book(c, "C0601", total_days, stay.admit)
    book(c, "C0801", 1, stay.admit)
    book(c, "C0901", 1, stay.discharge)
    iv_days: set[int] = set()
    injections = 0
    for order in stay.meds:
        book(c, "Y" + order.drug.code, order.packs, order.start)
        if order.drug.route == "IV":
            iv_days.update(t // DAY for t in order.administrations)
        elif order.drug.route in ("SC", "IM"):
            injections += len(order.administrations)
    book(c, "C0401", len(iv_days), stay.admit)
    book(c, "C0402", injections, stay.admit)
    for lab in stay.labs:
        book(c, "J" + lab.panel.code, 1, lab.ordered)
    for exam in stay.imaging:
        book(c, "J" + exam.exam.code, 1, exam.ordered)
    if stay.admit_department in ("0102", "0104", "0110") or stay.route == "1":
        book(c, "C0403", total_days, stay.admit)
    for op in stay.operations:
        p = op.procedure
        if p.is_operation:
            book(c, "C0404", 1, op.end)
        book(c, "S" + p.code, 1, op.start)
        if p.consumables:
            book(c, "M" + p.code, 1, op.start)
        if p.anaesthesia:
            book(c, ANAESTHESIA_ITEM[p.anaesthesia], 1, op.start)
    share = INPATIENT_FUND_SHARE.get(stay.person.payer, 0.0)
    stay.fund_paid_fen = round(max(0, c.total_fen - INPATIENT_DEDUCTIBLE_FEN) * share)
