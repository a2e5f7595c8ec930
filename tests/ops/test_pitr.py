"""Point-in-time recovery: base backup, writes, a noted moment, more writes, recovery to that moment."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from huitong.db import migrate
from huitong.fhir.errors import FhirError
from huitong.ops import pitr
from huitong.ops.cluster import LocalCluster, free_port, give_to_postgres
from huitong.security.actor import Actor
from huitong.services import open_services
from tests.conftest import make_settings

pytestmark = pytest.mark.postgres


def _patient(family: str) -> dict[str, object]:
    return {"resourceType": "Patient", "name": [{"family": family}]}


def test_recovery_to_a_noted_time_restores_exactly_what_was_committed_before_it(
    cluster_dir: Path, pg_bindir: Path, actor: Actor
) -> None:
    archive = cluster_dir / "wal-archive"
    give_to_postgres(archive)
    primary = LocalCluster(cluster_dir / "primary", free_port(), pg_bindir)
    primary.init({**pitr.archive_settings(archive), "fsync": "off"})
    primary.start()
    try:
        settings = make_settings(primary.url())
        migrate.upgrade(settings.database)
        LocalCluster(cluster_dir / "base", 0, pg_bindir).base_backup_of(primary)

        services = open_services(settings)
        try:
            before = [services.store.create(actor, _patient(f"甲{i}")) for i in range(3)]
            engine = sa.create_engine(primary.url(), poolclass=sa.pool.NullPool)
            with engine.connect() as conn:
                noted = conn.exec_driver_sql("SELECT clock_timestamp()").scalar_one()
            engine.dispose()
            after = [services.store.create(actor, _patient(f"乙{i}")) for i in range(3)]
            services.store.update(actor, "Patient", before[0].res_id, {**_patient("甲改"), "id": before[0].res_id})
            services.store.delete(actor, "Patient", before[1].res_id)
        finally:
            services.close()
        pitr.switch_and_wait_archived(primary.url(), archive)
    finally:
        primary.stop()

    restored = LocalCluster(cluster_dir / "base", free_port(), pg_bindir)
    pitr.prepare_recovery(restored.datadir, archive, noted)
    restored.start()
    try:
        pitr.wait_until_writable(restored.url())
        services = open_services(make_settings(restored.url()))
        try:
            for created in before:
                got = services.store.read(actor, "Patient", created.res_id)
                assert (got.version_id, got.content) == (1, created.content)
            for created in after:
                with pytest.raises(FhirError):
                    services.store.read(actor, "Patient", created.res_id)
            with services.db.read() as conn:
                rows = conn.exec_driver_sql("SELECT count(*) FROM resource_version").scalar_one()
            assert rows == len(before)
        finally:
            services.close()
    finally:
        restored.stop(mode="immediate")
