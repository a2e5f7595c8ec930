"""Turning FHIR resources into what a page shows (names, ages, codes), in one place."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from huitong import identifiers

GENDER_ZH = {"male": "男", "female": "女", "other": "其他", "unknown": "未知"}

#: Identifier systems by the name people give them (zh, en).
_ID_NAMES = {
    **{system: ("身份证号", "Resident ID") for system in identifiers.RESIDENT_ID_SYSTEMS},
    identifiers.OUTPATIENT_NO_SYSTEM: ("门（急）诊号", "Outpatient no."),
    identifiers.INPATIENT_NO_SYSTEM: ("住院号", "Inpatient no."),
    identifiers.MRN_SYSTEM: ("病案号", "Case no."),
}
#: v2-0203 identifier types by name (zh, en), for systems of a hospital's own.
_ID_TYPES = {
    "MR": ("病历号", "Medical record no."),
    "PI": ("患者号", "Patient no."),
    "PT": ("患者号", "Patient no."),
    "NI": ("身份证号", "Resident ID"),
    "SS": ("社保号", "Social security no."),
    "PPN": ("护照号", "Passport no."),
}


def identifier_label(identifier: dict[str, Any], lang: str) -> str:
    """What an Identifier is, as people say it: the national number it is, its v2 type, else the sending system's
    namespace (``urn:huitong:v2:<facility>:…``, ``urn:huitong:source:<system>``), else its system URI."""
    pick = 1 if lang == "en" else 0
    system = str(identifier.get("system") or "")
    if system in _ID_NAMES:
        return _ID_NAMES[system][pick]
    for coding in (identifier.get("type") or {}).get("coding") or []:
        if isinstance(coding, dict) and coding.get("code") in _ID_TYPES:
            return _ID_TYPES[str(coding["code"])][pick]
    for prefix in ("urn:huitong:v2:", "urn:huitong:source:"):
        if system.startswith(prefix):
            return system[len(prefix) :].replace(":", " ")
    return system or "—"


def identifier_value(identifier: dict[str, Any]) -> str:
    """The value to show: a resident ID number masked to its first six and last four characters (the region and
    the check digits: enough to tell two people apart at the bedside; the whole number stays in the record and
    the API, for the roles that may read it), anything else as it is. PIPL's least necessary: a screen others may
    see shows no more than the task needs."""
    value = str(identifier.get("value") or "")
    if str(identifier.get("system") or "") in identifiers.RESIDENT_ID_SYSTEMS and len(value) > 10:
        return f"{value[:6]}{'*' * (len(value) - 10)}{value[-4:]}"
    return value or "—"


def name_of(patient: dict[str, Any]) -> str:
    """The display name of a Patient or Practitioner (Chinese names are written family + given, no space)."""
    for n in patient.get("name") or []:
        if n.get("text"):
            return str(n["text"])
        family, given = n.get("family", ""), "".join(n.get("given") or [])
        if family or given:
            chinese = any("\u4e00" <= ch <= "\u9fff" for ch in family + given)
            return f"{family}{given}" if chinese else f"{' '.join(n.get('given') or [])} {family}".strip()
    return "—"


def age_of(patient: dict[str, Any], lang: str = "zh", on: date | None = None) -> str:
    """Age in years (months or days for infants), as Chinese charts write it (岁, 月, 天), or in English."""
    text = patient.get("birthDate")
    if not isinstance(text, str) or len(text) < 10:
        return "—"
    born = date.fromisoformat(text[:10])
    on = on or date.today()
    days = (on - born).days
    english = lang == "en"
    if days < 31:
        return f"{days} d" if english else f"{days}天"
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    if years < 1:
        months = (on.year - born.year) * 12 + on.month - born.month
        return f"{months} mo" if english else f"{months}月"
    return f"{years} y" if english else f"{years}岁"


def gender_of(patient: dict[str, Any], lang: str) -> str:
    value = str(patient.get("gender", "unknown"))
    return GENDER_ZH.get(value, value) if lang == "zh" else value.capitalize()


def text_of(concept: Any) -> str:
    """The text of a CodeableConcept: its text, else the first display, else the first code."""
    if not isinstance(concept, dict):
        return "—"
    if "coding" not in concept and (concept.get("display") or concept.get("code")):  # a bare Coding
        return str(concept.get("display") or concept.get("code"))
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if coding.get("display"):
            return str(coding["display"])
    for coding in concept.get("coding") or []:
        if coding.get("code"):
            return str(coding["code"])
    return "—"


def when_of(resource: dict[str, Any]) -> str:
    """The main time of a clinical resource, shortened to minutes."""
    for key in (
        "effectiveDateTime",
        "issued",
        "authoredOn",
        "recordedDate",
        "onsetDateTime",
        "performedDateTime",
        "date",
        "start",
    ):
        if isinstance(resource.get(key), str):
            return short_time(resource[key])
    for key in ("period", "effectivePeriod", "performedPeriod"):
        if isinstance(resource.get(key), dict) and resource[key].get("start"):
            return short_time(resource[key]["start"])
    return ""


def short_time(text: str) -> str:
    """``2026-11-21T07:00:00+08:00`` → ``2026-11-21 07:00``."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return moment.strftime("%Y-%m-%d %H:%M") if "T" in text else moment.strftime("%Y-%m-%d")


def value_of(obs: dict[str, Any]) -> str:
    """An Observation's value as text with its unit."""
    q = obs.get("valueQuantity")
    if isinstance(q, dict):
        return f"{q.get('comparator', '')}{q.get('value', '')} {q.get('unit') or q.get('code') or ''}".strip()
    for key in ("valueString", "valueInteger", "valueBoolean", "valueDateTime"):
        if key in obs:
            return str(obs[key])
    if "valueCodeableConcept" in obs:
        return text_of(obs["valueCodeableConcept"])
    return "—"


def flag_of(obs: dict[str, Any]) -> str:
    """``critical``, ``abnormal`` or ``""`` from an Observation's interpretation."""
    codes = {c.get("code") for i in obs.get("interpretation") or [] for c in (i or {}).get("coding") or []}
    if codes & {"HH", "LL", "AA", "critical"}:
        return "critical"
    if codes & {"H", "L", "A", "HU", "LU"}:
        return "abnormal"
    return ""
