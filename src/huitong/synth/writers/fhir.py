"""FHIR R4 transaction bundles from the EMR: one bundle per encounter (Patient, Encounter, Condition,
Procedure), PUT with stable ids so that loading a bundle twice changes nothing; and one master-data bundle
(Organization, Location, Practitioner).

Identifier and code systems are the WS/T 500 OIDs of :mod:`huitong.identifiers` (居民身份证号码, 住院号, 门（急）诊号,
ICD-10, ICD-9-CM-3, 入院途径, 离院方式, 入院病情, 手术级别, 切口类别, 愈合等级; organisation, department, ward and
staff codes). Front-page attributes without an R4 element are extensions under :data:`EXTENSION_BASE`, a
placeholder namespace of this generator.
"""

from __future__ import annotations

from typing import Any

from huitong.fhir.resource_types import stamp_source
from huitong.identifiers import (
    ADMISSION_ROUTE,
    DEPARTMENT_ID_SYSTEM,
    DISPOSITION,
    HEALING_GRADE,
    ICD9CM3,
    ICD10,
    INCISION_CLASS,
    INPATIENT_NO_SYSTEM,
    OPERATION_LEVEL,
    ORGANIZATION_ID_SYSTEM,
    OUTPATIENT_NO_SYSTEM,
    PRESENT_ON_ADMISSION,
    RESIDENT_ID_SYSTEM,
    STAFF_ID_SYSTEM,
    WARD_ID_SYSTEM,
)
from huitong.synth.catalogues.departments import (
    DEPARTMENTS,
    HOSPITAL_CODE,
    HOSPITAL_NAME_ZH,
    HOSPITAL_OID,
    WARDS,
)
from huitong.synth.catalogues.diagnoses import DIAGNOSIS_BY_CODE
from huitong.synth.catalogues.staff import StaffMember
from huitong.synth.clock import Clock
from huitong.synth.model import Operation, Stay, Visit
from huitong.synth.registration import Registration

EXTENSION_BASE = "https://fhir.huitong.invalid/StructureDefinition/"
EMR_PATIENT_SYSTEM = f"urn:oid:{HOSPITAL_OID}.4"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
#: GB/T 8561 professional title codes, under the hospital's own (illustrative) OID.
TITLE_SYSTEM = f"urn:oid:{HOSPITAL_OID}.20"
_POA = {"1": "有", "2": "临床未确定", "3": "情况不明", "4": "无"}
_ROUTE = {"1": "急诊", "2": "门诊", "3": "其他医疗机构转入", "9": "其他"}
_DISPOSITION = {
    "1": "医嘱离院",
    "2": "医嘱转院",
    "3": "医嘱转社区卫生服务机构/乡镇卫生院",
    "4": "非医嘱离院",
    "5": "死亡",
    "9": "其他",
}
_INCISION = {"0": "0类切口", "1": "Ⅰ类切口", "2": "Ⅱ类切口", "3": "Ⅲ类切口"}


def _coding(system: str, code: str, display: str = "") -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], **({"text": display} if display else {})}


#: The sending system the EMR's interface names in ``meta.source`` (the HL7 feeds name theirs in MSH-3), so that
#: the data-quality scorecard counts the EMR's records as the EMR's; shared directory entries name none.
EMR_SOURCE = "EMR"


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    stamp_source([resource], EMR_SOURCE)
    return {"resource": resource, "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}}


def patient(reg: Registration, *, deceased: str = "") -> dict[str, Any]:
    """The EMR's Patient for a registration."""
    person = reg.person
    identifiers = [{"system": EMR_PATIENT_SYSTEM, "value": reg.local_id}]
    if reg.resident_id:
        identifiers.append({"system": RESIDENT_ID_SYSTEM, "value": reg.resident_id})
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": f"emr-{reg.local_id}",
        "identifier": identifiers,
        "name": [{"use": "official", "text": reg.family + reg.given, "family": reg.family, "given": [reg.given]}],
        "gender": person.gender,
    }
    if reg.birth:
        resource["birthDate"] = f"{reg.birth[:4]}-{reg.birth[4:6]}-{reg.birth[6:]}"
    if reg.phone:
        resource["telecom"] = [{"system": "phone", "value": reg.phone, "use": "mobile"}]
    if reg.address is not None:
        a = reg.address
        resource["address"] = [
            {
                "use": "home",
                "text": a.text,
                "line": [a.street],
                "district": a.district,
                "city": a.city,
                "state": a.province,
                "postalCode": a.postcode,
                "country": "CN",
            }
        ]
    if person.twin_of:
        resource["multipleBirthInteger"] = 1 if person.key < person.twin_of else 2
    if deceased:
        resource["deceasedDateTime"] = deceased
    return resource


def _practitioner_ref(staff: StaffMember | None) -> dict[str, Any] | None:
    if staff is None:
        return None
    return {"reference": f"Practitioner/{staff.staff_id}", "display": staff.name}


def _condition(cid: str, pid: str, eid: str, code: str, recorded: str, poa: str = "") -> dict[str, Any]:
    dx = DIAGNOSIS_BY_CODE.get(code)
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": cid,
        "category": [
            _coding(
                "http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", "Encounter Diagnosis"
            )
        ],
        "code": _coding(ICD10, code, dx.name_zh if dx else ""),
        "subject": {"reference": f"Patient/{pid}"},
        "encounter": {"reference": f"Encounter/{eid}"},
        "recordedDate": recorded,
    }
    if poa:
        resource["extension"] = [
            {
                "url": EXTENSION_BASE + "present-on-admission",
                "valueCoding": {"system": PRESENT_ON_ADMISSION, "code": poa, "display": _POA[poa]},
            }
        ]
    return resource


def _procedure(rid: str, pid: str, eid: str, op: Operation, clock: Clock) -> dict[str, Any]:
    p = op.procedure
    ext: list[dict[str, Any]] = []
    if p.level:
        ext.append(
            {
                "url": EXTENSION_BASE + "operation-level",
                "valueCoding": {"system": OPERATION_LEVEL, "code": str(p.level)},
            }
        )
    if p.incision in _INCISION:
        ext.append(
            {
                "url": EXTENSION_BASE + "incision-class",
                "valueCoding": {
                    "system": INCISION_CLASS,
                    "code": p.incision,
                    "display": _INCISION[p.incision],
                },
            }
        )
    if op.healing:
        ext.append(
            {
                "url": EXTENSION_BASE + "healing-grade",
                "valueCoding": {"system": HEALING_GRADE, "code": op.healing},
            }
        )
    ext.append({"url": EXTENSION_BASE + "elective", "valueBoolean": op.elective})
    ext.append({"url": EXTENSION_BASE + "day-surgery", "valueBoolean": op.day_surgery})
    resource: dict[str, Any] = {
        "resourceType": "Procedure",
        "id": rid,
        "extension": ext,
        "status": "completed",
        "code": _coding(ICD9CM3, p.code, p.name_zh),
        "subject": {"reference": f"Patient/{pid}"},
        "encounter": {"reference": f"Encounter/{eid}"},
        "performedPeriod": {"start": clock.fhir(op.start), "end": clock.fhir(op.end)},
    }
    performers = [{"actor": ref} for ref in (_practitioner_ref(op.surgeon), _practitioner_ref(op.anaesthetist)) if ref]
    if performers:
        resource["performer"] = performers
    return resource


def stay_bundle(stay: Stay, reg: Registration, clock: Clock) -> dict[str, Any]:
    """Transaction bundle of one discharge."""
    pid = f"emr-{reg.local_id}"
    eid = f"emr-{stay.stay_no}"
    end = clock.fhir(stay.discharge)
    entries = [_entry(patient(reg, deceased=end if stay.died else ""))]
    conditions = []
    diagnoses = [stay.principal, *stay.others] if stay.principal else list(stay.others)
    for i, dx in enumerate(diagnoses, 1):
        cid = f"{eid}-dx{i}"
        conditions.append(_entry(_condition(cid, pid, eid, dx.code, end, dx.poa)))
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": eid,
        "identifier": [{"system": INPATIENT_NO_SYSTEM, "value": stay.stay_no}],
        "status": "finished",
        "class": {"system": ACT_CODE, "code": "IMP", "display": "inpatient encounter"},
        "subject": {"reference": f"Patient/{pid}"},
        "period": {"start": clock.fhir(stay.admit), "end": end},
        "hospitalization": {
            "admitSource": _coding(ADMISSION_ROUTE, stay.route, _ROUTE[stay.route]),
            "dischargeDisposition": _coding(DISPOSITION, stay.disposition, _DISPOSITION[stay.disposition]),
        },
        "location": [
            {
                "location": {"reference": f"Location/{s.ward}"},
                "status": "completed",
                "period": {"start": clock.fhir(s.start), "end": clock.fhir(s.end)},
            }
            for s in stay.segments
        ],
        "serviceProvider": {"reference": f"Organization/dept-{stay.department}"},
    }
    team = [r for r in (_practitioner_ref(stay.team.get("ZZYS")), _practitioner_ref(stay.team.get("ZYYS"))) if r]
    if team:
        encounter["participant"] = [{"individual": r} for r in team]
    if conditions:
        encounter["diagnosis"] = [
            {
                "condition": {"reference": f"Condition/{c['resource']['id']}"},
                "rank": i,
                "use": _coding("http://terminology.hl7.org/CodeSystem/diagnosis-role", "DD", "Discharge diagnosis"),
            }
            for i, c in enumerate(conditions, 1)
        ]
    entries.append(_entry(encounter))
    entries.extend(conditions)
    for i, op in enumerate(stay.operations, 1):
        entries.append(_entry(_procedure(f"{eid}-op{i}", pid, eid, op, clock)))
    return {"resourceType": "Bundle", "id": eid, "type": "transaction", "entry": entries}


def visit_bundle(visit: Visit, reg: Registration, clock: Clock) -> dict[str, Any]:
    """Transaction bundle of one outpatient or emergency visit."""
    pid = f"emr-{reg.local_id}"
    eid = f"emr-{visit.visit_no}"
    start = clock.fhir(visit.consult)
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": eid,
        "identifier": [{"system": OUTPATIENT_NO_SYSTEM, "value": visit.visit_no}],
        "status": "finished",
        "class": (
            {"system": ACT_CODE, "code": "EMER", "display": "emergency"}
            if visit.kind == "E"
            else {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"}
        ),
        "subject": {"reference": f"Patient/{pid}"},
        "period": {"start": clock.fhir(visit.checkin), "end": clock.fhir(visit.consult + 15 * 60)},
        "serviceProvider": {"reference": f"Organization/dept-{visit.department}"},
        "diagnosis": [{"condition": {"reference": f"Condition/{eid}-dx1"}, "rank": 1}],
    }
    doctor = _practitioner_ref(visit.doctor)
    if doctor:
        encounter["participant"] = [{"individual": doctor}]
    return {
        "resourceType": "Bundle",
        "id": eid,
        "type": "transaction",
        "entry": [
            _entry(patient(reg)),
            _entry(encounter),
            _entry(_condition(f"{eid}-dx1", pid, eid, visit.diagnosis, start)),
        ],
    }


def master_bundle(staff: tuple[StaffMember, ...]) -> dict[str, Any]:
    """Organizations (hospital and departments), Locations (wards) and Practitioners."""
    entries = [
        _entry(
            {
                "resourceType": "Organization",
                "id": "hospital",
                "identifier": [{"system": ORGANIZATION_ID_SYSTEM, "value": HOSPITAL_CODE}],
                "active": True,
                "name": HOSPITAL_NAME_ZH,
            }
        )
    ]
    for d in DEPARTMENTS:
        entries.append(
            _entry(
                {
                    "resourceType": "Organization",
                    "id": f"dept-{d.code}",
                    "identifier": [{"system": DEPARTMENT_ID_SYSTEM, "value": d.code}],
                    "active": True,
                    "name": d.name_zh,
                    "alias": [d.name_en],
                    "partOf": {"reference": "Organization/hospital"},
                }
            )
        )
    for w in WARDS:
        entries.append(
            _entry(
                {
                    "resourceType": "Location",
                    "id": w.code,
                    "status": "active",
                    "name": w.name_zh,
                    "identifier": [{"system": WARD_ID_SYSTEM, "value": w.code}],
                    "physicalType": _coding(
                        "http://terminology.hl7.org/CodeSystem/location-physical-type", "wa", "Ward"
                    ),
                    "managingOrganization": {"reference": f"Organization/dept-{w.department}"},
                }
            )
        )
    for s in staff:
        resource: dict[str, Any] = {
            "resourceType": "Practitioner",
            "id": s.staff_id,
            "identifier": [{"system": STAFF_ID_SYSTEM, "value": s.staff_id}],
            "active": True,
            "name": [{"text": s.name, "family": s.name[:1], "given": [s.name[1:]]}],
            "gender": "male" if s.sex == "M" else "female",
        }
        if s.title_code:
            resource["qualification"] = [{"code": _coding(TITLE_SYSTEM, s.title_code, s.title_zh)}]
        entries.append(_entry(resource))
    return {"resourceType": "Bundle", "id": "master", "type": "transaction", "entry": entries}
