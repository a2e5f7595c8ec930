"""The Patients a list names, read for their names: a critical value (on the doctor's workbench and the nurse's
task list) is shown with its patient's name, sex and age, not a resource id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from huitong.fhir import jsonio
from huitong.security.actor import Actor
from huitong.services import Services


def patients_of(services: Services, actor: Actor, ids: Iterable[str | None]) -> dict[str, dict[str, Any]]:
    """The Patients ``ids`` that ``actor`` may read, by id: one ``_id`` search, audited like any."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    found = services.search.search(actor, "Patient", [("_id", ",".join(wanted)), ("_count", str(len(wanted)))])
    return {s.res_id: jsonio.loads_fast(s.content or b"{}") for s in found.matches}
