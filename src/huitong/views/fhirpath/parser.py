"""FHIRPath text → syntax tree, by precedence climbing over the N1 grammar's operator table."""

from __future__ import annotations

from decimal import Decimal

from huitong.views.errors import FhirPathSyntaxError
from huitong.views.fhirpath import temporal
from huitong.views.fhirpath.lexer import Token, tokenize
from huitong.views.fhirpath.nodes import (
    Binary,
    Call,
    Index,
    Literal,
    Member,
    Node,
    Special,
    TypeOp,
    TypeSpec,
    Unary,
    Variable,
)
from huitong.views.fhirpath.quantity import CALENDAR_UNITS, Quantity

#: Binding power of each infix operator (higher binds tighter), from the grammar's precedence table.
_INFIX = {
    "implies": 1,
    "or": 2,
    "xor": 2,
    "and": 3,
    "in": 4,
    "contains": 4,
    "=": 5,
    "~": 5,
    "!=": 5,
    "!~": 5,
    "<": 6,
    ">": 6,
    "<=": 6,
    ">=": 6,
    "|": 7,
    "is": 8,
    "as": 8,
    "+": 9,
    "-": 9,
    "&": 9,
    "*": 10,
    "/": 10,
    "div": 10,
    "mod": 10,
}
_UNARY_POWER = 11
_WORD_OPERATORS = frozenset(op for op in _INFIX if op.isalpha())
_SPECIALS = frozenset({"this", "index", "total"})
#: Functions whose single argument is a type specifier rather than an expression.
TYPE_FUNCTIONS = frozenset({"is", "as", "ofType", "getReferenceKey"})
MAX_DEPTH = 200


def parse(text: str) -> Node:
    """Parse FHIRPath ``text``; raises :class:`FhirPathSyntaxError` for anything that is not FHIRPath."""
    if not isinstance(text, str):
        raise FhirPathSyntaxError(f"a FHIRPath expression must be a string, not {type(text).__name__}")
    parser = _Parser(tokenize(text))
    node = parser.expression(0)
    token = parser.peek()
    if token.kind != "eof":
        raise FhirPathSyntaxError(f"unexpected {token.value!r}", token.pos)
    return node


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.pos += 1
        return token

    def expect(self, op: str) -> Token:
        token = self.take()
        if token.kind != "op" or token.value != op:
            raise FhirPathSyntaxError(f"expected {op!r}, found {token.value or 'end of expression'!r}", token.pos)
        return token

    def _infix_op(self) -> str | None:
        token = self.peek()
        if token.kind == "op" and token.value in _INFIX:
            return token.value
        if token.kind == "id" and token.value in _WORD_OPERATORS:
            return token.value
        return None

    def expression(self, min_power: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FhirPathSyntaxError("expression nested too deeply", self.peek().pos)
        left = self.unary()
        while True:
            op = self._infix_op()
            if op is None or _INFIX[op] <= min_power:
                break
            self.take()
            if op in ("is", "as"):
                left = TypeOp(op, left, self.type_specifier())
            else:
                left = Binary(op, left, self.expression(_INFIX[op]))
        self.depth -= 1
        return left

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.value in ("+", "-"):
            self.take()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise FhirPathSyntaxError("expression nested too deeply", token.pos)
            operand = self.unary()
            self.depth -= 1
            return Unary(token.value, operand)
        return self.postfix(self.term())

    def postfix(self, node: Node) -> Node:
        while True:
            token = self.peek()
            if token.kind != "op" or token.value not in ".[":
                return node
            self.take()
            if token.value == "[":
                index = self.expression(0)
                self.expect("]")
                node = Index(node, index)
                continue
            name_token = self.take()
            if name_token.kind not in ("id", "qid"):
                raise FhirPathSyntaxError("expected a name after '.'", name_token.pos)
            node = self.invocation(node, name_token)

    def invocation(self, target: Node | None, name_token: Token) -> Node:
        nxt = self.peek()
        if name_token.kind == "id" and nxt.kind == "op" and nxt.value == "(":
            self.take()
            args: list[Node] = []
            if not (self.peek().kind == "op" and self.peek().value == ")"):
                while True:
                    if name_token.value in TYPE_FUNCTIONS:
                        args.append(self.type_specifier())
                    else:
                        args.append(self.expression(0))
                    if self.peek().kind == "op" and self.peek().value == ",":
                        self.take()
                        continue
                    break
            self.expect(")")
            return Call(target, name_token.value, tuple(args))
        return Member(target, name_token.value)

    def type_specifier(self) -> TypeSpec:
        first = self.take()
        if first.kind not in ("id", "qid"):
            raise FhirPathSyntaxError("expected a type name", first.pos)
        nxt = self.peek()
        if nxt.kind == "op" and nxt.value == "." and self.peek(1).kind in ("id", "qid"):
            self.take()
            second = self.take()
            return TypeSpec(first.value, second.value)
        return TypeSpec(None, first.value)

    def term(self) -> Node:
        token = self.take()
        kind, value = token.kind, token.value
        if kind == "num":
            return self.number(token)
        if kind == "str":
            return Literal(value)
        if kind == "datetime":
            try:
                return Literal(temporal.parse_literal(value))
            except ValueError as exc:
                raise FhirPathSyntaxError(str(exc), token.pos) from None
        if kind == "var":
            return Variable(value)
        if kind == "special":
            if value not in _SPECIALS:
                raise FhirPathSyntaxError(f"unknown ${value}", token.pos)
            return Special(value)
        if kind == "op" and value == "(":
            node = self.expression(0)
            self.expect(")")
            return node
        if kind == "op" and value == "{":
            self.expect("}")
            return Literal(None)
        if kind == "id" and value in ("true", "false"):
            return Literal(value == "true")
        if kind in ("id", "qid"):
            return self.invocation(None, token)
        raise FhirPathSyntaxError(f"unexpected {value or 'end of expression'!r}", token.pos)

    def number(self, token: Token) -> Node:
        value: int | Decimal = Decimal(token.value) if "." in token.value else int(token.value)
        unit = self.peek()
        if unit.kind == "str":
            self.take()
            return Literal(Quantity(Decimal(value), unit.value))
        if unit.kind == "id" and unit.value in CALENDAR_UNITS:
            self.take()
            return Literal(Quantity(Decimal(value), unit.value))
        return Literal(value)
