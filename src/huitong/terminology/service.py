"""The terminology operations: $lookup, $validate-code, $translate and $expand, answered from the lookup tables.

Code systems are found by canonical URL (and version; the newest loaded version when none is asked for), so
several editions of a national code system — indicators depend on the edition — can be held side by side.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from huitong.db import Database
from huitong.fhir import jsonio
from huitong.terminology.errors import TerminologyError
from huitong.terminology.schema import canonical, concept, mapping
from huitong.terminology.text import matches


@dataclass(frozen=True)
class Concept:
    """One concept of one code system version."""

    system: str
    version: str
    code: str
    display: str | None
    parent: str | None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Translation:
    """One target of a ConceptMap element."""

    equivalence: str
    system: str
    code: str | None
    display: str | None
    source_map: str | None


class Terminology:
    """Read-only terminology services over one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- code systems -------------------------------------------------------------------------------

    def _system_pk(self, conn: sa.Connection, system: str, version: str | None) -> tuple[int, str] | None:
        query = sa.select(canonical.c.resource_pk, canonical.c.version).where(
            canonical.c.res_type == "CodeSystem", canonical.c.url == system
        )
        if version:
            query = query.where(canonical.c.version == version)
        rows = conn.execute(query).all()
        if not rows:
            return None
        best = max(rows, key=lambda r: (_version_key(r.version), r.resource_pk))
        return int(best.resource_pk), str(best.version)

    def lookup(self, system: str, code: str, version: str | None = None) -> Concept | None:
        """The concept ``code`` of ``system`` (newest loaded version unless ``version`` is given)."""
        with self.db.read() as conn:
            found = self._system_pk(conn, system, version)
            if found is None:
                raise TerminologyError(
                    f"code system {system!r}{' version ' + version if version else ''} is not "
                    "loaded; load it with `huitong terminology load-codesystem`"
                )
            pk, ver = found
            row = conn.execute(sa.select(concept).where(concept.c.resource_pk == pk, concept.c.code == code)).first()
        if row is None:
            return None
        return _concept(row, system, ver)

    def validate_code(
        self,
        system: str,
        code: str,
        *,
        version: str | None = None,
        display: str | None = None,
        value_set: str | None = None,
    ) -> tuple[bool, str]:
        """Whether ``code`` is valid (in ``system``, and in ``value_set`` when given), with a message."""
        try:
            found = self.lookup(system, code, version)
        except TerminologyError as exc:
            return False, str(exc)
        if found is None:
            return False, f"{code!r} is not a code of {system}"
        if value_set is not None:
            members = {(c.system, c.code) for c in self.expand(value_set, count=100_000)[1]}
            if (system, code) not in members:
                return False, f"{code!r} of {system} is not in value set {value_set}"
        if display is not None and found.display is not None and display != found.display:
            return True, f"valid code, but the display should be {found.display!r}, not {display!r}"
        return True, "valid"

    # -- concept maps -------------------------------------------------------------------------------

    def translate(
        self, system: str, code: str, *, target: str | None = None, url: str | None = None
    ) -> list[Translation]:
        """Targets of ``code`` in every loaded ConceptMap from ``system`` (optionally to ``target`` / map ``url``)."""
        query = sa.select(mapping).where(mapping.c.source_system == system, mapping.c.source_code == code)
        if target:
            query = query.where(mapping.c.target_system == target)
        if url:
            query = query.where(mapping.c.map_url == url)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return [Translation(r.equivalence, r.target_system, r.target_code, r.target_display, r.map_url) for r in rows]

    # -- value sets ---------------------------------------------------------------------------------

    def _value_set(self, conn: sa.Connection, url: str) -> dict[str, Any]:
        url, _, version = url.partition("|")
        query = sa.select(canonical.c.resource_pk, canonical.c.version).where(
            canonical.c.res_type == "ValueSet", canonical.c.url == url
        )
        if version:
            query = query.where(canonical.c.version == version)
        rows = conn.execute(query).all()
        if not rows:
            raise TerminologyError(f"value set {url!r} is not loaded")
        pk = max(rows, key=lambda r: (_version_key(r.version), r.resource_pk)).resource_pk
        content = conn.execute(sa.text("SELECT content FROM resource WHERE pk = :pk"), {"pk": pk}).scalar_one()
        value = jsonio.loads(content)
        if not isinstance(value, dict):
            raise TerminologyError(f"value set {url!r} is not stored as an object")
        return value

    def expand(self, url: str, *, text: str = "", count: int = 100, offset: int = 0) -> tuple[int, list[Concept]]:
        """(total, page) of the concepts in value set ``url`` whose code, display or pinyin match ``text``."""
        with self.db.read() as conn:
            members = self._members(conn, self._value_set(conn, url), depth=0)
        chosen = [c for c in members if matches(c.properties.get("_search"), text)]
        for c in chosen:
            c.properties.pop("_search", None)
        return len(chosen), chosen[offset : offset + count]

    def value_set_codes(self, conn: sa.Connection, url: str) -> set[tuple[str, str]]:
        """(system, code) of every concept in value set ``url`` (``url|version`` allowed), read on ``conn``.

        For FHIR search (``code:in=…``). A value set without ``compose`` is taken from its ``expansion``.
        Raises :class:`TerminologyError` when it (or a code system it needs) is not loaded.
        """
        vs = self._value_set(conn, url)
        if not vs.get("compose") and isinstance(vs.get("expansion"), dict):
            return set(_contains(vs["expansion"].get("contains", [])))
        return {(c.system, c.code) for c in self._members(conn, vs, depth=0)}

    def hierarchy(self, conn: sa.Connection, system: str, code: str, *, below: bool) -> set[str] | None:
        """``code`` and its descendants (``below``) or ancestors in ``system``'s newest loaded version.

        ``None`` when the code system is not loaded. For FHIR search (``code:below=…``, ``code:above=…``).
        """
        found = self._system_pk(conn, system, None)
        if found is None:
            return None
        pk = found[0]
        out = {code}
        frontier = {code}
        for _depth in range(64):
            if below:
                query = sa.select(concept.c.code).where(concept.c.resource_pk == pk, concept.c.parent.in_(frontier))
            else:
                query = sa.select(concept.c.parent).where(
                    concept.c.resource_pk == pk, concept.c.code.in_(frontier), concept.c.parent.is_not(None)
                )
            frontier = {str(r[0]) for r in conn.execute(query)} - out
            if not frontier:
                break
            out |= frontier
        return out

    def _members(self, conn: sa.Connection, vs: dict[str, Any], depth: int) -> list[Concept]:
        if depth > 8:
            raise TerminologyError("value sets include each other more than 8 levels deep")
        compose = vs.get("compose") or {}
        included: dict[tuple[str, str], Concept] = {}
        for rule in compose.get("include", []):
            for c in self._rule(conn, rule, depth):
                included.setdefault((c.system, c.code), c)
        for rule in compose.get("exclude", []):
            for c in self._rule(conn, rule, depth):
                included.pop((c.system, c.code), None)
        return list(included.values())

    def _rule(self, conn: sa.Connection, rule: dict[str, Any], depth: int) -> list[Concept]:
        out: list[Concept] = []
        for nested in rule.get("valueSet", []):
            out += self._members(conn, self._value_set(conn, nested), depth + 1)
        system = rule.get("system")
        if not system:
            return out
        found = self._system_pk(conn, system, rule.get("version"))
        if found is None:
            raise TerminologyError(f"value set includes code system {system!r}, which is not loaded")
        pk, version = found
        rows = conn.execute(sa.select(concept).where(concept.c.resource_pk == pk)).all()
        concepts = [_concept(r, system, version, keep_search=True) for r in rows]
        if rule.get("concept"):
            wanted = {c["code"] for c in rule["concept"]}
            concepts = [c for c in concepts if c.code in wanted]
        for flt in rule.get("filter", []):
            concepts = _apply_filter(concepts, flt)
        return out + concepts


def _contains(items: Any) -> Iterator[tuple[str, str]]:
    """(system, code) of an expansion's ``contains`` entries, nested ones included."""
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            if isinstance(item.get("system"), str) and isinstance(item.get("code"), str):
                yield item["system"], item["code"]
            yield from _contains(item.get("contains", []))


def _apply_filter(concepts: list[Concept], flt: dict[str, Any]) -> list[Concept]:
    prop, op, value = flt.get("property"), flt.get("op"), flt.get("value")
    if op in ("is-a", "descendent-of") and prop == "concept":
        parent_of = {c.code: c.parent for c in concepts}

        def under(code: str) -> bool:
            seen = 0
            node: str | None = code if op == "is-a" else parent_of.get(code)
            while node is not None and seen < 64:
                if node == value:
                    return True
                node, seen = parent_of.get(node), seen + 1
            return False

        return [c for c in concepts if under(c.code)]
    if op == "=":
        return [c for c in concepts if str(c.properties.get(prop or "")).lower() == str(value).lower()]
    raise TerminologyError(f"value set filter {prop} {op} is not supported (supported: is-a, descendent-of, =)")


def _concept(row: Any, system: str, version: str, *, keep_search: bool = False) -> Concept:
    props = jsonio.loads(row.properties) if row.properties else {}
    if keep_search:
        props["_search"] = row.search_text
    return Concept(system, version, row.code, row.display, row.parent, props)


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in version.replace("-", ".").split("."))
