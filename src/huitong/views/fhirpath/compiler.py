"""Syntax tree → a tree of Python closures, each ``(ctx, focus) → collection``.

Compiling once and calling the closures for every resource is several times faster than walking the
tree for each resource, which matters when a view flattens a million Observations.
"""

from __future__ import annotations

from typing import Any

from huitong.views.errors import FhirPathEvaluationError, FhirPathSyntaxError
from huitong.views.fhirpath import model
from huitong.views.fhirpath.context import Collection, Ctx, Evaluator, navigate, singleton
from huitong.views.fhirpath.functions import REGISTRY
from huitong.views.fhirpath.functions.filtering import sort_items
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
from huitong.views.fhirpath.operators import BINARY, SHORT_CIRCUIT, negate
from huitong.views.fhirpath.typing_ops import check_type_spec, type_filter
from huitong.views.fhirpath.values import Node as ValueNode
from huitong.views.fhirpath.values import is_number, to_system


def compile_node(node: Node) -> Evaluator:
    """The evaluator of one syntax-tree node."""
    if isinstance(node, Literal):
        return _literal(node.value)
    if isinstance(node, Member):
        return _member(node)
    if isinstance(node, Call):
        return _call(node)
    if isinstance(node, Index):
        return _index(node)
    if isinstance(node, Unary):
        operand = compile_node(node.operand)
        if node.op == "-":
            return lambda ctx, focus: negate(operand(ctx, focus))
        return operand
    if isinstance(node, Binary):
        return _binary(node)
    if isinstance(node, TypeOp):
        return _type_op(node)
    if isinstance(node, Variable):
        return _variable(node.name)
    if isinstance(node, Special):
        return _special(node.name)
    raise FhirPathSyntaxError(f"a type name ({node.name}) cannot be used as a value")


def _literal(value: Any) -> Evaluator:
    result: Collection = [] if value is None else [value]
    return lambda ctx, focus: result


def _member(node: Member) -> Evaluator:
    name = node.name
    if node.target is None:
        may_be_type = name[:1].isupper()

        def root_member(ctx: Ctx, focus: Collection) -> Collection:
            out: Collection = []
            for item in focus:
                if may_be_type and isinstance(item, ValueNode) and item.type and name in model.ancestors(item.type):
                    out.append(item)
                else:
                    navigate(item, name, out)
            return out

        return root_member
    target = compile_node(node.target)

    def member(ctx: Ctx, focus: Collection) -> Collection:
        out: Collection = []
        for item in target(ctx, focus):
            navigate(item, name, out)
        return out

    return member


def _call(node: Call) -> Evaluator:
    target = compile_node(node.target) if node.target is not None else None
    if node.name in ("is", "as", "ofType"):
        if len(node.args) != 1 or not isinstance(node.args[0], TypeSpec):
            raise FhirPathSyntaxError(f"{node.name}() takes one type name")
        spec = node.args[0]
        check_type_spec(spec)
        mode = node.name
        if target is None:
            return lambda ctx, focus: type_filter(focus, spec, mode)
        target_fn = target
        return lambda ctx, focus: type_filter(target_fn(ctx, focus), spec, mode)
    if node.name == "sort":
        return _sort(node, target)
    function = REGISTRY.get(node.name)
    if function is None:
        raise FhirPathSyntaxError(f"unknown function {node.name}()")
    if not function.min_args <= len(node.args) <= function.max_args:
        raise FhirPathSyntaxError(f"{node.name}() takes {function.min_args}..{function.max_args} arguments")
    args = tuple(compile_node(arg) if not isinstance(arg, TypeSpec) else _type_arg(arg) for arg in node.args)
    impl = function.impl
    if target is None:
        return lambda ctx, focus: impl(ctx, focus, args)
    target_fn2 = target
    return lambda ctx, focus: impl(ctx, target_fn2(ctx, focus), args)


def _sort(node: Call, target: Evaluator | None) -> Evaluator:
    keys: list[tuple[Evaluator, bool]] = []
    for arg in node.args:
        if isinstance(arg, Unary) and arg.op == "-":
            keys.append((compile_node(arg.operand), True))
        else:
            keys.append((compile_node(arg), False))
    if target is None:
        return lambda ctx, focus: sort_items(ctx, focus, keys)
    target_fn = target
    return lambda ctx, focus: sort_items(ctx, target_fn(ctx, focus), keys)


def _type_arg(spec: TypeSpec) -> Evaluator:
    """A bare type name passed to a function (``getReferenceKey(Patient)``) arrives as its name."""
    text = spec.name if spec.namespace is None else f"{spec.namespace}.{spec.name}"
    return lambda ctx, focus: [text]


def _index(node: Index) -> Evaluator:
    target = compile_node(node.target)
    index = compile_node(node.index)

    def indexer(ctx: Ctx, focus: Collection) -> Collection:
        items = target(ctx, focus)
        position = singleton(index(ctx, ctx.this), "index")
        if position is None:
            return []
        if not is_number(position) or position != int(position):
            raise FhirPathEvaluationError("an index must be an integer")
        i = int(position)
        return [items[i]] if 0 <= i < len(items) else []

    return indexer


def _binary(node: Binary) -> Evaluator:
    left = compile_node(node.left)
    right = compile_node(node.right)
    op = BINARY.get(node.op)
    if op is None:
        raise FhirPathSyntaxError(f"unknown operator {node.op!r}")
    operator = op
    if node.op in SHORT_CIRCUIT:
        # and: false decides; or: true decides; implies: a false premise decides (true).
        trigger, result = {"and": (False, [False]), "or": (True, [True]), "implies": (False, [True])}[node.op]

        def short(ctx: Ctx, focus: Collection) -> Collection:
            lhs = left(ctx, focus)
            if len(lhs) == 1 and to_system(lhs[0]) is trigger:
                return list(result)
            return operator(lhs, right(ctx, focus))

        return short
    return lambda ctx, focus: operator(left(ctx, focus), right(ctx, focus))


def _type_op(node: TypeOp) -> Evaluator:
    operand = compile_node(node.operand)
    spec = node.type
    check_type_spec(spec)
    mode = node.op
    return lambda ctx, focus: type_filter(operand(ctx, focus), spec, mode)


def _variable(name: str) -> Evaluator:
    def variable(ctx: Ctx, focus: Collection) -> Collection:
        try:
            return ctx.vars[name]
        except KeyError:
            raise FhirPathEvaluationError(f"undefined variable %{name}") from None

    return variable


def _special(name: str) -> Evaluator:
    if name == "this":
        return lambda ctx, focus: ctx.this
    if name == "index":
        return lambda ctx, focus: [] if ctx.index is None else [ctx.index]
    return lambda ctx, focus: ctx.total if ctx.total is not None else []
