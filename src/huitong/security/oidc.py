"""Single sign-on with the hospital's OpenID Connect identity provider (authorization-code flow + PKCE).

Configured by ``HUITONG_SECURITY__OIDC_ISSUER`` / ``_CLIENT_ID`` / ``_CLIENT_SECRET``; off while the issuer is
empty. Accounts, roles and departments are still managed in Huitong: the IdP only proves who the user is
(the ``oidc_user_claim`` of the ID token must name an active Huitong account). If the IdP reports a second
factor in ``amr`` (``oidc_mfa_claim_values``) the TOTP step is skipped; otherwise Huitong asks for its own.

The ID token comes straight from the IdP's token endpoint over TLS with Huitong's client secret, so, as
OpenID Connect Core §3.1.3.7 allows, the TLS server check stands in for the token's signature; Huitong
checks ``iss``, ``aud``, ``exp`` and ``nonce``. The token endpoint must be HTTPS (loopback excepted, for tests).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import orjson

from huitong.settings import Settings

STATE_COOKIE = "huitong_oidc"


class OidcError(Exception):
    """Single sign-on failed; the message is safe to log, not to show in detail."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the IdP says signed in."""

    user_id: str
    second_factor: bool


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class OidcClient:
    """The relying party. ``transport`` lets tests reach a fake IdP without the network."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.sec = settings.security
        self.transport = transport
        self._metadata: dict[str, Any] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.sec.oidc_issuer and self.sec.oidc_client_id)

    def _http(self) -> httpx.Client:
        return httpx.Client(timeout=10.0, transport=self.transport, follow_redirects=False)

    def metadata(self) -> dict[str, Any]:
        """The IdP's discovery document (cached)."""
        if self._metadata is None:
            url = self.sec.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
            with self._http() as http:
                response = http.get(url)
            if response.status_code != 200:
                raise OidcError(f"discovery failed: HTTP {response.status_code}")
            data = response.json()
            if data.get("issuer") != self.sec.oidc_issuer:
                raise OidcError("the discovery document names another issuer")
            self._metadata = data
        return self._metadata

    def _sign(self, payload: str) -> str:
        key = self.sec.secret_key.get_secret_value().encode()
        return hmac.new(key, f"oidc-state\x1f{payload}".encode(), hashlib.sha256).hexdigest()

    def start(self, redirect_uri: str, now: datetime) -> tuple[str, str]:
        """The IdP URL to send the browser to, and the signed state cookie to set."""
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        challenge = _b64(hashlib.sha256(verifier.encode()).digest())
        params = {
            "response_type": "code",
            "client_id": self.sec.oidc_client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        payload = f"{state}.{nonce}.{verifier}.{int(now.timestamp()) + 600}"
        return f"{self.metadata()['authorization_endpoint']}?{urlencode(params)}", f"{payload}.{self._sign(payload)}"

    def finish(self, *, code: str, state: str, cookie: str, redirect_uri: str, now: datetime) -> Identity:
        """Check the state, exchange the code, check the ID token; returns who signed in."""
        payload, _, signature = cookie.rpartition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            raise OidcError("missing or forged state cookie")
        expected_state, nonce, verifier, expires = payload.split(".")
        if not hmac.compare_digest(state, expected_state) or int(expires) < now.timestamp():
            raise OidcError("state mismatch or expired")
        endpoint = self.metadata()["token_endpoint"]
        parts = urlsplit(endpoint)
        if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise OidcError("the token endpoint must use HTTPS")
        with self._http() as http:
            response = http.post(
                endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": verifier,
                },
                auth=(self.sec.oidc_client_id, self.sec.oidc_client_secret.get_secret_value()),
            )
        if response.status_code != 200:
            raise OidcError(f"code exchange failed: HTTP {response.status_code}")
        claims = self._claims(str(response.json().get("id_token", "")), nonce, now)
        user = claims.get(self.sec.oidc_user_claim)
        if not isinstance(user, str) or not user:
            raise OidcError(f"the ID token has no {self.sec.oidc_user_claim!r} claim")
        amr = claims.get("amr") or []
        second = isinstance(amr, list) and bool(set(map(str, amr)) & set(self.sec.oidc_mfa_claim_values))
        return Identity(user[:64], second)

    def _claims(self, id_token: str, nonce: str, now: datetime) -> dict[str, Any]:
        try:
            claims = orjson.loads(_unb64(id_token.split(".")[1]))
        except (IndexError, ValueError) as exc:
            raise OidcError("the ID token is malformed") from exc
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if claims.get("iss") != self.sec.oidc_issuer or self.sec.oidc_client_id not in audiences:
            raise OidcError("the ID token is for another issuer or client")
        if not isinstance(claims.get("exp"), int | float) or claims["exp"] < now.timestamp():
            raise OidcError("the ID token has expired")
        if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcError("the ID token's nonce does not match")
        return dict(claims)
