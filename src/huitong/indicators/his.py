"""HIS exports where no feed carries the data: the outpatient register and the itemised charges, as FHIR.

* ``outpatient_visits.csv`` (one row per outpatient or emergency visit) → one Encounter (class AMB or EMER)
  ``his-<visit_no>`` with the appointment, check-in and consultation times as extensions.
* ``charges.csv`` (one row per charge item and encounter) → one Claim per encounter ``his-<encounter_no>``,
  each item with its charge code, its income category (``Claim.item.revenue``) and its amount. Inpatient
  charges point at the front-page Encounter ``fp-<inpatient no>``.

Both layouts are those of the synthetic hospital (``docs/synth.md``); a row missing a required field or with a
malformed time or amount is rejected with its line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from huitong.identifiers import ICD10, OUTPATIENT_NO_SYSTEM
from huitong.indicators import fhirmap as fm
from huitong.indicators.frontpage import RowCheck

VISIT_REQUIRED = ("visit_no", "his_patient_id", "visit_type", "department", "consultation_at", "total")
CHARGE_REQUIRED = ("encounter_type", "encounter_no", "item_code", "income_category", "amount")


def _check_times(row: dict[str, str], columns: Iterable[str], reasons: list[str]) -> None:
    for column in columns:
        if row.get(column):
            try:
                fm.parse_local(row[column])
            except ValueError:
                reasons.append(f"{column}: not a date-time (YYYY-MM-DD HH:MM:SS): {row[column]!r}")


def _check_amounts(row: dict[str, str], columns: Iterable[str], reasons: list[str]) -> None:
    for column in columns:
        if row.get(column):
            try:
                float(row[column])
            except ValueError:
                reasons.append(f"{column}: not an amount: {row[column]!r}")


def check_visit(row: dict[str, str], line: int) -> RowCheck:
    """Required fields, visit type, appointment flag, times and amounts of one register row."""
    result = RowCheck(line, row.get("visit_no", ""))
    for column in VISIT_REQUIRED:
        if not row.get(column, "").strip():
            result.reasons.append(f"{column}: required field is empty")
    if row.get("visit_type") and row["visit_type"] not in ("outpatient", "emergency"):
        result.reasons.append(f"visit_type: {row['visit_type']!r} is not outpatient or emergency")
    if row.get("is_appointment", "0") not in ("0", "1", ""):
        result.reasons.append(f"is_appointment: {row['is_appointment']!r} is not 0 or 1")
    if row.get("is_appointment") == "1" and not row.get("checked_in_at"):
        result.reasons.append("checked_in_at: required for a booked visit")
    _check_times(row, ("booked_at", "slot_start", "slot_end", "checked_in_at", "consultation_at"), result.reasons)
    _check_amounts(row, ("total", "fund_paid", "self_paid"), result.reasons)
    return result


def check_charge(row: dict[str, str], line: int) -> RowCheck:
    """Required fields, encounter type and amounts of one charge row."""
    result = RowCheck(line, f"{row.get('encounter_no', '')}/{row.get('item_code', '')}")
    for column in CHARGE_REQUIRED:
        if not row.get(column, "").strip():
            result.reasons.append(f"{column}: required field is empty")
    if row.get("encounter_type") and row["encounter_type"] not in ("O", "E", "I"):
        result.reasons.append(f"encounter_type: {row['encounter_type']!r} is not O, E or I")
    _check_amounts(row, ("quantity", "unit_price", "amount"), result.reasons)
    _check_times(row, ("first_at", "last_at"), result.reasons)
    return result


def _ext(name: str, value_key: str, value: Any) -> dict[str, Any]:
    return {"url": fm.ext_url(name), value_key: value}


def visit_to_fhir(row: dict[str, str]) -> dict[str, Any]:
    """The Encounter of one outpatient or emergency visit."""
    emergency = row["visit_type"] == "emergency"
    extensions = [_ext("appointment", "valueBoolean", row.get("is_appointment") == "1")]
    if row.get("channel"):
        extensions.append(_ext("appointment-channel", "valueString", row["channel"]))
    for column, name in (
        ("booked_at", "booked-at"),
        ("slot_start", "slot-start"),
        ("checked_in_at", "checked-in-at"),
        ("consultation_at", "consultation-at"),
    ):
        if row.get(column):
            extensions.append(_ext(name, "valueDateTime", fm.local_datetime(row[column])))
    for column, name in (("total", "visit-total"), ("fund_paid", "fund-paid"), ("self_paid", "self-paid")):
        if row.get(column):
            extensions.append(_ext(name, "valueMoney", fm.money(float(row[column]))))
    start = row.get("checked_in_at") or row["consultation_at"]
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": f"his-{fm.safe_id(row['visit_no'])}",
        "meta": fm.source_tag("his"),
        "extension": extensions,
        "identifier": [{"system": OUTPATIENT_NO_SYSTEM, "value": row["visit_no"]}],
        "status": "finished",
        "class": {"system": fm.ACT_CODE, "code": "EMER" if emergency else "AMB"},
        "subject": {"identifier": {"system": fm.HIS_PATIENT_SYSTEM, "value": row["his_patient_id"]}},
        "period": {"start": fm.local_datetime(start)},
        "serviceProvider": {"reference": f"Organization/dept-{fm.safe_id(row['department'])}"},
    }
    if row.get("diagnosis_code"):
        encounter["reasonCode"] = [fm.coding(ICD10, row["diagnosis_code"], row.get("diagnosis_name", ""))]
    return encounter


def charges_claim(encounter_type: str, encounter_no: str, items: list[dict[str, str]]) -> dict[str, Any]:
    """One Claim holding every charge item of an encounter."""
    key = fm.safe_id(encounter_no)
    enc_ref = {"reference": f"Encounter/{'fp' if encounter_type == 'I' else 'his'}-{key}"}
    total = sum(float(i["amount"]) for i in items)
    claim: dict[str, Any] = {
        "resourceType": "Claim",
        "id": f"his-{key}",
        "meta": fm.source_tag("his"),
        "status": "active",
        "type": fm.coding(
            "http://terminology.hl7.org/CodeSystem/claim-type",
            "institutional" if encounter_type == "I" else "professional",
        ),
        "use": "claim",
        "patient": {"identifier": {"system": fm.HIS_PATIENT_SYSTEM, "value": items[0].get("his_patient_id", "")}},
        "created": (items[0].get("first_at") or "1970-01-01")[:10],
        "provider": {"reference": "Organization/hospital"},
        "priority": fm.coding("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "HIS settlement"}}],
        "item": [
            {
                "sequence": n,
                "revenue": fm.coding(fm.INCOME_CATEGORY_SYSTEM, item["income_category"]),
                "productOrService": fm.coding(fm.CHARGE_ITEM_SYSTEM, item["item_code"], item.get("item_name", "")),
                "quantity": {"value": float(item.get("quantity") or 1)},
                "net": fm.money(float(item["amount"])),
                "encounter": [enc_ref],
            }
            for n, item in enumerate(items, start=1)
        ],
        "total": fm.money(total),
    }
    return claim
