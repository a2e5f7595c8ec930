"""The public face of the engine: :func:`compile_path` and :class:`CompiledPath`."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from huitong.views.errors import FhirPathError, FhirPathEvaluationError
from huitong.views.fhirpath.compiler import compile_node
from huitong.views.fhirpath.context import Collection, Ctx, Evaluator
from huitong.views.fhirpath.nodes import Node as SyntaxNode
from huitong.views.fhirpath.parser import parse
from huitong.views.fhirpath.values import Node, to_output, wrap_resource

#: Environment variables every expression sees (FHIRPath §2.9 and the FHIR additions).
STANDARD_VARIABLES: dict[str, Collection] = {
    "sct": ["http://snomed.info/sct"],
    "loinc": ["http://loinc.org"],
    "ucum": ["http://unitsofmeasure.org"],
}


def _env_variable(name: str) -> Collection | None:
    if name.startswith("vs-"):
        return ["http://hl7.org/fhir/ValueSet/" + name[3:]]
    if name.startswith("ext-"):
        return ["http://hl7.org/fhir/StructureDefinition/" + name[4:]]
    return None


class _Variables(dict[str, Collection]):
    """Variables with the ``%vs-…``/``%ext-…`` families resolved on demand."""

    def __missing__(self, key: str) -> Collection:
        found = _env_variable(key)
        if found is None:
            raise KeyError(key)
        return found


class CompiledPath:
    """A parsed and compiled FHIRPath expression; evaluate it over any number of resources."""

    __slots__ = ("evaluator", "expression", "tree")

    def __init__(self, expression: str, tree: SyntaxNode, evaluator: Evaluator) -> None:
        self.expression = expression
        self.tree = tree
        self.evaluator = evaluator

    def __repr__(self) -> str:
        return f"CompiledPath({self.expression!r})"

    def raw(self, focus: Collection, variables: Mapping[str, Collection], this: Collection | None = None) -> Collection:
        """Evaluate on ``focus`` (a collection of nodes); the result keeps nodes and System values."""
        ctx = Ctx(variables if isinstance(variables, _Variables) else _Variables(variables), this or focus)
        try:
            return self.evaluator(ctx, focus)
        except FhirPathError:
            raise
        except (ArithmeticError, ValueError, TypeError, RecursionError) as exc:
            raise FhirPathEvaluationError(f"{self.expression}: {exc}") from exc

    def evaluate(self, resource: Any, variables: Mapping[str, Any] | None = None) -> list[Any]:
        """Evaluate on a resource dict; returns plain JSON-like values (dates as strings)."""
        root = resource if isinstance(resource, Node) else wrap_resource(resource)
        env = make_variables(root, variables)
        return [to_output(item) for item in self.raw([root], env)]


def make_variables(root: Node, extra: Mapping[str, Any] | None = None) -> _Variables:
    """``%resource``, ``%rootResource``, ``%context``, the standard variables and ``extra`` (lists or values)."""
    env = _Variables(STANDARD_VARIABLES)
    env["resource"] = env["rootResource"] = env["context"] = [root]
    for name, value in (extra or {}).items():
        env[name] = value if isinstance(value, list) else [value]
    return env


@lru_cache(maxsize=4096)
def compile_path(expression: str) -> CompiledPath:
    """Parse and compile ``expression`` (cached); raises :class:`FhirPathSyntaxError` if it is invalid."""
    tree = parse(expression)
    return CompiledPath(expression, tree, compile_node(tree))


def evaluate(resource: Any, expression: str, variables: Mapping[str, Any] | None = None) -> list[Any]:
    """Shortcut: compile (cached) and evaluate ``expression`` on ``resource``."""
    return compile_path(expression).evaluate(resource, variables)
