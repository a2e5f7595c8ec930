"""Rate limits shared by every process on one database (``huitong serve --workers N``, several hosts).

Two limiters on the same database stand for two worker processes; the clock is moved by hand.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.security.access import AccessPolicy
from huitong.security.ratelimit import RateLimitedError, RateLimiter
from huitong.security.runtime import open_security
from huitong.security.schema import sec_rate_count
from huitong.services import Services
from huitong.settings import Settings
from tests.security.conftest import Clock
from tests.security.test_login import _login_form


def _worker(services: Services, clock: Clock, limit: int, scope: str = "api") -> RateLimiter:
    # sync_seconds long enough that the background thread never runs during the test: syncs are called by hand
    return RateLimiter(limit, clock, db=services.db, scope=scope, sync_seconds=3600)


def _rows(services: Services) -> list[tuple[str, str, int, int]]:
    with services.db.read() as conn:
        t = sec_rate_count
        query = sa.select(t.c.scope, t.c.key, t.c.minute, t.c.hits).order_by(t.c.minute)
        return [(r.scope, r.key, r.minute, r.hits) for r in conn.execute(query)]


def test_api_counts_of_two_workers_add_up_after_a_sync(services: Services, clock: Clock) -> None:
    a, b = _worker(services, clock, 5), _worker(services, clock, 5)
    for _ in range(3):
        a.hit("client:his")
        b.hit("client:his")  # each worker alone has seen 3 of 5
    a.sync()
    b.sync()
    a.sync()  # each learns the other's hits at its next sync
    with pytest.raises(RateLimitedError):
        a.hit("client:his")  # 6 in the minute, counted by both
    with pytest.raises(RateLimitedError):
        b.hit("client:his")
    b.hit("client:lis")  # another credential has its own allowance
    b.sync()
    assert {(key, hits) for _, key, _, hits in _rows(services)} == {("client:his", 7), ("client:lis", 1)}


def test_a_new_minute_starts_afresh_and_old_minutes_are_deleted(services: Services, clock: Clock) -> None:
    a, b = _worker(services, clock, 2), _worker(services, clock, 2)
    a.hit("k")
    a.hit("k")
    a.sync()
    b.hit("k")
    b.sync()
    with pytest.raises(RateLimitedError):
        b.hit("k")
    clock.advance(minutes=2)
    b.hit("k")  # a new window: allowed again
    b.sync()
    assert [(key, hits) for _, key, _, hits in _rows(services)] == [("k", 1)]  # the old minute is gone


def test_exact_hits_decide_on_the_shared_total(services: Services, clock: Clock) -> None:
    a, b = _worker(services, clock, 3, "login"), _worker(services, clock, 3, "login")
    a.hit_exact("10.0.0.9")
    b.hit_exact("10.0.0.9")
    a.hit_exact("10.0.0.9")
    with pytest.raises(RateLimitedError) as refused:
        b.hit_exact("10.0.0.9")  # the 4th attempt, whichever worker takes it
    assert 0 < refused.value.retry_after <= 60
    a.hit_exact("10.0.0.10")
    clock.advance(minutes=2)
    b.hit_exact("10.0.0.9")  # a new minute; the old counts are deleted on the way
    assert [(key, hits) for _, key, _, hits in _rows(services)] == [("10.0.0.9", 1)]


def test_without_sync_each_process_counts_alone(services: Services, clock: Clock) -> None:
    a = RateLimiter(1, clock, db=services.db, scope="api", sync_seconds=0)
    b = RateLimiter(1, clock, db=services.db, scope="api", sync_seconds=0)
    a.hit_exact("k")
    b.hit_exact("k")
    a.sync()
    assert _rows(services) == []
    with pytest.raises(RateLimitedError):
        a.hit("k")


def test_the_sync_thread_shares_the_counts(services: Services, clock: Clock) -> None:
    a = RateLimiter(5, clock, db=services.db, scope="api", sync_seconds=0.05)
    a.hit("k")
    a.hit("k")
    a.close()  # stops the thread after a last sync
    assert [(key, hits) for _, key, _, hits in _rows(services)] == [("k", 2)]


def test_login_attempts_on_two_workers_share_one_limit(settings: Settings, services: Services, clock: Clock) -> None:
    """Two apps on one database (two `huitong serve` workers): the 11th attempt from one address is refused."""
    clients = []
    for _ in range(2):
        app = create_app(settings, services=services)
        client = TestClient(app, base_url="https://testserver")
        client.__enter__()
        app.state.security = open_security(settings, services.db, AccessPolicy(services.db, clock=clock), clock)
        clients.append(client)
    try:
        limit = settings.security.login_rate_per_minute
        codes = []
        for attempt in range(limit + 1):
            client = clients[attempt % 2]
            form = {"csrf": _login_form(client), "user_id": "nobody", "password": "wrong-password-1"}
            codes.append(client.post("/login", data=form, follow_redirects=False).status_code)
        assert 429 not in codes[:limit] and codes[limit] == 429
    finally:
        for client in clients:
            client.__exit__(None, None, None)
