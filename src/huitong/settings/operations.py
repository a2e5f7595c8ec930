"""Running the platform: logs, backups, the cold-data archive, metrics and readiness."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class LoggingSettings(BaseModel):
    """Process logs."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="Lowest level logged.")
    json_format: bool = Field(default=False, description="Write one JSON object per log line (for log shippers).")


class BackupSettings(BaseModel):
    """Backups of the database: where they go, how they are protected and how long they are kept."""

    directory: str = Field(default="var/backups", description="Local folder that holds backups (one folder each).")
    offsite_directory: str = Field(
        default="",
        description=(
            "Second folder standing for the off-site copy (a mounted remote volume); every new backup is copied "
            "there too. Empty: no second copy."
        ),
    )
    encryption_key: SecretStr | None = Field(
        default=None,
        description=(
            "AES-256-GCM key encrypting new backups, as 32 bytes in URL-safe base64 "
            "(`python -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'`). "
            "Empty: backups are not encrypted."
        ),
    )
    previous_encryption_keys: list[SecretStr] = Field(
        default_factory=list,
        description="Retired backup keys (JSON list), still tried when reading older backups after a key rotation.",
    )
    keep_last: int = Field(default=7, ge=1, description="Prune never deletes the newest this many backups.")
    keep_days: int = Field(default=30, ge=0, description="Prune never deletes a backup younger than this many days.")
    interval_minutes: int = Field(
        default=1440, ge=1, description="Minutes between backups taken by `huitong backup schedule`."
    )
    pg_bindir: str = Field(
        default="",
        description=(
            "Folder with the PostgreSQL client programs (pg_dump, pg_restore). Empty: the newest "
            "/usr/lib/postgresql/*/bin, then the PATH."
        ),
    )


class ArchiveSettings(BaseModel):
    """The cold tier: old resource versions moved out of the live database into Parquet files."""

    directory: str = Field(default="var/archive", description="Folder holding the Parquet files of the cold tier.")
    older_than_days: int = Field(
        default=730,
        ge=1,
        description=(
            "Versions last updated longer ago than this are archived by `huitong ops archive run`: old history "
            "versions, and whole resources that have not changed since."
        ),
    )


class OpsSettings(BaseModel):
    """Operations: metrics and readiness."""

    metrics_enabled: bool = Field(default=True, description="Serve Prometheus metrics at `/metrics`.")
    metrics_token: SecretStr | None = Field(
        default=None,
        description=(
            "Bearer token a scraper must send to read `/metrics` (Prometheus `authorization.credentials`). Unset: "
            "`/metrics` answers anyone who reaches it — restrict it to the monitoring network then."
        ),
    )
    queue_ready_max: int = Field(
        default=10_000,
        ge=1,
        description="`/readyz` reports not ready while a registered queue (e.g. the database writer) is deeper.",
    )
