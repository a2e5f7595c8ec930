"""SMART on FHIR v2 scopes: ``patient/*.rs``, ``user/Observation.rs``, ``system/*.cruds``.

A scope narrows what a token may do; it never widens a role. ``patient/`` scopes confine the token to the
compartment of its launch patient; ``user/`` scopes to what the signed-in user may see; ``system/`` scopes
are for client-credentials clients. SMART v1 suffixes (``.read``, ``.write``, ``.*``) are accepted too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Context = Literal["patient", "user", "system"]
_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]{1,63})\.(c?r?u?d?s?|read|write|\*)$")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}


class ScopeError(ValueError):
    """A scope string that is not a SMART v2 (or v1) resource scope."""


@dataclass(frozen=True, slots=True)
class Scope:
    """One parsed resource scope."""

    context: Context
    rtype: str  # "*" for every type
    perms: frozenset[str]  # of c r u d s

    def allows(self, rtype: str, perm: str) -> bool:
        return (self.rtype == "*" or self.rtype == rtype) and perm in self.perms


def parse_scope(text: str) -> Scope:
    """Parse ``patient/Observation.rs`` into a :class:`Scope`."""
    m = _SCOPE.match(text.strip())
    if not m or not m.group(3):
        raise ScopeError(f"not a SMART resource scope: {text!r}")
    perms = _V1.get(m.group(3), m.group(3))
    return Scope(m.group(1), m.group(2), frozenset(perms))  # type: ignore[arg-type]


def parse_scopes(text: str | tuple[str, ...] | list[str]) -> list[Scope]:
    """Parse resource scopes, skipping non-resource ones (``openid``, ``fhirUser``, ``launch/patient``)."""
    items = text.split() if isinstance(text, str) else list(text)
    return [parse_scope(s) for s in items if "/" in s and not s.startswith("launch")]


def scopes_allow(scopes: list[Scope], rtype: str, perm: str) -> bool:
    """Whether any scope allows ``perm`` (c r u d s) on ``rtype``."""
    return any(s.allows(rtype, perm) for s in scopes)


def narrow(requested: str, allowed: str) -> str:
    """The requested scopes that ``allowed`` covers (what a client may actually be granted)."""
    grantable = parse_scopes(allowed)
    out: list[str] = []
    for item in requested.split():
        if "/" not in item or item.startswith("launch"):
            continue
        scope = parse_scope(item)
        if all(
            any(g.context == scope.context and g.allows(scope.rtype, p) for g in grantable)
            or any(g.context == scope.context and g.rtype == "*" and p in g.perms for g in grantable)
            for p in scope.perms
        ):
            out.append(item)
    return " ".join(out)
