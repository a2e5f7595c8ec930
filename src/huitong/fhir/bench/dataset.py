"""A synthetic clinical dataset for benchmarks, and a fast loader for it.

Each patient gets encounters, observations, conditions and a medication request (~20 resources), with
deterministic ids and values so runs are comparable. :func:`load_fast` writes rows straight into the
resource, version and index tables with ``executemany`` (the index rows computed by the real indexer);
it builds benchmark fixtures only — the product's write path is :class:`~huitong.fhir.store.ResourceStore`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa

from huitong.db import Database
from huitong.db.schema import resource, resource_version
from huitong.fhir.search.index import Rows, index_rows, insert_rows
from huitong.fhir.stored import instant

PER_PATIENT = 20
LOINC = [("8867-4", "Heart rate", "/min"), ("8310-5", "Body temperature", "Cel"), ("2339-0", "Glucose", "mmol/L")]
SNOMED = [("44054006", "Diabetes mellitus type 2"), ("38341003", "Hypertension"), ("195967001", "Asthma")]
FAMILIES = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋"]
START = datetime(2020, 1, 1, tzinfo=UTC)


def patient_id(n: int) -> str:
    return f"pat-{n:08d}"


def mrn(n: int) -> str:
    return f"MRN{n:09d}"


def patient_resources(n: int) -> list[dict[str, Any]]:
    """The ~20 resources of synthetic patient ``n``."""
    rng = random.Random(n)  # noqa: S311 - benchmark data, not security
    pid = patient_id(n)
    subject = {"reference": f"Patient/{pid}"}
    out: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": pid,
            "identifier": [{"system": "urn:oid:1.2.156.112604.1.2", "value": mrn(n)}],
            "name": [{"family": rng.choice(FAMILIES), "given": [rng.choice(GIVEN)]}],
            "gender": rng.choice(["male", "female"]),
            "birthDate": f"{rng.randint(1930, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        }
    ]
    for e in range(4):
        start = START + timedelta(days=rng.randint(0, 1800), hours=rng.randint(0, 23))
        eid = f"enc-{n:08d}-{e}"
        out.append(
            {
                "resourceType": "Encounter",
                "id": eid,
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "subject": subject,
                "period": {"start": instant(start), "end": instant(start + timedelta(hours=2))},
            }
        )
        for o in range(3):
            code, display, unit = LOINC[o]
            out.append(
                {
                    "resourceType": "Observation",
                    "id": f"obs-{n:08d}-{e}-{o}",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]},
                    "subject": subject,
                    "encounter": {"reference": f"Encounter/{eid}"},
                    "effectiveDateTime": instant(start + timedelta(minutes=10 * o)),
                    "valueQuantity": {
                        "value": round(rng.uniform(3, 120), 1),
                        "unit": unit,
                        "system": "http://unitsofmeasure.org",
                        "code": unit,
                    },
                }
            )
    for c in range(2):
        code, display = SNOMED[(n + c) % len(SNOMED)]
        out.append(
            {
                "resourceType": "Condition",
                "id": f"cond-{n:08d}-{c}",
                "clinicalStatus": {"coding": [{"code": "active"}]},
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}]},
                "subject": subject,
                "onsetDateTime": f"{rng.randint(2000, 2023)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            }
        )
    out.append(
        {
            "resourceType": "MedicationRequest",
            "id": f"mr-{n:08d}",
            "status": "active",
            "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "urn:oid:2.16.156.10011.2.5.1.1", "code": "X1"}]},
            "subject": subject,
            "authoredOn": "2024-01-01",
        }
    )
    return out


def synthetic_resources(count: int) -> Iterator[dict[str, Any]]:
    """``count`` resources, patient by patient."""
    produced = 0
    n = 0
    while produced < count:
        for res in patient_resources(n):
            if produced >= count:
                return
            yield res
            produced += 1
        n += 1


def load_fast(
    db: Database,
    resources: Iterator[dict[str, Any]],
    *,
    chunk: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Insert ``resources`` (each with an id) as version 1, with index rows; returns how many."""
    now = datetime.now(UTC)
    meta = {"versionId": "1", "lastUpdated": instant(now)}
    total = 0
    batch: list[dict[str, Any]] = []

    def flush(items: list[dict[str, Any]]) -> int:
        def job(conn: sa.Connection) -> int:
            start = conn.execute(sa.select(sa.func.coalesce(sa.func.max(resource.c.pk), 0))).scalar_one()
            rows, versions = [], []
            index: Rows = {}
            for offset, res in enumerate(items, 1):
                doc = {"resourceType": res["resourceType"], "id": res["id"], "meta": meta, **res}
                text = orjson.dumps(doc).decode()
                pk = start + offset
                common = {"res_type": res["resourceType"], "last_updated": now, "deleted": False, "content": text}
                rows.append({"pk": pk, "res_id": res["id"], "version_id": 1, **common})
                versions.append({"resource_pk": pk, "version_id": 1, "method": "PUT", **common, "content": None})
                index_rows(pk, res["resourceType"], doc, index)
            conn.execute(resource.insert(), rows)
            conn.execute(resource_version.insert(), versions)
            insert_rows(conn, index)
            return len(rows)

        return db.write(job)

    for res in resources:
        batch.append(res)
        if len(batch) >= chunk:
            total += flush(batch)
            batch = []
            if progress is not None:
                progress(total)
    if batch:
        total += flush(batch)
    if progress is not None:
        progress(total)
    return total
