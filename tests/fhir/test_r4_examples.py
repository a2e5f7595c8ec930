"""Conformance: every official R4 example is created through the API, read back and compared (except meta).

The examples live in ``shared/testdata/fhir-r4-examples`` (skipped where absent). Examples that cannot
round-trip are listed in docs/fhir-store.md with the reason; this test fails if a listed example starts
passing (so the list stays true) or an unlisted one fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.fhir import jsonio
from huitong.fhir.stored import without_server_meta
from tests.conftest import AUTH, make_settings
from tests.shared_data import require_shared

REPO = Path(__file__).resolve().parents[2]


def known_failures() -> dict[str, str]:
    """File name → reason, from the table in docs/fhir-store.md."""
    text = (REPO / "docs" / "fhir-store.md").read_text(encoding="utf-8")
    section = text.split("<!-- r4-example-failures -->")[1]
    out: dict[str, str] = {}
    for line in section.splitlines():
        if line.startswith("| `") and ".json" in line:
            cells = [c.strip() for c in line.strip("|").split("|")]
            out[cells[0].strip("`")] = cells[1]
    return out


def round_trip(client: TestClient, path: Path) -> str | None:
    """``None`` when the example round-trips, else why not."""
    raw = path.read_bytes()
    original: dict[str, Any] = jsonio.loads(raw)
    rtype, rid = original["resourceType"], original.get("id")
    if rid is None:
        created = client.post(f"/fhir/{rtype}", content=raw, headers={"Content-Type": "application/fhir+json"})
    else:
        created = client.put(f"/fhir/{rtype}/{rid}", content=raw, headers={"Content-Type": "application/fhir+json"})
    if created.status_code not in (200, 201):
        issues = created.json().get("issue", [])
        first = issues[0] if issues else {}
        return f"HTTP {created.status_code}: {first.get('expression', [''])[0]} {first.get('diagnostics', '')}"[:300]
    rid = created.json()["id"]
    read = client.get(f"/fhir/{rtype}/{rid}")
    back = jsonio.loads(read.content)
    expected = without_server_meta(original)
    got = without_server_meta(back)
    if rid != original.get("id"):
        got.pop("id", None)
    if jsonio.dumps_canonical(expected) != jsonio.dumps_canonical(got):
        return "read back differs from what was sent"
    return None


@pytest.fixture
def bulk_client(db_url: str) -> Iterator[TestClient]:
    """The test client with an API rate limit that 1,410 requests in a row do not reach."""
    settings = make_settings(db_url, security={"api_rate_per_minute": 1_000_000})
    with TestClient(create_app(settings), headers=AUTH) as test_client:
        yield test_client


@pytest.mark.slow
def test_official_r4_examples_round_trip(bulk_client: TestClient) -> None:
    client = bulk_client
    folder = require_shared("testdata", "fhir-r4-examples")
    files = sorted(folder.glob("*.json"))
    assert len(files) == 705
    failures = {p.name: why for p in files if (why := round_trip(client, p)) is not None}
    known = known_failures()
    unexpected = {k: v for k, v in failures.items() if k not in known}
    now_passing = sorted(set(known) - set(failures))
    report = orjson.dumps({"passed": len(files) - len(failures), "failed": len(failures)}).decode()
    assert not unexpected, f"{report}; new failures: {unexpected}"
    assert not now_passing, f"{report}; listed as failing but now pass (update docs/fhir-store.md): {now_passing}"
