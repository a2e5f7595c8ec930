"""The integration engine: MLLP listeners (``HUITONG_MLLP__…``) and the pipeline (``HUITONG_INGEST__…``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


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
        default=1,
        ge=0,
        le=64,
        description=(
            "Worker processes that map messages to FHIR, run the quality step and compute the resources' search-"
            "index rows while the pipeline's writer stores earlier messages; 0: all in the pipeline's threads (which "
            "then share one interpreter lock with the writer). 1 by default: on 2 cores it measured +20 % messages/s "
            "(median of six pairs, SQLite; +27 % in a PostgreSQL pair; docs/integration.md). More where cores are "
            "free."
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
    store_batch_while_waited_on: int = Field(
        default=4,
        ge=1,
        le=1000,
        description=(
            "SQLite: most messages a pipeline worker stores in one transaction while other writes wait on the one "
            "writer (MLLP receipts, whose ACKs wait for their commit; audit entries of reads) — within a second of "
            "the last such write. A receipt waits for at most the pipeline transaction running when it came, about "
            "6 ms per message here (docs/integration.md, 'ACKs while the pipeline works through a backlog'). "
            "Smaller: quicker ACKs, slower catching up. PostgreSQL writes side by side: store_batch always applies."
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
