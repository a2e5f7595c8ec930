"""The server freezes its start-up heap for the collector while it serves, and gives it back at shutdown."""

from __future__ import annotations

import gc

from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.settings import Settings


def test_startup_objects_are_frozen_while_serving_and_released_at_shutdown(settings: Settings) -> None:
    gc.unfreeze()
    with TestClient(create_app(settings)) as client:
        frozen = gc.get_freeze_count()
        # everything alive at start-up, pypinyin's phrase dictionary (~200,000 lists) among it
        assert frozen > 100_000
        assert client.get("/healthz").status_code == 200
    assert gc.get_freeze_count() == 0


def test_a_bulk_job_freezes_what_was_alive_at_its_start_pinyin_tables_included() -> None:
    import sys

    from huitong import heap

    gc.unfreeze()
    with heap.frozen_heap():
        assert "pypinyin" in sys.modules  # loaded before the freeze, so frozen with the rest
        frozen = gc.get_freeze_count()
        assert frozen > 100_000
        made_inside = [[n] for n in range(1000)]
        # the block's own objects stay with the collector: the count does not grow (a frozen object freed meanwhile,
        # e.g. by another thread, makes it smaller)
        assert gc.get_freeze_count() <= frozen
        del made_inside
    assert gc.get_freeze_count() == 0
