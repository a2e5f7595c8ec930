"""Property tests: any sequence of writes leaves versions and history exactly as a simple model says."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from huitong.fhir import jsonio
from huitong.fhir.errors import FhirError
from huitong.fhir.store import ResourceStore
from huitong.fhir.stored import instant, with_meta, without_server_meta
from huitong.security.actor import Actor

FAMILIES = st.sampled_from(["王", "李", "张", "刘", "陈", "O'Brien", "Müller"])
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.integers(0, 2), FAMILIES),
        st.tuples(st.just("delete"), st.integers(0, 2), st.none()),
        st.tuples(st.just("stale_put"), st.integers(0, 2), FAMILIES),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_versions_and_history_follow_the_model(store: ResourceStore, actor: Actor, ops: list[Any]) -> None:
    run = uuid.uuid4().hex[:8]
    ids = [f"{run}-{i}" for i in range(3)]
    # model: id -> list of (family or None for deletion)
    model: dict[str, list[str | None]] = {i: [] for i in ids}
    for op, which, family in ops:
        rid = ids[which]
        versions = model[rid]
        current = versions[-1] if versions else None
        body = {"resourceType": "Patient", "id": rid, "name": [{"family": family}]}
        if op == "put":
            stored, created = store.update(actor, "Patient", rid, body)
            assert created == (not versions)
            if current != family or not versions:
                versions.append(family)
            assert stored.version_id == len(versions)
        elif op == "stale_put":
            if not versions:
                continue
            try:
                store.update(actor, "Patient", rid, body, if_match=len(versions) + 5)
            except FhirError as exc:
                assert exc.status == 412
            else:
                raise AssertionError("a stale If-Match must fail")
        else:
            deleted = store.delete(actor, "Patient", rid)
            if versions and current is not None:
                versions.append(None)
            assert (deleted is None) == (not versions)
    for rid, versions in model.items():
        if not versions:
            continue
        page = store.history(actor, "Patient", rid, count=100)
        assert page.total == len(versions)
        assert [e.version_id for e in page.entries] == list(range(len(versions), 0, -1))
        for entry, family in zip(reversed(page.entries), versions, strict=True):
            if family is None:
                assert entry.deleted and entry.content is None
            else:
                assert entry.resource()["name"][0]["family"] == family
        if versions[-1] is None:
            try:
                store.read(actor, "Patient", rid)
            except FhirError as exc:
                assert exc.status == 410
        else:
            assert store.read(actor, "Patient", rid).version_id == len(versions)


JSON_SCALARS = st.one_of(
    st.text(min_size=1).filter(lambda s: s.strip() != ""),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
)


@given(
    value=st.recursive(
        JSON_SCALARS,
        lambda inner: (
            st.lists(inner, min_size=1, max_size=4)
            | st.dictionaries(st.text(min_size=1, max_size=8), inner, min_size=1, max_size=4)
        ),
        max_leaves=20,
    )
)
def test_json_round_trip_keeps_decimals_exact(value: Any) -> None:
    text = jsonio.dumps({"v": value})
    assert jsonio.loads(text) == {"v": value}
    assert jsonio.dumps(jsonio.loads(text)) == text


@given(st.decimals(allow_nan=False, allow_infinity=False))
@example(Decimal("-9223372036854775809"))  # an integer beyond 64 bits (found by CI)
@example(Decimal("18446744073709551616"))
def test_decimal_digits_survive(value: Decimal) -> None:
    assert jsonio.dumps(jsonio.loads(jsonio.dumps(value))) == jsonio.dumps(value)


@given(st.datetimes(timezones=st.just(UTC), min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
def test_instants_round_trip_to_the_millisecond(moment: datetime) -> None:
    text = instant(moment)
    back = datetime.fromisoformat(text)
    assert back == moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@given(
    st.dictionaries(
        st.sampled_from(["meta", "text", "active", "gender"]),
        st.one_of(st.booleans(), st.text(min_size=1), st.fixed_dictionaries({"versionId": st.text(min_size=1)})),
        max_size=4,
    )
)
def test_meta_is_replaced_and_removed_symmetrically(extra: dict[str, Any]) -> None:
    body = {"resourceType": "Patient", **extra}
    if "meta" in body and not isinstance(body["meta"], dict):
        body.pop("meta")
    stamped = with_meta(body, "x", 3, datetime(2026, 1, 1, tzinfo=UTC))
    assert stamped["meta"]["versionId"] == "3" and list(stamped)[:3] == ["resourceType", "id", "meta"]
    restored = without_server_meta(stamped)
    restored.pop("id")
    assert without_server_meta(body) == restored
