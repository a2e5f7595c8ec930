"""A handful of synthetic patients with encounters and results, loaded through the resource store.

Everything here is invented. Ids are fixed, so loading twice changes nothing (the store makes no new
version of an unchanged resource). The synthetic-hospital generator (``huitong synth``) supersedes this
for larger demos.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from huitong.empi.resident_id import build as build_resident_id
from huitong.fhir.store import ResourceStore
from huitong.fhir.transaction import Transaction
from huitong.identifiers import RESIDENT_ID_SYSTEM
from huitong.security.actor import Actor

HOSPITAL_OID = "urn:oid:2.16.156.10011.0.99999"  # illustrative organisation OID for the demo hospital
MRN_SYSTEM = "urn:huitong:demo:his:mrn"


@dataclass(frozen=True)
class DemoPatient:
    key: str
    family: str
    given: str
    gender: str
    born: date
    division: str
    phone: str
    ward: str
    diagnosis: tuple[str, str]  # ICD-10 code, Chinese display
    glucose: str  # mmol/L, as written (precision kept)


PATIENTS = (
    DemoPatient(
        "p001",
        "王",
        "秀英",
        "female",
        date(1956, 3, 14),
        "110105",
        "13800138001",
        "心内科一病区",
        ("I10", "原发性高血压"),
        "6.1",
    ),
    DemoPatient(
        "p002",
        "李",
        "伟",
        "male",
        date(1978, 11, 2),
        "310104",
        "13900139002",
        "职业病科病区",
        ("J62.8", "其他含硅粉尘所致的尘肺"),
        "5.4",
    ),
    DemoPatient(
        "p003",
        "张",
        "丽",
        "female",
        date(1990, 7, 21),
        "440305",
        "13700137003",
        "中毒救治科病区",
        ("T60.0", "有机磷和氨基甲酸酯杀虫剂的毒性效应"),
        "7.0",
    ),
    DemoPatient(
        "p004", "刘", "强", "male", date(1965, 1, 30), "510107", "13600136004", "重症医学科", ("J18.9", "肺炎"), "11.8"
    ),
    DemoPatient(
        "p005",
        "陈",
        "静",
        "female",
        date(2015, 9, 9),
        "330106",
        "13500135005",
        "儿科病区",
        ("J20.9", "急性支气管炎"),
        "4.9",
    ),
    DemoPatient(
        "p006",
        "曾",
        "志明",
        "male",
        date(1949, 12, 1),
        "420102",
        "13400134006",
        "普外科病区",
        ("K80.2", "胆囊结石不伴有胆囊炎"),
        "5.8",
    ),
)


def _patient(p: DemoPatient, seq: int) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": f"demo-{p.key}",
        "identifier": [
            {
                "use": "usual",
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                "system": MRN_SYSTEM,
                "value": f"MRN{seq:06d}",
            },
            {
                "use": "official",
                "system": RESIDENT_ID_SYSTEM,
                "value": build_resident_id(p.division, p.born, 100 + seq, p.gender),
            },
        ],
        "name": [{"use": "official", "text": p.family + p.given, "family": p.family, "given": [p.given]}],
        "telecom": [{"system": "phone", "value": p.phone, "use": "mobile"}],
        "gender": p.gender,
        "birthDate": p.born.isoformat(),
    }


def _encounter(p: DemoPatient) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": f"demo-{p.key}-enc1",
        "status": "in-progress",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "IMP",
            "display": "inpatient encounter",
        },
        "subject": {"reference": f"Patient/demo-{p.key}"},
        "serviceProvider": {"reference": f"Organization/{department_id(p.ward)}"},
        "period": {"start": "2026-11-20T09:30:00+08:00"},
        "location": [{"location": {"reference": f"Location/{ward_id(p.ward)}-bed-1", "display": p.ward}}],
    }


def _condition(p: DemoPatient) -> dict[str, Any]:
    code, display = p.diagnosis
    return {
        "resourceType": "Condition",
        "id": f"demo-{p.key}-dx1",
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
        },
        "code": {
            "coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code, "display": display}],
            "text": display,
        },
        "subject": {"reference": f"Patient/demo-{p.key}"},
        "encounter": {"reference": f"Encounter/demo-{p.key}-enc1"},
    }


def _glucose(p: DemoPatient) -> dict[str, Any]:
    from decimal import Decimal

    value = Decimal(p.glucose)
    high = value > Decimal("11.1")
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"demo-{p.key}-glu1",
        "status": "final",
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}
        ],
        "code": {
            "coding": [
                {"system": "http://loinc.org", "code": "2345-7", "display": "Glucose [Mass/volume] in Serum or Plasma"}
            ],
            "text": "葡萄糖",
        },
        "subject": {"reference": f"Patient/demo-{p.key}"},
        "encounter": {"reference": f"Encounter/demo-{p.key}-enc1"},
        "effectiveDateTime": "2026-11-21T07:00:00+08:00",
        "valueQuantity": {"value": value, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
        "referenceRange": [
            {"low": {"value": Decimal("3.9"), "unit": "mmol/L"}, "high": {"value": Decimal("6.1"), "unit": "mmol/L"}}
        ],
    }
    if high:
        obs["interpretation"] = [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                        "code": "HH",
                        "display": "Critical high",
                    }
                ]
            }
        ]
    return obs


WARDS = ("心内科一病区", "职业病科病区", "中毒救治科病区", "重症医学科", "儿科病区", "普外科病区")
BEDS_PER_WARD = 4
BED_STATUS = "http://terminology.hl7.org/CodeSystem/v2-0116"


DEPARTMENTS = ("心血管内科", "职业病科", "中毒与职业病救治科", "重症医学科", "儿科", "普通外科")


def ward_id(ward: str) -> str:
    return f"demo-ward-{WARDS.index(ward) + 1}"


def department_id(ward: str) -> str:
    """The department (Organization id) that runs a ward; the demo has one ward per department."""
    return f"demo-dept-{WARDS.index(ward) + 1}"


def _departments() -> list[dict[str, Any]]:
    return [
        {
            "resourceType": "Organization",
            "id": f"demo-dept-{i}",
            "active": True,
            "name": name,
            "type": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                            "code": "dept",
                            "display": "Hospital Department",
                        }
                    ]
                }
            ],
            "partOf": {"display": "汇通演示医院"},
        }
        for i, name in enumerate(DEPARTMENTS, start=1)
    ]


def _locations() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    occupied = {(p.ward, 1) for p in PATIENTS}
    for w, ward in enumerate(WARDS, start=1):
        out.append(
            {
                "resourceType": "Location",
                "id": f"demo-ward-{w}",
                "status": "active",
                "name": ward,
                "mode": "instance",
                "managingOrganization": {"reference": f"Organization/demo-dept-{w}"},
                "physicalType": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "wa"}]
                },
            }
        )
        for b in range(1, BEDS_PER_WARD + 1):
            status = "O" if (ward, b) in occupied else ("K" if b == BEDS_PER_WARD else "U")
            out.append(
                {
                    "resourceType": "Location",
                    "id": f"demo-ward-{w}-bed-{b}",
                    "status": "active",
                    "name": f"{b:02d}床",
                    "mode": "instance",
                    "managingOrganization": {"reference": f"Organization/demo-dept-{w}"},
                    "partOf": {"reference": f"Location/demo-ward-{w}"},
                    "operationalStatus": {"system": BED_STATUS, "code": status},
                    "physicalType": {
                        "coding": [
                            {"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "bd"}
                        ]
                    },
                }
            )
    return out


def _slots() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "resourceType": "Schedule",
            "id": "demo-schedule-cardio",
            "active": True,
            "serviceType": [{"text": "心血管内科门诊"}],
            "actor": [{"display": "心血管内科门诊"}],
        }
    ]
    for day in range(1, 4):
        for hour in (8, 9, 10, 14, 15):
            out.append(
                {
                    "resourceType": "Slot",
                    "id": f"demo-slot-{day}-{hour}",
                    "status": "free",
                    "schedule": {"reference": "Schedule/demo-schedule-cardio"},
                    "serviceType": [{"text": "心血管内科门诊"}],
                    "start": f"2026-12-{day:02d}T{hour:02d}:00:00+08:00",
                    "end": f"2026-12-{day:02d}T{hour:02d}:30:00+08:00",
                }
            )
    return out


THEATRE_TYPE = "urn:huitong:location-type"  # local code: an operating theatre (手术间)
THEATRES = 3
#: (patient key, theatre, start, end, ICD-9-CM-3 code, display) — operations of 2026-11-21, China time.
OPERATIONS = (
    ("p006", 1, "08:10", "10:40", "51.23", "腹腔镜胆囊切除术"),
    ("p004", 2, "09:00", "09:45", "31.1", "暂时性气管切开术"),
    ("p001", 1, "13:30", "15:00", "37.22", "左心导管检查"),
)
#: (code, display, unit price in CNY, quantity) billed to every demo inpatient.
CHARGES = (
    ("bed", "床位费", "60.00", 2),
    ("lab-glu", "血清葡萄糖测定", "8.50", 1),
    ("nursing", "一级护理", "26.00", 2),
)
#: (medication, dose, times of day) given to inpatients of the first three wards.
MEDICATIONS = (
    ("p001", "苯磺酸氨氯地平片 5mg", ("08:00:00",)),
    ("p002", "乙酰半胱氨酸泡腾片 600mg", ("08:00:00", "20:00:00")),
    ("p004", "头孢曲松钠 2g 静滴", ("08:00:00", "20:00:00")),
)


def _theatres() -> list[dict[str, Any]]:
    return [
        {
            "resourceType": "Location",
            "id": f"demo-or-{n}",
            "status": "active",
            "name": f"第{n}手术间",
            "mode": "instance",
            "type": [{"coding": [{"system": THEATRE_TYPE, "code": "theatre", "display": "手术间"}]}],
            "physicalType": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "ro"}]
            },
        }
        for n in range(1, THEATRES + 1)
    ]


def _operations() -> list[dict[str, Any]]:
    return [
        {
            "resourceType": "Procedure",
            "id": f"demo-{key}-op{n}",
            "status": "completed",
            "category": {"coding": [{"system": "http://snomed.info/sct", "code": "387713003", "display": "手术"}]},
            "code": {
                "coding": [{"system": "http://hl7.org/fhir/sid/icd-9-cm", "code": code, "display": display}],
                "text": display,
            },
            "subject": {"reference": f"Patient/demo-{key}"},
            "encounter": {"reference": f"Encounter/demo-{key}-enc1"},
            "location": {"reference": f"Location/demo-or-{room}"},
            "performedPeriod": {"start": f"2026-11-21T{start}:00+08:00", "end": f"2026-11-21T{end}:00+08:00"},
        }
        for n, (key, room, start, end, code, display) in enumerate(OPERATIONS, start=1)
    ]


def _charges(p: DemoPatient) -> list[dict[str, Any]]:
    from decimal import Decimal

    return [
        {
            "resourceType": "ChargeItem",
            "id": f"demo-{p.key}-charge-{code}",
            "status": "billable",
            "code": {
                "coding": [{"system": "urn:huitong:demo:charge", "code": code, "display": display}],
                "text": display,
            },
            "subject": {"reference": f"Patient/demo-{p.key}"},
            "context": {"reference": f"Encounter/demo-{p.key}-enc1"},
            "occurrenceDateTime": "2026-11-21T00:00:00+08:00",
            "quantity": {"value": quantity},
            "priceOverride": {"value": Decimal(price), "currency": "CNY"},
        }
        for code, display, price, quantity in CHARGES
    ]


def _medication_requests() -> list[dict[str, Any]]:
    return [
        {
            "resourceType": "MedicationRequest",
            "id": f"demo-{key}-rx1",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"text": medication},
            "subject": {"reference": f"Patient/demo-{key}"},
            "encounter": {"reference": f"Encounter/demo-{key}-enc1"},
            "authoredOn": "2026-11-20T10:00:00+08:00",
            "dosageInstruction": [
                {
                    "text": medication,
                    "timing": {
                        "repeat": {"frequency": len(times), "period": 1, "periodUnit": "d", "timeOfDay": list(times)}
                    },
                }
            ],
        }
        for key, medication, times in MEDICATIONS
    ]


def demo_resources() -> list[dict[str, Any]]:
    """Every demo resource: wards, beds and theatres, clinic slots, then patients with their records."""
    out: list[dict[str, Any]] = [*_departments(), *_locations(), *_theatres(), *_slots()]
    for seq, p in enumerate(PATIENTS, start=1):
        out += [_patient(p, seq), _encounter(p), _condition(p), _glucose(p), *_charges(p)]
    return [*out, *_operations(), *_medication_requests()]


def load_demo(store: ResourceStore) -> int:
    """Load the demo resources in one transaction; returns how many resources were written or kept."""
    resources = demo_resources()

    def work(tx: Transaction) -> int:
        for body in resources:
            tx.update(body, body["id"])
        return len(resources)

    return store.transaction(Actor.system("demo"), work)
