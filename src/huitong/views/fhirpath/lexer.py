"""Tokens of FHIRPath text (the lexical rules of the FHIRPath N1 grammar)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from huitong.views.errors import FhirPathSyntaxError

Kind = Literal["num", "str", "id", "qid", "datetime", "op", "var", "special", "eof"]


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``value`` is the unescaped text (a string literal's content, an identifier's name)."""

    kind: Kind
    value: str
    pos: int


_DATETIME = re.compile(
    r"@(?:T\d\d(?::\d\d(?::\d\d(?:\.\d+)?)?)?"
    r"|\d{4}(?:-\d\d(?:-\d\d)?)?(?:T(?:\d\d(?::\d\d(?::\d\d(?:\.\d+)?)?)?(?:Z|[+-]\d\d:\d\d)?)?)?)",
    re.ASCII,
)
_NUMBER = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPACE = re.compile(r"\s+")
_OPS2 = ("<=", ">=", "!=", "!~")
_OPS1 = ".[](){},+-*/|&=~<>"
_ESCAPES = {"'": "'", '"': '"', "`": "`", "\\": "\\", "/": "/", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``eof`` token; comments and whitespace are dropped."""
    tokens: list[Token] = []
    pos = 0
    end = len(text)
    while pos < end:
        ch = text[pos]
        if ch.isspace():
            match = _SPACE.match(text, pos)
            pos = match.end() if match else pos + 1
            continue
        if text.startswith("//", pos):
            newline = text.find("\n", pos)
            pos = end if newline < 0 else newline + 1
            continue
        if text.startswith("/*", pos):
            close = text.find("*/", pos + 2)
            if close < 0:
                raise FhirPathSyntaxError("unterminated comment", pos)
            pos = close + 2
            continue
        if ch == "'":
            value, pos_after = _quoted(text, pos, "'")
            tokens.append(Token("str", value, pos))
            pos = pos_after
            continue
        if ch == "`":
            value, pos_after = _quoted(text, pos, "`")
            tokens.append(Token("qid", value, pos))
            pos = pos_after
            continue
        if ch == "@":
            match = _DATETIME.match(text, pos)
            if not match:
                raise FhirPathSyntaxError("invalid date/time literal", pos)
            tokens.append(Token("datetime", match.group()[1:], pos))
            pos = match.end()
            continue
        if "0" <= ch <= "9":
            match = _NUMBER.match(text, pos)
            if match is None:  # pragma: no cover - an ASCII digit always matches
                raise FhirPathSyntaxError("invalid number", pos)
            tokens.append(Token("num", match.group(), pos))
            pos = match.end()
            continue
        if ch.isascii() and (ch.isalpha() or ch == "_"):
            match = _IDENT.match(text, pos)
            if match is None:  # pragma: no cover - an ASCII letter always matches
                raise FhirPathSyntaxError("invalid name", pos)
            tokens.append(Token("id", match.group(), pos))
            pos = match.end()
            continue
        if ch in "%$":
            pos = _prefixed(text, pos, tokens)
            continue
        two = text[pos : pos + 2]
        if two in _OPS2:
            tokens.append(Token("op", two, pos))
            pos += 2
            continue
        if ch in _OPS1:
            tokens.append(Token("op", ch, pos))
            pos += 1
            continue
        raise FhirPathSyntaxError(f"unexpected character {ch!r}", pos)
    tokens.append(Token("eof", "", end))
    return tokens


def _prefixed(text: str, pos: int, tokens: list[Token]) -> int:
    """``%name``, ``%`name```, ``%'name'`` (external constants) or ``$this``/``$index``/``$total``."""
    sigil = text[pos]
    nxt = text[pos + 1 : pos + 2]
    if sigil == "%" and nxt in ("`", "'"):
        value, after = _quoted(text, pos + 1, nxt)
        tokens.append(Token("var", value, pos))
        return after
    match = _IDENT.match(text, pos + 1)
    if not match:
        raise FhirPathSyntaxError(f"expected a name after {sigil!r}", pos)
    kind: Kind = "var" if sigil == "%" else "special"
    tokens.append(Token(kind, match.group(), pos))
    return match.end()


def _quoted(text: str, start: int, quote: str) -> tuple[str, int]:
    """Unescape the literal starting at ``text[start] == quote``; returns (value, position after it)."""
    out: list[str] = []
    pos = start + 1
    end = len(text)
    while pos < end:
        ch = text[pos]
        if ch == quote:
            return "".join(out), pos + 1
        if ch == "\\":
            esc = text[pos + 1 : pos + 2]
            if esc == "u":
                digits = text[pos + 2 : pos + 6]
                if len(digits) != 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                    raise FhirPathSyntaxError("invalid unicode escape", pos)
                out.append(chr(int(digits, 16)))
                pos += 6
                continue
            if esc not in _ESCAPES:
                raise FhirPathSyntaxError(f"invalid escape \\{esc}", pos)
            out.append(_ESCAPES[esc])
            pos += 2
            continue
        out.append(ch)
        pos += 1
    raise FhirPathSyntaxError("unterminated literal", start)
