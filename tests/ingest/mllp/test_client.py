"""The MLLP client against a small asyncio server on the loopback address."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from huitong.ingest.errors import MllpError
from huitong.ingest.mllp.client import MllpClient, send_messages
from huitong.ingest.mllp.framing import MllpDecoder, frame


async def _serve(reply: bool = True) -> tuple[asyncio.Server, int, list[bytes]]:
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = MllpDecoder()
        while chunk := await reader.read(7):  # tiny reads: the server sees arbitrary chunking
            for payload in decoder.feed(chunk):
                received.append(payload)
                if reply:
                    writer.write(frame(b"MSA|AA|" + payload[-3:]))
                    await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, port, received


def test_sends_many_messages_over_one_connection() -> None:
    async def run() -> tuple[list[bytes], list[bytes], list[int]]:
        server, port, received = await _serve()
        seen: list[int] = []
        async with server:
            msgs = [f"MSH|^~\\&|msg{i:03d}".encode() for i in range(50)]
            acks = await send_messages("127.0.0.1", port, msgs, on_ack=lambda i, _: seen.append(i))
        return acks, received, seen

    acks, received, seen = asyncio.run(run())
    assert len(received) == 50
    assert acks[7] == b"MSA|AA|007"
    assert seen == list(range(50))


def test_ack_timeout_is_an_mllp_error() -> None:
    async def run() -> None:
        server, port, _ = await _serve(reply=False)
        async with server, MllpClient("127.0.0.1", port, ack_timeout=0.2) as client:
            await client.send(b"MSH|^~\\&|x")

    with pytest.raises(MllpError, match="no ACK"):
        asyncio.run(run())


def test_connection_refused_is_an_mllp_error() -> None:
    async def run() -> None:
        server, port, _ = await _serve()
        server.close()
        await server.wait_closed()
        await send_messages("127.0.0.1", port, [b"MSH|"], connect_timeout=2)

    with pytest.raises(MllpError, match="cannot connect"):
        asyncio.run(run())


def test_tls(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))

    async def run() -> list[bytes]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            decoder = MllpDecoder()
            while chunk := await reader.read(1024):
                for _ in decoder.feed(chunk):
                    writer.write(frame(b"MSA|AA|tls"))
                    await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await send_messages("127.0.0.1", port, [b"MSH|^~\\&|a", b"MSH|^~\\&|b"], ssl=client_ctx)

    assert asyncio.run(run()) == [b"MSA|AA|tls", b"MSA|AA|tls"]
