"""Conditions on a pair of records, rendered as SQL (for Splink) and evaluated in Python (in real time).

Python follows SQL's three-valued logic: a comparison involving a missing value is unknown (``None``), ``AND``
is false if any part is false, ``OR`` true if any part is true, ``NOT`` of unknown is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

from huitong.empi.normalise import NormalisedRecord

Tri = bool | None


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions), as DuckDB's and Spark's ``levenshtein``."""
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _within_band(a: str, b: str, edits: int) -> bool:
    """``levenshtein(a, b) <= edits`` on the diagonal band of the table only, stopping at the first row that
    is all over ``edits`` (two different ID numbers stop after three rows instead of filling 18 × 18 cells)."""
    la, lb = len(a), len(b)
    if abs(la - lb) > edits:
        return False
    if la == lb and sum(x != y for x, y in zip(a, b, strict=True)) <= edits:
        return True  # substitutions only: the distance is at most the Hamming distance
    over = edits + 1  # every value above ``edits`` is kept as ``over`` (saturated)
    previous = [j if j <= edits else over for j in range(lb + 1)]
    for i in range(1, la + 1):
        ca = a[i - 1]
        current = [over] * (lb + 1)
        current[0] = i if i <= edits else over
        lowest = current[0]
        for j in range(max(1, i - edits), min(lb, i + edits) + 1):
            value = previous[j - 1] + (ca != b[j - 1])
            if previous[j] + 1 < value:
                value = previous[j] + 1
            if current[j - 1] + 1 < value:
                value = current[j - 1] + 1
            if value > over:
                value = over
            current[j] = value
            if value < lowest:
                lowest = value
        if lowest > edits:
            return False  # no cell of a later row can come back under
        previous = current
    return previous[lb] <= edits


def within_edits(a: str, b: str, edits: int) -> bool:
    """``levenshtein(a, b) <= edits``, without the full table (a direct test for 1 edit, a band for more)."""
    if edits != 1:
        return a == b or _within_band(a, b, edits)
    if a == b:
        return True
    la, lb = len(a), len(b)
    if la == lb:
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    if abs(la - lb) != 1:
        return False
    if la < lb:
        a, b = b, a
    i = 0
    while i < len(b) and a[i] == b[i]:
        i += 1
    return a[i + 1 :] == b[i:]


class Expr:
    """A condition on a pair of records (``l`` and ``r``)."""

    def sql(self) -> str:
        raise NotImplementedError

    def test(self, left: NormalisedRecord, right: NormalisedRecord) -> Tri:
        raise NotImplementedError

    def __and__(self, other: Expr) -> Expr:
        return All((self, other))

    def __or__(self, other: Expr) -> Expr:
        return Any_((self, other))

    def __invert__(self) -> Expr:
        return Not(self)


@dataclass(frozen=True)
class EitherNull(Expr):
    """Either record lacks ``column``."""

    column: str

    def sql(self) -> str:
        return f"{self.column}_l IS NULL OR {self.column}_r IS NULL"

    def test(self, left: NormalisedRecord, right: NormalisedRecord) -> Tri:
        return getattr(left, self.column) is None or getattr(right, self.column) is None


@dataclass(frozen=True)
class Same(Expr):
    """Both records have the same ``column`` (optionally only its first ``prefix`` characters)."""

    column: str
    prefix: int = 0

    def _side(self, side: str) -> str:
        name = f"{self.column}_{side}"
        return f"substr({name}, 1, {self.prefix})" if self.prefix else name

    def sql(self) -> str:
        return f"{self._side('l')} = {self._side('r')}"

    def test(self, left: NormalisedRecord, right: NormalisedRecord) -> Tri:
        a, b = getattr(left, self.column), getattr(right, self.column)
        if a is None or b is None:
            return None
        if self.prefix:
            return str(a)[: self.prefix] == str(b)[: self.prefix]
        return bool(a == b)


@dataclass(frozen=True)
class SameSlice(Expr):
    """Both records have the same ``length`` characters of ``column`` from position ``start`` (1-based)."""

    column: str
    start: int
    length: int

    def sql(self) -> str:
        c, p, n = self.column, self.start, self.length
        return f"substr({c}_l, {p}, {n}) = substr({c}_r, {p}, {n})"

    def test(self, left: NormalisedRecord, right: NormalisedRecord) -> Tri:
        a, b = getattr(left, self.column), getattr(right, self.column)
        if a is None or b is None:
            return None
        begin = self.start - 1
        return str(a)[begin : begin + self.length] == str(b)[begin : begin + self.length]


@dataclass(frozen=True)
class Within(Expr):
    """``column`` differs by at most ``edits`` insertions, deletions or substitutions."""

    column: str
    edits: int

    def sql(self) -> str:
        return f"levenshtein({self.column}_l, {self.column}_r) <= {self.edits}"

    def test(self, left: NormalisedRecord, right: NormalisedRecord) -> Tri:
        a, b = getattr(left, self.column), getattr(right, self.column)
        if a is None or b is None:
            return None
        return within_edits(str(a), str(b), self.edits)


@dataclass(frozen=True)
class Swapped(Expr):
    """Two ``substr`` slices of ``column`` are swapped between the records (day and month of a date)."""

    column: str
    first: tuple[int, int]
    second: tuple[int, int]

    def sql(self) -> str:
        c, (p1, n1), (p2, n2) = self.column, self.first, self.second
        first = f"substr({c}_l, {p1}, {n1}) = substr({c}_r, {p2}, {n2})"
        return f"{first} AND substr({c}_l, {p2}, {n2}) = substr({c}_r, {p1}, {n1})"

    def test(self, left: NormalisedRecord, right: NormalisedRecord) -> Tri:
        a, b = getattr(left, self.column), getattr(right, self.column)
        if a is None or b is None:
            return None
        sa, sb = str(a), str(b)
        (p1, n1), (p2, n2) = self.first, self.second
        return (
            sa[p1 - 1 : p1 - 1 + n1] == sb[p2 - 1 : p2 - 1 + n2]
            and sa[p2 - 1 : p2 - 1 + n2] == sb[p1 - 1 : p1 - 1 + n1]
        )


@dataclass(frozen=True)
class BothTrue(Expr):
    """A boolean ``column`` is true on both records."""

    column: str

    def sql(self) -> str:
        return f"{self.column}_l AND {self.column}_r"

    def test(self, left: NormalisedRecord, right: NormalisedRecord) -> Tri:
        a, b = getattr(left, self.column), getattr(right, self.column)
        if a is False or b is False:
            return False
        if a is None or b is None:
            return None
        return True


@dataclass(frozen=True)
class All(Expr):
    parts: tuple[Expr, ...]

    def sql(self) -> str:
        return " AND ".join(f"({p.sql()})" for p in self.parts)

    def test(self, left: NormalisedRecord, right: NormalisedRecord) -> Tri:
        unknown = False
        for part in self.parts:  # false decides at once: the later parts (an edit distance) are not computed
            value = part.test(left, right)
            if value is None:
                unknown = True
            elif not value:
                return False
        return None if unknown else True


@dataclass(frozen=True)
class Any_(Expr):  # noqa: N801 - ``Any`` is taken by typing
    parts: tuple[Expr, ...]

    def sql(self) -> str:
        return " OR ".join(f"({p.sql()})" for p in self.parts)

    def test(self, left: NormalisedRecord, right: NormalisedRecord) -> Tri:
        unknown = False
        for part in self.parts:  # true decides at once
            value = part.test(left, right)
            if value is None:
                unknown = True
            elif value:
                return True
        return None if unknown else False


@dataclass(frozen=True)
class Not(Expr):
    part: Expr

    def sql(self) -> str:
        return f"NOT ({self.part.sql()})"

    def test(self, left: NormalisedRecord, right: NormalisedRecord) -> Tri:
        value = self.part.test(left, right)
        return None if value is None else not value
