"""The HTTP server (``HUITONG_HTTP__…``)."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class HttpSettings(BaseModel):
    """The HTTP server (FHIR API, web pages, health checks)."""

    host: str = Field(default="127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port of the HTTP server.")
    public_base_url: str = Field(
        default="",
        description=(
            "Absolute base URL clients use to reach Huitong (e.g. `https://cdr.hospital.example`), used in "
            "`Location` headers and bundle links. Empty: derived from each request."
        ),
    )
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest request body accepted, in bytes; larger gets 413.",
    )
    tls_certfile: str = Field(
        default="",
        description=(
            "PEM certificate chain for HTTPS (server certificate first). With `tls_keyfile` set, `huitong serve` "
            "speaks only HTTPS (TLS 1.2+) and every response carries `Strict-Transport-Security`. Empty: plain "
            "HTTP (behind a reverse proxy that terminates TLS, or in development)."
        ),
    )
    tls_keyfile: str = Field(default="", description="PEM private key of `tls_certfile`.")
    tls_keyfile_password: SecretStr | None = Field(
        default=None, description="Password of an encrypted `tls_keyfile`; unset if it is not encrypted."
    )
    hsts_max_age: int = Field(
        default=31_536_000,
        ge=0,
        description="`max-age` of the `Strict-Transport-Security` header sent over TLS (seconds; 0 = no header).",
    )
