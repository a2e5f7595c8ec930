"""``indicators import-hl7`` keeps the ADT feed's visits as the pipeline does (ingest/mapping.py): a result
reported after discharge, in the same batch or a later file, does not re-open the stay."""

from __future__ import annotations

import json
from pathlib import Path

from huitong.fhir.store import ResourceStore
from huitong.indicators import importer
from huitong.security.actor import Actor
from tests.ingest.server.conftest import DISCHARGE, ORU_IN_VISIT, adt


def _stay(store: ResourceStore, actor: Actor) -> tuple[int, dict[str, object]]:
    """The one Encounter's current version and body."""
    versions = store.history(actor, "Encounter").entries
    latest = max(versions, key=lambda s: s.version_id)
    return latest.version_id, json.loads(latest.content or b"{}")


def test_a_late_result_keeps_the_discharged_stay(store: ResourceStore, actor: Actor, tmp_path: Path) -> None:
    first = tmp_path / "his-and-lis.hl7"
    first.write_bytes(
        b"\n".join(
            [adt("A1", mrn="9"), DISCHARGE.format(mrn="9").encode(), ORU_IN_VISIT.format(mrn="9", cid="L1").encode()]
        )
    )
    report = importer.import_hl7(store, actor, first)
    assert report.rejected == [] and report.accepted == 3
    version, stay = _stay(store, actor)
    assert (version, stay["status"]) == (1, "finished")  # one batch: the last owner's version
    later = tmp_path / "lis.hl7"
    later.write_bytes(ORU_IN_VISIT.format(mrn="9", cid="L2").encode())
    importer.import_hl7(store, actor, later)
    version, stay = _stay(store, actor)
    assert (version, stay["status"]) == (1, "finished")
    assert stay["period"] == {"start": "2026-11-27T08:00:00+08:00", "end": "2026-11-29T08:00:00+08:00"}
