"""The inpatient front page (住院病案首页) CSV: validation by the front-page quality rules, and mapping to FHIR.

One row is one discharge. A row that breaks a rule is rejected as a whole (with its line and the reasons);
a valid row becomes one Encounter, one Condition per diagnosis, one Procedure per operation and one Claim for
its costs, all with ids derived from the inpatient number (``fp-<ZYH>…``) so that importing a file again
changes nothing. The column layout is ``docs/formats/frontpage.md`` (the synthetic hospital writes it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from huitong.identifiers import (
    ADMISSION_ROUTE,
    DISPOSITION,
    HEALING_GRADE,
    ICD9CM3,
    ICD10,
    INCISION_CLASS,
    INPATIENT_NO_SYSTEM,
    MRN_SYSTEM,
    OPERATION_LEVEL,
    PRESENT_ON_ADMISSION,
)
from huitong.indicators import fhirmap as fm

OTHER_DIAGNOSES = 10
OPERATIONS = 5
REQUIRED: tuple[str, ...] = (
    "ZZJGDM",
    "YLFKFS",
    "ZYCS",
    "BAH",
    "ZYH",
    "XM",
    "XB",
    "CSRQ",
    "RYTJ",
    "RYSJ",
    "RYKB",
    "CYSJ",
    "CYKB",
    "SJZYTS",
    "ZYZD",
    "JBDM",
    "RYBQ",
    "LYFS",
    "ZFY",
    "ZFJE",
)
CODES: dict[str, frozenset[str]] = {
    "XB": frozenset({"0", "1", "2", "9"}),
    "YLFKFS": frozenset("123456789"),
    "RYTJ": frozenset({"1", "2", "3", "9"}),
    "LYFS": frozenset({"1", "2", "3", "4", "5", "9"}),
    "RYBQ": frozenset({"1", "2", "3", "4"}),
}
COST_COLUMNS: tuple[str, ...] = (
    "YLFUF",
    "ZLCZF",
    "HLF",
    "QTFY",
    "BLZDF",
    "SYSZDF",
    "YXXZDF",
    "LCZDXMF",
    "FSSZLXMF",
    "MAF",
    "SSF",
    "KFF",
    "ZYZLF",
    "XYF",
    "ZCYF",
    "ZCYF1",
    "XF",
    "BDBLZPF",
    "JCYYCLF",
    "ZLYYCLF",
    "SSYYCLF",
    "QTF",
)
ICD10_FORMAT = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?")
ICD9_FORMAT = re.compile(r"[0-9]{2}(\.[0-9]{1,2})?")
_POA = {"1": "有", "2": "临床未确定", "3": "情况不明", "4": "无"}
_YES_NO = frozenset({"1", "2"})
_SEX_OF = {"1": "M", "2": "F"}
_SEX_TEXT = {"M": "male", "F": "female"}


@dataclass(frozen=True, slots=True)
class Catalogues:
    """Code lists a row's codes must belong to; empty sets check the format only."""

    icd10: frozenset[str] = frozenset()
    icd9cm3: frozenset[str] = frozenset()
    departments: frozenset[str] = frozenset()
    #: Diagnoses restricted to one sex: ICD-10 code → ``M`` or ``F``.
    sex_specific: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RowCheck:
    """The outcome of checking one row: the reasons it is rejected (empty when valid)."""

    line: int
    key: str
    reasons: list[str] = field(default_factory=list)
    #: Findings reported without rejecting the row (sex-specific diagnosis conflicts).
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons


def _datetime(row: dict[str, str], column: str, reasons: list[str]) -> datetime | None:
    text = row.get(column, "")
    if not text:
        return None
    try:
        return fm.parse_local(text)
    except ValueError:
        reasons.append(f"{column}: not a date-time (YYYY-MM-DD HH:MM:SS): {text!r}")
        return None


def _check_code(column: str, code: str, fmt: re.Pattern[str], known: frozenset[str], reasons: list[str]) -> None:
    if not fmt.fullmatch(code):
        reasons.append(f"{column}: malformed code {code!r}")
    elif known and code not in known:
        reasons.append(f"{column}: code {code!r} is not in the catalogue")


def check_row(row: dict[str, str], line: int, catalogues: Catalogues) -> RowCheck:
    """Apply the front-page quality rules to one row: required fields, code values, codes, dates, amounts."""
    result = RowCheck(line, row.get("ZYH", ""))
    reasons = result.reasons
    for column in REQUIRED:
        if not row.get(column, "").strip():
            reasons.append(f"{column}: required field is empty")
    for column, allowed in CODES.items():
        value = row.get(column, "")
        if value and value not in allowed:
            reasons.append(f"{column}: {value!r} is not one of {', '.join(sorted(allowed))}")
    if row.get("JBDM"):
        _check_code("JBDM", row["JBDM"], ICD10_FORMAT, catalogues.icd10, reasons)
    for i in range(1, OTHER_DIAGNOSES + 1):
        code = row.get(f"JBDM{i}", "")
        if code:
            _check_code(f"JBDM{i}", code, ICD10_FORMAT, catalogues.icd10, reasons)
            poa = row.get(f"RYBQ{i}", "")
            if poa not in _POA:
                reasons.append(f"RYBQ{i}: present-on-admission {poa!r} is not one of 1, 2, 3, 4")
    sex = _SEX_OF.get(row.get("XB", ""))
    if sex and catalogues.sex_specific:
        for column in ("JBDM", *(f"JBDM{i}" for i in range(1, OTHER_DIAGNOSES + 1))):
            only = catalogues.sex_specific.get(row.get(column, ""))
            if only and only != sex:
                result.warnings.append(f"{column}: diagnosis {row[column]!r} is for {_SEX_TEXT[only]} patients only")
    for i in range(1, OPERATIONS + 1):
        code = row.get(f"SSJCZBM{i}", "")
        if not code:
            continue
        _check_code(f"SSJCZBM{i}", code, ICD9_FORMAT, catalogues.icd9cm3, reasons)
        _datetime(row, f"SSJCZRQ{i}", reasons)
        for column, allowed in (
            (f"SSJB{i}", frozenset({"1", "2", "3", "4"})),
            (f"QKDJ{i}", frozenset({"0", "1", "2", "3"})),
            (f"QKYHLB{i}", frozenset({"1", "2", "3", "9"})),
            (f"ZQSS{i}", _YES_NO),
            (f"RJSS{i}", _YES_NO),
        ):
            value = row.get(column, "")
            if value and value not in allowed:
                reasons.append(f"{column}: {value!r} is not one of {', '.join(sorted(allowed))}")
    for column in ("RYKB", "CYKB"):
        dept = row.get(column, "")
        if dept and catalogues.departments and dept not in catalogues.departments:
            reasons.append(f"{column}: department {dept!r} is not in the department list")
    admitted = _datetime(row, "RYSJ", reasons)
    discharged = _datetime(row, "CYSJ", reasons)
    if admitted and discharged and discharged < admitted:
        reasons.append("CYSJ: discharge before admission")
    birth = row.get("CSRQ", "")
    if birth:
        try:
            born = date.fromisoformat(birth)
        except ValueError:
            reasons.append(f"CSRQ: not a date (YYYY-MM-DD): {birth!r}")
        else:
            if admitted and born > admitted.date():
                reasons.append("CSRQ: birth after admission")
    for column in ("SJZYTS", "ZYCS", "NL"):
        value = row.get(column, "")
        if value and not value.isdigit():
            reasons.append(f"{column}: not a whole number: {value!r}")
    for column in ("ZFY", "ZFJE", *COST_COLUMNS):
        value = row.get(column, "")
        if value:
            try:
                float(value)
            except ValueError:
                reasons.append(f"{column}: not an amount: {value!r}")
    return result


def _ext(name: str, value_key: str, value: Any) -> dict[str, Any]:
    return {"url": fm.ext_url(name), value_key: value}


def _subject(row: dict[str, str]) -> dict[str, Any]:
    return {"identifier": {"system": MRN_SYSTEM, "value": row["BAH"]}, "display": row["XM"]}


def _yes(value: str) -> bool:
    return value == "1"


def to_fhir(row: dict[str, str]) -> list[dict[str, Any]]:
    """The resources of one valid row: Encounter, Conditions, Procedures and the cost Claim."""
    key = fm.safe_id(row["ZYH"])
    enc_id = f"fp-{key}"
    enc_ref = {"reference": f"Encounter/{enc_id}"}
    subject = _subject(row)
    meta = fm.source_tag("frontpage")
    conditions: list[dict[str, Any]] = []
    diagnoses = [(row["JBDM"], row["ZYZD"], row["RYBQ"])]
    diagnoses += [
        (row[f"JBDM{i}"], row.get(f"QTZD{i}", ""), row.get(f"RYBQ{i}", ""))
        for i in range(1, OTHER_DIAGNOSES + 1)
        if row.get(f"JBDM{i}")
    ]
    for n, (code, name, poa) in enumerate(diagnoses):
        conditions.append(
            {
                "resourceType": "Condition",
                "id": f"{enc_id}-dx{n}",
                "meta": meta,
                "extension": [
                    _ext("present-on-admission", "valueCoding", {"system": PRESENT_ON_ADMISSION, "code": poa})
                ],
                "verificationStatus": fm.coding(
                    "http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"
                ),
                "category": [
                    fm.coding("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis")
                ],
                "code": {**fm.coding(ICD10, code, name), "text": name} if name else fm.coding(ICD10, code),
                "subject": subject,
                "encounter": enc_ref,
            }
        )
    procedures: list[dict[str, Any]] = []
    for i in range(1, OPERATIONS + 1):
        code = row.get(f"SSJCZBM{i}", "")
        if not code:
            continue
        extensions = []
        for column, name, system in (
            (f"SSJB{i}", "operation-level", OPERATION_LEVEL),
            (f"QKDJ{i}", "incision-class", INCISION_CLASS),
            (f"QKYHLB{i}", "healing-grade", HEALING_GRADE),
        ):
            if row.get(column):
                extensions.append(_ext(name, "valueCoding", {"system": system, "code": row[column]}))
        if row.get(f"ZQSS{i}"):
            extensions.append(_ext("elective-operation", "valueBoolean", _yes(row[f"ZQSS{i}"])))
        if row.get(f"RJSS{i}"):
            extensions.append(_ext("day-surgery", "valueBoolean", _yes(row[f"RJSS{i}"])))
        if row.get(f"MZFS{i}"):
            extensions.append(_ext("anaesthesia-method", "valueString", row[f"MZFS{i}"]))
        procedure: dict[str, Any] = {
            "resourceType": "Procedure",
            "id": f"{enc_id}-op{i}",
            "meta": meta,
            "status": "completed",
            "code": fm.coding(ICD9CM3, code, row.get(f"SSJCZMC{i}", "")),
            "subject": subject,
            "encounter": enc_ref,
        }
        if extensions:
            procedure["extension"] = extensions
        if row.get(f"SSJCZRQ{i}"):
            procedure["performedDateTime"] = fm.local_datetime(row[f"SSJCZRQ{i}"])
        procedures.append(procedure)
    encounter = _encounter(row, enc_id, subject, meta, conditions)
    return [encounter, *conditions, *procedures, _claim(row, enc_id, subject, meta)]


def _encounter(
    row: dict[str, str], enc_id: str, subject: dict[str, Any], meta: dict[str, Any], conditions: list[dict[str, Any]]
) -> dict[str, Any]:
    extensions = [
        _ext("admitting-department", "valueString", row["RYKB"]),
        _ext("payment-method", "valueCoding", {"system": fm.PAYMENT_METHOD, "code": row["YLFKFS"]}),
        _ext("admission-count", "valueInteger", int(row["ZYCS"])),
    ]
    if row.get("NL"):
        extensions.insert(0, _ext("age-years", "valueInteger", int(row["NL"])))
    return {
        "resourceType": "Encounter",
        "id": enc_id,
        "meta": meta,
        "extension": extensions,
        "identifier": [{"system": INPATIENT_NO_SYSTEM, "value": row["ZYH"]}],
        "status": "finished",
        "class": {"system": fm.ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
        "subject": subject,
        "period": {"start": fm.local_datetime(row["RYSJ"]), "end": fm.local_datetime(row["CYSJ"])},
        "length": {"value": int(row["SJZYTS"]), "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"},
        "diagnosis": [
            {"condition": {"reference": f"Condition/{c['id']}"}, "rank": n + 1} for n, c in enumerate(conditions)
        ],
        "hospitalization": {
            "admitSource": fm.coding(ADMISSION_ROUTE, row["RYTJ"]),
            "dischargeDisposition": fm.coding(DISPOSITION, row["LYFS"]),
        },
        "serviceProvider": {"reference": f"Organization/dept-{fm.safe_id(row['CYKB'])}"},
    }


def _claim(row: dict[str, str], enc_id: str, subject: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    total = float(row["ZFY"])
    self_paid = float(row["ZFJE"])
    items = [
        {
            "sequence": n,
            "productOrService": fm.coding(fm.FRONTPAGE_COST_SYSTEM, column),
            "net": fm.money(float(row[column])),
            "encounter": [{"reference": f"Encounter/{enc_id}"}],
        }
        for n, column in enumerate((c for c in COST_COLUMNS if row.get(c) and float(row[c]) != 0), start=1)
    ]
    claim: dict[str, Any] = {
        "resourceType": "Claim",
        "id": f"{enc_id}-cost",
        "meta": meta,
        "extension": [
            _ext("self-paid", "valueMoney", fm.money(self_paid)),
            _ext("fund-paid", "valueMoney", fm.money(total - self_paid)),
        ],
        "status": "active",
        "type": fm.coding("http://terminology.hl7.org/CodeSystem/claim-type", "institutional"),
        "use": "claim",
        "patient": subject,
        "created": fm.local_datetime(row["CYSJ"])[:10],
        "provider": {"reference": "Organization/hospital"},
        "priority": fm.coding("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
        "insurance": [
            {"sequence": 1, "focal": True, "coverage": {"display": f"医疗付费方式 {row['YLFKFS']}"}},
        ],
        "total": fm.money(total),
    }
    if items:
        claim["item"] = items
    return claim
