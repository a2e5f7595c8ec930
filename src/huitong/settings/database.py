"""The database connection (``HUITONG_DATABASE__…``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


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
    sqlite_wal_autocheckpoint_pages: int = Field(
        default=10_000,
        ge=0,
        le=1_000_000,
        description=(
            "SQLite `wal_autocheckpoint` of the writing connection: the WAL is copied back into the database once it "
            "holds this many pages (4 KiB each; SQLite's default is 1,000). Fewer, larger checkpoints write a page "
            "changed by many transactions once instead of once per checkpoint: `huitong bench pipeline` measured the "
            "raw insert of a pipeline's rows +16 % and the pipeline +5 % (medians of four pairs against 1,000). The "
            "WAL file grows to about this size (40 MiB by default) between checkpoints. 0: no automatic checkpoints "
            "(only for tools that run their own)."
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
            "Each job after the first runs in its own savepoint, so one failing job never undoes another. Bulk work "
            "(the pipeline's batches) gives way to the writes someone waits on (docs/architecture.md)."
        ),
    )
    echo_sql: bool = Field(default=False, description="Log every SQL statement (development only; very verbose).")
