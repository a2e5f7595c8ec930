"""Huitong's settings: one pydantic-settings class with nested groups.

Every value comes from the environment with the prefix ``HUITONG_`` and ``__`` between a group and
its field (``HUITONG_DATABASE__URL``), from a ``.env`` file in development, or from arguments in tests.
Nothing here builds an instance at import time: the CLI or :func:`huitong.app.create_app` calls
:func:`load_settings` once and passes the result down.

Each group is declared in the module of its domain (``settings/fhir.py``, ``settings/security.py``, …);
all of them are importable from here.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from huitong.settings.database import DatabaseSettings
from huitong.settings.empi import EmpiSettings, SurvivorshipRule
from huitong.settings.fhir import FhirSettings
from huitong.settings.http import HttpSettings
from huitong.settings.indicators import IndicatorSettings
from huitong.settings.integration import IngestSettings, MllpSettings
from huitong.settings.operations import ArchiveSettings, BackupSettings, LoggingSettings, OpsSettings
from huitong.settings.portal import PortalSettings
from huitong.settings.quality import QualitySettings
from huitong.settings.security import AuditSettings, SecuritySettings

__all__ = [
    "PLACEHOLDER_SECRETS",
    "ArchiveSettings",
    "AuditSettings",
    "BackupSettings",
    "DatabaseSettings",
    "EmpiSettings",
    "Environment",
    "FhirSettings",
    "HttpSettings",
    "IndicatorSettings",
    "IngestSettings",
    "LoggingSettings",
    "MllpSettings",
    "OpsSettings",
    "PortalSettings",
    "QualitySettings",
    "SecuritySettings",
    "Settings",
    "SurvivorshipRule",
    "load_settings",
]

#: Values that mark a secret as "not chosen yet"; refused outside development mode.
PLACEHOLDER_SECRETS = frozenset({"", "changethis", "change-me", "changeme", "secret", "dev-secret-key"})


class Environment(StrEnum):
    """Where Huitong runs; decides how strict start-up checks are."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """All of Huitong's settings. See docs/settings.md (generated from this class)."""

    model_config = SettingsConfigDict(
        env_prefix="HUITONG_",
        env_nested_delimiter="__",
        env_file=None,
        extra="forbid",
        validate_default=True,
    )

    env: Environment = Field(
        default=Environment.DEVELOPMENT,
        description="`development`, `test` or `production`. Outside development, placeholder secrets are refused.",
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings, description="Database connection.")
    http: HttpSettings = Field(default_factory=HttpSettings, description="HTTP server.")
    fhir: FhirSettings = Field(default_factory=FhirSettings, description="FHIR store and API.")
    security: SecuritySettings = Field(default_factory=SecuritySettings, description="Secrets and access.")
    audit: AuditSettings = Field(default_factory=AuditSettings, description="Audit trail.")
    logging: LoggingSettings = Field(default_factory=LoggingSettings, description="Logs.")
    quality: QualitySettings = Field(default_factory=QualitySettings, description="Data-quality rules.")
    indicators: IndicatorSettings = Field(
        default_factory=IndicatorSettings, description="National performance indicators and the cockpit."
    )
    mllp: MllpSettings = Field(default_factory=MllpSettings, description="MLLP listener (HL7 v2).")
    ingest: IngestSettings = Field(default_factory=IngestSettings, description="Integration engine.")
    backup: BackupSettings = Field(default_factory=BackupSettings, description="Backups.")
    archive: ArchiveSettings = Field(default_factory=ArchiveSettings, description="Cold-data archive.")
    ops: OpsSettings = Field(default_factory=OpsSettings, description="Metrics and readiness.")
    empi: EmpiSettings = Field(default_factory=EmpiSettings, description="Master patient index (EMPI).")
    portal: PortalSettings = Field(default_factory=PortalSettings, description="Patient portal.")

    @model_validator(mode="after")
    def _refuse_placeholders_outside_development(self) -> Settings:
        if self.env is Environment.DEVELOPMENT:
            return self
        problems: list[str] = []
        if self.security.secret_key.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
            problems.append("HUITONG_SECURITY__SECRET_KEY is a placeholder; set a long random value")
        for name, token in self.security.api_tokens.items():
            if token.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS or len(token.get_secret_value()) < 16:
                problems.append(f"API token of client {name!r} is a placeholder or shorter than 16 characters")
        if self.security.allow_anonymous:
            problems.append("HUITONG_SECURITY__ALLOW_ANONYMOUS is only allowed in development mode")
        if problems:
            raise ValueError(f"refusing to start in {self.env.value} mode: " + "; ".join(problems))
        return self

    @property
    def is_development(self) -> bool:
        return self.env is Environment.DEVELOPMENT


def load_settings(*, env_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings once: environment variables, then ``env_file`` (development), then overrides."""
    if env_file is not None:
        return Settings(_env_file=env_file, **overrides)
    return Settings(**overrides)
