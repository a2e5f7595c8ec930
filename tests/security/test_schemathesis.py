"""schemathesis against the OpenAPI description: no 5xx, and nothing served to an unauthenticated caller.

Bounded (few examples per operation, SQLite only) and marked slow.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from starlette.testclient import TestClient

from huitong.app import create_app
from tests.conftest import AUTH, make_settings

#: Operations anyone may call (no patient data).
PUBLIC = {"/fhir/metadata", "/healthz", "/readyz", "/livez", "/auth/token", "/auth/revoke"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[TestClient]:
    path = tmp_path_factory.mktemp("schemathesis") / "huitong.db"
    shutil.copyfile(sqlite_template, path)
    app = create_app(make_settings(f"sqlite:///{path}"))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def api_schema(api: TestClient) -> Any:
    with warnings.catch_warnings():  # another domain's duplicate operation ids are not this test's concern
        warnings.filterwarnings("ignore", "Duplicate Operation ID", UserWarning)
        description = api.get("/api/openapi.json")
    assert description.status_code == 200
    return schemathesis.openapi.from_dict(description.json())


def _check(case: Any, api: TestClient) -> None:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    for key in ("base_url", "url"):
        kwargs.pop(key, None)
    method = kwargs.pop("method", case.method)
    path = case.formatted_path
    headers = {k: v for k, v in (kwargs.pop("headers", None) or {}).items() if k.lower() != "authorization"}
    params = kwargs.pop("params", None)
    body = {k: kwargs[k] for k in ("json", "data", "content", "files") if k in kwargs}
    anonymous = api.request(method, path, headers=headers, params=params, **body)
    assert anonymous.status_code < 500, (method, path, anonymous.text[:500])
    if case.path not in PUBLIC:
        assert anonymous.status_code in (400, 401, 403, 404, 405, 413, 415, 422, 429), (method, path)
    authorised = api.request(method, path, headers={**headers, **AUTH}, params=params, **body)
    assert authorised.status_code < 500, (method, path, authorised.text[:500])


@pytest.mark.slow
def test_api_never_fails_and_never_serves_anonymous_callers(api_schema: Any, api: TestClient) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 5
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
        )
        def run(case: Any) -> None:
            _check(case, api)

        run()
