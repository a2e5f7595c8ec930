"""``POST /fhir``: batch and transaction Bundles."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from huitong.deps import ActorDep, ServicesDep
from huitong.fhir.batch.process import BundleProcessor
from huitong.fhir.errors import FhirError
from huitong.fhir.http import base_url, check_format, json_body, read_resource_body
from huitong.fhir.resource_types import stamp_client_source
from huitong.fhir.validate import check_full
from huitong.services import Services


def _validate_entries(services: Services, bundle: dict[str, Any]) -> None:
    if services.settings.fhir.validation != "full":
        return
    for i, entry in enumerate(bundle.get("entry") or []):
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            try:
                check_full(entry["resource"])
            except FhirError as exc:
                exc.issues = [replace(issue, diagnostics=f"entry {i}: {issue.diagnostics}") for issue in exc.issues]
                raise


async def batch_or_transaction(request: Request, services: ServicesDep, actor: ActorDep) -> Response:
    """Process a batch or transaction Bundle; a transaction commits entirely or not at all."""
    check_format(request)
    bundle = await read_resource_body(request)
    base = base_url(request, services.settings)

    def work() -> dict[str, Any]:
        _validate_entries(services, bundle)
        writes = [  # the resources the bundle creates or replaces (not a PATCH entry's patch document)
            e["resource"]
            for e in bundle.get("entry") or []
            if isinstance(e, dict)
            and isinstance(e.get("resource"), dict)
            and str((e.get("request") or {}).get("method", "")).upper() in ("POST", "PUT")
        ]
        stamp_client_source(services.settings.fhir.client_sources, actor.id, writes)
        return BundleProcessor(services.search).process(actor, bundle, base_url=base)

    return json_body(await run_in_threadpool(work), request)
