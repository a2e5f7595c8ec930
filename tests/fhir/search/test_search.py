"""Search through the store and the index tables, every parameter type and modifier, on both backends."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from huitong.db.schema import audit_event
from huitong.fhir.search.errors import SearchError
from huitong.fhir.search.schema import search_string
from huitong.security.actor import Actor
from huitong.services import Services


@dataclass
class Ward:
    """A tiny ward: two patients, an organization, observations and a provenance."""

    services: Services
    actor: Actor
    ids: dict[str, str]

    def find(self, rtype: str, *pairs: tuple[str, str]) -> set[str]:
        result = self.services.search.search(self.actor, rtype, list(pairs))
        names = {v: k for k, v in self.ids.items()}
        return {names.get(m.res_id, m.res_id) for m in result.matches}


@pytest.fixture
def ward(services: Services, actor: Actor) -> Ward:
    store = services.store
    ids: dict[str, str] = {}
    org = store.create(actor, {"resourceType": "Organization", "name": "协和医院", "identifier": [{"value": "PUMCH"}]})
    ids["org"] = org.res_id
    zhang = {
        "resourceType": "Patient",
        "meta": {
            "tag": [{"system": "urn:tags", "code": "vip"}],
            "profile": ["http://example.org/StructureDefinition/cn-patient"],
        },
        "identifier": [{"system": "urn:oid:2.16.156", "value": "110101198005060011"}],
        "name": [{"family": "张", "given": ["三丰"]}],
        "gender": "male",
        "birthDate": "1980-05-06",
        "active": True,
        "managingOrganization": {"reference": f"Organization/{org.res_id}"},
    }
    ids["zhang"] = store.create(actor, zhang).res_id
    muller = {
        "resourceType": "Patient",
        "name": [{"family": "Müller", "given": ["José"]}],
        "gender": "female",
        "birthDate": "1992",
        "telecom": [{"system": "phone", "value": "13800138000"}],
    }
    ids["muller"] = store.create(actor, muller).res_id
    for name, patient, code, value, when in (
        ("glucose", "zhang", "15074-8", 5.4, "2024-03-01T08:00:00+08:00"),
        ("glucose2", "zhang", "15074-8", 11.2, "2024-06-01T08:00:00Z"),
        ("hba1c", "muller", "4548-4", 6.1, "2023-12-24"),
    ):
        obs = {
            "resourceType": "Observation",
            "status": "final",
            "code": {
                "coding": [{"system": "http://loinc.org", "code": code, "display": f"Lab {code}"}],
                "text": "血糖",
            },
            "subject": {"reference": f"Patient/{ids[patient]}"},
            "effectiveDateTime": when,
            "valueQuantity": {
                "value": value,
                "unit": "mmol/L",
                "system": "http://unitsofmeasure.org",
                "code": "mmol/L",
            },
        }
        ids[name] = store.create(actor, obs).res_id
    prov = {
        "resourceType": "Provenance",
        "target": [{"reference": f"Observation/{ids['glucose']}"}],
        "recorded": "2024-03-01T09:00:00Z",
        "agent": [{"who": {"reference": f"Organization/{org.res_id}"}}],
    }
    ids["prov"] = store.create(actor, prov).res_id
    return Ward(services, actor, ids)


CASES = [
    # string: prefix, case/accent-insensitive, Chinese, pinyin, :exact, :contains
    ("Patient", [("name", "mul")], {"muller"}),
    ("Patient", [("name", "MÜLLER")], {"muller"}),
    ("Patient", [("family", "jos")], set()),
    ("Patient", [("given", "jose")], {"muller"}),
    ("Patient", [("name", "张")], {"zhang"}),
    ("Patient", [("name", "张三")], {"zhang"}),
    ("Patient", [("name", "zhangsan")], {"zhang"}),
    ("Patient", [("name:contains", "丰")], {"zhang"}),
    ("Patient", [("name:contains", "ull")], {"muller"}),
    ("Patient", [("name:exact", "Müller")], {"muller"}),
    ("Patient", [("name:exact", "muller")], set()),
    ("Organization", [("name", "协和")], {"org"}),
    # token: code, system|code, |code, system|, :not, :text, booleans, telecom
    ("Patient", [("gender", "male")], {"zhang"}),
    ("Patient", [("gender", "male,female")], {"zhang", "muller"}),
    ("Patient", [("gender:not", "male")], {"muller"}),
    ("Patient", [("identifier", "urn:oid:2.16.156|110101198005060011")], {"zhang"}),
    ("Patient", [("identifier", "urn:other|110101198005060011")], set()),
    ("Patient", [("identifier", "urn:oid:2.16.156|")], {"zhang"}),
    ("Organization", [("identifier", "|PUMCH")], {"org"}),
    ("Patient", [("active", "true")], {"zhang"}),
    ("Patient", [("phone", "13800138000")], {"muller"}),
    ("Observation", [("code", "http://loinc.org|15074-8")], {"glucose", "glucose2"}),
    ("Observation", [("code:text", "血糖")], {"glucose", "glucose2", "hba1c"}),
    ("Observation", [("code:text", "lab 4548")], {"hba1c"}),
    # :missing
    ("Patient", [("telecom:missing", "true")], {"zhang"}),
    ("Patient", [("telecom:missing", "false")], {"muller"}),
    # date with every prefix (birthdate 1980-05-06 and 1992)
    ("Patient", [("birthdate", "1980-05-06")], {"zhang"}),
    ("Patient", [("birthdate", "1980")], {"zhang"}),
    ("Patient", [("birthdate", "eq1992-03")], set()),
    ("Patient", [("birthdate", "ne1980-05-06")], {"muller"}),
    ("Patient", [("birthdate", "gt1985")], {"muller"}),
    ("Patient", [("birthdate", "lt1985")], {"zhang"}),
    ("Patient", [("birthdate", "ge1992-01-01")], {"muller"}),
    ("Patient", [("birthdate", "le1980-05-06")], {"zhang"}),
    ("Patient", [("birthdate", "sa1980-05-06")], {"muller"}),
    ("Patient", [("birthdate", "eb1992-01-01")], {"zhang"}),
    ("Patient", [("birthdate", "ap1980-05-06")], {"zhang"}),
    ("Observation", [("date", "2024-03-01")], {"glucose"}),  # 08:00+08:00 is 00:00Z
    ("Observation", [("date", "ge2024"), ("date", "lt2024-05")], {"glucose"}),
    # quantity and number
    ("Observation", [("value-quantity", "5.4")], {"glucose"}),
    ("Observation", [("value-quantity", "5.4|http://unitsofmeasure.org|mmol/L")], {"glucose"}),
    ("Observation", [("value-quantity", "5.4||mg")], set()),
    ("Observation", [("value-quantity", "gt6")], {"glucose2", "hba1c"}),
    ("Observation", [("value-quantity", "le6.1")], {"glucose", "hba1c"}),
    ("Observation", [("value-quantity", "ap11")], {"glucose2"}),
    ("Observation", [("value-quantity", "ne5.4")], {"glucose2", "hba1c"}),
    # reference: id, Type/id, :Type, chains, _has
    ("Observation", [("subject", "Patient/{zhang}")], {"glucose", "glucose2"}),
    ("Observation", [("patient", "{muller}")], {"hba1c"}),
    ("Observation", [("subject:Patient", "{muller}")], {"hba1c"}),
    ("Observation", [("subject:Patient.name", "zhang")], {"glucose", "glucose2"}),
    ("Observation", [("subject:Patient.identifier", "urn:oid:2.16.156|110101198005060011")], {"glucose", "glucose2"}),
    ("Observation", [("patient.gender", "female")], {"hba1c"}),
    ("Patient", [("organization.name", "协和")], {"zhang"}),
    ("Patient", [("_has:Observation:patient:code", "4548-4")], {"muller"}),
    ("Patient", [("_has:Observation:subject:value-quantity", "gt10")], {"zhang"}),
    ("Observation", [("_has:Provenance:target:agent", "Organization/{org}")], {"glucose"}),
    # _id, _lastUpdated, _tag, _profile
    ("Patient", [("_id", "{zhang},{muller}")], {"zhang", "muller"}),
    ("Patient", [("_id:not", "{zhang}")], {"muller"}),
    ("Patient", [("_lastUpdated", "gt2000-01-01")], {"zhang", "muller"}),
    ("Patient", [("_lastUpdated", "lt2000-01-01")], set()),
    ("Patient", [("_tag", "urn:tags|vip")], {"zhang"}),
    ("Patient", [("_profile", "http://example.org/StructureDefinition/cn-patient")], {"zhang"}),
    ("Patient", [("_profile:below", "http://example.org/")], {"zhang"}),
]


def test_search_finds_exactly(ward: Ward) -> None:
    """Every case in CASES, on one ward per backend (one database, so the table of cases stays fast)."""
    wrong = []
    for rtype, pairs, expected in CASES:
        concrete = [(k, v.format(**ward.ids)) for k, v in pairs]
        found = ward.find(rtype, *concrete)
        if found != expected:
            wrong.append(f"{rtype}?{pairs}: found {sorted(found)}, expected {sorted(expected)}")
    assert not wrong, "\n".join(wrong)


def test_search_is_audited(ward: Ward) -> None:
    ward.find("Patient", ("gender", "male"))
    with ward.services.db.read() as conn:
        rows = conn.execute(sa.select(audit_event).where(audit_event.c.interaction == "search-type")).all()
    assert rows and rows[-1].entity_type == "Patient" and rows[-1].query == "gender=male"


def test_failed_search_is_audited_and_raises_search_error(ward: Ward) -> None:
    with pytest.raises(SearchError):
        ward.find("Patient", ("shoe-size", "42"))
    with ward.services.db.read() as conn:
        outcome = conn.execute(
            sa.select(audit_event.c.outcome).where(audit_event.c.interaction == "search-type")
        ).scalar_one()
    assert outcome == "4"


def test_index_follows_updates_and_deletes(ward: Ward) -> None:
    store, actor, pid = ward.services.store, ward.actor, ward.ids["muller"]
    store.update(actor, "Patient", pid, {"resourceType": "Patient", "id": pid, "name": [{"family": "王"}]})
    assert ward.find("Patient", ("name", "muller")) == set()
    assert ward.find("Patient", ("name", "wang")) == {"muller"}
    store.delete(actor, "Patient", pid)
    assert ward.find("Patient", ("name", "王")) == set()
    with ward.services.db.read() as conn:
        left = conn.execute(
            sa.select(sa.func.count()).where(
                search_string.c.resource_pk.in_(
                    sa.select(sa.text("pk")).select_from(sa.table("resource")).where(sa.text(f"res_id = '{pid}'"))
                )
            )
        ).scalar_one()
    assert left == 0


def test_sort_paging_total_and_includes(ward: Ward) -> None:
    search = ward.services.search
    page = search.search(ward.actor, "Observation", [("_sort", "-date"), ("_count", "2"), ("_total", "accurate")])
    assert [m.res_id for m in page.matches] == [ward.ids["glucose2"], ward.ids["glucose"]]
    assert page.has_more and page.total == 3
    rest = search.search(ward.actor, "Observation", [("_sort", "-date"), ("_count", "2"), ("_offset", "2")])
    assert [m.res_id for m in rest.matches] == [ward.ids["hba1c"]] and not rest.has_more
    by_value = search.search(ward.actor, "Observation", [("_sort", "value-quantity")])
    assert [m.res_id for m in by_value.matches] == [ward.ids[k] for k in ("glucose", "hba1c", "glucose2")]
    inc = search.search(ward.actor, "Observation", [("code", "4548-4"), ("_include", "Observation:subject:Patient")])
    assert [i.res_id for i in inc.included] == [ward.ids["muller"]]
    rev = search.search(ward.actor, "Observation", [("_id", ward.ids["glucose"]), ("_revinclude", "Provenance:target")])
    assert [i.res_id for i in rev.included] == [ward.ids["prov"]]
    count = search.search(ward.actor, "Observation", [("_summary", "count")])
    assert count.total == 3 and count.matches == []


def test_composite_parameters_match_within_one_element(services: Services, actor: Actor) -> None:
    def component(code: str, value: float) -> dict[str, object]:
        quantity = {"value": value, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}
        return {"code": {"coding": [{"system": "http://loinc.org", "code": code}]}, "valueQuantity": quantity}

    def blood_pressure(systolic: float, diastolic: float) -> str:
        body = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
            "effectiveDateTime": "2024-05-01",
            "component": [component("8480-6", systolic), component("8462-4", diastolic)],
        }
        return services.store.create(actor, body).res_id

    high = blood_pressure(150, 85)
    low = blood_pressure(110, 150)  # a diastolic of 150 must not pass for a systolic one
    glucose = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "15074-8"}]},
        "valueQuantity": {"value": 7.2, "unit": "mmol/L"},
    }
    sugar = services.store.create(actor, glucose).res_id

    def find(key: str, value: str) -> set[str]:
        return {m.res_id for m in services.search.search(actor, "Observation", [(key, value)]).matches}

    assert find("component-code-value-quantity", "http://loinc.org|8480-6$gt140") == {high}
    assert find("component-code-value-quantity", "8462-4$gt140") == {low}
    assert find("component-code-value-quantity", "8480-6$lt100") == set()
    assert find("combo-code-value-quantity", "8480-6$110|http://unitsofmeasure.org|mm[Hg]") == {low}
    assert find("code-value-quantity", "15074-8$7.2") == {sugar}
    assert find("code-value-quantity", "15074-8$ge8") == set()
    with pytest.raises(SearchError):
        find("code-value-quantity", "15074-8")
