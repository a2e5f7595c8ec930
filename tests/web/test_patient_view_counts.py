"""The one-patient view lists the latest entries of each section and says how many there are in all."""

from __future__ import annotations

import re

from starlette.testclient import TestClient


def test_a_long_section_says_how_many_entries_it_does_not_show(demo_client: TestClient) -> None:
    entries = [
        {
            "request": {"method": "POST", "url": "Condition"},
            "resource": {
                "resourceType": "Condition",
                "subject": {"reference": "Patient/demo-p002"},
                "code": {"text": f"condition {n}"},
                "recordedDate": f"2026-01-{1 + n % 28:02d}",
            },
        }
        for n in range(55)
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    assert demo_client.post("/fhir", json=bundle).status_code == 200
    page = demo_client.get("/doctor/patient/demo-p002", params={"lang": "en"}).text
    shown = re.search(r"Showing the latest 50 of (\d+)", page)
    assert shown and int(shown.group(1)) >= 55
    assert "Showing the latest 100" not in page  # the results section is short: no note
