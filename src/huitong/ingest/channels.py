"""Channels: where messages come from, which are kept, and where they go — in a versionable TOML file.

A hospital keeps ``channels.toml`` in version control and points ``HUITONG_INGEST__CHANNELS_FILE`` at it::

    [[channel]]
    name = "lis"                                  # the channel's name in the message store and dashboard
    source = { type = "mllp", port = 2576 }       # or { type = "folder", path = "/data/in/lis" } or { type = "http" }
    filter = { message_types = ["ORU^R01"], sending_applications = ["LIS"] }
    repository = true                             # map to FHIR and store (default true)

    [[channel.destination]]                       # forward the raw message too: the EMR gets the same results
    type = "mllp"
    host = "10.1.2.3"
    port = 2575
    retries = 5
    backoff_seconds = 0.5

A message arriving through a source is stored under its channel; the pipeline applies the channel's
filter (a message that does not pass is ``filtered``), maps and stores it when ``repository`` is on, and
forwards the raw bytes to each destination with retries and exponential back-off (a destination that
stays down turns the message into a dead letter, to be replayed). Without a file there is one channel,
``default``, fed by the MLLP listener of the settings and writing to the repository.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import time
import tomllib
from pathlib import Path
from typing import Annotated, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from huitong.ingest.errors import IngestError, MllpError
from huitong.ingest.hl7v2.ack import read_ack
from huitong.ingest.hl7v2.message import Message
from huitong.ingest.mllp.client import send_messages

log = logging.getLogger(__name__)


class ChannelConfigError(Exception):
    """The channels file cannot be read or is invalid; the message says where."""


class ForwardError(Exception):
    """A destination refused or could not be reached after all retries."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MllpSource(_Strict):
    type: Literal["mllp"]
    host: str = "0.0.0.0"  # noqa: S104 - a hospital's listener serves the LAN; tests bind 127.0.0.1
    port: int = Field(ge=0, le=65535)


class FolderSource(_Strict):
    type: Literal["folder"]
    path: Path
    pattern: str = "*.hl7"
    poll_seconds: float = Field(default=2.0, gt=0)


class HttpSource(_Strict):
    type: Literal["http"]


Source = Annotated[MllpSource | FolderSource | HttpSource, Field(discriminator="type")]


class Filter(_Strict):
    """Which messages the channel keeps; empty lists keep everything. Patterns: ``ORU^*``, ``ADT^A0?``."""

    message_types: list[str] = Field(default_factory=list)
    exclude_types: list[str] = Field(default_factory=list)
    sending_applications: list[str] = Field(default_factory=list)

    def accepts(self, msg: Message) -> bool:
        mtype = msg.message_type
        if self.message_types and not any(_type_match(mtype, p) for p in self.message_types):
            return False
        if any(_type_match(mtype, p) for p in self.exclude_types):
            return False
        app = msg.msh.get("3.1")
        return not self.sending_applications or app in self.sending_applications


def _type_match(mtype: str, pattern: str) -> bool:
    pattern = pattern.upper()
    return fnmatch.fnmatchcase(mtype, pattern) or ("^" not in pattern and mtype.split("^")[0] == pattern)


class _Retrying(_Strict):
    retries: int = Field(default=5, ge=0, le=100)
    backoff_seconds: float = Field(default=0.5, ge=0)
    max_backoff_seconds: float = Field(default=30.0, ge=0)
    timeout_seconds: float = Field(default=30.0, gt=0)

    def send(self, raw: bytes) -> None:
        """Deliver ``raw``, retrying with exponential back-off; raise :class:`ForwardError` in the end."""
        delay = self.backoff_seconds
        for attempt in range(self.retries + 1):
            try:
                self.send_once(raw)
                return
            except ForwardError as exc:
                if attempt == self.retries:
                    raise ForwardError(f"{self.describe()}: {exc} (after {attempt + 1} attempts)") from exc
                log.warning("forwarding to %s failed (%s); retrying in %.1f s", self.describe(), exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, self.max_backoff_seconds)

    def send_once(self, raw: bytes) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class MllpDestination(_Retrying):
    """Forward over MLLP; an AA or CA ACK is success, AE/AR is a refusal (retried, then a dead letter)."""

    type: Literal["mllp"]
    host: str
    port: int = Field(ge=1, le=65535)

    def send_once(self, raw: bytes) -> None:
        try:
            acks = asyncio.run(
                send_messages(
                    self.host, self.port, [raw], connect_timeout=self.timeout_seconds, ack_timeout=self.timeout_seconds
                )
            )
            summary = read_ack(acks[0])
        except (MllpError, IngestError) as exc:
            raise ForwardError(str(exc)) from exc
        if summary.code not in ("AA", "CA"):
            raise ForwardError(f"answered {summary.code}: {summary.text}")

    def describe(self) -> str:
        return f"mllp://{self.host}:{self.port}"


class HttpDestination(_Retrying):
    """Forward by HTTP POST of the raw message (``application/hl7-v2``); any 2xx is success."""

    type: Literal["http"]
    url: str
    headers: dict[str, str] = Field(default_factory=dict)

    def send_once(self, raw: bytes) -> None:
        try:
            response = httpx.post(
                self.url,
                content=raw,
                headers={"Content-Type": "application/hl7-v2", **self.headers},
                timeout=self.timeout_seconds,
            )
        except httpx.HTTPError as exc:
            raise ForwardError(str(exc)) from exc
        if not response.is_success:
            raise ForwardError(f"HTTP {response.status_code}: {response.text[:200]}")

    def describe(self) -> str:
        return self.url


Destination = Annotated[MllpDestination | HttpDestination, Field(discriminator="type")]


class Channel(_Strict):
    """One channel; see the module docstring."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    source: Source | None = None
    filter: Filter = Field(default_factory=Filter)
    repository: bool = True
    destinations: list[Destination] = Field(default_factory=list, alias="destination")

    def accepts(self, msg: Message) -> bool:
        return self.filter.accepts(msg)


class ChannelSet(_Strict):
    """All channels; messages of a channel not configured are treated as ``default``."""

    channels: list[Channel] = Field(default_factory=list, alias="channel")

    @classmethod
    def default(cls) -> ChannelSet:
        return cls(channel=[Channel(name="default")])

    def get(self, name: str) -> Channel:
        for channel in self.channels:
            if channel.name == name:
                return channel
        return Channel(name=name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.channels]


def load_channels(path: Path | None) -> ChannelSet:
    """The channels in ``path`` (TOML), or the single ``default`` channel when no file is configured."""
    if path is None:
        return ChannelSet.default()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        channels = ChannelSet.model_validate(data)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ChannelConfigError(f"cannot read the channels file {path}: {exc}") from exc
    except ValidationError as exc:
        raise ChannelConfigError(f"invalid channels file {path}: {exc}") from exc
    names = channels.names
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ChannelConfigError(f"channel names must be unique in {path}: {', '.join(duplicates)}")
    return channels
