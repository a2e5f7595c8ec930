"""The fast path of ``date_range`` (whole seconds with a zone, by ``datetime.fromisoformat``) agrees with the
general one (the regular expression) on every input: the same range, or both refuse."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from huitong.fhir.search.values import _date_range, date_range

_DIGITS = st.sampled_from("0123456789")
_NEAR_DIGITS = st.sampled_from("01234567899١²")


def _outcome(fn: object, text: str) -> tuple[int, int] | str:
    try:
        return fn(text)  # type: ignore[operator, no-any-return]
    except ValueError:
        return "refused"


@st.composite
def _shaped(draw: st.DrawFn) -> str:
    """Texts of the fast path's shape, with digits, near-digits and odd separators and zones."""
    digit = _NEAR_DIGITS if draw(st.booleans()) else _DIGITS

    def num(n: int) -> str:
        return "".join(draw(digit) for _ in range(n))

    zone = draw(st.sampled_from(["Z", "z", "+", "-", "~"]))
    if zone in "+-":
        zone += num(2) + draw(st.sampled_from([":", ":", "-"])) + num(2)
    sep = draw(st.sampled_from(["T", "T", "T", "t", " "]))
    digits = draw(st.sampled_from([0, 0, 3, 3, 1, 2, 4, 6]))
    fraction = draw(st.sampled_from([".", ".", ","])) + num(digits) if digits else ""
    return f"{num(4)}-{num(2)}-{num(2)}{sep}{num(2)}:{num(2)}:{num(2)}{fraction}{zone}"


@given(_shaped())
@example("2024-03-05T10:00:00+08:00")
@example("2024-03-05T10:00:00-00:00")
@example("2024-02-30T10:00:00Z")
@example("2024-13-01T10:00:00Z")
@example("2024-03-05T24:00:00Z")
@example("2024-03-05T23:59:60Z")
@example("0000-01-01T00:00:00Z")
@example("2024-03-05T10:00:00+24:00")
@example("2024-03-05T10:00:00+23:59")
@example("٢٠٢٤-03-05T10:00:00Z")
@example("2024-03-05T10:00:00.123+08:00")
@example("2024-03-05T10:00:00.999Z")
@example("2024-03-05T10:00:00.12Z")
def test_fast_path_agrees_with_the_general_one(text: str) -> None:
    assert _outcome(date_range.__wrapped__, text) == _outcome(_date_range, text)


@given(st.text(max_size=30))
def test_any_text_agrees(text: str) -> None:
    assert _outcome(date_range.__wrapped__, text) == _outcome(_date_range, text)


def test_whole_second_and_millisecond_ranges() -> None:
    low, high = date_range("2024-03-05T10:00:00+08:00")
    assert (low, high - low) == (date_range("2024-03-05T02:00:00Z")[0], 1000)
    low, high = date_range("2024-03-05T10:00:00.250+08:00")
    assert (low, high - low) == (date_range("2024-03-05T02:00:00Z")[0] + 250, 1)
