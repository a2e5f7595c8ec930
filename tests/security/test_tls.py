"""TLS for real: ``huitong serve`` as a process with a certificate generated here, serving HTTPS with HSTS, and
its MLLP listener requiring TLS with client certificates; the plain ID number never reaches the database."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import ipaddress
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from huitong.db import migrate
from huitong.fhir.bench.server import free_port
from huitong.ingest.errors import MllpError
from huitong.ingest.hl7v2.ack import read_ack
from huitong.ingest.mllp.client import send_messages
from huitong.security.check import check
from huitong.serve import TlsConfigError, tls_options
from huitong.settings import HttpSettings
from tests.conftest import API_TOKEN, AUTH, make_settings
from tests.ingest.server.conftest import adt

KEY_PASSWORD = b"key-password-for-tests"


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _issue(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey] | None, *, ca: bool
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = (subject, key) if issuer is None else issuer
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class Pki:
    ca: Path
    cert: Path
    key: Path  # encrypted with KEY_PASSWORD
    client_cert: Path
    client_key: Path


def _pki(folder: Path) -> Pki:
    """A test CA, a server certificate for localhost/127.0.0.1 (encrypted key) and a client certificate."""
    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _issue("Huitong test CA", ca_key, None, ca=True)
    server = _issue("localhost", server_key, ("Huitong test CA", ca_key), ca=False)
    client = _issue("lis.hospital.test", client_key, ("Huitong test CA", ca_key), ca=False)
    pem = serialization.Encoding.PEM
    pkcs8 = serialization.PrivateFormat.PKCS8
    out = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "lis.pem", folder / "lis.key")
    out.ca.write_bytes(ca.public_bytes(pem))
    out.cert.write_bytes(server.public_bytes(pem))
    out.key.write_bytes(server_key.private_bytes(pem, pkcs8, serialization.BestAvailableEncryption(KEY_PASSWORD)))
    out.client_cert.write_bytes(client.public_bytes(pem))
    out.client_key.write_bytes(client_key.private_bytes(pem, pkcs8, serialization.NoEncryption()))
    return out


@dataclass
class Served:
    base: str
    mllp_port: int
    pki: Pki
    db_url: str
    trust: ssl.SSLContext


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("tls")
    pki = _pki(folder)
    db_url = f"sqlite:///{folder / 'huitong.db'}"
    migrate.upgrade(make_settings(db_url).database)
    port, mllp_port = free_port(), free_port()
    env = {
        **os.environ,
        "HUITONG_ENV": "test",
        "HUITONG_DATABASE__URL": db_url,
        "HUITONG_SECURITY__SECRET_KEY": "x" * 48,
        "HUITONG_SECURITY__API_TOKENS": f'{{"tests": "{API_TOKEN}"}}',
        "HUITONG_HTTP__HOST": "127.0.0.1",
        "HUITONG_HTTP__TLS_CERTFILE": str(pki.cert),
        "HUITONG_HTTP__TLS_KEYFILE": str(pki.key),
        "HUITONG_HTTP__TLS_KEYFILE_PASSWORD": KEY_PASSWORD.decode(),
        "HUITONG_MLLP__ENABLED": "true",
        "HUITONG_MLLP__PORT": str(mllp_port),
        "HUITONG_MLLP__TLS_CERT": str(pki.cert),
        "HUITONG_MLLP__TLS_KEY": str(folder / "server-plain.key"),
        "HUITONG_MLLP__TLS_CLIENT_CA": str(pki.ca),
    }
    # the MLLP listener takes an unencrypted key (its settings have no password): the same key, decrypted
    key = serialization.load_pem_private_key(pki.key.read_bytes(), KEY_PASSWORD)
    (folder / "server-plain.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    trust = ssl.create_default_context(cafile=str(pki.ca))
    base = f"https://localhost:{port}"
    with (folder / "serve.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "huitong", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if httpx.get(f"{base}/healthz", verify=trust, timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("huitong serve did not start:\n" + (folder / "serve.log").read_text(errors="replace"))
                time.sleep(0.3)
            yield Served(base, mllp_port, pki, db_url, trust)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_https_with_hsts_and_tls12_or_later(served: Served) -> None:
    with httpx.Client(verify=served.trust, headers=AUTH) as client:
        response = client.get(f"{served.base}/fhir/metadata")
        assert response.status_code == 200
        assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert response.extensions["network_stream"].get_extra_info("ssl_object").version() in ("TLSv1.2", "TLSv1.3")
    with pytest.raises(httpx.ConnectError):  # a certificate nobody trusts is refused by the client
        httpx.get(f"{served.base}/healthz", timeout=5)
    plain = served.base.replace("https://", "http://")
    try:
        answer = httpx.get(f"{plain}/healthz", timeout=5)
    except httpx.TransportError:
        return  # the TLS listener drops plain HTTP
    assert answer.status_code != 200


def test_patient_over_https_is_stored_encrypted(served: Served) -> None:
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "44030519800101123X"}],
        "telecom": [{"system": "phone", "value": "13700137000"}],
    }
    with httpx.Client(verify=served.trust, headers=AUTH) as client:
        pid = client.post(f"{served.base}/fhir/Patient", json=patient).json()["id"]
        assert client.get(f"{served.base}/fhir/Patient/{pid}").json()["identifier"][0]["value"] == "44030519800101123X"
    engine = sa.create_engine(served.db_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT content FROM resource WHERE res_id = :id"), {"id": pid}).scalar_one()
    finally:
        engine.dispose()
    assert "44030519800101123X" not in stored and "13700137000" not in stored and "enc:v1:" in stored


def test_mllp_listener_requires_tls_and_a_client_certificate(served: Served) -> None:
    trusted = ssl.create_default_context(cafile=str(served.pki.ca))
    with_cert = ssl.create_default_context(cafile=str(served.pki.ca))
    with_cert.load_cert_chain(str(served.pki.client_cert), str(served.pki.client_key))

    async def send(context: ssl.SSLContext | None, cid: str) -> list[bytes]:
        return await send_messages(
            "127.0.0.1",
            served.mllp_port,
            [adt(cid)],
            ssl=context,
            server_hostname="localhost" if context else None,
            connect_timeout=5,
            ack_timeout=5,
        )

    assert read_ack(asyncio.run(send(with_cert, "TLSOK"))[0]).code == "AA"
    for context, cid in ((trusted, "NOCERT"), (None, "PLAIN")):
        with pytest.raises((MllpError, OSError, asyncio.TimeoutError)):  # refused in the handshake or right after
            asyncio.run(send(context, cid))


def test_tls_settings_are_checked_at_start_up(tmp_path: Path) -> None:
    pki = _pki(tmp_path)
    assert tls_options(HttpSettings()) == {}
    with pytest.raises(TlsConfigError, match="both"):
        tls_options(HttpSettings(tls_certfile=str(pki.cert)))
    with pytest.raises(TlsConfigError, match="not a readable file"):
        tls_options(HttpSettings(tls_certfile=str(pki.cert), tls_keyfile=str(tmp_path / "missing.key")))
    with pytest.raises(TlsConfigError, match="PASSWORD"):
        tls_options(HttpSettings(tls_certfile=str(pki.cert), tls_keyfile=str(pki.key)))
    options = tls_options(
        HttpSettings(tls_certfile=str(pki.cert), tls_keyfile=str(pki.key), tls_keyfile_password=KEY_PASSWORD.decode())
    )
    assert options["ssl_certfile"] == str(pki.cert)


def test_security_check_reads_tls_and_field_encryption_settings() -> None:
    keys = {"field_keys": {"k1": base64.b64encode(b"k" * 32).decode()}, "field_key_active": "k1"}
    served = make_settings(
        "sqlite:///unused.db",
        http={"tls_certfile": "server.pem", "tls_keyfile": "server.key"},
        security={**keys, "blind_index_key": "i" * 40},
    )
    controls = {c.clause: c for c in check(served)}
    assert "HTTPS served by Huitong" in controls["8.1.4.1 c"].how
    assert controls["8.1.4.8"].status == "ok" and "encrypted in stored FHIR JSON" in controls["8.1.4.8"].how
    off = make_settings(
        "sqlite:///unused.db", security={**keys, "blind_index_key": "i" * 40, "field_encryption": "off"}
    )
    plain = {c.clause: c for c in check(off)}
    assert plain["8.1.4.8"].status == "warn" and "OFF" in plain["8.1.4.8"].how
    assert "HTTPS NOT configured" in plain["8.1.4.1 c"].how
