"""Fixtures of the security tests: a movable clock, security services, accounts of every role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.security.access import AccessPolicy
from huitong.security.actor import Actor
from huitong.security.roles import Role
from huitong.security.runtime import SecurityServices, open_security
from huitong.services import Services
from huitong.settings import Settings

PASSWORD = "Correct-Horse-42"
ADMIN = Actor.system("tests-admin")
DEPARTMENT = "cardiology"
OTHER_DEPARTMENT = "oncology"


@dataclass
class Clock:
    """A clock tests move by hand (no sleeping, no timing assertions)."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with small parameters, so the suite stays fast (production uses RFC 9106's)."""
    monkeypatch.setattr(
        "huitong.security.passwords._HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))


@pytest.fixture
def sec(services: Services, settings: Settings, clock: Clock) -> SecurityServices:
    """Security services on the test database, with the movable clock (also in the store's policy)."""
    policy = AccessPolicy(services.db, clock=clock)
    services.store.policy = policy
    return open_security(settings, services.db, policy, clock)


def make_user(sec: SecurityServices, user_id: str, role: str, **extra: Any) -> None:
    sec.accounts.create(
        ADMIN,
        user_id=user_id,
        display_name=user_id,
        role=role,
        password=PASSWORD,
        department=extra.pop("department", DEPARTMENT if role in ("doctor", "nurse") else None),
        **extra,
    )


@pytest.fixture
def app_client(settings: Settings, services: Services, clock: Clock) -> Iterator[tuple[TestClient, SecurityServices]]:
    """The real app without the default bearer token, its security services on the movable clock."""
    app = create_app(settings, services=services)
    with TestClient(app, base_url="https://testserver") as client:
        policy = AccessPolicy(services.db, clock=clock)
        services.store.policy = policy
        app.state.security = open_security(settings, services.db, policy, clock)
        yield client, app.state.security


ALL_ROLES = [r.value for r in Role if r is not Role.SYSTEM]
