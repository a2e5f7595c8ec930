"""The CapabilityStatement: states exactly what this server supports, no more."""

from __future__ import annotations

from typing import Any

from huitong import __version__
from huitong.fhir.resource_types import NOT_STORED, RESOURCE_TYPES
from huitong.fhir.search.capability import SYSTEM_OPERATIONS, search_capability
from huitong.settings import Settings

#: Interactions every stored resource type supports.
TYPE_INTERACTIONS = (
    "read",
    "vread",
    "update",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
)


def capability_statement(settings: Settings, base_url: str) -> dict[str, Any]:
    """The server's CapabilityStatement for ``GET /fhir/metadata``."""
    resources = [
        {
            "type": rtype,
            "interaction": [{"code": code} for code in TYPE_INTERACTIONS],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": settings.fhir.allow_update_create,
            "conditionalCreate": True,
            "conditionalRead": "not-supported",
            "conditionalUpdate": True,
            "conditionalDelete": "single",
            **search_capability(rtype),
        }
        for rtype in sorted(RESOURCE_TYPES - NOT_STORED)
    ]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-27",
        "publisher": "Huitong",
        "kind": "instance",
        "software": {"name": "Huitong", "version": __version__},
        "implementation": {"description": "Huitong clinical data repository", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Versioned FHIR R4 resource store. Every interaction is audited. "
                    f"Validation of written resources: {settings.fhir.validation}."
                ),
                "security": {
                    "description": "Bearer tokens for system clients; anonymous access only in development mode."
                },
                "resource": resources,
                "interaction": [{"code": "history-system"}, {"code": "transaction"}, {"code": "batch"}],
                "operation": list(SYSTEM_OPERATIONS),
            }
        ],
    }
