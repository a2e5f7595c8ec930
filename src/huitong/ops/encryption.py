"""Streaming AES-256-GCM for backup files: large files are sealed chunk by chunk in constant memory.

Layout: ``MAGIC`` (8 bytes), the key's fingerprint (8 bytes), a random nonce prefix (8 bytes), then
chunks, each ``length (4 bytes, big-endian) + ciphertext with tag``. The nonce of chunk *i* is the prefix
followed by *i* (4 bytes); the associated data binds the header, the chunk number and whether the chunk is
the last one, so chunks cannot be reordered, dropped or the file truncated without detection.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from huitong.ops.errors import KeyMissingError, VerificationError

MAGIC = b"HTBKAES1"
CHUNK = 1 << 20
_HEADER = len(MAGIC) + 8 + 8


def parse_key(text: str) -> bytes:
    """A 32-byte key from its URL-safe base64 text."""
    try:
        key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError) as exc:
        raise KeyMissingError("the backup encryption key is not valid base64") from exc
    if len(key) != 32:
        raise KeyMissingError(f"the backup encryption key must be 32 bytes, not {len(key)}")
    return key


def fingerprint(key: bytes) -> str:
    """A short public name of a key (recorded in manifests; reveals nothing about the key)."""
    return hashlib.sha256(b"huitong-backup-key:" + key).hexdigest()[:16]


def encrypt_file(src: Path, dest: Path, key: bytes) -> None:
    """Seal ``src`` into ``dest``."""
    aes = AESGCM(key)
    prefix = os.urandom(8)
    header = MAGIC + bytes.fromhex(fingerprint(key)) + prefix
    with src.open("rb") as fin, dest.open("wb") as fout:
        fout.write(header)
        index = 0
        chunk = fin.read(CHUNK)
        while True:
            following = fin.read(CHUNK)
            last = not following
            sealed = aes.encrypt(prefix + struct.pack(">I", index), chunk, _aad(header, index, last))
            fout.write(struct.pack(">I", len(sealed)) + sealed)
            if last:
                return
            chunk, index = following, index + 1


def key_fingerprint_of(path: Path) -> str | None:
    """The fingerprint of the key that sealed ``path``, or ``None`` when the file is not sealed."""
    with path.open("rb") as f:
        head = f.read(_HEADER)
    if len(head) < _HEADER or not head.startswith(MAGIC):
        return None
    return head[len(MAGIC) : len(MAGIC) + 8].hex()


def decrypt_file(src: Path, dest: Path, keys: Iterable[bytes]) -> None:
    """Open ``src`` (sealed by :func:`encrypt_file`) into ``dest`` with whichever of ``keys`` sealed it."""
    wanted = key_fingerprint_of(src)
    if wanted is None:
        raise VerificationError(f"{src.name} is not an encrypted backup file")
    key = next((k for k in keys if fingerprint(k) == wanted), None)
    if key is None:
        raise KeyMissingError(
            f"{src.name} was encrypted with key {wanted}; set it as HUITONG_BACKUP__ENCRYPTION_KEY or list it "
            "in HUITONG_BACKUP__PREVIOUS_ENCRYPTION_KEYS"
        )
    aes = AESGCM(key)
    with src.open("rb") as fin, dest.open("wb") as fout:
        header = fin.read(_HEADER)
        prefix = header[-8:]
        index = 0
        pending = _read_chunk(fin)
        while pending is not None:
            following = _read_chunk(fin)
            try:
                plain = aes.decrypt(prefix + struct.pack(">I", index), pending, _aad(header, index, following is None))
            except InvalidTag as exc:
                raise VerificationError(f"{src.name}: chunk {index} fails authentication (damaged or cut)") from exc
            fout.write(plain)
            pending, index = following, index + 1
    if index == 0:
        raise VerificationError(f"{src.name} holds no data")


def _read_chunk(f: BinaryIO) -> bytes | None:
    size = f.read(4)
    if not size:
        return None
    if len(size) != 4:
        raise VerificationError("encrypted backup file is truncated")
    (length,) = struct.unpack(">I", size)
    data = f.read(length)
    if len(data) != length:
        raise VerificationError("encrypted backup file is truncated")
    return data


def _aad(header: bytes, index: int, last: bool) -> bytes:
    return header + struct.pack(">I?", index, last)
