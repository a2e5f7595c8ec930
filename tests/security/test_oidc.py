"""Single sign-on against a fake OpenID Connect identity provider running on loopback in the test."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from huitong.security.oidc import OidcClient
from huitong.security.runtime import SecurityServices
from huitong.security.sessions import COOKIE
from tests.security.conftest import Clock, make_user


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class FakeIdp:
    """Discovery and token endpoints; the ID token names ``user`` with ``amr``."""

    def __init__(self) -> None:
        self.user = "zhang.wei"
        self.amr = ["pwd"]
        self.nonce = ""
        self.issuer = ""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}/realms/hospital"
        self.exp = 0

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def _json(self, body: dict[str, Any], status: int = 200) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path.endswith("/.well-known/openid-configuration"):
                    self._json(
                        {
                            "issuer": idp.issuer,
                            "authorization_endpoint": f"{idp.issuer}/auth",
                            "token_endpoint": f"{idp.issuer}/token",
                        }
                    )
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                auth = base64.b64decode(self.headers.get("Authorization", "Basic ")[6:]).decode()
                if auth != "huitong:idp-secret" or form.get("code") != ["good-code"]:
                    self._json({"error": "invalid_grant"}, 400)
                    return
                claims = {
                    "iss": idp.issuer,
                    "aud": "huitong",
                    "exp": idp.exp,
                    "nonce": idp.nonce,
                    "preferred_username": idp.user,
                    "amr": idp.amr,
                }
                self._json({"id_token": f"{_b64({'alg': 'RS256'})}.{_b64(claims)}.sig", "token_type": "Bearer"})

        return Handler


@pytest.fixture
def idp() -> Iterator[FakeIdp]:
    fake = FakeIdp()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def _configure(sec: SecurityServices, idp: FakeIdp, clock: Clock) -> None:
    security = sec.settings.security.model_copy(
        update={"oidc_issuer": idp.issuer, "oidc_client_id": "huitong", "oidc_client_secret": SecretStr("idp-secret")}
    )
    sec.oidc = OidcClient(sec.settings.model_copy(update={"security": security}))
    idp.exp = int(clock().timestamp()) + 300


def _sign_in(client: TestClient, idp: FakeIdp, code: str = "good-code") -> Any:
    start = client.get("/login/oidc", follow_redirects=False)
    assert start.status_code == 303
    query = parse_qs(urlsplit(start.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["client_id"] == ["huitong"]
    idp.nonce = query["nonce"][0]
    return client.get("/login/oidc/callback", params={"code": code, "state": query["state"][0]}, follow_redirects=False)


def test_single_sign_on(app_client: tuple[TestClient, SecurityServices], idp: FakeIdp, clock: Clock) -> None:
    client, sec = app_client
    _configure(sec, idp, clock)
    make_user(sec, "zhang.wei", "doctor")
    assert "/login/oidc" in client.get("/login").text
    done = _sign_in(client, idp)
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert client.get("/fhir/Patient/none").status_code == 404  # signed in


def test_sso_without_idp_mfa_still_needs_totp(
    app_client: tuple[TestClient, SecurityServices], idp: FakeIdp, clock: Clock
) -> None:
    client, sec = app_client
    _configure(sec, idp, clock)
    make_user(sec, "admin.wang", "administrator")
    idp.user = "admin.wang"
    assert _sign_in(client, idp).headers["location"] == "/login/mfa"
    assert client.get("/fhir/Organization").status_code == 401
    idp.amr = ["pwd", "otp"]
    client.cookies.clear()
    assert _sign_in(client, idp).headers["location"] == "/"


def test_sso_refusals(app_client: tuple[TestClient, SecurityServices], idp: FakeIdp, clock: Clock) -> None:
    client, sec = app_client
    _configure(sec, idp, clock)
    idp.user = "no.such.account"
    assert _sign_in(client, idp).status_code == 401
    make_user(sec, "zhang.wei", "doctor")
    idp.user = "zhang.wei"
    assert _sign_in(client, idp, code="stolen").status_code == 401
    clock.advance(minutes=10)  # the ID token (5 minutes) has expired by the time it arrives
    assert _sign_in(client, idp).status_code == 401
    forged = client.get("/login/oidc/callback", params={"code": "good-code", "state": "guess"})
    assert forged.status_code == 401
    assert COOKIE not in client.cookies


def test_sso_off_by_default(app_client: tuple[TestClient, SecurityServices]) -> None:
    client, _ = app_client
    assert client.get("/login/oidc").status_code == 404
