"""No leaks through the cold tier: ``$everything`` on archived records obeys the same access matrix, every role.

The ward of ``test_access_matrix`` is archived whole (patients, encounters, observations move to Parquet),
then each role asks for both patients' records over HTTP with a session, as in ``test_operations_access``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from huitong.ops.archive import archive_old, read_archived
from huitong.security.runtime import SecurityServices
from huitong.services import Services
from huitong.settings import Settings
from tests.conftest import make_settings
from tests.security.test_access_matrix import MATRIX, _session, _ward
from tests.security.test_operations_access import _ids


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, archive={"directory": str(tmp_path / "archive")})


def test_archived_records_do_not_leak(
    app_client: tuple[TestClient, SecurityServices], services: Services, settings: Settings
) -> None:
    client, sec = app_client
    ward = _ward(services.store)
    time.sleep(0.02)
    archive = Path(settings.archive.directory)
    run = archive_old(services.store, archive, datetime.now(UTC))
    assert run.resources >= 6
    assert read_archived(archive, "Observation", ward.obs_in) and read_archived(archive, "Observation", ward.obs_out)
    seen_by: dict[str, set[str]] = {}
    for role in sorted(MATRIX):
        reads_in, reads_out, _, _ = MATRIX[role]
        client.cookies.clear()
        _session(client, sec, role, ward)
        found: set[str] = set()
        for patient, obs, allowed in ((ward.inside, ward.obs_in, reads_in), (ward.outside, ward.obs_out, reads_out)):
            everything = client.get(f"/fhir/Patient/{patient}/$everything")
            if everything.status_code == 200:
                ids = _ids(everything.json())
                assert (obs in ids) is allowed, (role, patient)
                found |= ids
            else:
                assert everything.status_code in (403, 404), (role, everything.status_code)
                assert not allowed, role
        assert ward.obs_out not in found or reads_out, role
        seen_by[role] = found
    assert ward.obs_in in seen_by["doctor"] and ward.obs_out not in seen_by["doctor"]
