"""SQL-on-FHIR v2 ViewDefinitions: validated and compiled once, before any resource is read.

A :class:`ViewDefinition` holds the resource type, the constants, the ``where`` paths and a tree of
:class:`SelectNode` (``column``, nested ``select``, ``forEach``/``forEachOrNull``, ``unionAll``) with every
FHIRPath already compiled, and the output columns in order. Everything the specification says is an
error — a missing resource, a bad path, an unknown constant, ``unionAll`` branches whose columns differ,
duplicate column names — is raised here as :class:`ViewDefinitionError`.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from huitong.views.errors import FhirPathError, ViewDefinitionError
from huitong.views.fhirpath import CompiledPath, compile_path
from huitong.views.fhirpath.engine import STANDARD_VARIABLES
from huitong.views.fhirpath.nodes import Binary, Call, Index, Member, TypeOp, Unary, Variable
from huitong.views.fhirpath.nodes import Node as SyntaxNode
from huitong.views.fhirpath.values import Node

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_BUILTIN_VARIABLES = frozenset({"resource", "rootResource", "context", *STANDARD_VARIABLES})
#: Constant ``value[x]`` suffix → FHIR type.
_CONSTANT_TYPES = {
    "Base64Binary": "base64Binary",
    "Boolean": "boolean",
    "Canonical": "canonical",
    "Code": "code",
    "Date": "date",
    "DateTime": "dateTime",
    "Decimal": "decimal",
    "Id": "id",
    "Instant": "instant",
    "Integer": "integer",
    "Integer64": "integer64",
    "Oid": "oid",
    "PositiveInt": "positiveInt",
    "String": "string",
    "Time": "time",
    "UnsignedInt": "unsignedInt",
    "Uri": "uri",
    "Url": "url",
    "Uuid": "uuid",
}


@dataclass(frozen=True, slots=True)
class Column:
    """One output column: its name, compiled path, whether it holds a list, and its FHIR type."""

    name: str
    path: CompiledPath
    collection: bool = False
    type: str | None = None
    description: str | None = None


@dataclass(slots=True)
class SelectNode:
    """A ``select`` element; ``names`` are the columns it produces, in output order."""

    columns: list[Column] = field(default_factory=list)
    selects: list[SelectNode] = field(default_factory=list)
    union_all: list[SelectNode] = field(default_factory=list)
    for_each: CompiledPath | None = None
    or_null: bool = False
    names: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ViewDefinition:
    """A compiled ViewDefinition. Build it with :func:`parse_view`."""

    name: str
    resource: str
    root: SelectNode
    where: list[CompiledPath]
    constants: dict[str, list[Any]]
    columns: list[Column]
    source: dict[str, Any]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def definition_hash(self) -> str:
        """SHA-256 of the definition's canonical JSON; a changed view is rebuilt, not refreshed."""
        canonical = json.dumps(self.source, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_view(definition: Any) -> ViewDefinition:
    """Validate and compile a ViewDefinition given as parsed JSON."""
    if not isinstance(definition, dict):
        raise ViewDefinitionError("a ViewDefinition must be a JSON object")
    resource = definition.get("resource")
    if not isinstance(resource, str) or not resource:
        raise ViewDefinitionError("a ViewDefinition needs 'resource', the FHIR resource type it flattens")
    constants = _constants(definition.get("constant", []))
    known = _BUILTIN_VARIABLES | constants.keys()
    selects = definition.get("select")
    if not isinstance(selects, list) or not selects:
        raise ViewDefinitionError("a ViewDefinition needs at least one 'select'")
    root = _select({"select": selects}, known, "select")
    columns = _all_columns(root)
    seen: set[str] = set()
    for column in columns:
        if column.name in seen:
            raise ViewDefinitionError(f"column name {column.name!r} is used twice")
        seen.add(column.name)
    where = []
    for i, clause in enumerate(_list(definition.get("where", []), "where")):
        if not isinstance(clause, dict) or not isinstance(clause.get("path"), str):
            raise ViewDefinitionError(f"where[{i}] needs a 'path'")
        where.append(_compile(clause["path"], known, f"where[{i}]"))
    name = definition.get("name") or definition.get("id") or resource.lower()
    if not isinstance(name, str):
        raise ViewDefinitionError("'name' must be a string")
    return ViewDefinition(name, resource, root, where, constants, columns, definition)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ViewDefinitionError(f"{where} must be a list")
    return value


def _constants(raw: Any) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for i, constant in enumerate(_list(raw, "constant")):
        if not isinstance(constant, dict) or not isinstance(constant.get("name"), str):
            raise ViewDefinitionError(f"constant[{i}] needs a 'name'")
        values = [(k, v) for k, v in constant.items() if k.startswith("value")]
        if len(values) != 1:
            raise ViewDefinitionError(f"constant {constant['name']!r} needs exactly one value[x]")
        key, value = values[0]
        ftype = _CONSTANT_TYPES.get(key[len("value") :])
        if ftype is None:
            raise ViewDefinitionError(f"constant {constant['name']!r}: unsupported {key}")
        out[constant["name"]] = [Node(value, ftype)]
    return out


def _compile(expression: Any, known: frozenset[str] | set[str], where: str) -> CompiledPath:
    if not isinstance(expression, str):
        raise ViewDefinitionError(f"{where}: a path must be a string")
    try:
        compiled = compile_path(expression)
    except FhirPathError as exc:
        raise ViewDefinitionError(f"{where}: {exc}") from None
    for name in _variables(compiled.tree):
        if name not in known and not name.startswith(("vs-", "ext-")):
            raise ViewDefinitionError(f"{where}: unknown constant %{name}")
    return compiled


def _variables(node: SyntaxNode | None) -> set[str]:
    """Every ``%name`` used in a syntax tree."""
    if node is None:
        return set()
    if isinstance(node, Variable):
        return {node.name}
    if isinstance(node, Member):
        return _variables(node.target)
    if isinstance(node, Call):
        found = _variables(node.target)
        for arg in node.args:
            found |= _variables(arg)
        return found
    if isinstance(node, Index):
        return _variables(node.target) | _variables(node.index)
    if isinstance(node, Unary):
        return _variables(node.operand)
    if isinstance(node, Binary):
        return _variables(node.left) | _variables(node.right)
    if isinstance(node, TypeOp):
        return _variables(node.operand)
    return set()


def _select(raw: Any, known: frozenset[str] | set[str], where: str) -> SelectNode:
    if not isinstance(raw, dict):
        raise ViewDefinitionError(f"{where} must be an object")
    node = SelectNode()
    if "forEach" in raw and "forEachOrNull" in raw:
        raise ViewDefinitionError(f"{where}: forEach and forEachOrNull cannot both be set")
    for key in ("forEach", "forEachOrNull"):
        if key in raw:
            node.for_each = _compile(raw[key], known, f"{where}.{key}")
            node.or_null = key == "forEachOrNull"
    for i, column in enumerate(_list(raw.get("column", []), f"{where}.column")):
        node.columns.append(_column(column, known, f"{where}.column[{i}]"))
    for i, sub in enumerate(_list(raw.get("select", []), f"{where}.select")):
        node.selects.append(_select(sub, known, f"{where}.select[{i}]"))
    for i, sub in enumerate(_list(raw.get("unionAll", []), f"{where}.unionAll")):
        node.union_all.append(_select(sub, known, f"{where}.unionAll[{i}]"))
    if node.union_all:
        first = node.union_all[0].names
        for i, branch in enumerate(node.union_all[1:], start=1):
            if branch.names != first:
                raise ViewDefinitionError(
                    f"{where}.unionAll[{i}] has columns {branch.names}, but unionAll[0] has {first}"
                )
    node.names = [c.name for c in node.columns]
    for sub in node.selects:
        node.names.extend(sub.names)
    if node.union_all:
        node.names.extend(node.union_all[0].names)
    return node


def _column(raw: Any, known: frozenset[str] | set[str], where: str) -> Column:
    if not isinstance(raw, dict):
        raise ViewDefinitionError(f"{where} must be an object")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ViewDefinitionError(f"{where}: column name {name!r} must match {_NAME.pattern}")
    collection = raw.get("collection", False)
    if not isinstance(collection, bool):
        raise ViewDefinitionError(f"{where}: 'collection' must be true or false")
    ftype = raw.get("type")
    if ftype is not None and not isinstance(ftype, str):
        raise ViewDefinitionError(f"{where}: 'type' must be a string")
    description = raw.get("description")
    return Column(name, _compile(raw.get("path"), known, where), collection, ftype, description)


def _all_columns(node: SelectNode) -> list[Column]:
    """Columns in output order (the first ``unionAll`` branch stands for all of them)."""
    out = list(node.columns)
    for sub in node.selects:
        out.extend(_all_columns(sub))
    if node.union_all:
        out.extend(_all_columns(node.union_all[0]))
    return out
