"""An asyncio MLLP client: many messages over one connection, each answered before the next is sent
(original-mode acknowledgement), with optional TLS and timeouts.

>>> acks = await send_messages("127.0.0.1", 2575, [msg1, msg2], ssl=context)
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as ssl_module
from collections.abc import Callable, Iterable
from types import TracebackType

from huitong.ingest.errors import MllpError
from huitong.ingest.mllp.framing import DEFAULT_MAX_FRAME_SIZE, MllpDecoder, frame

AckCallback = Callable[[int, bytes], None]


class MllpClient:
    """One MLLP connection. Use as ``async with MllpClient(host, port) as client: ack = await client.send(m)``."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ssl: ssl_module.SSLContext | None = None,
        server_hostname: str | None = None,
        connect_timeout: float = 10.0,
        ack_timeout: float = 30.0,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    ) -> None:
        self.host = host
        self.port = port
        self.ssl = ssl
        self.server_hostname = server_hostname
        self.connect_timeout = connect_timeout
        self.ack_timeout = ack_timeout
        self._decoder = MllpDecoder(max_frame_size)
        self._pending: list[bytes] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        """Open the connection (TLS when an SSL context was given)."""
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(
                    self.host,
                    self.port,
                    ssl=self.ssl,
                    server_hostname=(self.server_hostname or self.host) if self.ssl else None,
                ),
                self.connect_timeout,
            )
        except TimeoutError as exc:
            raise MllpError(
                f"connecting to {self.host}:{self.port} timed out after {self.connect_timeout:g} s"
            ) from exc
        except (OSError, ssl_module.SSLError) as exc:
            raise MllpError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc

    async def send(self, message: bytes) -> bytes:
        """Send one message and return the payload of the ACK that answers it."""
        if self._writer is None or self._reader is None:
            raise MllpError("the client is not connected")
        try:
            self._writer.write(frame(message))
            await asyncio.wait_for(self._writer.drain(), self.ack_timeout)
            return await asyncio.wait_for(self._read_one(), self.ack_timeout)
        except TimeoutError as exc:
            raise MllpError(f"no ACK from {self.host}:{self.port} within {self.ack_timeout:g} s") from exc
        except (ConnectionError, OSError) as exc:
            raise MllpError(f"connection to {self.host}:{self.port} failed: {exc}") from exc

    async def _read_one(self) -> bytes:
        reader = self._reader
        while not self._pending:
            if reader is None:
                raise MllpError("the client is not connected")
            chunk = await reader.read(65536)
            if not chunk:
                raise MllpError(f"{self.host}:{self.port} closed the connection before sending an ACK")
            self._pending.extend(self._decoder.feed(chunk))
        return self._pending.pop(0)

    async def close(self) -> None:
        """Close the connection."""
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError, ssl_module.SSLError):
                await writer.wait_closed()

    async def __aenter__(self) -> MllpClient:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def send_messages(
    host: str,
    port: int,
    messages: Iterable[bytes],
    *,
    ssl: ssl_module.SSLContext | None = None,
    server_hostname: str | None = None,
    connect_timeout: float = 10.0,
    ack_timeout: float = 30.0,
    on_ack: AckCallback | None = None,
) -> list[bytes]:
    """Send ``messages`` in order over one connection; return their ACK payloads in the same order.

    ``on_ack(index, ack)`` is called as each ACK arrives (for progress). Raises :class:`MllpError` when
    the connection fails; ACKs received before the failure were already passed to ``on_ack``.
    """
    acks: list[bytes] = []
    async with MllpClient(
        host, port, ssl=ssl, server_hostname=server_hostname, connect_timeout=connect_timeout, ack_timeout=ack_timeout
    ) as client:
        for index, message in enumerate(messages):
            ack = await client.send(message)
            acks.append(ack)
            if on_ack is not None:
                on_ack(index, ack)
    return acks
