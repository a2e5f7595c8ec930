"""A backup taken while HL7 messages stream in holds every message ACKed before it began, and verifies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from huitong.ingest.mllp.client import MllpClient
from huitong.ingest.mllp.server import MllpServer
from huitong.ingest.receive import Committer
from huitong.ingest.schema import ingest_message
from huitong.ops.backup import BackupResult, create_backup
from huitong.ops.drill import adt_a01
from huitong.ops.restore import restore_backup, verify_backup
from huitong.security.actor import Actor
from huitong.services import Services
from huitong.settings import BackupSettings, Settings


async def _ingest_around_backup(services: Services, config: Settings) -> tuple[list[str], list[str], BackupResult]:
    server = MllpServer(Committer(services.db), host="127.0.0.1", port=0)
    await server.start()
    acked: list[str] = []
    stop = asyncio.Event()

    async def send() -> None:
        async with MllpClient("127.0.0.1", server.port) as client:
            n = 0
            while not stop.is_set() and n < 2000:
                control, payload = adt_a01(n)
                if b"MSA|AA" in await client.send(payload):
                    acked.append(control)
                n += 1

    sender = asyncio.create_task(send())
    try:
        while len(acked) < 20 and not sender.done():
            await asyncio.sleep(0.01)
        before = list(acked)
        result = await asyncio.to_thread(create_backup, config, offsite=False)
    finally:
        stop.set()
        await sender
        await server.close()
    return before, list(acked), result


def _control_ids(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return {str(c) for c in conn.execute(sa.select(ingest_message.c.control_id)).scalars()}
    finally:
        engine.dispose()


def test_backup_during_hl7_ingest_holds_every_acked_message(
    settings: Settings, services: Services, actor: Actor, tmp_path: Path, empty_url: Callable[[], str]
) -> None:
    services.store.create(actor, {"resourceType": "Patient", "name": [{"family": "孙"}]})  # an audited write too
    backup = BackupSettings(directory=str(tmp_path / "backups"))
    config = settings.model_copy(update={"backup": backup})

    before, acked, result = asyncio.run(_ingest_around_backup(services, config))

    assert len(acked) > len(before) >= 20
    target = empty_url()
    restore_backup(result.path, target, backup)
    restored = _control_ids(target)
    assert set(before) <= restored <= set(acked)
    assert result.manifest.tables["ingest_message"].rows == len(restored)
    report = verify_backup(result.path, backup, scratch_server_url=settings.database.url)
    assert report.ok, report.problems
    assert report.audit_chain.startswith("verified"), report.audit_chain
