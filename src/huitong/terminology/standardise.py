"""At ingest: add the standard coding beside each local coding, keeping the original.

For every ``Coding`` in a resource whose system has a loaded ConceptMap, the mapped standard coding is added
to the same CodeableConcept (once). The local coding stays first, as sent, so nothing the sender said is lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from huitong.terminology.service import Terminology, Translation

_GOOD = {"equivalent", "equal", "wider", "subsumes", "relatedto"}


def _codeable_concepts(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("coding"), list):
            yield node
        for value in node.values():
            yield from _codeable_concepts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _codeable_concepts(value)


def add_standard_codings(resource: dict[str, Any], terminology: Terminology) -> int:
    """Add mapped standard codings in place; returns how many were added."""
    added = 0
    cache: dict[tuple[str, str], list[Translation]] = {}
    for cc in list(_codeable_concepts(resource)):
        present = {(c.get("system"), c.get("code")) for c in cc["coding"] if isinstance(c, dict)}
        for coding in list(cc["coding"]):
            if not isinstance(coding, dict) or not coding.get("system") or not coding.get("code"):
                continue
            key = (coding["system"], coding["code"])
            if key not in cache:
                cache[key] = terminology.translate(*key)
            for t in cache[key]:
                if t.code and t.equivalence in _GOOD and (t.system, t.code) not in present:
                    cc["coding"].append(
                        {"system": t.system, "code": t.code, **({"display": t.display} if t.display else {})}
                    )
                    present.add((t.system, t.code))
                    added += 1
    return added
