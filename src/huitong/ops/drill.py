"""The failover drill (``huitong ops drill``): HL7 ingest survives the loss of the primary database.

On one machine, on loopback: a primary PostgreSQL cluster and a streaming replica (synchronous, so a commit
returns only once the replica has the WAL), Huitong's MLLP listener storing into the primary through a
multi-host URL (``host=primary,replica`` with ``target_session_attrs=read-write``), and a sender that
behaves like a hospital system: it sends ADT^A01 messages one by one and resends each until it is
acknowledged AA. After ``kill_after`` ACKs the primary is killed (SIGKILL), the replica is promoted, and
Huitong reconnects to whichever host accepts writes, with no configuration change. The drill then counts
the messages sent, ACKed and found on the new primary: every ACKed message must be found.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import sqlalchemy as sa

from huitong.db import migrate
from huitong.ingest.errors import MllpError
from huitong.ingest.mllp.client import MllpClient
from huitong.ingest.mllp.server import MllpServer
from huitong.ingest.receive import Committer
from huitong.ingest.schema import ingest_message
from huitong.ops.cluster import LocalCluster, free_port, workspace
from huitong.services import open_services
from huitong.settings import Settings

REPLICATION = {
    "wal_level": "replica",
    "max_wal_senders": "5",
    "hot_standby": "on",
    "synchronous_commit": "on",
}


@dataclass
class DrillReport:
    """What happened: messages sent, ACKed AA, found on the new primary, and the outage."""

    sent: int = 0
    acked: int = 0
    found: int = 0
    attempts: int = 0
    refused_during_outage: int = 0
    outage_s: float = 0.0
    total_s: float = 0.0
    lost: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.acked == self.found == self.sent and not self.lost

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "ok": self.ok}


def adt_a01(n: int) -> tuple[str, bytes]:
    """An ADT^A01 admission with control id ``DRILL<n>``."""
    control = f"DRILL{n:06d}"
    segments = [
        f"MSH|^~\\&|HIS|HOSP|HUITONG|HOSP|20260127101500||ADT^A01^ADT_A01|{control}|P|2.5.1|||AL|NE||UNICODE UTF-8",
        "EVN|A01|20260127101500",
        f"PID|1||D{n:06d}^^^HOSP^MR||演练^{n}||19800101|F",
        "PV1|1|I|W01^101^1",
    ]
    return control, ("\r".join(segments) + "\r").encode()


def run_drill(messages: int = 300, kill_after: int = 100, *, promote_delay_s: float = 1.0) -> DrillReport:
    """Run the whole drill in a temporary folder and tear everything down; see the module docstring."""
    started = time.monotonic()
    with workspace(Path(tempfile.mkdtemp(prefix="huitong-drill-"))) as folder:
        primary = LocalCluster(folder / "primary", free_port())
        replica = LocalCluster(folder / "replica", free_port(), primary.bindir)
        try:
            primary.init(REPLICATION)
            primary.start()
            _admin(primary.url(), 'CREATE DATABASE "huitong"')
            url = (
                f"postgresql+psycopg://postgres@/huitong?host=127.0.0.1:{primary.port}"
                f"&host=127.0.0.1:{replica.port}&target_session_attrs=read-write&connect_timeout=5"
            )
            settings = Settings(database={"url": url, "pool_size": 4})
            migrate.upgrade(settings.database)
            replica.base_backup_of(primary, standby=True)
            replica.configure({"port": str(replica.port)})
            replica.start()
            # Synchronous only once the standby exists: until then every commit would wait for it.
            _admin(primary.url(), "ALTER SYSTEM SET synchronous_standby_names = '*'")
            _admin(primary.url(), "SELECT pg_reload_conf()")
            _wait_sync(primary.url())
            report, acked = asyncio.run(
                _ingest_through_failover(settings, primary, replica, messages, kill_after, promote_delay_s)
            )
            report.lost = _lost(replica.url("huitong"), acked)
            report.found = len(acked) - len(report.lost)
        finally:
            replica.stop(mode="immediate")
            primary.stop(mode="immediate")
    report.total_s = round(time.monotonic() - started, 2)
    return report


def _admin(url: str, sql: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def _wait_sync(url: str, timeout_s: float = 60.0) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with engine.connect() as conn:
                states = conn.exec_driver_sql("SELECT sync_state FROM pg_stat_replication").scalars().all()
            if "sync" in states:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("the replica did not become a synchronous standby")
            time.sleep(0.2)
    finally:
        engine.dispose()


async def _ingest_through_failover(
    settings: Settings,
    primary: LocalCluster,
    replica: LocalCluster,
    messages: int,
    kill_after: int,
    promote_delay_s: float,
) -> tuple[DrillReport, list[str]]:
    report = DrillReport()
    acked: list[str] = []
    services = open_services(settings)
    server = MllpServer(Committer(services.db), host="127.0.0.1", port=0)
    await server.start()
    killed = asyncio.Event()
    try:
        failover = asyncio.create_task(_fail_over(primary, replica, acked, kill_after, promote_delay_s, killed))
        deadline = time.monotonic() + 120
        client: MllpClient | None = None
        outage_started: float | None = None
        for n in range(messages):
            control, payload = adt_a01(n)
            report.sent += 1
            while True:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the drill did not finish in time ({len(acked)} ACKed)")
                try:
                    if client is None:
                        client = MllpClient("127.0.0.1", server.port, ack_timeout=30)
                        await client.connect()
                    ack = await client.send(payload)
                    report.attempts += 1
                except MllpError:
                    client = None
                    await asyncio.sleep(0.1)
                    continue
                if b"MSA|AA" in ack:
                    acked.append(control)
                    if outage_started is not None:
                        report.outage_s = round(time.monotonic() - outage_started, 2)
                        outage_started = None
                    break
                if killed.is_set() and outage_started is None and report.outage_s == 0:
                    outage_started = time.monotonic()
                report.refused_during_outage += 1
                await asyncio.sleep(0.1)
        await failover
        if client is not None:
            await client.close()
    finally:
        await server.close()
        services.close()
    report.acked = len(acked)
    return report, acked


async def _fail_over(
    primary: LocalCluster,
    replica: LocalCluster,
    acked: list[str],
    kill_after: int,
    promote_delay_s: float,
    killed: asyncio.Event,
) -> None:
    while len(acked) < kill_after:
        await asyncio.sleep(0.01)
    await asyncio.to_thread(primary.kill)
    killed.set()
    await asyncio.sleep(promote_delay_s)  # failure detection (a person or a watchdog) takes a moment
    await asyncio.to_thread(replica.promote)


def _lost(url: str, acked: list[str]) -> list[str]:
    """ACKed control ids missing from the database at ``url``."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            stored = set(conn.execute(sa.select(ingest_message.c.control_id)).scalars())
    finally:
        engine.dispose()
    return sorted(c for c in acked if c not in stored)
