"""The master patient index (``HUITONG_EMPI__…``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

#: How a golden-record field picks its value among a person's records (see docs/empi.md).
SurvivorshipRule = Literal["most_recent", "most_trusted", "most_complete"]


def _default_survivorship() -> dict[str, SurvivorshipRule]:
    return {
        "name": "most_trusted",
        "gender": "most_trusted",
        "birth_date": "most_trusted",
        "id_number": "most_trusted",
        "phone": "most_recent",
        "address": "most_recent",
    }


class EmpiSettings(BaseModel):
    """The master patient index: decision bands, survivorship and the model artefact (docs/empi.md)."""

    model_path: Path = Field(
        default=Path("var/empi/model.json"),
        description="The trained model artefact (`huitong empi train`); the hand-set default model is used if absent.",
    )
    auto_link_threshold: float = Field(
        default=0.99,
        gt=0,
        lt=1,
        description="Match probability at or above which a record is linked to a person without review.",
    )
    review_threshold: float = Field(
        default=0.5,
        gt=0,
        lt=1,
        description="Match probability at or above which (and below auto-link) a pair goes to the review queue.",
    )
    max_candidates_per_key: int = Field(
        default=200, ge=1, description="Most index records fetched per blocking key in real-time matching."
    )
    link_api_patients: bool = Field(
        default=True,
        description=(
            "Link every Patient written through the FHIR API (create, update, transaction and batch Bundles, "
            "`huitong import`) to its person: the write queues it in `empi_pending` in its own transaction and the "
            "running server links it moments later (`huitong empi relink --pending` without a server)."
        ),
    )
    pending_poll_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often the server looks for queued Patients written by other processes (e.g. an import).",
    )
    source_trust: list[str] = Field(
        default_factory=lambda: ["HIS", "EMR", "LIS", "PACS"],
        description="Source systems from most to least trusted, for the `most_trusted` survivorship rule.",
    )
    survivorship: dict[str, SurvivorshipRule] = Field(
        default_factory=_default_survivorship,
        description=(
            "Survivorship rule per golden-record field (name, gender, birth_date, id_number, phone, address): "
            "`most_recent`, `most_trusted` (see `source_trust`) or `most_complete`."
        ),
    )
