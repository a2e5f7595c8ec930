"""De-identified export: pseudonyms, date shifting, generalisation, k-anonymity, audit."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from huitong.security.actor import Actor
from huitong.security.deid import Deidentifier, KAnonymityError, deidentify, k_anonymity
from huitong.security.deid_export import export_deidentified
from huitong.security.schema import audit_log
from huitong.services import Services

KEY = b"k" * 32
TODAY = date(2026, 11, 27)


def _patient(pid: str, birth: str, gender: str = "female", city: str = "北京市") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.1", "value": "11010519491231002X"}],
        "name": [{"family": "张", "given": ["伟"]}],
        "telecom": [{"system": "phone", "value": "13800138000"}],
        "gender": gender,
        "birthDate": birth,
        "address": [{"line": ["中关村大街1号"], "city": city, "state": "北京市", "country": "CN"}],
    }


def test_one_patient_is_deidentified() -> None:
    deid = Deidentifier(KEY, TODAY)
    out = deid.resource(_patient("p1", "1980-03-04"), "p1")
    text = str(out)
    for secret in ("11010519491231002X", "张", "13800138000", "中关村", "1980-03-04", "p1"):
        assert secret not in text
    assert out["extension"][0]["valueString"] == "45-49"
    assert out["address"] == [{"state": "北京市", "city": "北京市", "country": "CN"}]
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "subject": {"reference": "Patient/p1", "display": "张伟"},
        "effectiveDateTime": "2026-01-10T08:00:00+08:00",
        "issued": "2026-01-10T09:30:00+08:00",
        "note": [{"text": "张伟 said…"}],
    }
    shifted = deid.resource(obs, "p1")
    assert shifted["subject"] == {"reference": f"Patient/{out['id']}"}  # links survive, pseudonymised
    assert "note" not in shifted and "张伟" not in str(shifted)
    assert shifted["effectiveDateTime"] != obs["effectiveDateTime"]
    # the interval between two dates of one patient is kept
    from datetime import datetime

    before = datetime.fromisoformat(obs["issued"]) - datetime.fromisoformat(obs["effectiveDateTime"])
    after = datetime.fromisoformat(shifted["issued"]) - datetime.fromisoformat(shifted["effectiveDateTime"])
    assert before == after
    assert deid.shift_days("p1") == Deidentifier(KEY, TODAY).shift_days("p1") != 0


def test_k_anonymity_suppresses_or_refuses() -> None:
    patients = [_patient(f"p{i}", "1980-01-01") for i in range(5)] + [_patient("rare", "1931-01-01", "male", "拉萨市")]
    deid = Deidentifier(KEY, TODAY)
    smallest, small = k_anonymity([deid.quasi_identifiers(p) for p in patients], 5)
    assert smallest == 1 and small == [("90+", "male", "北京市/拉萨市")]
    released = deidentify(patients, [], deid, k=5)
    assert released.patients == 5 and released.suppressed_patients == 1 and released.smallest_class >= 5
    with pytest.raises(KAnonymityError):
        deidentify(patients, [], deid, k=5, suppress=False)


def test_export_through_the_store_is_audited(services: Services) -> None:
    system = Actor.system("research-export")
    for i in range(3):
        pid = services.store.create(system, _patient(f"x{i}", "1990-05-05")).res_id
        services.store.create(
            system,
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "hr"},
                "subject": {"reference": f"Patient/{pid}"},
                "effectiveDateTime": "2026-01-01",
            },
        )
    result = export_deidentified(services.store, system, services.settings.security, reference_date=TODAY, k=3)
    assert result.patients == 3 and len(result.resources) == 6
    with services.db.read() as conn:
        row = conn.execute(sa.select(audit_log).where(audit_log.c.interaction == "export")).one()
    assert "k=3" in row.query and row.actor_id == "system:research-export"
