"""HL7 v2 escape sequences (v2.5 §2.7): decoding field text to values and encoding values back.

Decoded: ``\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\P\\`` (the delimiters), ``\\Xhh…\\`` (bytes in the message's character
set), ``\\.br\\`` (a line break) and ``\\.sp\\`` (a blank line). Dropped, as they only format text: the
highlighting ``\\H\\ \\N\\`` and the other formatting commands (``\\.in\\``, ``\\.ti\\``, ``\\.sk\\``, ``\\.ce\\``,
``\\.fi\\``, ``\\.nf\\``) and character-set switches ``\\C…\\ \\M…\\``. Kept literally: local ``\\Z…\\``
sequences and an escape character with no closing one (a lenient reading of senders that do not escape).
"""

from __future__ import annotations

import binascii
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from huitong.ingest.hl7v2.message import Encoding

_DROPPED_PREFIXES = (".in", ".ti", ".sk", ".ce", ".fi", ".nf")


def unescape(text: str, enc: Encoding) -> str:
    """The value of field text ``text`` (one component or subcomponent) with escape sequences decoded."""
    esc = enc.escape
    if not esc or esc not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        j = text.find(esc, i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        k = text.find(esc, j + 1)
        if k < 0:  # no closing escape character: keep the rest literally
            out.append(text[j:])
            break
        out.append(_decode_sequence(text[j + 1 : k], enc, text[j : k + 1]))
        i = k + 1
    return "".join(out)


def _decode_sequence(seq: str, enc: Encoding, literal: str) -> str:
    if seq == "F":
        return enc.field
    if seq == "S":
        return enc.component
    if seq == "T":
        return enc.subcomponent or literal
    if seq == "R":
        return enc.repetition
    if seq == "E":
        return enc.escape
    if seq == "P":
        return enc.truncation or literal
    if seq in (".br", ".sp"):
        return "\n"
    if seq in ("H", "N") or seq.startswith(_DROPPED_PREFIXES):
        return ""
    if seq[:1] == "X" and len(seq) > 1:
        try:
            return binascii.unhexlify(seq[1:]).decode(enc.codec, errors="replace")
        except (binascii.Error, LookupError):
            return literal
    if seq[:1] in ("C", "M") and len(seq) > 1:
        return ""
    return literal  # \Z…\ (locally defined) and anything unknown stay as sent


def escape(value: str, enc: Encoding) -> str:
    """Field text for ``value``: delimiters and line breaks replaced by escape sequences."""
    esc = enc.escape
    if not esc:
        return value
    if not any(c in value for c in enc.specials):
        return value
    out: list[str] = []
    for c in value:
        if c == esc:
            out.append(f"{esc}E{esc}")
        elif c == enc.field:
            out.append(f"{esc}F{esc}")
        elif c == enc.component:
            out.append(f"{esc}S{esc}")
        elif c == enc.repetition:
            out.append(f"{esc}R{esc}")
        elif c == enc.subcomponent and c:
            out.append(f"{esc}T{esc}")
        elif c == enc.truncation and c:
            out.append(f"{esc}P{esc}")
        elif c == "\r":
            out.append(f"{esc}X0D{esc}")
        elif c == "\n":
            out.append(f"{esc}X0A{esc}")
        else:
            out.append(c)
    return "".join(out)
