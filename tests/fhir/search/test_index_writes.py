"""The index inside one write transaction: updates of resources indexed before it, updates of resources written in
it, a failing savepoint, and a search in the middle — afterwards the index tables hold exactly the rows of the
current resources, on both backends."""

from __future__ import annotations

from typing import Any

import pytest

from huitong.fhir.transaction import Transaction
from huitong.security.actor import Actor
from huitong.services import Services
from huitong.settings import Settings
from tests.index_check import stored_and_expected


def _patient(family: str, given: str, city: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "name": [{"family": family, "given": [given]}],
        "address": [{"city": city}],
        "identifier": [{"system": "urn:mrn", "value": f"{family}{given}"}],
    }


def _obs(code: str, value: float, subject: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "valueQuantity": {"value": value, "code": "mmol/L"},
        "subject": {"reference": subject},
    }


def test_updates_within_one_transaction_leave_exactly_the_current_rows(
    settings: Settings, services: Services, actor: Actor
) -> None:
    store = services.store
    zhang = store.create(actor, _patient("张", "伟", "北京")).res_id
    li = store.create(actor, _patient("李", "娜", "上海")).res_id
    sugar = store.create(actor, _obs("15074-8", 5.4, f"Patient/{zhang}")).res_id

    def work(tx: Transaction) -> list[str]:
        tx.update({**_patient("张", "伟", "天津"), "id": zhang}, zhang)  # indexed before: rows replaced
        tx.update({**_patient("张", "伟强", "广州"), "id": zhang}, zhang)  # again in the same block
        tx.update({**_obs("2339-0", 7.1, f"Patient/{li}"), "id": sugar}, sugar)
        new = tx.create(_patient("王", "芳", "深圳")).res_id
        tx.update({**_patient("王", "芳", "杭州"), "id": new}, new)  # written in this block, then changed
        with pytest.raises(RuntimeError), tx.savepoint():  # undone: neither its rows nor its deletes count
            tx.update({**_patient("李", "娜", "成都"), "id": li}, li)
            raise RuntimeError("an entry fails")
        with tx.savepoint():
            tx.update({**_patient("李", "娜", "重庆"), "id": li}, li)
        tx.flush()  # a search inside the transaction: rows of the block so far are in place
        request = services.search.parse("Patient", [("address-city", "重庆")])
        found = [m.res_id for m in services.search.execute(tx.conn, request).matches]
        tx.update({**_patient("李", "娜", "西安"), "id": li}, li)  # indexed by the flush: rows replaced
        return found

    found = store.transaction(actor, work)
    assert found == [li]
    stored, expected = stored_and_expected(settings.database.url, settings.fhir.fulltext_types)
    assert stored == expected
    search = services.search
    assert [m.res_id for m in search.search(actor, "Patient", [("address-city", "广州")]).matches] == [zhang]
    assert not search.search(actor, "Patient", [("address-city", "天津")]).matches
    assert [m.res_id for m in search.search(actor, "Patient", [("address-city", "西安")]).matches] == [li]
    assert not search.search(actor, "Patient", [("address-city", "成都")]).matches
    assert not search.search(actor, "Patient", [("address-city", "重庆")]).matches
    assert [m.res_id for m in search.search(actor, "Observation", [("patient", li)]).matches] == [sugar]
