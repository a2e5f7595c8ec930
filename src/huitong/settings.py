"""Huitong's settings: one pydantic-settings class with nested groups.

Every value comes from the environment with the prefix ``HUITONG_`` and ``__`` between a group and
its field (``HUITONG_DATABASE__URL``), from a ``.env`` file in development, or from arguments in tests.
Nothing here builds an instance at import time: the CLI or :func:`huitong.app.create_app` calls
:func:`load_settings` once and passes the result down.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Values that mark a secret as "not chosen yet"; refused outside development mode.
PLACEHOLDER_SECRETS = frozenset({"", "changethis", "change-me", "changeme", "secret", "dev-secret-key"})


class Environment(StrEnum):
    """Where Huitong runs; decides how strict start-up checks are."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class DatabaseSettings(BaseModel):
    """Where clinical data lives and how Huitong talks to it."""

    url: str = Field(
        default="sqlite:///var/huitong.db",
        description=(
            "SQLAlchemy URL of the database: `sqlite:///PATH` for the embedded default or "
            "`postgresql+psycopg://USER:PASS@HOST:PORT/DB` for PostgreSQL 15+."
        ),
    )
    pool_size: int = Field(
        default=8,
        ge=1,
        le=256,
        description="PostgreSQL connections kept open per process (readers and writers).",
    )
    max_overflow: int = Field(
        default=8,
        ge=0,
        le=256,
        description="Extra PostgreSQL connections allowed beyond `pool_size` under load.",
    )
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        default="FULL",
        description=(
            "SQLite `synchronous` pragma in WAL mode. FULL syncs the WAL on every commit (a committed "
            "transaction survives power loss); NORMAL is faster but may lose the last commits on power loss."
        ),
    )
    sqlite_busy_timeout_ms: int = Field(
        default=30_000, ge=0, description="How long a SQLite reader waits for a lock before giving up (ms)."
    )
    sqlite_mmap_mb: int = Field(
        default=2048,
        ge=0,
        le=1_048_576,
        description=(
            "SQLite memory-mapped I/O per connection (MiB; `PRAGMA mmap_size`): pages are read from the OS page cache "
            "without copying them: less CPU for large scans (quality batch, views). SQLite caps it at its own "
            "build limit (2 GiB by default). 0: off (for file systems where memory mapping is unreliable, e.g. some "
            "network file systems)."
        ),
    )
    sqlite_readers: int = Field(
        default=8,
        ge=1,
        le=64,
        description="SQLite read connections kept open per process (reads run concurrently).",
    )
    writer_batch_max: int = Field(
        default=256,
        ge=1,
        le=10_000,
        description=(
            "Most queued write jobs the single writer commits together in one transaction (group commit). "
            "Each job runs in its own savepoint, so one failing job never undoes another."
        ),
    )
    echo_sql: bool = Field(default=False, description="Log every SQL statement (development only; very verbose).")


class HttpSettings(BaseModel):
    """The HTTP server (FHIR API, web pages, health checks)."""

    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port of the HTTP server.")
    public_base_url: str = Field(
        default="",
        description=(
            "Absolute base URL clients use to reach Huitong (e.g. `https://cdr.hospital.example`), used in "
            "`Location` headers and bundle links. Empty: derived from each request."
        ),
    )
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest request body accepted, in bytes; larger gets 413.",
    )
    tls_certfile: str = Field(
        default="",
        description=(
            "PEM certificate chain for HTTPS (server certificate first). With `tls_keyfile` set, `huitong serve` "
            "speaks only HTTPS (TLS 1.2+) and every response carries `Strict-Transport-Security`. Empty: plain "
            "HTTP (behind a reverse proxy that terminates TLS, or in development)."
        ),
    )
    tls_keyfile: str = Field(default="", description="PEM private key of `tls_certfile`.")
    tls_keyfile_password: SecretStr | None = Field(
        default=None, description="Password of an encrypted `tls_keyfile`; unset if it is not encrypted."
    )
    hsts_max_age: int = Field(
        default=31_536_000,
        ge=0,
        description="`max-age` of the `Strict-Transport-Security` header sent over TLS (seconds; 0 = no header).",
    )


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


class SecuritySettings(BaseModel):
    """Secrets, login, sessions, second factor, OAuth, field encryption and de-identification (docs/security.md)."""

    secret_key: SecretStr = Field(
        default=SecretStr("dev-secret-key"),
        description=(
            "Key for signing sessions and tokens. Must be set to a long random value outside development "
            "(`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
        ),
    )
    api_tokens: dict[str, SecretStr] = Field(
        default_factory=dict,
        description=(
            'Static bearer tokens of trusted internal system clients, as JSON `{"client-name": "token"}`. A request '
            "with `Authorization: Bearer TOKEN` acts as `system:client-name` with every scope; other clients should "
            "use OAuth client credentials (`POST /auth/token`)."
        ),
    )
    allow_anonymous: bool = Field(
        default=False,
        description=(
            "Accept requests without credentials as the development actor `dev:anonymous`. Only honoured in "
            "development mode; refused at start-up otherwise."
        ),
    )
    password_min_length: int = Field(
        default=12,
        ge=8,
        le=128,
        description="Shortest password accepted for a local account (MLPS 8.1.4.1 asks for complexity; length [U]).",
    )
    password_min_classes: int = Field(
        default=3,
        ge=1,
        le=4,
        description="Character classes (lower case, upper case, digits, symbols) a password must mix [U].",
    )
    password_history: int = Field(
        default=5, ge=0, le=24, description="A new password may not repeat any of this many previous passwords [U]."
    )
    password_max_age_days: int = Field(
        default=90,
        ge=0,
        description="Days after which a password must be changed at next login (MLPS: periodic change; 0 = never) [U].",
    )
    lockout_threshold: int = Field(
        default=5, ge=1, le=100, description="Consecutive failed logins after which an account is locked [U]."
    )
    lockout_minutes: int = Field(default=30, ge=1, description="How long a locked account stays locked (minutes) [U].")
    session_idle_minutes: int = Field(
        default=15, ge=1, le=1440, description="A web session ends after this many minutes without a request [U]."
    )
    session_absolute_hours: int = Field(
        default=12, ge=1, le=168, description="A web session ends this many hours after login, whatever its use."
    )
    cookie_secure: bool = Field(
        default=True,
        description="Send the session cookie only over HTTPS (`Secure`). Turn off only for plain-HTTP development.",
    )
    mfa_roles: list[str] = Field(
        default_factory=lambda: ["administrator", "auditor", "quality_officer", "manager"],
        description=(
            "Roles that must pass a TOTP second factor at login. Anyone whose access reaches beyond their own "
            "department needs it too, whatever this list says (MLPS 8.1.4.1: two factors, one cryptographic)."
        ),
    )
    mfa_all_users: bool = Field(
        default=False, description="Require the TOTP second factor of every staff account (stricter reading of MLPS)."
    )
    token_minutes: int = Field(default=60, ge=1, le=1440, description="Lifetime of an OAuth 2.0 access token.")
    break_glass_minutes: int = Field(
        default=60, ge=5, le=1440, description="How long a break-the-glass grant to one patient's records lasts."
    )
    login_rate_per_minute: int = Field(
        default=10, ge=1, description="Login, token and registration requests accepted per client address per minute."
    )
    api_rate_per_minute: int = Field(
        default=1200, ge=1, description="API requests accepted per credential (or address) per minute."
    )
    rate_sync_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description=(
            "How often each process adds its API request counts to the database and learns those of the others, "
            "so the rates hold across `huitong serve --workers N` and several hosts (login and token attempts are "
            "counted in the database at once). 0: each process counts alone and allows the full rates."
        ),
    )
    field_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description=(
            'Field-encryption keys as JSON `{"key-id": "base64 of 32 random bytes"}`. Resident ID numbers, phone '
            "numbers and addresses are encrypted with AES-256-GCM under `field_key_active`; older keys stay "
            "listed until `huitong security rotate-keys` has re-encrypted their values. Empty in development: a key "
            "derived from `secret_key` is used."
        ),
    )
    field_key_active: str = Field(
        default="", description="Id of the key in `field_keys` new values are encrypted with."
    )
    field_encryption: Literal["auto", "on", "off"] = Field(
        default="auto",
        description=(
            "Encrypt resident ID numbers, phone numbers and addresses of Patient, RelatedPerson, Person and "
            "Practitioner in stored FHIR JSON (AES-256-GCM, blind indexes for search). `auto`: on unless "
            "`env` is `development`. Values already encrypted are always decrypted for authorised readers."
        ),
    )
    field_reveal_roles: list[str] = Field(
        default=[
            "doctor",
            "nurse",
            "pharmacist",
            "lab_technician",
            "quality_officer",
            "administrator",
            "patient",
            "system",
            "developer",
        ],
        description=(
            "Roles that read encrypted fields in clear (when the access rules let them read the resource at "
            "all); other roles and research exports (purpose of use `HRESCH`) get them masked."
        ),
    )
    blind_index_key: SecretStr = Field(
        default=SecretStr(""),
        description=(
            "HMAC key of the blind indexes that let exact search and EMPI blocking work on encrypted fields. "
            "Never rotated casually: changing it means rebuilding every index. Empty: derived from `secret_key`."
        ),
    )
    pseudonym_key: SecretStr = Field(
        default=SecretStr(""),
        description="HMAC key of pseudonyms and date shifts in de-identified exports. Empty: derived from secret_key.",
    )
    deid_k: int = Field(
        default=5, ge=2, description="k of the k-anonymity check a de-identified export must pass before release [U]."
    )
    oidc_issuer: str = Field(
        default="",
        description="Issuer URL of the hospital's OpenID Connect identity provider. Empty: single sign-on is off.",
    )
    oidc_client_id: str = Field(default="", description="Huitong's client id at the OIDC identity provider.")
    oidc_client_secret: SecretStr = Field(
        default=SecretStr(""), description="Huitong's client secret at the OIDC identity provider."
    )
    oidc_user_claim: str = Field(
        default="preferred_username",
        description="ID-token claim holding the login name of a Huitong account (accounts are still managed here).",
    )
    oidc_mfa_claim_values: list[str] = Field(
        default_factory=lambda: ["mfa", "otp", "hwk"],
        description="`amr` values from the IdP that count as a second factor, so Huitong skips its own TOTP step.",
    )


class AuditSettings(BaseModel):
    """The audit trail of every access to patient data."""

    audit_reads: bool = Field(
        default=True,
        description="Record reads (read, vread, history) as well as writes. Required by MLPS level 3.",
    )
    retention_days: int = Field(
        default=180,
        ge=180,
        description="Days audit records are kept at least (MLPS 2.0 level 3 asks for ≥ 180).",
    )
    anomaly_reads_per_day: int = Field(
        default=300,
        ge=1,
        description="The access-anomaly report flags a user who read more distinct patients than this in one day.",
    )
    vip_tag: str = Field(
        default="VIP",
        description="`meta.security` or `meta.tag` code marking a VIP patient; every read of one is flagged.",
    )


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


class MllpSettings(BaseModel):
    """The MLLP listener of the integration engine (HL7 v2 over TCP, optionally TLS)."""

    enabled: bool = Field(
        default=False,
        description="Start the MLLP listener with `huitong serve` (it can also run alone: `huitong hl7 listen`).",
    )
    host: str = Field(
        default="127.0.0.1",
        description="Address the listener binds to; `0.0.0.0` to accept senders from the hospital network.",
    )
    port: int = Field(default=2575, ge=0, le=65535, description="TCP port of the listener (2575 is MLLP's usual).")
    channel: str = Field(
        default="default",
        description="Channel that messages received on this listener belong to (see the channels file).",
    )
    tls_cert: Path | None = Field(
        default=None, description="PEM certificate (chain) of the listener; set with `tls_key` to require TLS."
    )
    tls_key: Path | None = Field(default=None, description="PEM private key of `tls_cert`.")
    tls_client_ca: Path | None = Field(
        default=None,
        description="PEM CA bundle; when set, every sender must present a client certificate signed by it.",
    )
    max_frame_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest message accepted, in bytes; a larger one is answered AR and not stored.",
    )
    idle_timeout_s: float = Field(
        default=600.0, gt=0, description="A connection that sends nothing for this many seconds is closed."
    )
    max_connections: int = Field(default=256, ge=1, le=10_000, description="Connections served at once.")
    application: str = Field(
        default="HUITONG", description="MSH-3 of our ACKs when the message left its MSH-5 (receiver) empty."
    )


class IngestSettings(BaseModel):
    """The integration engine's message store and processing pipeline."""

    channels_file: Path | None = Field(
        default=None,
        description=(
            "TOML file declaring channels (sources, filters, mapping, forwarding destinations); see "
            "docs/integration.md. Empty: one channel, `default`, fed by the MLLP listener."
        ),
    )
    workers: int = Field(
        default=4, ge=1, le=64, description="Pipeline workers mapping and storing messages concurrently."
    )
    queue_size: int = Field(
        default=256,
        ge=1,
        le=100_000,
        description="Messages queued per worker before the dispatcher waits (back-pressure; the rest stay stored).",
    )
    poll_interval_s: float = Field(
        default=1.0, gt=0, description="How often the pipeline looks for stored messages when not woken."
    )
    prepare_processes: int = Field(
        default=0,
        ge=0,
        le=64,
        description=(
            "Worker processes that map messages to FHIR, run the quality step and compute the resources' search-"
            "index rows while the pipeline's writer stores earlier messages; 0: all in the pipeline's threads. Off "
            "by default: on 2 cores the writer (EMPI linking, SQL) is the limit; with bytecode compiled at install, "
            "pairs of runs on SQLite and PostgreSQL differed less than this machine's own swings "
            "(docs/integration.md)."
        ),
    )
    store_batch: int = Field(
        default=32,
        ge=1,
        le=1000,
        description=(
            "Most messages a pipeline worker stores in one transaction (one statement per table for all of them; "
            "if the transaction fails they are stored one by one, so only the faulty message becomes a dead letter)."
        ),
    )
    batch_max: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Most received messages stored in one transaction (one disk sync) before they are ACKed.",
    )
    retention_days: int = Field(
        default=365,
        ge=1,
        description="Days finished messages are kept in the message store (`huitong hl7 purge`).",
    )
    keep_dead_letters: bool = Field(
        default=True,
        description="Keep failed and unsupported messages beyond the retention period until replayed or purged.",
    )
    department_reference: str = Field(
        default="Organization/dept-{code}",
        description=(
            "How an ingested Encounter names its department (`serviceProvider`) from PV1-10 (hospital service, the "
            "department code in most Chinese HIS feeds): `{code}` is replaced by the code. Department staff see a "
            "patient through the departments of the patient's encounters. A local convention, not the v2-to-FHIR "
            "IG's (which maps PV1-10 to serviceType only) [U]; empty: no serviceProvider is set."
        ),
    )
    link_patients: bool = Field(
        default=True,
        description=(
            "Link every Patient a message produces to its person in the EMPI (real-time matching), in the same "
            "transaction as the message's resources."
        ),
    )


class QualitySettings(BaseModel):
    """Data-quality rules (thresholds that differ between hospitals and evaluation years)."""

    cleanse_at_ingest: bool = Field(
        default=True,
        description=(
            "Run the resource rules on every HL7 message's resources before they are stored, and fix what is safe "
            "to fix (lab units to the dictionary's, names, `meta.source`); the findings are kept with the message."
        ),
    )
    quarantine_at_ingest: bool = Field(
        default=False,
        description=(
            "Hold back a message whose resources still break an error-severity rule after the fixes: it is not "
            "stored, but kept as a dead letter with the findings, for correction at the source and replay."
        ),
    )
    dictionaries_dir: Path | None = Field(
        default=None,
        description=(
            "Folder of the hospital's dictionaries (diagnoses.csv, procedures.csv, lab_tests.csv; see "
            "docs/quality.md) that validity rules and ingest cleansing check against; unset: shapes only."
        ),
    )
    result_turnaround_hours: float = Field(
        default=24.0, gt=0, description="A lab result must be reported within this many hours of specimen collection."
    )
    turnaround_tolerance: float = Field(
        default=2.0,
        gt=0,
        description=(
            "A lab result with a stated turnaround in the lab dictionary is late when reported more than this "
            "multiple of it after collection (and never before result_turnaround_hours)."
        ),
    )
    order_result_grace_hours: float = Field(
        default=72.0, gt=0, description="A lab order older than this without any result is an open loop."
    )
    frontpage_days: int = Field(
        default=7,
        ge=1,
        description=(
            "The inpatient front page must be completed within this many days of discharge (judged by its "
            "quality-control date, ZKRQ: rule frontpage-completed-in-time)."
        ),
    )
    future_tolerance_minutes: int = Field(
        default=10, ge=0, description="Clock skew tolerated before a timestamp counts as in the future."
    )
    batch_workers: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Processes checking a batch run (`huitong quality run`), the run's own included: the scan is split by "
            "resource type and key range, each process with its own database connection; unset: the number of "
            "CPUs. 1 runs in-process."
        ),
    )


class IndicatorSettings(BaseModel):
    """National performance indicators (国考) and the leadership cockpit."""

    duckdb_path: str = Field(
        default="var/indicators.duckdb",
        description="DuckDB file holding the flattened views and the computation tables of the indicators.",
    )
    parameters: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Overrides of the definitions' configurable parameters, `NAME` or `ID.NAME` → value "
            "(e.g. `6.level_source` = `catalogue`); see docs/indicators.md."
        ),
    )
    targets: dict[str, float] = Field(
        default_factory=dict,
        description="Targets shown in the cockpit, indicator id → value (e.g. `6` = `25` for 25 % level-4 surgery).",
    )
    cjk_font: str = Field(
        default="/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        description="TrueType/OpenType font (or collection) with Chinese glyphs for the cockpit's PDF export.",
    )


class PortalSettings(BaseModel):
    """The patient portal: self-registration and the one-time codes that protect binding to a hospital record."""

    registration_enabled: bool = Field(
        default=True,
        description="Let patients open an account themselves at `/portal/register` (see docs/apps.md).",
    )
    sms_gateway_url: str = Field(
        default="",
        description=(
            'The hospital\'s SMS gateway: one-time codes are POSTed there as JSON `{"phone": …, "text": …}`. '
            "Empty: no SMS is sent; in development and test the code is written to the log (logger "
            "`huitong.web.registration`, never to the page), in production binding an account to an existing "
            "hospital record online is refused and the patient is sent to the registration desk."
        ),
    )
    sms_gateway_token: SecretStr | None = Field(
        default=None, description="Bearer token sent to `sms_gateway_url` (unset: none)."
    )
    code_minutes: int = Field(default=10, ge=1, le=60, description="How long a one-time code stays valid (minutes).")
    code_attempts: int = Field(
        default=5, ge=1, le=10, description="Wrong codes accepted before the registration must start again."
    )
    codes_per_hour: int = Field(
        default=3, ge=1, le=20, description="Most one-time codes sent for one hospital record per hour."
    )


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
