"""Rewriting ``urn:uuid:`` (and other placeholder) references once the server has assigned ids."""

from __future__ import annotations

from typing import Any


def rewrite_references(node: Any, ids: dict[str, str]) -> Any:
    """A copy of ``node`` with every ``reference`` found in ``ids`` replaced by its ``Type/id``."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and value in ids:
                out[key] = ids[value]
            else:
                out[key] = rewrite_references(value, ids)
        return out
    if isinstance(node, list):
        return [rewrite_references(v, ids) for v in node]
    return node


def conditional_references(node: Any, found: set[str] | None = None) -> set[str]:
    """Every conditional reference (``Practitioner?identifier=…``) in ``node``."""
    out = found if found is not None else set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and "?" in value and value[:1].isupper():
                out.add(value)
            else:
                conditional_references(value, out)
    elif isinstance(node, list):
        for value in node:
            conditional_references(value, out)
    return out
