"""Parameters without index rows of their own (``params.aliases``): the rows that hold them hold the same values,
and every way of searching by them — plain, modifiers, ``:missing``, ``_include``/``_revinclude``, chains, ``_has``,
compartments — finds what their own rows found, on both backends."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from huitong.fhir.search._r4_params import PARAMS
from huitong.fhir.search.index import Rows, index_rows, param_rows
from huitong.fhir.search.params import SearchParam, aliases, indexed_params, row_codes, search_params
from huitong.fhir.search.schema import INDEX_TABLES
from huitong.security.actor import Actor
from huitong.services import Services
from tests.shared_data import r4_example_resources

migration = import_module("huitong.db.migrations.versions.search_0006_alias_rows")


# -- which parameters are aliases -----------------------------------------------------------------------------


def test_derived_aliases_of_the_types_a_hospital_holds() -> None:
    obs = search_params("Observation")
    assert obs["combo-code"].stored_as == ("code", "component-code")
    assert obs["combo-value-quantity"].stored_as == (
        "component-value-quantity",
        "value-quantity",
    )
    assert obs["combo-code-value-quantity"].stored_as == ("code-value-quantity", "component-code-value-quantity")
    assert (obs["patient"].stored_as, obs["patient"].stored_target) == (("subject",), "Patient")
    assert obs["subject"].stored_as == () and obs["code"].stored_as == ()
    assert search_params("Patient")["phonetic"].stored_as == ("name",)
    assert search_params("Encounter")["practitioner"].stored_as == ("participant",)
    location = search_params("Appointment")["location"]
    assert (location.stored_as, location.stored_target) == (("actor",), "Location")
    # Organization.phonetic is the name alone, Organization.name also the alias: not the same values
    assert search_params("Organization")["phonetic"].stored_as == ()
    assert "combo-code" not in {p.code for p in indexed_params("Observation")}
    assert row_codes("Encounter", ["patient", "subject", "unknown"]) == ["subject", "unknown"]


def test_the_frozen_list_of_the_migration_is_what_the_code_derives() -> None:
    derived = {
        rtype: tuple(sorted(c for c, p in search_params(rtype).items() if p.stored_as))
        for rtype in PARAMS
        if rtype != "Resource"
    }
    assert {t: c for t, c in derived.items() if c} == migration.ALIASED


def test_an_alias_needs_its_holders_to_cover_it_exactly() -> None:
    def param(code: str, expression: str, kind: str = "token") -> SearchParam:
        return SearchParam(code, kind, expression, ())

    params = {
        p.code: p
        for p in (
            param("a", "X.a"),
            param("b", "X.b"),
            param("ab", "X.a | (X.b)"),
            param("abc", "X.a | X.b | X.c"),  # X.c is nobody's: keeps its rows
            param("a-string", "X.a", "string"),  # another kind: not the same rows
            param("a2", "X.a"),
            param("r", "X.r", "reference"),
            param("rp", "X.r.where(resolve() is Patient)", "reference"),
        )
    }
    assert aliases(params) == {"a2": (("a",), None), "ab": (("a", "b"), None), "rp": (("r",), "Patient")}


# -- the holders' rows hold the same values ------------------------------------------------------------------


def _values(rows: Rows, code_of: dict[str, str]) -> set[tuple[str, str, tuple[Any, ...]]]:
    """(table, suffix, values) of rows, without their parameter's own code."""
    out = set()
    for table, values in rows.items():
        for row in values:
            code, _, suffix = row["param"].partition(":")
            assert code in code_of
            rest = tuple(sorted((k, v) for k, v in row.items() if k != "param"))
            out.add((table.name, suffix, rest))
    return out


def _alias_rows_equal_holder_rows(rtype: str, body: dict[str, Any]) -> int:
    params = search_params(rtype)
    checked = 0
    for alias in params.values():
        if not alias.stored_as:
            continue
        own = param_rows(7, rtype, alias, body, {})
        held: Rows = {}
        for code in alias.stored_as:
            param_rows(7, rtype, params[code], body, held)
        if alias.stored_target is not None:
            held = {t: [r for r in rows if r.get("target_type") == alias.stored_target] for t, rows in held.items()}
        assert _values(own, {alias.code: ""}) == _values(held, dict.fromkeys(alias.stored_as, "")), (rtype, alias)
        checked += 1
    return checked


def test_holders_hold_the_values_on_every_official_r4_example() -> None:
    checked = sum(_alias_rows_equal_holder_rows(r["resourceType"], r) for r in r4_example_resources())
    assert checked > 500


_codings = st.lists(
    st.fixed_dictionaries(
        {"system": st.sampled_from(["http://loinc.org", "urn:local"]), "code": st.sampled_from(["1", "2", "3"])},
        optional={"display": st.sampled_from(["血糖", "Glucose", "收缩压"])},
    ),
    max_size=3,
)
_concept = st.fixed_dictionaries({"coding": _codings}, optional={"text": st.sampled_from(["血压", "BP"])})
_quantity = st.fixed_dictionaries(
    {"value": st.integers(0, 3) | st.floats(0, 3, allow_nan=False), "unit": st.sampled_from(["mmol/L", "mm[Hg]"])},
    optional={"system": st.just("http://unitsofmeasure.org"), "code": st.sampled_from(["mmol/L", "mm[Hg]"])},
)
_component = st.fixed_dictionaries(
    {"code": _concept},
    optional={"valueQuantity": _quantity, "valueCodeableConcept": _concept, "dataAbsentReason": _concept},
)
_reference = st.sampled_from(["Patient/p1", "Group/p1", "Patient/p2", "#contained", "http://x.org/fhir/Patient/p3"])


@given(
    code=_concept,
    components=st.lists(_component, max_size=3),
    value=st.none() | _quantity,
    concept=st.none() | _concept,
    absent=st.none() | _concept,
    subject=st.none() | _reference,
)
def test_holders_hold_the_values_of_any_observation(
    code: dict[str, Any],
    components: list[dict[str, Any]],
    value: dict[str, Any] | None,
    concept: dict[str, Any] | None,
    absent: dict[str, Any] | None,
    subject: str | None,
) -> None:
    body: dict[str, Any] = {"resourceType": "Observation", "status": "final", "code": code}
    if components:
        body["component"] = components
    if value is not None:
        body["valueQuantity"] = value
    elif concept is not None:
        body["valueCodeableConcept"] = concept
    elif absent is not None:
        body["dataAbsentReason"] = absent
    if subject is not None:
        body["subject"] = {"reference": subject}
    assert _alias_rows_equal_holder_rows("Observation", body) == 7


def test_the_indexer_writes_no_rows_for_aliases() -> None:
    body = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "component": [{"code": {"coding": [{"code": "8480-6"}]}, "valueQuantity": {"value": 120, "unit": "mmHg"}}],
        "subject": {"reference": "Patient/p1"},
    }
    params = {row["param"] for rows in index_rows(1, "Observation", body).values() for row in rows}
    assert {"code", "component-code", "subject", "component-code-value-quantity"} <= params
    assert not {p for p in params if p.startswith(("combo-", "patient"))}


# -- searching by an alias on both backends -------------------------------------------------------------------


@pytest.fixture
def charts(services: Services, actor: Actor) -> dict[str, str]:
    store = services.store
    ids: dict[str, str] = {}
    ids["zhang"] = store.create(
        actor, {"resourceType": "Patient", "name": [{"family": "张", "given": ["伟"]}], "gender": "male"}
    ).res_id
    ids["li"] = store.create(actor, {"resourceType": "Patient", "name": [{"family": "李", "given": ["娜"]}]}).res_id
    # a Group whose id is a Patient's: `patient=` must not find what refers to the Group
    store.update(
        actor, "Group", ids["zhang"], {"resourceType": "Group", "id": ids["zhang"], "type": "person", "actual": True}
    )
    bp = {"coding": [{"system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure"}]}
    systolic = {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "收缩压"}]}
    glucose = {"coding": [{"system": "http://loinc.org", "code": "15074-8", "display": "血糖"}]}

    def observation(name: str, subject: str | None, code: dict[str, Any], **extra: Any) -> None:
        body: dict[str, Any] = {"resourceType": "Observation", "status": "final", "code": code, **extra}
        if subject is not None:
            body["subject"] = {"reference": subject}
        ids[name] = store.create(actor, body).res_id

    observation(
        "bp",
        f"Patient/{ids['zhang']}",
        bp,
        component=[{"code": systolic, "valueQuantity": {"value": 150, "unit": "mmHg", "code": "mm[Hg]"}}],
    )
    observation("sugar", f"Patient/{ids['li']}", glucose, valueQuantity={"value": 5.4, "code": "mmol/L"})
    observation("group", f"Group/{ids['zhang']}", glucose, valueQuantity={"value": 9.1, "code": "mmol/L"})
    observation("systolic", f"Patient/{ids['li']}", systolic, valueQuantity={"value": 110, "code": "mm[Hg]"})
    observation("nobody", None, glucose)
    return ids


def _find(services: Services, actor: Actor, ids: dict[str, str], rtype: str, *pairs: tuple[str, str]) -> set[str]:
    names = {v: k for k, v in ids.items()}
    result = services.search.search(actor, rtype, list(pairs))
    return {names.get(m.res_id, m.res_id) for m in result.matches} | {
        "+" + names.get(m.res_id, m.res_id) for m in result.included
    }


def test_search_by_aliases(services: Services, actor: Actor, charts: dict[str, str]) -> None:
    ids = charts

    def find(rtype: str, *pairs: tuple[str, str]) -> set[str]:
        return _find(services, actor, ids, rtype, *pairs)

    assert find("Observation", ("combo-code", "http://loinc.org|8480-6")) == {"bp", "systolic"}
    assert find("Observation", ("combo-code", "85354-9")) == {"bp"}
    assert find("Observation", ("combo-code:text", "收缩压")) == {"bp", "systolic"}
    assert find("Observation", ("combo-code:not", "8480-6")) == {"sugar", "group", "nobody"}
    assert find("Observation", ("combo-value-quantity", "gt100")) == {"bp", "systolic"}
    assert find("Observation", ("combo-code-value-quantity", "8480-6$gt140")) == {"bp"}
    assert find("Observation", ("combo-code-value-quantity", "8480-6$lt140")) == {"systolic"}
    assert find("Observation", ("combo-value-quantity:missing", "true")) == {"nobody"}
    assert find("Observation", ("patient", ids["zhang"])) == {"bp"}
    assert find("Observation", ("patient", f"Patient/{ids['li']}")) == {"sugar", "systolic"}
    assert find("Observation", ("subject", ids["zhang"])) == {"bp", "group"}
    assert find("Observation", ("patient:missing", "true")) == {"group", "nobody"}
    assert find("Observation", ("patient:missing", "false")) == {"bp", "sugar", "systolic"}
    assert find("Observation", ("patient.name", "张")) == {"bp"}
    assert find("Observation", ("patient:Patient.name", "li")) == {"sugar", "systolic"}
    assert find("Patient", ("_has:Observation:patient:combo-code", "8480-6")) == {"zhang", "li"}
    assert find("Patient", ("_has:Observation:patient:code", "15074-8")) == {"li"}
    assert find("Patient", ("phonetic", "zhang")) == {"zhang"}
    assert find("Patient", ("phonetic:exact", "李娜")) == {"li"}
    assert find("Observation", ("code", "15074-8"), ("_include", "Observation:patient")) == {
        "sugar",
        "group",
        "nobody",
        "+li",
    }
    assert find("Patient", ("_id", ids["zhang"]), ("_revinclude", "Observation:patient")) == {"zhang", "+bp"}
    assert find("Observation", ("_sort", "patient"), ("patient:missing", "false")) == {"bp", "sugar", "systolic"}
    everything = services.search.search(actor, "Observation", [("combo-code", "8480-6"), ("_total", "accurate")])
    assert everything.total == 2


def test_migration_deletes_rows_written_before(services: Services, actor: Actor, charts: dict[str, str]) -> None:
    tables = INDEX_TABLES

    def counts() -> list[int]:
        with services.db.read() as conn:
            return [conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in tables]

    before = counts()
    # rows as the indexer wrote them before the aliases: the aliases' own rows beside their holders'
    stale: Rows = {}
    for name in ("bp", "sugar", "group", "systolic", "nobody"):
        body = services.store.read(actor, "Observation", charts[name]).resource()
        for alias in search_params("Observation").values():
            if alias.stored_as:
                param_rows(0, "Observation", alias, body, stale)
    stale_rows = sum(len(r) for r in stale.values())
    assert stale_rows > 10

    def write_and_delete(conn: sa.Connection) -> int:
        pk = conn.execute(sa.select(sa.func.min(tables[0].c.resource_pk))).scalar_one()
        for table, rows in stale.items():
            if rows:
                conn.execute(table.insert(), [{**r, "resource_pk": pk} for r in rows])
        return int(migration.delete_rows(conn))

    assert services.db.write(write_and_delete) == stale_rows
    assert counts() == before
