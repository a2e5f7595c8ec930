"""String functions: indexOf, substring, startsWith, matches, replaceMatches, split, join, encode, …"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Callable
from typing import Any

from huitong.views.errors import FhirPathEvaluationError
from huitong.views.fhirpath.context import Collection, Ctx, Evaluator, eval_arg, singleton
from huitong.views.fhirpath.functions._registry import function
from huitong.views.fhirpath.values import is_number, to_system


def _input(items: Collection, name: str) -> str | None:
    value = singleton(items, "string")
    if value is None:
        return None
    if not isinstance(value, str):
        raise FhirPathEvaluationError(f"{name}() needs a string, got {type(value).__name__}")
    return value


def _arg(ctx: Ctx, arg: Evaluator) -> str | None:
    value = singleton(eval_arg(ctx, arg), "string")
    if value is None:
        return None
    if not isinstance(value, str):
        raise FhirPathEvaluationError("expected a string argument")
    return value


def _int_arg(ctx: Ctx, arg: Evaluator) -> int | None:
    value = singleton(eval_arg(ctx, arg), "integer")
    if value is None:
        return None
    if not is_number(value):
        raise FhirPathEvaluationError("expected an integer argument")
    return int(value)


StrImpl = Callable[..., Any]


def _string_fn(name: str, nargs: int = 1) -> Callable[[StrImpl], StrImpl]:
    """Decorator for functions (string, *string args) → value; empty input or argument → empty."""

    def register(impl: StrImpl) -> StrImpl:
        def run(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
            text = _input(items, name)
            if text is None:
                return []
            values = [_arg(ctx, arg) for arg in args]
            if any(v is None for v in values):
                return []
            result = impl(text, *values)
            return [] if result is None else [result]

        function(name, nargs)(run)
        return impl

    return register


@_string_fn("indexOf")
def index_of(text: str, sub: str) -> int:
    return text.find(sub)


@_string_fn("lastIndexOf")
def last_index_of(text: str, sub: str) -> int:
    return text.rfind(sub)


@function("substring", 1, 2)
def substring(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    text = _input(items, "substring")
    start = _int_arg(ctx, args[0])
    if text is None or start is None or start < 0 or start >= len(text):
        return []
    if len(args) > 1:
        length = _int_arg(ctx, args[1])
        if length is None:
            return [text[start:]]
        return [text[start : start + max(length, 0)]]
    return [text[start:]]


@_string_fn("startsWith")
def starts_with(text: str, prefix: str) -> bool:
    return text.startswith(prefix)


@_string_fn("endsWith")
def ends_with(text: str, suffix: str) -> bool:
    return text.endswith(suffix)


@_string_fn("contains")
def contains(text: str, sub: str) -> bool:
    return sub in text


@_string_fn("upper", 0)
def upper(text: str) -> str:
    return text.upper()


@_string_fn("lower", 0)
def lower(text: str) -> str:
    return text.lower()


@_string_fn("replace", 2)
def replace(text: str, pattern: str, substitution: str) -> str:
    return text.replace(pattern, substitution)


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error as exc:
        raise FhirPathEvaluationError(f"invalid regular expression {pattern!r}: {exc}") from None


@_string_fn("matches")
def matches(text: str, pattern: str) -> bool:
    return _regex(pattern).search(text) is not None


@_string_fn("matchesFull")
def matches_full(text: str, pattern: str) -> bool:
    return _regex(pattern).fullmatch(text) is not None


@_string_fn("replaceMatches", 2)
def replace_matches(text: str, pattern: str, substitution: str) -> str:
    if pattern == "":
        return text
    python_sub = re.sub(r"\$(\d+)", r"\\\1", substitution.replace("\\", "\\\\"))
    return _regex(pattern).sub(python_sub, text)


@_string_fn("length", 0)
def length(text: str) -> int:
    return len(text)


@function("toChars")
def to_chars(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    text = _input(items, "toChars")
    return [] if text is None else list(text)


@function("split", 1)
def split(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    text = _input(items, "split")
    separator = _arg(ctx, args[0])
    if text is None or separator is None:
        return []
    return text.split(separator) if separator else list(text)


@function("join", 0, 1)
def join(ctx: Ctx, items: Collection, args: tuple[Evaluator, ...]) -> Collection:
    separator = (_arg(ctx, args[0]) if args else "") or ""
    values = [to_system(item) for item in items]
    if not all(isinstance(v, str) for v in values):
        raise FhirPathEvaluationError("join() needs strings")
    return [separator.join(values)]


@_string_fn("trim", 0)
def trim(text: str) -> str:
    return text.strip()


@_string_fn("encode")
def encode(text: str, encoding: str) -> str | None:
    raw = text.encode("utf-8")
    if encoding == "base64":
        return base64.b64encode(raw).decode("ascii")
    if encoding == "urlbase64":
        return base64.urlsafe_b64encode(raw).decode("ascii")
    if encoding == "hex":
        return raw.hex()
    return None


@_string_fn("decode")
def decode(text: str, encoding: str) -> str | None:
    try:
        if encoding == "base64":
            return base64.b64decode(text, validate=True).decode("utf-8")
        if encoding == "urlbase64":
            return base64.urlsafe_b64decode(text).decode("utf-8")
        if encoding == "hex":
            return bytes.fromhex(text).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return None


@_string_fn("escape")
def escape(text: str, target: str) -> str | None:
    if target == "html":
        return html.escape(text, quote=True).replace("&#x27;", "'")
    if target == "json":
        return json.dumps(text, ensure_ascii=False)[1:-1]
    return None


_JSON_ESCAPE = re.compile(r'\\(u[0-9a-fA-F]{4}|["\\/bfnrt])')
_JSON_CHARS = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _json_unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    return chr(int(code[1:], 16)) if code.startswith("u") else _JSON_CHARS[code]


@_string_fn("unescape")
def unescape(text: str, target: str) -> str | None:
    if target == "html":
        return html.unescape(text)
    if target == "json":
        return _JSON_ESCAPE.sub(_json_unescape, text)
    return None
