"""Shared pieces of the mappings to FHIR: Huitong's own code systems, extension URLs, the source tag and small builders.

The national identifier and code systems (the WS/T 500 OIDs the national front page uses, as the synthetic EMR
does) are in :mod:`huitong.identifiers`. Front-page and HIS attributes without an R4 element are extensions under
:data:`EXT`; ``docs/indicators.md`` lists them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

EXT = "https://huitong.org/fhir/StructureDefinition/"
SOURCE_SYSTEM = "https://huitong.org/fhir/CodeSystem/record-source"
HIS_PATIENT_SYSTEM = "https://huitong.org/fhir/NamingSystem/his-patient-id"
PAYMENT_METHOD = "https://huitong.org/fhir/CodeSystem/frontpage-payment-method"
CHARGE_ITEM_SYSTEM = "https://huitong.org/fhir/CodeSystem/charge-item"
INCOME_CATEGORY_SYSTEM = "https://huitong.org/fhir/CodeSystem/income-category"
FRONTPAGE_COST_SYSTEM = "https://huitong.org/fhir/CodeSystem/frontpage-cost-column"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

#: Extension URLs (name → URL) and what each holds; the catalogue documents them.
EXTENSIONS: dict[str, str] = {
    "present-on-admission": "Condition: 入院病情 (WS/T 500 .253: 1 有, 2 临床未确定, 3 情况不明, 4 无), valueCoding",
    "operation-level": "Procedure: 手术级别 1–4 (.258), valueCoding",
    "incision-class": "Procedure: 切口等级 0–3 (.256), valueCoding",
    "healing-grade": "Procedure: 切口愈合类别 1 甲, 2 乙, 3 丙, 9 其他 (.257), valueCoding",
    "elective-operation": "Procedure: 择期手术 (front-page extension column ZQSS), valueBoolean",
    "day-surgery": "Procedure: 日间手术 (front-page extension column RJSS), valueBoolean",
    "anaesthesia-method": "Procedure: 麻醉方式 as written on the front page, valueString",
    "age-years": "Encounter: age in whole years at admission (NL), valueInteger",
    "admitting-department": "Encounter: 入院科别 (RYKB), valueString",
    "payment-method": "Encounter: 医疗付费方式 (YLFKFS), valueCoding",
    "admission-count": "Encounter: 住院次数 (ZYCS), valueInteger",
    "self-paid": "Claim (front page): 自付金额 (ZFJE); Encounter (outpatient): self-paid amount, valueMoney",
    "fund-paid": "Claim (front page): paid by funds (ZFY − ZFJE); Encounter (outpatient): the same, valueMoney",
    "visit-total": "Encounter (outpatient): the visit's total charges as settled by the HIS, valueMoney",
    "appointment": "Encounter (outpatient): whether the visit was booked (预约诊疗), valueBoolean",
    "appointment-channel": "Encounter (outpatient): booking channel (app, phone, onsite, referral …), valueString",
    "booked-at": "Encounter (outpatient): when the appointment was booked, valueDateTime",
    "slot-start": "Encounter (outpatient): start of the booked slot, valueDateTime",
    "checked-in-at": "Encounter (outpatient): arrival at triage / check-in (报到), valueDateTime",
    "consultation-at": "Encounter (outpatient): entry into the consulting room (进入诊室), valueDateTime",
}


def ext_url(name: str) -> str:
    """The full URL of one of our extensions."""
    if name not in EXTENSIONS:
        raise KeyError(name)
    return EXT + name


def source_tag(source: str) -> dict[str, Any]:
    """``meta`` marking where a resource came from (``frontpage`` or ``his``): the tag the views filter on, and the
    sending system in ``meta.source`` (``FRONTPAGE``, ``HIS``) that the data-quality scorecard is kept by, as the
    HL7 feeds name theirs (MSH-3)."""
    return {"source": source.upper(), "tag": [{"system": SOURCE_SYSTEM, "code": source}]}


def coding(system: str, code: str, display: str = "") -> dict[str, Any]:
    """A one-coding CodeableConcept."""
    item: dict[str, Any] = {"system": system, "code": code}
    if display:
        item["display"] = display
    return {"coding": [item]}


def money(value: float) -> dict[str, Any]:
    """A Money in yuan (CNY), rounded to the fen."""
    return {"value": round(value, 2), "currency": "CNY"}


def local_datetime(text: str) -> str:
    """``YYYY-MM-DD HH:MM[:SS]`` (Beijing time) as a FHIR dateTime with the +08:00 offset."""
    fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return datetime.strptime(text, fmt).strftime("%Y-%m-%dT%H:%M:%S+08:00")


def parse_local(text: str) -> datetime:
    """``YYYY-MM-DD HH:MM[:SS]`` as a naive datetime; raises ``ValueError`` otherwise."""
    fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return datetime.strptime(text, fmt)


def safe_id(text: str) -> str:
    """A FHIR id from a local number: letters, digits, ``-`` and ``.`` only."""
    return "".join(ch if (ch.isalnum() and ch.isascii()) or ch in "-." else "-" for ch in text)[:64]
