"""Terminology on both backends: loading editions, $lookup, $validate-code, $translate, $expand (with pinyin)."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from huitong.fhir.store import ResourceStore
from huitong.security.actor import Actor
from huitong.services import Services
from huitong.terminology.errors import TerminologyError
from huitong.terminology.loader import Edition, code_system_from_csv, starter_resources, store_all, value_set_for
from huitong.terminology.service import Terminology
from huitong.terminology.text import search_text

GENDER = "urn:oid:2.16.156.10011.2.3.3.4"
MARITAL = "urn:oid:2.16.156.10011.2.3.3.5"
FHIR_GENDER = "http://hl7.org/fhir/administrative-gender"


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def loaded(services: Services) -> Terminology:
    store_all(services.store, starter_resources())
    return Terminology(services.db)


def test_lookup_and_designations(loaded: Terminology) -> None:
    found = loaded.lookup(GENDER, "2")
    assert found is not None and found.display == "女性" and found.version == "2003"
    assert found.properties["designation:en"] == "Female"
    assert loaded.lookup(GENDER, "5") is None
    with pytest.raises(TerminologyError, match="not loaded"):
        loaded.lookup("urn:nothing", "1")


def test_validate_code_in_system_and_value_set(loaded: Terminology) -> None:
    assert loaded.validate_code(GENDER, "1") == (True, "valid")
    assert loaded.validate_code(GENDER, "3")[0] is False
    ok, message = loaded.validate_code(GENDER, "1", display="男")
    assert ok and "男性" in message
    assert loaded.validate_code(MARITAL, "21", value_set=f"{MARITAL}/vs")[0]
    assert not loaded.validate_code(GENDER, "1", value_set=f"{MARITAL}/vs")[0]


def test_translate_local_to_standard(loaded: Terminology) -> None:
    [match] = loaded.translate(GENDER, "2", target=FHIR_GENDER)
    assert (match.code, match.equivalence) == ("female", "equivalent")
    assert loaded.translate(GENDER, "7") == []


def test_expand_with_pinyin_filter_and_hierarchy(loaded: Terminology, services: Services) -> None:
    total, page = loaded.expand(f"{MARITAL}/vs", text="hun", count=3)
    assert total >= 5 and len(page) == 3  # 未婚 已婚 初婚 再婚 复婚 离婚 … all contain "hun"
    total, page = loaded.expand(f"{MARITAL}/vs", text="lh")
    assert [c.code for c in page] == ["40"]  # 离婚 by initials
    married = {
        "resourceType": "ValueSet",
        "id": "married-kinds",
        "url": "urn:test:vs:married",
        "status": "active",
        "compose": {
            "include": [{"system": MARITAL, "filter": [{"property": "concept", "op": "descendent-of", "value": "20"}]}]
        },
    }
    store_all(services.store, [married])
    assert sorted(c.code for c in loaded.expand("urn:test:vs:married")[1]) == ["21", "22", "23"]


def test_editions_side_by_side_and_idempotent_reload(services: Services, tmp_path: Path) -> None:
    v1 = write_csv(tmp_path / "v1.csv", "code,display\nA01,甲\nA02,乙\n")
    v2 = write_csv(tmp_path / "v2.csv", "code,display\nA01,甲（修订）\nA03,丙\n")
    cs1 = code_system_from_csv(v1, Edition("urn:test:cs", "1.0", "T", "T"))
    cs2 = code_system_from_csv(v2, Edition("urn:test:cs", "2.0", "T", "T"))
    store_all(services.store, [cs1, value_set_for(cs1), cs2, value_set_for(cs2)])
    store_all(services.store, [cs1])  # unchanged: no new version
    term = Terminology(services.db)
    assert term.lookup("urn:test:cs", "A02", "1.0") is not None
    assert term.lookup("urn:test:cs", "A02") is None  # newest edition by default
    newest = term.lookup("urn:test:cs", "A01")
    assert newest is not None and newest.display == "甲（修订）"
    assert services.store.history(Actor.system("tests"), "CodeSystem", cs1["id"]).total == 1


def test_deleting_a_code_system_removes_its_codes(services: Services) -> None:
    store_all(services.store, starter_resources())
    cs_id = next(r["id"] for r in starter_resources() if r.get("url") == GENDER)
    services.store.delete(Actor.system("tests"), "CodeSystem", cs_id)
    with pytest.raises(TerminologyError):
        Terminology(services.db).lookup(GENDER, "1")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("code,display\nA,\n", "empty display"),
        ("code\nA\n", "missing column"),
        ("code,display\nA,x\nA,y\n", "appears twice"),
        ("code,display,parent\nA,x,Z\n", "parent code"),
    ],
)
def test_bad_csv_is_refused_with_the_reason(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(TerminologyError, match=error):
        code_system_from_csv(write_csv(tmp_path / "bad.csv", text), Edition("urn:x", "1", "X", "X"))


def test_search_text_has_pinyin_and_initials() -> None:
    text = search_text("I10", "原发性高血压")
    assert "yuanfaxinggaoxueya" in text and "yfxgxy" in text and "i10" in text


def test_operations_over_http(client: TestClient, store: ResourceStore) -> None:
    store_all(store, starter_resources())
    lookup = client.get("/fhir/CodeSystem/$lookup", params={"system": GENDER, "code": "1"}).json()
    assert {"name": "display", "valueString": "男性"} in lookup["parameter"]
    missing = client.get("/fhir/CodeSystem/$lookup", params={"system": GENDER, "code": "x"})
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
    assert client.get("/fhir/CodeSystem/$lookup", params={"system": GENDER}).status_code == 400
    valid = client.post(
        "/fhir/ValueSet/$validate-code",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "url", "valueUri": f"{GENDER}/vs"},
                {"name": "system", "valueUri": GENDER},
                {"name": "code", "valueCode": "9"},
            ],
        },
    ).json()
    assert {"name": "result", "valueBoolean": True} in valid["parameter"]
    translated = client.get("/fhir/ConceptMap/$translate", params={"system": GENDER, "code": "1"}).json()
    assert translated["parameter"][0] == {"name": "result", "valueBoolean": True}
    expansion = client.get("/fhir/ValueSet/$expand", params={"url": f"{MARITAL}/vs", "filter": "sang"}).json()
    assert [c["display"] for c in expansion["expansion"]["contains"]] == ["丧偶"]


def test_standard_codings_are_added_beside_local_ones(loaded: Terminology) -> None:
    from huitong.terminology.standardise import add_standard_codings

    resource = {
        "resourceType": "Observation",
        "code": {"coding": [{"system": GENDER, "code": "2"}]},
        "component": [{"code": {"coding": [{"system": GENDER, "code": "1"}, {"system": FHIR_GENDER, "code": "male"}]}}],
    }
    assert add_standard_codings(resource, loaded) == 1
    assert resource["code"]["coding"] == [
        {"system": GENDER, "code": "2"},
        {"system": FHIR_GENDER, "code": "female", "display": "Female"},
    ]
    assert len(resource["component"][0]["code"]["coding"]) == 2
