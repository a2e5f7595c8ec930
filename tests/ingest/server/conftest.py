"""Fixtures of the integration engine's server tests: messages, and a running listener on loopback."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from huitong.fhir.store import ResourceStore
from huitong.ingest.channels import ChannelSet
from huitong.ingest.mllp.server import MllpServer
from huitong.ingest.pipeline import Pipeline
from huitong.ingest.receive import Committer
from huitong.ingest.schema import ingest_message
from huitong.services import Services

ADT = (
    "MSH|^~\\&|HIS|HOSP|HUITONG|HOSP|20261127080000||ADT^A01^ADT_A01|{cid}|P|2.5.1|||||CHN|UNICODE UTF-8\r"
    "EVN|A01|20261127080000\r"
    "PID|1||{mrn}^^^HOSP^MR||张^三||19800101|M\r"
    "PV1|1|I|W1^101^1||||||||||||||||V{mrn}^^^HOSP^VN|||||||||||||||||||||||||20261127080000\r"
)
ORU = (
    "MSH|^~\\&|LIS|HOSP|HUITONG|HOSP|20261127090000||ORU^R01^ORU_R01|{cid}|P|2.5.1\r"
    "PID|1||{mrn}^^^HOSP^MR||Li^Si||19700505|F\r"
    "OBR|1|P{cid}|F{cid}|718-7^Hemoglobin^LN|||20261127085000\r"
    "OBX|1|NM|718-7^Hemoglobin^LN||130|g/L|120-160|N|||F|||20261127085000\r"
    "OBX|2|NM|6690-2^WBC^LN||12.5|10*9/L|4-10|H|||F|||20261127085000\r"
)

#: The discharge of the visit that :data:`ADT` admits, and a result restating that visit.
DISCHARGE = (
    "MSH|^~\\&|HIS|HOSP|HUITONG|HOSP|20261129080000||ADT^A03^ADT_A03|V2|P|2.5.1\r"
    "EVN|A03|20261129080000\r"
    "PID|1||{mrn}^^^HOSP^MR||张^三||19800101|M\r"
    "PV1|1|I|W1^101^1||||||||||||||||V{mrn}^^^HOSP^VN|||||||||||||||||||||||||20261127080000|20261129080000\r"
)
ORU_IN_VISIT = (  # the LIS restates the visit from its own copy: no admission or discharge time
    "MSH|^~\\&|LIS|HOSP|HUITONG|HOSP|20261129090000||ORU^R01^ORU_R01|{cid}|P|2.5.1\r"
    "PID|1||{mrn}^^^HOSP^MR||张^三||19800101|M\r"
    "PV1|1|I|W1^101^1||||||||||||||||V{mrn}^^^HOSP^VN\r"
    "OBR|1|P{cid}|F{cid}|718-7^Hemoglobin^LN|||20261128085000\r"
    "OBX|1|NM|718-7^Hemoglobin^LN||130|g/L|120-160|N|||F|||20261128085000\r"
)


def adt(cid: str, mrn: str = "100001") -> bytes:
    return ADT.format(cid=cid, mrn=mrn).encode()


def oru(cid: str, mrn: str = "200001") -> bytes:
    return ORU.format(cid=cid, mrn=mrn).encode()


def rows(services: Services) -> list[sa.Row[tuple[object, ...]]]:
    """Every row of the message store, oldest first."""
    with services.db.read() as conn:
        return list(conn.execute(sa.select(ingest_message).order_by(ingest_message.c.id)).all())


@dataclass
class Running:
    server: MllpServer
    committer: Committer
    pipeline: Pipeline | None

    @property
    def port(self) -> int:
        return self.server.port


@asynccontextmanager
async def running(
    store: ResourceStore,
    *,
    pipeline: bool = False,
    channel: str = "default",
    channels: ChannelSet | None = None,
    pipeline_options: dict[str, Any] | None = None,
    **server_options: object,
) -> AsyncIterator[Running]:
    """A listener on a free loopback port (and the pipeline when asked, with ``pipeline_options``) for the block."""
    options = pipeline_options or {}
    pipe = Pipeline(store, channels=channels, workers=2, poll_interval=0.2, **options) if pipeline else None
    committer = Committer(store.db, on_commit=pipe.wake if pipe else None)
    server = MllpServer(committer, channel=channel, host="127.0.0.1", port=0, **server_options)  # type: ignore[arg-type]
    await server.start()
    if pipe is not None:
        await pipe.start()
    try:
        yield Running(server, committer, pipe)
    finally:
        await server.close()
        if pipe is not None:
            await pipe.stop()


@pytest.fixture
def threaded_server(services: Services) -> Iterator[int]:
    """A listener running in a thread of its own, for blocking (foreign) clients; yields its port."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()
    port: list[int] = []

    async def main() -> None:
        async with running(services.store) as r:
            port.append(r.port)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield port[0]
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()
