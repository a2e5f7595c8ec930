"""The demo feed waits as the server's rate limit asks instead of losing bundles."""

from __future__ import annotations

import httpx

from huitong.demo.feed import post_paced


def test_a_429_is_waited_out_and_the_bundle_sent_again() -> None:
    calls: list[bytes] = []

    def server(request: httpx.Request) -> httpx.Response:
        calls.append(request.content)
        if len(calls) <= 2:
            return httpx.Response(429, headers={"Retry-After": "0"}, text="too many requests; retry after 0 s")
        return httpx.Response(200, json={"resourceType": "Bundle", "type": "transaction-response"})

    with httpx.Client(transport=httpx.MockTransport(server), base_url="http://feed.test") as client:
        response = post_paced(client, "/fhir", b'{"resourceType":"Bundle"}')
    assert response.status_code == 200
    assert calls == [b'{"resourceType":"Bundle"}'] * 3


def test_a_server_that_keeps_refusing_is_reported_not_retried_forever() -> None:
    calls = 0

    def server(_request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(429, headers={"Retry-After": "0"})

    with httpx.Client(transport=httpx.MockTransport(server), base_url="http://feed.test") as client:
        assert post_paced(client, "/fhir", b"{}", attempts=3).status_code == 429
    assert calls == 4
