"""Run a de-identified export through the resource store (:mod:`huitong.security.deid` does the work).

Reads go through :meth:`ResourceStore.scan`, so the exporting actor's access rules apply and each scan is
audited; the export itself is one more audit event (``export``) with its counts and k.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from huitong.fhir.store import ResourceStore
from huitong.security import audit
from huitong.security.access import patient_refs
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry
from huitong.security.deid import Deidentifier, DeidExport, deidentify, pseudonym_key
from huitong.settings import SecuritySettings

DEFAULT_TYPES = (
    "Encounter",
    "Condition",
    "Observation",
    "Procedure",
    "MedicationRequest",
    "DiagnosticReport",
)


def export_deidentified(
    store: ResourceStore,
    actor: Actor,
    settings: SecuritySettings,
    *,
    reference_date: date,
    types: Sequence[str] = DEFAULT_TYPES,
    k: int | None = None,
    suppress: bool = True,
) -> DeidExport:
    """Patients and their records of ``types``, de-identified, k-anonymous (audited as ``export``)."""
    k = k or settings.deid_k
    patients = [s.resource() for s in store.scan(actor, "Patient")]
    known = {p["id"] for p in patients}
    records: list[tuple[str, dict[str, object]]] = []
    for rtype in types:
        for stored in store.scan(actor, rtype):
            body = stored.resource()
            owners = patient_refs(rtype, stored.res_id, body) & known
            if owners:
                records.append((sorted(owners)[0], body))
    result = deidentify(
        patients, records, Deidentifier(pseudonym_key(settings), reference_date), k=k, suppress=suppress
    )
    entry = AuditEntry(
        "export",
        entity_type="Patient",
        query=f"deid k={k} patients={result.patients} suppressed={result.suppressed_patients} "
        f"resources={len(result.resources)} types={','.join(types)}",
    )
    store.db.write(lambda conn: audit.record(conn, actor, [entry]))
    return result
