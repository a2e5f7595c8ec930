"""The syntax tree of a FHIRPath expression, as the parser builds it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal value (Boolean, String, Integer, Decimal, Date/DateTime/Time or Quantity); ``{}`` is None."""

    value: Any


@dataclass(frozen=True, slots=True)
class Member:
    """``target.name`` (``target`` None: a name at the start of a path, evaluated on the focus)."""

    target: Node | None
    name: str


@dataclass(frozen=True, slots=True)
class Call:
    """``target.name(args…)`` (``target`` None: a function at the start of a path)."""

    target: Node | None
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Index:
    """``target[index]``."""

    target: Node
    index: Node


@dataclass(frozen=True, slots=True)
class Unary:
    """``+operand`` or ``-operand``."""

    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    """``left op right`` for every infix operator except ``is``/``as``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class TypeSpec:
    """A type name, optionally qualified by its namespace (``FHIR.Patient``, ``System.String``)."""

    namespace: str | None
    name: str


@dataclass(frozen=True, slots=True)
class TypeOp:
    """``operand is Type`` or ``operand as Type``."""

    op: str
    operand: Node
    type: TypeSpec


@dataclass(frozen=True, slots=True)
class Variable:
    """``%name``: an environment variable or a ViewDefinition constant."""

    name: str


@dataclass(frozen=True, slots=True)
class Special:
    """``$this``, ``$index`` or ``$total``."""

    name: str


Node = Literal | Member | Call | Index | Unary | Binary | TypeOp | Variable | Special | TypeSpec
