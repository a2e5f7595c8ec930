"""The MLLP listener: asyncio, many connections, optional TLS, ACK only after the durable commit.

Each connection has its own :class:`~huitong.ingest.mllp.framing.MllpDecoder`. Every payload is read
(:func:`huitong.ingest.receive.examine`), stored through the shared
:class:`~huitong.ingest.receive.Committer` — one write job and one disk sync for all messages that
arrive together, from all connections — and only then answered with its original-mode ACK. Payloads a
sender pipelines without waiting are stored together and answered in order. Oversized frames are
answered AR without being stored. Processing (parse → map → store) happens later, in the pipeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl as ssl_module
from pathlib import Path

from huitong.ingest.errors import Hl7ParseError
from huitong.ingest.hl7v2.ack import build_ack
from huitong.ingest.mllp.framing import MllpDecoder, frame
from huitong.ingest.receive import Committer, receive

log = logging.getLogger(__name__)


def server_ssl_context(cert: Path, key: Path, client_ca: Path | None = None) -> ssl_module.SSLContext:
    """TLS for the listener (TLS 1.2+); with ``client_ca`` every client must present a certificate it signed."""
    context = ssl_module.create_default_context(ssl_module.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl_module.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    if client_ca is not None:
        context.load_verify_locations(cafile=str(client_ca))
        context.verify_mode = ssl_module.CERT_REQUIRED
    return context


class MllpServer:
    """One listening socket feeding one channel. ``await start()``, then ``port``; ``await close()``."""

    def __init__(
        self,
        committer: Committer,
        *,
        channel: str = "default",
        host: str = "127.0.0.1",
        port: int = 2575,
        ssl: ssl_module.SSLContext | None = None,
        max_frame_size: int = 16 * 1024 * 1024,
        idle_timeout: float = 600.0,
        max_connections: int = 256,
        application: str = "HUITONG",
    ) -> None:
        self.committer = committer
        self.channel = channel
        self.host = host
        self.port = port
        self.ssl = ssl
        self.max_frame_size = max_frame_size
        self.idle_timeout = idle_timeout
        self.application = application
        self._slots = asyncio.Semaphore(max_connections)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.connections_total = 0
        self.received = 0

    async def start(self) -> None:
        """Bind and start accepting; ``port`` then holds the bound port (useful with port 0)."""
        self._server = await asyncio.start_server(
            self._handle, self.host, self.port, ssl=self.ssl, limit=1 << 20, reuse_address=True
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info(
            "MLLP listener for channel %r on %s:%d%s", self.channel, self.host, self.port, " (TLS)" * bool(self.ssl)
        )

    async def close(self) -> None:
        """Stop accepting, close open connections and wait for writes in flight."""
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            if self._connections:
                await asyncio.wait(list(self._connections), timeout=5.0)
            try:  # Python 3.11 waits here for every transport to detach; do not hang shutdown on one
                await asyncio.wait_for(self._server.wait_closed(), 5.0)
            except TimeoutError:
                log.warning("MLLP listener on port %d: connections still closing at shutdown", self.port)
            self._server = None
        await self.committer.drain(timeout=30.0)

    async def serve_forever(self) -> None:
        """Start (if needed) and serve until cancelled."""
        if self._server is None:
            await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        peer = writer.get_extra_info("peername")
        self.connections_total += 1
        try:
            async with self._slots:
                await self._converse(reader, writer)
        except (ConnectionError, TimeoutError, ssl_module.SSLError, asyncio.IncompleteReadError) as exc:
            log.info("MLLP connection from %s ended: %s", peer, exc)
        except asyncio.CancelledError:
            pass
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, ssl_module.SSLError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = MllpDecoder(self.max_frame_size)
        while True:
            async with asyncio.timeout(self.idle_timeout):  # a timer, not a task per read as wait_for makes
                chunk = await reader.read(1 << 16)
            if not chunk:
                return
            payloads = decoder.feed(chunk)
            if payloads:
                self.received += len(payloads)
                if len(payloads) == 1:
                    answers = [await self._answer(payloads[0])]
                else:
                    answers = list(await asyncio.gather(*(self._answer(p) for p in payloads)))
                writer.write(b"".join(frame(a) for a in answers))
            for oversized in decoder.pop_rejected():
                error = Hl7ParseError(
                    f"the message is {oversized.size} bytes, more than the limit of {self.max_frame_size}",
                    error_code="104",
                )
                writer.write(frame(build_ack(oversized.head, error=error, application=self.application)))
            await writer.drain()

    async def _answer(self, payload: bytes) -> bytes:
        ack, _stored = await receive(self.committer, payload, self.channel, application=self.application)
        return ack
