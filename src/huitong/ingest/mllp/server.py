"""The MLLP listener: asyncio, many connections, optional TLS, ACK only after the durable commit.

Each connection is an :class:`asyncio.Protocol` with its own :class:`~huitong.ingest.mllp.framing.MllpDecoder`
(no stream reader, task or timeout object per message). Every payload is read on arrival
(:func:`huitong.ingest.receive.examine`) and queued in the shared :class:`~huitong.ingest.receive.Committer` —
one write job and one disk sync for all messages that arrive together, from all connections; its ACK is
written only when the commit that stored it has returned. Payloads a sender pipelines without waiting are
stored together and answered in the order they came. Oversized frames are answered AR without being stored.
Processing (parse → map → store) happens later, in the pipeline.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import ssl as ssl_module
from pathlib import Path
from typing import cast

from huitong.ingest.errors import Hl7ParseError
from huitong.ingest.hl7v2.ack import build_ack
from huitong.ingest.hl7v2.header import Header
from huitong.ingest.inbox import Stored
from huitong.ingest.mllp.framing import MllpDecoder, frame
from huitong.ingest.receive import Committer, Examined, StorageFailedError, ack_for, examine

log = logging.getLogger(__name__)

#: Answers a connection may owe before the listener stops reading from it (a sender pipelining without end).
_MAX_IN_FLIGHT = 1024


def server_ssl_context(cert: Path, key: Path, client_ca: Path | None = None) -> ssl_module.SSLContext:
    """TLS for the listener (TLS 1.2+); with ``client_ca`` every client must present a certificate it signed."""
    context = ssl_module.create_default_context(ssl_module.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl_module.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    if client_ca is not None:
        context.load_verify_locations(cafile=str(client_ca))
        context.verify_mode = ssl_module.CERT_REQUIRED
    return context


class _Answer:
    """One answer a connection owes, in arrival order; ``ack`` (framed) is set once the message's fate is known."""

    __slots__ = ("ack",)

    def __init__(self, ack: bytes | None = None) -> None:
        self.ack = ack


class _Connection(asyncio.Protocol):
    """One sender's connection: frames in, each payload stored through the committer, ACKs out in order."""

    def __init__(self, server: MllpServer) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.decoder = MllpDecoder(server.max_frame_size)
        self.transport: asyncio.Transport | None = None
        self.peer: object = None
        self.answers: collections.deque[_Answer] = collections.deque()
        self.last_read = self.loop.time()
        self.timer: asyncio.TimerHandle | None = None
        self.active = False  # holds one of the server's connection slots
        self.reading_paused = False
        self.writing_paused = False
        self.eof = False  # the sender half-closed its side

    # -- asyncio.Protocol ------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.peer = transport.get_extra_info("peername")
        self.server._opened(self)
        self.timer = self.loop.call_later(self.server.idle_timeout, self._check_idle)

    def data_received(self, data: bytes) -> None:
        self.last_read = self.loop.time()
        server = self.server
        payloads = self.decoder.feed(data)
        if payloads:
            server.received += len(payloads)
            for payload in payloads:
                self._receive(payload)
        if self.decoder.rejected:
            for oversized in self.decoder.pop_rejected():
                error = Hl7ParseError(
                    f"the message is {oversized.size} bytes, more than the limit of {server.max_frame_size}",
                    error_code="104",
                )
                ack = build_ack(oversized.head, error=error, application=server.application)
                self.answers.append(_Answer(frame(ack)))
            self._flush()
        if len(self.answers) >= _MAX_IN_FLIGHT:
            self._pause_reading()

    def eof_received(self) -> bool | None:
        """The sender has finished sending: answer what it is owed, then close (over TLS: close now)."""
        self.eof = True
        if not self.answers:
            return None
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            log.info("MLLP connection from %s ended: %s", self.peer, exc)
        if self.timer is not None:
            self.timer.cancel()
        self.server._closed(self)

    def pause_writing(self) -> None:
        self.writing_paused = True
        self._pause_reading()

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._maybe_resume_reading()

    # -- receiving and answering -----------------------------------------------------------------------

    def _receive(self, payload: bytes) -> None:
        examined = examine(payload, self.server.channel)
        answer = _Answer()
        self.answers.append(answer)
        # The answer for a message stored as sent (or refused), framed now while the writer is busy: after the
        # commit only a repeated control id or a failed write needs another one.
        usual = frame(ack_for(payload, examined, None, application=self.server.application))
        self.server.committer.enqueue(
            examined.incoming, lambda stored, error: self._stored(stored, error, answer, usual, payload, examined)
        )

    def _stored(
        self,
        stored: Stored | None,
        error: StorageFailedError | None,
        answer: _Answer,
        usual: bytes,
        payload: bytes,
        examined: Examined,
    ) -> None:
        if error is None and (stored is None or not stored.duplicate):
            answer.ack = usual
        elif error is None:
            answer.ack = frame(ack_for(payload, examined, stored, application=self.server.application))
        else:
            source: Header | bytes = examined.header if examined.header is not None else payload
            answer.ack = frame(build_ack(source, error=error, application=self.server.application))
        if self.answers and self.answers[0] is answer:
            self._flush()

    def _flush(self) -> None:
        """Write every answer that is ready at the head of the queue (in arrival order)."""
        answers = self.answers
        ready: list[bytes] = []
        while answers and answers[0].ack is not None:
            ready.append(cast(bytes, answers.popleft().ack))
        transport = self.transport
        if ready and transport is not None and not transport.is_closing():
            transport.write(ready[0] if len(ready) == 1 else b"".join(ready))
            if self.eof and not answers:
                transport.close()
        if self.reading_paused:
            self._maybe_resume_reading()

    def _pause_reading(self) -> None:
        if not self.reading_paused and self.transport is not None and not self.transport.is_closing():
            self.reading_paused = True
            self.transport.pause_reading()

    def _maybe_resume_reading(self) -> None:
        if (
            self.reading_paused
            and self.active
            and not self.writing_paused
            and len(self.answers) < _MAX_IN_FLIGHT // 2
            and self.transport is not None
            and not self.transport.is_closing()
        ):
            self.reading_paused = False
            self.last_read = self.loop.time()
            self.transport.resume_reading()

    def _check_idle(self) -> None:
        """Close the connection when nothing was read for the idle timeout and no answer is owed."""
        idle = self.server.idle_timeout
        silent = self.loop.time() - self.last_read
        if silent >= idle and not self.answers and self.active and self.transport is not None:
            log.info("MLLP connection from %s ended: idle for %.0f s", self.peer, silent)
            self.transport.close()
            return
        self.timer = self.loop.call_later(max(idle - silent, 0.05) if silent < idle else idle, self._check_idle)


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
        self.max_connections = max_connections
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._active = 0
        self._waiting: collections.deque[_Connection] = collections.deque()
        self._all_closed: asyncio.Event | None = None
        self.connections_total = 0
        self.received = 0

    @property
    def open_connections(self) -> int:
        """Connections open now (served or waiting for a slot)."""
        return len(self._connections)

    async def start(self) -> None:
        """Bind and start accepting; ``port`` then holds the bound port (useful with port 0)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _Connection(self), self.host, self.port, ssl=self.ssl, reuse_address=True
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info(
            "MLLP listener for channel %r on %s:%d%s", self.channel, self.host, self.port, " (TLS)" * bool(self.ssl)
        )

    async def close(self) -> None:
        """Stop accepting, close open connections and wait for writes in flight."""
        if self._server is not None:
            self._server.close()
            if self._connections:
                self._all_closed = asyncio.Event()
                for conn in list(self._connections):
                    if conn.transport is not None:
                        conn.transport.close()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._all_closed.wait(), 5.0)
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

    def _opened(self, conn: _Connection) -> None:
        self._connections.add(conn)
        self.connections_total += 1
        if self._active < self.max_connections:
            self._active += 1
            conn.active = True
        else:  # served once another connection ends, as a sender queued at a busy interface expects
            conn._pause_reading()
            self._waiting.append(conn)

    def _closed(self, conn: _Connection) -> None:
        self._connections.discard(conn)
        if conn.active:
            conn.active = False
            self._active -= 1
            while self._waiting and self._active < self.max_connections:
                waiting = self._waiting.popleft()
                if waiting.transport is None or waiting.transport.is_closing():
                    continue
                self._active += 1
                waiting.active = True
                waiting._maybe_resume_reading()
        if not self._connections and self._all_closed is not None:
            self._all_closed.set()
