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


def within_edits(a: str, b: str, edits: int) -> bool:
    """``levenshtein(a, b) <= edits``, answered without the full table when ``edits`` is 1 (the common case)."""
    if edits != 1:
        return levenshtein(a, b) <= edits
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


def _value(record: NormalisedRecord, column: str) -> object:
    return getattr(record, column)


@dataclass(frozen=True)
class EitherNull(Expr):
    """Either record lacks ``column``."""

    column: str

    def sql(self) -> str:
        return f"{self.column}_l IS NULL OR {self.column}_r IS NULL"

    def test(self, left: NormalisedRecord, right: NormalisedRecord) -> Tri:
        return _value(left, self.column) is None or _value(right, self.column) is None


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
        a, b = _value(left, self.column), _value(right, self.column)
        if a is None or b is None:
            return None
        if self.prefix:
            return str(a)[: self.prefix] == str(b)[: self.prefix]
        return a == b


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
        a, b = _value(left, self.column), _value(right, self.column)
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
        a, b = _value(left, self.column), _value(right, self.column)
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
        a, b = _value(left, self.column), _value(right, self.column)
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
        a, b = _value(left, self.column), _value(right, self.column)
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
        values = [p.test(left, right) for p in self.parts]
        if False in values:
            return False
        return None if None in values else True


@dataclass(frozen=True)
class Any_(Expr):  # noqa: N801 - ``Any`` is taken by typing
    parts: tuple[Expr, ...]

    def sql(self) -> str:
        return " OR ".join(f"({p.sql()})" for p in self.parts)

    def test(self, left: NormalisedRecord, right: NormalisedRecord) -> Tri:
        values = [p.test(left, right) for p in self.parts]
        if True in values:
            return True
        return None if None in values else False


@dataclass(frozen=True)
class Not(Expr):
    part: Expr

    def sql(self) -> str:
        return f"NOT ({self.part.sql()})"

    def test(self, left: NormalisedRecord, right: NormalisedRecord) -> Tri:
        value = self.part.test(left, right)
        return None if value is None else not value
