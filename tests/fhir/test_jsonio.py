"""``jsonio.loads`` (one decoder per thread) gives exactly what ``json.loads`` with the same options gives."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitong.fhir import jsonio


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types all the way down (``Decimal('1.50')`` is not ``1.5``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) and str(a) == str(b)


def _outcome(data: bytes | str) -> Any:
    try:
        return ("ok", jsonio.loads(data))
    except jsonio.JsonError as exc:
        return ("error", str(exc))


def _exact(data: bytes | str) -> Any:
    """The reference: the standard library's ``json.loads`` with a new decoder on every call."""
    try:
        value = json.loads(
            data, parse_float=Decimal, parse_int=jsonio._parse_int, parse_constant=jsonio._reject_constant
        )
    except json.JSONDecodeError as exc:
        return ("error", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except (ValueError, RecursionError) as exc:
        return ("error", f"not valid JSON: {exc}")
    return ("ok", value)


def _agree(data: bytes | str) -> None:
    fast, exact = _outcome(data), _exact(data)
    assert fast[0] == exact[0], data
    assert _same(fast[1], exact[1]) if fast[0] == "ok" else fast[1] == exact[1], data


numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.sampled_from(["1.50", "7.0", "-0", "-0.0", "1e5", "1E+3", "2.5e-7", "0", "18446744073709551616"]),
)
texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["2024-01-01T10:00:00.000+08:00", "at 10:30.5, then", "[1.5]", ":1e5}", "\ud800"]),
)
scalars = st.one_of(numbers, texts.map(lambda t: json.dumps(t)), st.sampled_from(["true", "false", "null"]))


def _document(draw: Any, depth: int = 0) -> str:
    kind = draw(st.sampled_from(["scalar", "list", "object"] if depth < 3 else ["scalar"]))
    space = draw(st.sampled_from(["", " ", "\n", "\t "]))
    if kind == "scalar":
        return f"{space}{draw(scalars)}{space}"
    if kind == "list":
        items = [_document(draw, depth + 1) for _ in range(draw(st.integers(0, 3)))]
        return "[" + ",".join(items) + "]"
    keys = draw(st.lists(texts, max_size=3))
    return "{" + ",".join(f"{json.dumps(k)}{space}:{_document(draw, depth + 1)}" for k in keys) + "}"


@given(st.composite(_document)())
def test_parser_agrees_with_the_standard_library_on_any_document(text: str) -> None:
    _agree(text)
    _agree(text.encode("utf-8", "surrogatepass"))


@given(st.binary(max_size=40))
def test_parser_agrees_with_the_standard_library_on_any_bytes(data: bytes) -> None:
    _agree(data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"valueQuantity":{"value":1.50}}',
        b'{"a":[1e5, 2]}',
        b'{"when":"2024-01-01T10:00:00.000+08:00","n":3}',
        b'{"x":18446744073709551616}',
        b'{"x":-9223372036854775809}',
        b'{"s":"\\ud800"}',
        b'\xef\xbb\xbf{"a":1}',
        b'{"a":NaN}',
        b"1.5",
        b" 2.5 ",
        b'{"a":1.5',
        '{"a":2.50}',
        b'{"a":1,"b":2,"a":3}',
        b'{"x":1234567890123456789}',
        b'{"x":-123456789012345678}',
        b"18446744073709551616",
        b'{"text":"a [1.5] b","n":[1,\n 2.0]}',
        b'{"a":"\\u00e9\\ud83d\\ude00"}',
        b'{"a":1}\n\n',
        b'{"a":01}',
        b'{"a":1}x',
    ],
)
def test_parser_agrees_with_the_standard_library_on_the_awkward_cases(data: bytes | str) -> None:
    _agree(data)


def test_decimals_keep_their_digits_and_big_integers_stay_exact() -> None:
    doc = jsonio.loads(b'{"value":7.0,"big":18446744073709551616,"small":3}')
    assert doc == {"value": Decimal("7.0"), "big": Decimal("18446744073709551616"), "small": 3}
    assert str(doc["value"]) == "7.0"
    assert jsonio.dumps(doc) == b'{"value":7.0,"big":18446744073709551616,"small":3}'


def test_each_thread_parses_with_its_own_decoder() -> None:
    results: list[Any] = []

    def work() -> None:
        results.extend(jsonio.loads(b'{"v":%d.5}' % i) for i in range(200))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["v"] for r in results) == sorted(Decimal(f"{i}.5") for i in range(200) for _ in range(4))
