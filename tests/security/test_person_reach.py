"""Reach follows the person: a department that treats one record of a person (the HIS registration) reaches the
person's other records (the LIS's, the PACS's) once a Patient names them together — the EMPI's golden Patient
(``Patient.link``) — whichever was written first; only then, and no member of staff can make it so by naming a
patient out of reach."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from huitong.empi.golden import GOLDEN_TAG
from huitong.fhir.errors import FhirError
from huitong.fhir.store import ResourceStore
from huitong.security.access import relink
from huitong.security.actor import Actor
from huitong.security.runtime import SecurityServices
from huitong.security.schema import sec_patient_department, sec_patient_link
from huitong.services import Services
from tests.security.conftest import DEPARTMENT, make_user
from tests.security.test_access_matrix import _observation

SYSTEM = Actor.system("tests")


def _person(store: ResourceStore) -> dict[str, str]:
    """The HIS record (a stay in the doctor's department), the LIS record of the same person with a result, and
    another person's LIS record with a result."""
    store.update(SYSTEM, "Organization", DEPARTMENT, {"resourceType": "Organization", "id": DEPARTMENT})
    ids: dict[str, str] = {}
    for key in ("his", "lis", "stranger"):
        ids[key] = store.create(SYSTEM, {"resourceType": "Patient", "name": [{"family": key}]}).res_id
    _stay(store, ids["his"])
    ids["lab"] = store.create(SYSTEM, _observation(ids["lis"])).res_id
    ids["other_lab"] = store.create(SYSTEM, _observation(ids["stranger"])).res_id
    return ids


def _stay(store: ResourceStore, patient: str) -> None:
    """A stay of ``patient`` in the doctor's department."""
    stay = {"resourceType": "Encounter", "status": "in-progress", "class": {"code": "IMP"}}
    subject = {"subject": {"reference": f"Patient/{patient}"}}
    store.create(SYSTEM, {**stay, **subject, "serviceProvider": {"reference": f"Organization/{DEPARTMENT}"}})


def _golden(*patients: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "person-1",
        "link": [{"other": {"reference": f"Patient/{p}"}, "type": "seealso"} for p in patients],
    }


def _sees(store: ResourceStore, actor: Actor, rtype: str, res_id: str) -> bool:
    try:
        store.read(actor, rtype, res_id)
    except FhirError as exc:
        assert exc.status == 404
        return False
    return True


def _doctor(sec: SecurityServices) -> Actor:
    make_user(sec, "d.person", "doctor")
    account = sec.accounts.get("d.person")
    assert account is not None
    return account.actor()


def test_a_person_s_other_records_are_reached_while_a_patient_links_them(
    services: Services, sec: SecurityServices
) -> None:
    store, search = services.store, services.search
    ids = _person(store)
    doctor = _doctor(sec)
    assert not _sees(store, doctor, "Observation", ids["lab"])  # the lab's record is another Patient

    store.update(SYSTEM, "Patient", "person-1", _golden(ids["his"], ids["lis"]))
    assert _sees(store, doctor, "Patient", ids["lis"])
    assert _sees(store, doctor, "Observation", ids["lab"])
    assert _sees(store, doctor, "Patient", "person-1")
    found = {m.res_id for m in search.search(doctor, "Observation", []).matches}
    assert ids["lab"] in found and ids["other_lab"] not in found
    assert not _sees(store, doctor, "Observation", ids["other_lab"])  # another person stays out of reach


def test_a_stay_recorded_after_the_link_reaches_the_person_s_other_records(
    services: Services, sec: SecurityServices
) -> None:
    store = services.store
    store.update(SYSTEM, "Organization", DEPARTMENT, {"resourceType": "Organization", "id": DEPARTMENT})
    his = store.create(SYSTEM, {"resourceType": "Patient", "name": [{"family": "his"}]}).res_id
    lis = store.create(SYSTEM, {"resourceType": "Patient", "name": [{"family": "lis"}]}).res_id
    lab = store.create(SYSTEM, _observation(lis)).res_id
    store.update(SYSTEM, "Patient", "person-1", _golden(his, lis))  # linked before any stay
    doctor = _doctor(sec)
    assert not _sees(store, doctor, "Observation", lab)
    _stay(store, his)
    assert _sees(store, doctor, "Observation", lab)


def test_staff_cannot_reach_a_patient_by_naming_it_in_a_new_patient(services: Services, sec: SecurityServices) -> None:
    store = services.store
    ids = _person(store)
    doctor = _doctor(sec)
    with pytest.raises(FhirError) as refused:
        store.create(doctor, {"resourceType": "Patient", "link": [{"other": {"reference": f"Patient/{ids['lis']}"}}]})
    assert refused.value.status == 403
    assert not _sees(store, doctor, "Observation", ids["lab"])
    # naming a patient already in reach is allowed (a newborn registered with a link, a duplicate noted)
    store.create(doctor, {"resourceType": "Patient", "link": [{"other": {"reference": f"Patient/{ids['his']}"}}]})


def test_relink_rebuilds_the_person_links(services: Services, sec: SecurityServices) -> None:
    store = services.store
    ids = _person(store)
    store.update(SYSTEM, "Patient", "person-1", _golden(ids["his"], ids["lis"]))

    def around(conn: sa.Connection) -> None:  # as if written around the store
        conn.execute(sa.delete(sec_patient_link))
        conn.execute(sa.delete(sec_patient_department).where(sec_patient_department.c.patient_id == ids["lis"]))

    services.db.write(around)
    doctor = _doctor(sec)
    assert not _sees(store, doctor, "Observation", ids["lab"])
    relink(services.db)
    assert _sees(store, doctor, "Observation", ids["lab"])
    with services.db.read() as conn:
        rows = conn.execute(sa.select(sec_patient_link.c.patient_id)).scalars().all()
    assert sorted(rows) == sorted(["person-1", ids["his"], ids["lis"]])  # Patients naming no other: no rows


def test_the_doctor_s_one_patient_view_shows_the_person_s_records_in_other_systems(
    services: Services, sec: SecurityServices
) -> None:
    from huitong.web.pages.doctor import patient_record

    store = services.store
    ids = _person(store)
    store.update(SYSTEM, "Patient", ids["lis"], {"resourceType": "Patient", "id": ids["lis"], "identifier": [
        {"system": "urn:lis", "value": "L0001"}]})  # fmt: skip
    doctor = _doctor(sec)

    def shown() -> set[str]:
        record = patient_record(services, doctor, ids["his"])
        return {o["id"] for o in record["groups"].get("Observation", [])}

    assert shown() == set()  # the HIS record alone has no results
    golden = {**_golden(ids["his"], ids["lis"]), "meta": {"tag": [dict(GOLDEN_TAG)]}}
    store.update(SYSTEM, "Patient", "person-1", golden)
    assert shown() == {ids["lab"]}  # the LIS's result of the same person; not the stranger's
    record = patient_record(services, doctor, ids["his"])
    assert [p["id"] for p in record["records"]] == [ids["lis"]]  # listed as a record in another system
    assert record["patient"]["id"] == ids["his"]
