"""Search features through the HTTP API on SQLite and PostgreSQL: full text (``_text``, ``_content``), token
modifiers answered by the terminology (``:in``, ``:not-in``, ``:below``, ``:above``), ``:of-type``,
identifier ``:text``, uri ``:above``, keyset paging cursors, and composite index rows kept in step on update.
"""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

ICD = "http://example.org/fhir/CodeSystem/icd-demo"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


def _create(client: TestClient, body: dict[str, Any]) -> str:
    response = client.post(f"/fhir/{body['resourceType']}", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _ids(client: TestClient, path: str, **params: str) -> set[str]:
    response = client.get(f"/fhir/{path}", params=params)
    assert response.status_code == 200, response.text
    return {e["resource"]["id"] for e in response.json().get("entry", []) if e["search"]["mode"] == "match"}


def _condition(client: TestClient, code: str, narrative: str = "") -> str:
    body: dict[str, Any] = {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": ICD, "code": code}], "text": f"诊断 {code}"},
    }
    if narrative:
        body["text"] = {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{narrative}</div>'}
    return _create(client, body)


def test_content_leaves_dates_and_times_out(client: TestClient) -> None:
    body = {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "code": {"text": "痛风"},
        "onsetDateTime": "2021-03-04T10:20:00+08:00",
        "recordedDate": "2021-03-05",
        "note": [{"text": "随访至 2022 年 10:30"}],
    }
    cid = _create(client, body)
    assert _ids(client, "Condition", _content="痛风") == {cid}
    assert _ids(client, "Condition", _content="2021") == set()  # dates are searched by onset-date, recorded-date
    assert _ids(client, "Condition", _content="04t10") == _ids(client, "Condition", _content="03") == set()
    assert _ids(client, "Condition", _content="2022") == {cid}  # a year inside text is a word of it
    assert _ids(client, "Condition", _content="30") == {cid}


def test_full_text_on_narrative_and_content(client: TestClient) -> None:
    first = _condition(
        client, "I10", "<p>患者主诉<b>高血压</b>三年，伴头痛。</p> Essential hypertension &amp; follow-up"
    )
    second = _condition(client, "E11", "<p>2型糖尿病，血糖控制欠佳</p>")
    third = _condition(client, "J45")  # no narrative
    assert _ids(client, "Condition", _text="高血压") == {first}
    assert _ids(client, "Condition", _text="血压 头痛") == {first}  # every word must be there
    assert _ids(client, "Condition", _text="血压 血糖") == set()
    assert _ids(client, "Condition", _text="HYPERTENS") == {first}  # words match by prefix, any case
    assert _ids(client, "Condition", _text="高血压,糖尿病") == {first, second}  # commas: alternatives
    assert _ids(client, "Condition", _text="压") == {first}  # one character: where it ends a run, too
    assert _ids(client, "Condition", _text="诊断") == set()  # code.text is not narrative …
    assert _ids(client, "Condition", _content="诊断") == {first, second, third}  # … but it is content
    assert _ids(client, "Condition", _content="j45") == {third}
    assert _ids(client, "Condition", _content="糖尿病") == {second}
    # _text is indexed as part of each write: an update replaces the terms.
    body = client.get(f"/fhir/Condition/{second}").json()
    body["text"]["div"] = '<div xmlns="http://www.w3.org/1999/xhtml">已缓解</div>'
    assert client.put(f"/fhir/Condition/{second}", json=body).status_code == 200
    assert _ids(client, "Condition", _text="糖尿病") == set()
    assert _ids(client, "Condition", _text="缓解") == {second}
    bad = client.get("/fhir/Condition", params={"_text": "  ,;; "})
    assert bad.status_code == 400 and bad.json()["resourceType"] == "OperationOutcome"
    assert "word" in bad.json()["issue"][0]["diagnostics"]


def _load_terminology(client: TestClient) -> None:
    code_system = {
        "resourceType": "CodeSystem",
        "url": ICD,
        "version": "1",
        "status": "active",
        "content": "complete",
        "hierarchyMeaning": "is-a",
        "concept": [
            {
                "code": "I",
                "display": "循环系统疾病",
                "concept": [
                    {"code": "I10", "display": "原发性高血压"},
                    {"code": "I20", "display": "心绞痛", "concept": [{"code": "I20.0", "display": "不稳定性心绞痛"}]},
                ],
            },
            {"code": "E", "display": "内分泌疾病", "concept": [{"code": "E11", "display": "2型糖尿病"}]},
        ],
    }
    assert client.post("/fhir/CodeSystem", json=code_system).status_code == 201
    value_set = {
        "resourceType": "ValueSet",
        "url": "http://example.org/fhir/ValueSet/cardio",
        "status": "active",
        "compose": {"include": [{"system": ICD, "filter": [{"property": "concept", "op": "is-a", "value": "I"}]}]},
    }
    assert client.post("/fhir/ValueSet", json=value_set).status_code == 201
    expanded = {
        "resourceType": "ValueSet",
        "url": "http://example.org/fhir/ValueSet/diabetes",
        "status": "active",
        "expansion": {"timestamp": "2026-01-01", "contains": [{"system": ICD, "code": "E11"}]},
    }
    assert client.post("/fhir/ValueSet", json=expanded).status_code == 201


def test_token_modifiers_from_the_terminology(client: TestClient) -> None:
    _load_terminology(client)
    htn = _condition(client, "I10")
    angina = _condition(client, "I20.0")
    dm = _condition(client, "E11")
    other = _create(client, {"resourceType": "Condition", "subject": {"reference": "Patient/p1"}})  # no code
    cardio = "http://example.org/fhir/ValueSet/cardio"
    assert _ids(client, "Condition", **{"code:in": cardio}) == {htn, angina}
    assert _ids(client, "Condition", **{"code:not-in": cardio}) == {dm, other}
    assert _ids(client, "Condition", **{"code:in": "http://example.org/fhir/ValueSet/diabetes"}) == {dm}
    vs_id = client.get("/fhir/ValueSet", params={"url": cardio}).json()["entry"][0]["resource"]["id"]
    assert _ids(client, "Condition", **{"code:in": f"ValueSet/{vs_id}"}) == {htn, angina}
    assert _ids(client, "Condition", **{"code:below": f"{ICD}|I20"}) == {angina}
    assert _ids(client, "Condition", **{"code:below": f"{ICD}|I"}) == {htn, angina}
    assert _ids(client, "Condition", **{"code:above": f"{ICD}|I20.0"}) == {angina}  # I20.0, I20, I: only I20.0 used
    assert _ids(client, "Condition", **{"code:above": f"{ICD}|I10"}) == {htn}
    # Chained: observations of patients … here simply through a reference to a condition.
    obs = _create(
        client,
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "focus": [{"reference": f"Condition/{angina}"}],
        },
    )
    assert _ids(client, "Observation", **{"focus:Condition.code:below": f"{ICD}|I"}) == {obs}
    assert _ids(client, "Condition", _filter=f"code in {cardio} and not (code sb {ICD}|I20)") == {htn}
    assert _ids(client, "Condition", _filter=f"code ni {cardio}") == {dm, other}
    for params, message in (
        ({"code:in": "http://example.org/fhir/ValueSet/none"}, "not loaded"),
        ({"code:below": "I10"}, "system|code"),
        ({"code:below": "http://nowhere.org/cs|I10"}, "not loaded"),
    ):
        response = client.get("/fhir/Condition", params=params)
        assert response.status_code == 400, params
        assert message in response.json()["issue"][0]["diagnostics"]


def test_identifier_of_type_and_text(client: TestClient) -> None:
    mrn = {"type": {"coding": [{"system": V2_0203, "code": "MR", "display": "Medical record number"}]}}
    patient = _create(
        client,
        {
            "resourceType": "Patient",
            "identifier": [
                {**mrn, "system": "urn:hospital:mrn", "value": "12345"},
                {"type": {"text": "居民身份证"}, "system": "urn:oid:2.16.156.10011.1.1", "value": "110101199003077777"},
            ],
        },
    )
    _create(client, {"resourceType": "Patient", "identifier": [{"system": "urn:hospital:mrn", "value": "12345"}]})
    assert _ids(client, "Patient", **{"identifier:of-type": f"{V2_0203}|MR|12345"}) == {patient}
    assert _ids(client, "Patient", **{"identifier:of-type": f"{V2_0203}|SS|12345"}) == set()
    assert _ids(client, "Patient", **{"identifier:of-type": f"{V2_0203}|MR|99999"}) == set()
    assert _ids(client, "Patient", **{"identifier:text": "medical record"}) == {patient}
    assert _ids(client, "Patient", **{"identifier:text": "居民"}) == {patient}
    bad = client.get("/fhir/Patient", params={"identifier:of-type": "MR|12345"})
    assert bad.status_code == 400 and "system|code|value" in bad.json()["issue"][0]["diagnostics"]


def test_filter_expressions(client: TestClient) -> None:
    zhang = _create(
        client,
        {
            "resourceType": "Patient",
            "name": [{"family": "张", "given": ["三丰"]}],
            "gender": "male",
            "birthDate": "2001-05-01",
        },
    )
    li = _create(
        client,
        {
            "resourceType": "Patient",
            "name": [{"family": "李", "given": ["静"]}],
            "gender": "female",
            "birthDate": "1990-02-03",
        },
    )
    muller = _create(
        client, {"resourceType": "Patient", "name": [{"family": "Müller", "given": ["Anna"]}], "gender": "female"}
    )
    obs = _create(
        client,
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": f"Patient/{li}"},
        },
    )

    def found(expression: str, rtype: str = "Patient") -> set[str]:
        return _ids(client, rtype, _filter=expression)

    assert found('name eq "张三丰"') == {zhang}
    assert found('name eq "张"') == {zhang}  # the family name alone is a whole value too
    assert found('name eq "张三"') == set()  # eq is the whole value, sw the start
    assert found('name sw "张三"') == {zhang}
    assert found("name co ull") == {muller}  # accent-insensitive
    assert found('family ew "LLER"') == {muller}
    assert found("gender eq female and birthdate lt 2000") == {li}
    assert found("gender eq male or family eq muller") == {zhang, muller}
    assert found("not (gender eq female)") == {zhang}
    assert found("gender ne female") == {zhang}
    assert found("birthdate pr false") == {muller}
    assert found("(gender eq female or gender eq male) and not (birthdate pr true)") == {muller}
    assert found("gender eq male or gender eq female and birthdate ge 2000") == {zhang}  # and binds first
    assert found("patient.gender eq female", "Observation") == {obs}
    assert found('subject:Patient.name sw "li"', "Observation") == {obs}  # pinyin of 李
    # combined with ordinary parameters (AND)
    assert _ids(client, "Patient", gender="female", _filter="birthdate pr true") == {li}
    for bad, message in (
        ('name xx "a"', "unknown operator"),
        ("(name eq a", "parenthesis"),
        ("name[use eq official] eq x", "not supported"),
        ("gender co ma", "does not apply"),
        ("nothing eq 1", "unknown search parameter"),
        ('name eq "unclosed', "double quote"),
        ("birthdate po 2000", "po"),
        ("", "empty"),
        ("link.gender eq male", "needs a type"),
    ):
        response = client.get("/fhir/Patient", params={"_filter": bad})
        assert response.status_code == 400, bad
        assert message in response.json()["issue"][0]["diagnostics"], (bad, response.json())


def test_capability_statement_lists_full_text(client: TestClient) -> None:
    rest = client.get("/fhir/metadata").json()["rest"][0]
    condition = next(r for r in rest["resource"] if r["type"] == "Condition")
    params = {p["name"]: p["type"] for p in condition["searchParam"]}
    assert params["_text"] == "string" and params["_content"] == "string" and params["code"] == "token"


def test_uri_above(client: TestClient) -> None:
    base = _create(client, {"resourceType": "ValueSet", "status": "active", "url": "http://example.org/fhir/ValueSet"})
    _create(client, {"resourceType": "ValueSet", "status": "active", "url": "http://example.org/other"})
    found = _ids(client, "ValueSet", **{"url:above": "http://example.org/fhir/ValueSet/123/_history/5"})
    assert found == {base}


def _follow(client: TestClient, first: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    ids: list[str] = []
    pages = [first]
    bundle = first
    while True:
        ids += [e["resource"]["id"] for e in bundle.get("entry", [])]
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        if "next" not in links:
            return ids, pages
        assert "_cursor=" in links["next"] and "_offset" not in links["next"]
        bundle = client.get(links["next"]).json()
        pages.append(bundle)


def test_keyset_paging_follows_cursors(client: TestClient) -> None:
    created = [_create(client, {"resourceType": "Patient", "birthDate": f"20{i:02d}-01-01"}) for i in range(7)]
    first = client.get("/fhir/Patient", params={"_count": "3", "_total": "estimate"}).json()
    ids, pages = _follow(client, first)
    assert ids == created and len(pages) == 3
    # previous from the last page is the middle page again
    links = {link["relation"]: link["url"] for link in pages[2]["link"]}
    back = client.get(links["previous"]).json()
    assert [e["resource"]["id"] for e in back["entry"]] == created[3:6]
    back_links = {link["relation"]: link["url"] for link in back["link"]}
    assert [e["resource"]["id"] for e in client.get(back_links["previous"]).json()["entry"]] == created[:3]
    assert "total" not in pages[1] and pages[2]["total"] == 7  # the last page knows its position
    # descending by _lastUpdated: keyset too
    newest, _ = _follow(client, client.get("/fhir/Patient", params={"_count": "2", "_sort": "-_lastUpdated"}).json())
    assert newest == list(reversed(created))
    # a sort on index values pages by position, behind the same opaque cursor
    by_birth, _ = _follow(client, client.get("/fhir/Patient", params={"_count": "3", "_sort": "-birthdate"}).json())
    assert by_birth == list(reversed(created))
    # rows inserted before the cursor's position do not shift the next page (keyset, not offset)
    second = client.get({link["relation"]: link["url"] for link in first["link"]}["next"])
    assert [e["resource"]["id"] for e in second.json()["entry"]] == created[3:6]


def test_damaged_or_foreign_cursors_are_refused(client: TestClient) -> None:
    for _ in range(3):
        _create(client, {"resourceType": "Patient"})
    first = client.get("/fhir/Patient", params={"_count": "1"}).json()
    url = {link["relation"]: link["url"] for link in first["link"]}["next"]
    cursor = url.split("_cursor=")[1].split("&")[0]
    other_sort = client.get("/fhir/Patient", params={"_cursor": cursor, "_sort": "_id"})
    assert other_sort.status_code == 400 and "_sort" in other_sort.json()["issue"][0]["diagnostics"]
    for damaged in ("!!!", "e30", "eyJvIjotMX0", cursor[:-3]):
        response = client.get("/fhir/Patient", params={"_cursor": damaged})
        assert response.status_code == 400, damaged
        assert response.json()["resourceType"] == "OperationOutcome"


def test_composite_rows_follow_updates(client: TestClient) -> None:
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": 150, "unit": "mmHg"},
            }
        ],
    }
    oid = _create(client, body)
    query = {"component-code-value-quantity": "http://loinc.org|8480-6$gt140"}
    assert _ids(client, "Observation", **query) == {oid}
    body["id"] = oid
    body["component"][0]["valueQuantity"]["value"] = 120
    assert client.put(f"/fhir/Observation/{oid}", json=body).status_code == 200
    assert _ids(client, "Observation", **query) == set()
    assert client.delete(f"/fhir/Observation/{oid}").status_code in (200, 204)
    assert _ids(client, "Observation", **{"component-code-value-quantity": "http://loinc.org|8480-6$lt130"}) == set()


def test_full_text_only_on_the_types_configured(client: TestClient) -> None:
    """Observations are not full-text indexed by default (settings fhir.fulltext_types): a clear 400."""
    response = client.get("/fhir/Observation", params={"_content": "glucose"})
    assert response.status_code == 400
    text = response.text
    assert "HUITONG_FHIR__FULLTEXT_TYPES" in text and "reindex" in text
