"""v2 datatypes → FHIR datatypes, following the IG's datatype maps (CWE→CodeableConcept, CX→Identifier,
XPN→HumanName, XAD→Address, XTN→ContactPoint, DTM→dateTime, XCN→Practitioner, PL→Location, EI→Identifier).

Systems: well-known v2 coding-system names become their FHIR URIs; OIDs become ``urn:oid:``; anything else
is kept as the sender's own system, ``urn:huitong:v2:<facility>:<name>`` (local codes are never dropped).
"""

from __future__ import annotations

import re
from datetime import date as datetime_date
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from huitong.empi.names import split_surname
from huitong.ingest.hl7v2.message import Field
from huitong.ingest.hl7v2.to_fhir import vocabulary
from huitong.ingest.hl7v2.to_fhir.context import MapContext, stable_id

KNOWN_SYSTEMS = {
    "LN": "http://loinc.org",
    "LOINC": "http://loinc.org",
    "SCT": "http://snomed.info/sct",
    "SNM": "http://snomed.info/sct",
    "SNOMED": "http://snomed.info/sct",
    "SNOMEDCT": "http://snomed.info/sct",
    "I10": "http://hl7.org/fhir/sid/icd-10",
    "ICD10": "http://hl7.org/fhir/sid/icd-10",
    "I10C": "http://hl7.org/fhir/sid/icd-10-cm",
    "I9C": "http://hl7.org/fhir/sid/icd-9-cm",
    "I9": "http://hl7.org/fhir/sid/icd-9-cm",
    "UCUM": "http://unitsofmeasure.org",
    "NDC": "http://hl7.org/fhir/sid/ndc",
    "RXNORM": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "RXN": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "CVX": "http://hl7.org/fhir/sid/cvx",
    "CPT": "http://www.ama-assn.org/go/cpt",
    "C4": "http://www.ama-assn.org/go/cpt",
    "ISO3166_1": "urn:iso:std:iso:3166",
    "ISO639": "urn:ietf:bcp:47",
}
_V2_TABLE = re.compile(r"HL7\s*(\d{4})")
_OID = re.compile(r"[0-2](?:\.\d+)+")
_DTM = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,4})?([+-]\d{4})?")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def local_system(ctx: MapContext, name: str) -> str:
    """The sender's own system for a code or identifier namespace ``name``."""
    return _local_system(ctx.facility, name)


@lru_cache(maxsize=4096)
def _local_system(facility: str, name: str) -> str:
    return f"urn:huitong:v2:{quote(facility or 'unknown', safe='')}:{quote(name or 'local', safe='')}"


def coding_system(name: str, ctx: MapContext) -> str:
    """The FHIR system URI for a v2 coding-system name (CWE-3)."""
    key = name.strip()
    upper = key.upper().replace("-", "").replace(" ", "")
    if upper in KNOWN_SYSTEMS:
        return KNOWN_SYSTEMS[upper]
    m = _V2_TABLE.fullmatch(upper)
    if m:
        return vocabulary.V2_SYSTEM + m.group(1)
    if _OID.fullmatch(key):
        return f"urn:oid:{key}"
    if key.startswith(("http://", "https://", "urn:")):
        return key
    return local_system(ctx, key)


# ---- dates --------------------------------------------------------------------------------------------


def _offset(tz: str | None, ctx: MapContext) -> str | None:
    if not tz:
        return ctx.timezone
    hours, minutes = int(tz[1:3]), int(tz[3:])
    if hours > 14 or minutes > 59 or (hours == 14 and minutes):
        return None
    return f"{tz[:3]}:{tz[3:]}"


def _valid_date(year: str, month: str | None, day: str | None) -> bool:
    try:
        datetime_date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return False
    return True


def date_time(text: str, ctx: MapContext) -> str | None:
    """A v2 DTM/TS as FHIR dateTime (the offset defaults to the hospital's; seconds are added when missing).

    ``None`` when the text is not a valid date and time (a month 13, 31 February, an offset of +25:00).
    """
    m = _DTM.fullmatch(text.strip().split("^")[0])
    if not m:
        return None
    year, month, day, hour, minute, second, frac, tz = m.groups()
    if not _valid_date(year, month, day):
        return None
    if not month:
        return year
    if not day:
        return f"{year}-{month}"
    if not hour:
        return f"{year}-{month}-{day}"
    if int(hour) > 23 or int(minute or 0) > 59 or int(second or 0) > 59:
        return None
    offset = _offset(tz, ctx)
    if offset is None:
        return None
    return f"{year}-{month}-{day}T{hour}:{minute or '00'}:{second or '00'}{frac or ''}{offset}"


def instant(text: str, ctx: MapContext) -> str | None:
    """A v2 DTM as FHIR instant (needs at least a day; midnight when no time was sent)."""
    value = date_time(text, ctx)
    if value is None or len(value) < 10:
        return None
    return value if "T" in value else f"{value}T00:00:00{ctx.timezone}"


def date(text: str) -> str | None:
    """The date part of a v2 DT/DTM as FHIR date."""
    m = _DTM.fullmatch(text.strip())
    if not m:
        return None
    year, month, day = m.group(1), m.group(2), m.group(3)
    if not _valid_date(year, month, day):
        return None
    return "-".join(p for p in (year, month, day if month else None) if p)


def token(text: str) -> str:
    """A FHIR code from v2 text: trimmed, inner white space runs collapsed to one space."""
    return " ".join(text.split())


# ---- codes --------------------------------------------------------------------------------------------


def codeable(f: Field, ctx: MapContext, *, table: str | None = None) -> dict[str, Any] | None:
    """CWE/CE/CNE → CodeableConcept (primary and alternate codings, text); ``table`` is the default system."""
    comps = f.components()
    if not comps:
        return None
    comps += [""] * (9 - len(comps))
    codings = []
    for code, shown, system in ((comps[0], comps[1], comps[2]), (comps[3], comps[4], comps[5])):
        code = token(code)
        if not code:
            continue
        coding: dict[str, Any] = {"code": code}
        if system.strip():
            coding["system"] = coding_system(system, ctx)
        elif table:
            coding["system"] = vocabulary.V2_SYSTEM + table
        else:
            coding["system"] = local_system(ctx, "local")
        if shown.strip():
            coding["display"] = shown.strip()
        elif table and (known := vocabulary.display(table, code)):
            coding["display"] = known
        codings.append(coding)
    text = (comps[8] or comps[1] or comps[4]).strip()
    result: dict[str, Any] = {}
    if codings:
        result["coding"] = codings
    if text:
        result["text"] = text
    return result or None


def code_value(f: Field) -> str:
    """The first component, stripped (for ID/IS/CWE fields read as a plain code)."""
    return f.get(1).strip()


# ---- identifiers --------------------------------------------------------------------------------------


def authority_system(namespace: str, universal: str, kind: str, ctx: MapContext) -> str | None:
    """The system for an HD assigning authority (namespace, universal id, universal id type)."""
    kind = kind.strip().upper()
    if universal.strip():
        if kind == "ISO" or _OID.fullmatch(universal.strip()):
            return f"urn:oid:{universal.strip()}"
        if kind == "UUID":
            return f"urn:uuid:{universal.strip()}"
        if kind in ("URI", "URL") or universal.startswith(("http", "urn:")):
            return universal.strip()
    if namespace.strip():
        return coding_system(namespace, ctx) if namespace.upper() in KNOWN_SYSTEMS else local_system(ctx, namespace)
    return None


def identifier(cx: Field, ctx: MapContext, *, default_type: str = "") -> dict[str, Any] | None:
    """CX → Identifier (value, system from the assigning authority, v2-0203 type, period)."""
    value = cx.get(1).strip()
    if not value:
        return None
    authority = cx.component_field(4)
    system = authority_system(authority.get(1), authority.get(2), authority.get(3), ctx)
    kind = token(cx.get(5)) or default_type
    result: dict[str, Any] = {"value": value}
    result["system"] = system or local_system(ctx, kind or "id")
    if kind:
        result["type"] = {"coding": [vocabulary.v2_coding("0203", kind)]}
    period = {k: v for k, v in (("start", date(cx.get(7))), ("end", date(cx.get(8)))) if v}
    if period:
        result["period"] = period
    return result


def entity_identifier(ei: Field, ctx: MapContext, kind: str = "") -> dict[str, Any] | None:
    """EI → Identifier (namespace or universal id as system)."""
    value = ei.get(1).strip()
    if not value:
        return None
    result: dict[str, Any] = {"value": value}
    system = authority_system(ei.get(2), ei.get(3), ei.get(4), ctx)
    result["system"] = system or local_system(ctx, kind or "id")
    if kind:
        result["type"] = {"coding": [vocabulary.v2_coding("0203", kind)]}
    return result


def ei_key(ei: Field) -> tuple[str, str]:
    """(namespace, value) of an EI, for deterministic ids."""
    return (ei.get(3).strip() or ei.get(2).strip(), ei.get(1).strip())


# ---- people and places --------------------------------------------------------------------------------


def human_name(xpn: Field, ctx: MapContext) -> dict[str, Any] | None:
    """XPN → HumanName. A Chinese name sent whole in the family component is split into surname and given."""
    family = xpn.get(1).strip()
    given = [g for g in (xpn.get(2).strip(), xpn.get(3).strip()) if g]
    if not family and not given:
        return None
    name: dict[str, Any] = {}
    if family and not given and _CJK.search(family) and len(family) >= 2:
        surname, rest = split_surname(family)
        name["text"] = family
        name["family"] = surname
        if rest:
            name["given"] = [rest]
    else:
        if family:
            name["family"] = family
        if given:
            name["given"] = given
        cjk = _CJK.search(family + "".join(given))
        name["text"] = family + "".join(given) if cjk else " ".join([*given, family]).strip()
    prefix, suffix = xpn.get(5).strip(), xpn.get(4).strip()
    if prefix:
        name["prefix"] = [prefix]
    if suffix:
        name["suffix"] = [suffix]
    use = vocabulary.target("name_use", xpn.get(7).strip())
    if use:
        name["use"] = use
    return name


def address(xad: Field) -> dict[str, Any] | None:
    """XAD → Address; ``text`` is written largest unit first for Chinese addresses."""
    street, other, city, state, postal, country = (xad.get(i).strip() for i in range(1, 7))
    county = xad.get(9).strip()
    if not any((street, other, city, state, postal, country, county)):
        return None
    result: dict[str, Any] = {}
    lines = [x for x in (street, other) if x]
    if lines:
        result["line"] = lines
    for key, value in (("city", city), ("district", county), ("state", state), ("postalCode", postal)):
        if value:
            result[key] = value
    if country:
        result["country"] = country
    if _CJK.search(street + city + state):
        result["text"] = "".join(x for x in (state, city, county, street, other) if x)
    use = vocabulary.target("address_use", xad.get(7).strip())
    if use:
        result["use"] = use
    return result


_TELECOM_SYSTEM = {"PH": "phone", "CP": "phone", "FX": "fax", "BP": "pager", "INTERNET": "email", "X.400": "email"}
_TELECOM_USE = {"PRN": "home", "ORN": "home", "VHN": "home", "WPN": "work", "PRS": "mobile", "EMR": "temp"}


def telecom(xtn: Field) -> dict[str, Any] | None:
    """XTN → ContactPoint."""
    equipment = xtn.get(3).strip().upper()
    email = xtn.get(4).strip()
    if equipment in ("INTERNET", "X.400") or (email and not xtn.get(7).strip()):
        value = email or xtn.get(1).strip()
        system = "email"
    else:
        parts = [xtn.get(5).strip(), xtn.get(6).strip(), xtn.get(7).strip()]
        value = xtn.get(12).strip() or "".join(p for p in parts if p) or xtn.get(1).strip()
        extension = xtn.get(8).strip()
        if value and extension:
            value = f"{value} ext. {extension}"
        system = _TELECOM_SYSTEM.get(equipment, "phone")
    if not value:
        return None
    result: dict[str, Any] = {"system": system, "value": value}
    use = "mobile" if equipment == "CP" else _TELECOM_USE.get(xtn.get(2).strip().upper())
    if use:
        result["use"] = use
    return result


def practitioner(xcn: Field, ctx: MapContext) -> dict[str, str] | None:
    """XCN → a Practitioner resource (id from the id number and assigning authority); returns its Reference."""
    number = xcn.get(1).strip()
    name = human_name(_xcn_name(xcn), ctx)
    if not number and not name:
        return None
    authority = xcn.component_field(9)
    resource: dict[str, Any] = {"resourceType": "Practitioner"}
    if number:
        system = authority_system(authority.get(1), authority.get(2), authority.get(3), ctx)
        resource["id"] = stable_id("Practitioner", system or ctx.facility, number)
        resource["identifier"] = [{"system": system or local_system(ctx, "practitioner"), "value": number}]
    else:
        resource["id"] = stable_id("Practitioner", ctx.facility, "name", str(name))
    if name:
        resource["name"] = [name]
    return ctx.add(resource)


def _xcn_name(xcn: Field) -> Field:
    """The XPN inside an XCN (components 2–7) as a field of its own."""
    first = xcn.raw.split(xcn.enc.repetition)[0] if xcn.enc.repetition else xcn.raw
    comps = first.split(xcn.enc.component)
    return Field(xcn.enc.component.join([*comps[1:7], "", comps[9] if len(comps) > 9 else ""]), xcn.enc)


def location(pl: Field, ctx: MapContext) -> dict[str, str] | None:
    """PL → a Location resource for the most specific level given (bed, room or point of care)."""
    poc, room, bed = pl.get(1).strip(), pl.get(2).strip(), pl.get(3).strip()
    facility = pl.component_field(4).get(1).strip()
    building, floor, description = pl.get(7).strip(), pl.get(8).strip(), pl.get(9).strip()
    if not any((poc, room, bed, description)):
        return None
    kind = "bd" if bed else "ro" if room else "wa"
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "id": stable_id("Location", ctx.facility, facility, building, floor, poc, room, bed),
        "status": "active",
        "mode": "instance",
        "name": " ".join(x for x in (facility, building, floor, poc, room, bed) if x) or description,
        "physicalType": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": kind}]
        },
    }
    if description:
        resource["description"] = description
    return ctx.add(resource)
