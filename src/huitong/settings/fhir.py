"""The FHIR store and REST API (``HUITONG_FHIR__…``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field


class FhirSettings(BaseModel):
    """Behaviour of the FHIR R4 resource store and REST API."""

    validation: Literal["full", "structural"] = Field(
        default="full",
        description=(
            "Validation of resources written through the HTTP API: `full` checks every element against the "
            "R4 model (fhir.resources); `structural` checks only resourceType, id and JSON shape. Trusted "
            "internal producers (HL7 mapper, bulk import) always use the structural check; see "
            "docs/fhir-store.md."
        ),
    )
    allow_update_create: bool = Field(
        default=True,
        description="Allow `PUT /fhir/{type}/{id}` to create a resource with a client-chosen id.",
    )
    default_page_size: int = Field(
        default=50, ge=1, le=1000, description="Entries per page of history when `_count` is absent."
    )
    max_page_size: int = Field(default=1000, ge=1, le=10_000, description="Largest `_count` accepted.")
    client_sources: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "The source system a client's writes through the FHIR API name in `meta.source` when they name none, by "
            "the client's actor id: `system:<name>` for a token of `security.api_tokens`, `client:<id>` for an OAuth "
            'client, e.g. `{"system:emr": "EMR"}`. The data-quality scorecard is kept per source system; the HL7 '
            "feeds name theirs from MSH-3, and a FHIR-speaking system that does not is otherwise counted as "
            "`unknown`. Shared directory entries (Practitioner, Location, Organization …) are never stamped."
        ),
    )
    search_default_count: int = Field(
        default=20, ge=1, le=1000, description="Entries per page of search results when `_count` is absent."
    )
    search_lenient: bool = Field(
        default=False,
        description=(
            "Ignore unknown search parameters unless the client sends `Prefer: handling=strict` (default: "
            "refuse them with 400 unless the client sends `Prefer: handling=lenient`)."
        ),
    )
    export_dir: Path = Field(
        default=Path("var/export"),
        description="Folder where `$export` writes its NDJSON files (one sub-folder per export job).",
    )
    everything_max: int = Field(
        default=10_000,
        ge=1,
        description="Most resources `Patient/$everything` returns in one Bundle.",
    )
    import_processes: int = Field(
        default=0,
        ge=0,
        le=64,
        description=(
            "Worker processes that parse, check and index NDJSON lines for `huitong import` while the importing "
            "process writes the chunks before (0: all in one process; `--processes` overrides). Off by default: "
            "on 2 cores the bench measured it slower (docs/fhir-api.md); for servers with cores to spare."
        ),
    )
    fulltext_types: list[str] = Field(
        default=[
            "AllergyIntolerance",
            "CarePlan",
            "ClinicalImpression",
            "Communication",
            "Composition",
            "Condition",
            "DiagnosticReport",
            "DocumentReference",
            "Procedure",
            "QuestionnaireResponse",
        ],
        description=(
            "Resource types whose words are indexed for `_text` and `_content` (`*`: every type). Full-text rows "
            "double the index of a type, so high-volume structured data (Observation, MedicationAdministration) is "
            "left out by default; `_text`/`_content` on a type not listed is refused with 400. Run "
            "`huitong fhir reindex --type T` after adding a type."
        ),
    )
