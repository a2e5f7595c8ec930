"""``huitong bench backup --sqlite-file``: an existing store is measured as it is (only read), on SQLite and,
copied with ``huitong db copy``, on a throwaway PostgreSQL cluster. No timings are asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from huitong.cli import app
from huitong.ops.manifest import file_sha256
from huitong.security.actor import Actor
from huitong.services import Services
from huitong.settings import Settings


@pytest.mark.slow
def test_bench_measures_an_existing_sqlite_store_on_both_backends_without_writing_it(
    sqlite_settings: Settings, sqlite_services: Services, actor: Actor, pg_bindir: Path, tmp_path: Path
) -> None:
    for n in range(20):
        sqlite_services.store.create(actor, {"resourceType": "Patient", "name": [{"family": "孙", "given": [f"{n}"]}]})
    sqlite_services.close()
    store = Path(str(sqlite_settings.database.url).removeprefix("sqlite:///"))
    before = file_sha256(store)

    done = CliRunner().invoke(
        app,
        [
            "bench",
            "backup",
            "--sqlite-file",
            str(store),
            "--rounds",
            "1",
            "--min-free-gb",
            "0.1",
            "--work-dir",
            str(tmp_path / "work"),
            "--json",
        ],
    )

    assert done.exit_code == 0, done.output
    result = json.loads(done.output.strip().splitlines()[-1])
    assert result["rounds"] == 1
    for backend in ("sqlite", "postgresql"):
        figures = result[backend]
        assert figures["resources"] == 20
        assert figures["verified"] is True, figures
        assert figures["audit_chain"].startswith("verified")
        assert figures["bytes"] > 0
        assert {"backup_s", "verify_s", "restore_s", "baseline_s", "ratio"} <= set(figures)
    assert "copied_from_sqlite_s" in result["postgresql"]
    assert file_sha256(store) == before
    assert list((tmp_path / "work").iterdir()) == []  # backups and restored copies are removed
