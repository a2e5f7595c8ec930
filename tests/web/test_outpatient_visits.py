"""The operations board's day figures come from visit rows a write hook keeps; they must equal what reading the
day's Encounters gives (visits by hour, appointment rate, median wait), through creates, updates and deletes."""

from __future__ import annotations

import importlib
from typing import Any

from huitong.clinical.visits import day_figures, visit_row
from huitong.security.actor import Actor
from huitong.services import open_services
from tests.conftest import make_settings

DAY = "2024-07-01"


def _visit(n: int, hour: int, *, booked: bool, wait: int | None, cls: str = "AMB") -> dict[str, Any]:
    start = f"{DAY}T{hour:02d}:05:00+08:00"
    body: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": f"v{n}",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": cls},
        "period": {"start": start},
    }
    if booked:
        body["appointment"] = [{"reference": f"Appointment/a{n}"}]
    if wait is not None:
        body["statusHistory"] = [
            {"status": "arrived", "period": {"start": start}},
            {"status": "in-progress", "period": {"start": f"{DAY}T{hour:02d}:{5 + wait:02d}:00+08:00"}},
        ]
    return body


def test_day_figures_follow_creates_updates_and_deletes(db_url: str) -> None:
    services = open_services(make_settings(db_url))
    actor = Actor.system("test")
    try:
        visits = [
            _visit(1, 8, booked=True, wait=10),
            _visit(2, 8, booked=False, wait=30),
            _visit(3, 9, booked=True, wait=None),
            _visit(4, 15, booked=True, wait=20),
            _visit(5, 9, booked=True, wait=5, cls="IMP"),  # an inpatient stay: no outpatient visit
            {**_visit(6, 23, booked=False, wait=None), "period": {"start": "2024-06-30T16:30:00Z"}},  # 00:30 China
        ]
        for body in visits:
            services.store.update(actor, "Encounter", body["id"], body)
        with services.db.read() as conn:
            got = day_figures(conn, DAY)
        assert got["hours"][0] == 1 and got["hours"][8] == 2 and got["hours"][9] == 1 and got["hours"][15] == 1
        assert (got["visits"], got["booked"], got["wait_count"], got["wait_median"]) == (5, 3, 3, 20.0)
        services.store.update(actor, "Encounter", "v2", _visit(2, 10, booked=True, wait=None))  # moved, booked, no wait
        services.store.delete(actor, "Encounter", "v4")
        with services.db.read() as conn:
            got = day_figures(conn, DAY)
            assert day_figures(conn, "2024-06-30")["visits"] == 0
        assert got["hours"][8] == 1 and got["hours"][10] == 1 and got["hours"][15] == 0
        assert (got["visits"], got["booked"], got["wait_count"], got["wait_median"]) == (4, 3, 1, 10.0)
    finally:
        services.close()


def test_the_migration_fills_rows_as_the_hook_writes_them() -> None:
    migration = importlib.import_module("huitong.db.migrations.versions.clinical_0002_outpatient_visits")
    bodies = [
        _visit(1, 8, booked=True, wait=10),
        _visit(2, 23, booked=False, wait=None),
        _visit(3, 9, booked=True, wait=3, cls="IMP"),
        {"resourceType": "Encounter", "class": {"code": "AMB"}, "period": {"start": DAY}},
        {"resourceType": "Encounter", "class": {"code": "AMB"}, "period": {"start": f"{DAY}T08:00:00"}},
        {"resourceType": "Encounter", "class": {"code": "AMB"}},
    ]
    for body in bodies:
        expected = visit_row(body)
        assert migration._row(7, body) == ({"resource_pk": 7, **expected} if expected else None)
