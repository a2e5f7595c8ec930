"""The write hook that keeps the terminology lookup tables in step with CodeSystem and ConceptMap versions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from huitong.fhir import jsonio
from huitong.fhir.hooks import ResourceChange
from huitong.terminology.schema import canonical, concept, mapping
from huitong.terminology.text import search_text


def _concepts(
    cs: dict[str, Any], parent: str | None = None, items: list[dict[str, Any]] | None = None
) -> Iterator[dict[str, Any]]:
    for item in items if items is not None else cs.get("concept", []):
        code = item.get("code")
        if not isinstance(code, str):
            continue
        props = {
            p["code"]: next((v for k, v in p.items() if k.startswith("value")), None)
            for p in item.get("property", [])
            if isinstance(p, dict) and "code" in p
        }
        for d in item.get("designation", []):
            if isinstance(d, dict) and d.get("language") and d.get("value"):
                props[f"designation:{d['language']}"] = d["value"]
        parents = [v for k, v in props.items() if k in ("parent", "subsumedBy")]
        display = item.get("display")
        yield {
            "code": code,
            "display": display,
            "parent": parent or (parents[0] if parents else None),
            "properties": jsonio.dumps(props).decode() if props else None,
            "search_text": search_text(code, display, props.get("designation:zh") or props.get("designation:zh-CN")),
        }
        yield from _concepts(cs, code, item.get("concept", []))


def _mappings(cm: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for group in cm.get("group", []):
        source, target = group.get("source"), group.get("target")
        if not source or not target:
            continue
        for element in group.get("element", []):
            for t in element.get("target", []) or [{"equivalence": "unmatched"}]:
                yield {
                    "map_url": cm.get("url"),
                    "source_system": source,
                    "source_code": element.get("code"),
                    "target_system": target,
                    "target_code": t.get("code"),
                    "target_display": t.get("display"),
                    "equivalence": t.get("equivalence", "equivalent"),
                }


class TerminologyIndexer:
    """Rewrites the lookup rows of a CodeSystem or ConceptMap whenever a version of it is stored."""

    def resource_written(self, conn: sa.Connection, change: ResourceChange) -> None:
        if change.res_type not in ("CodeSystem", "ValueSet", "ConceptMap"):
            return
        conn.execute(canonical.delete().where(canonical.c.resource_pk == change.pk))
        body = change.resource
        if body is not None and isinstance(body.get("url"), str):
            conn.execute(
                canonical.insert(),
                {
                    "resource_pk": change.pk,
                    "res_type": change.res_type,
                    "url": body["url"],
                    "version": body.get("version", ""),
                    "name": body.get("title") or body.get("name"),
                },
            )
        if change.res_type == "CodeSystem":
            conn.execute(concept.delete().where(concept.c.resource_pk == change.pk))
            body = change.resource
            if body is None or not body.get("url"):
                return
            rows = [
                {**row, "resource_pk": change.pk, "system": body["url"], "version": body.get("version", "")}
                for row in _concepts(body)
            ]
            unique = {r["code"]: r for r in rows}
            if unique:
                conn.execute(concept.insert(), list(unique.values()))
        elif change.res_type == "ConceptMap":
            conn.execute(mapping.delete().where(mapping.c.resource_pk == change.pk))
            if change.resource is None:
                return
            rows = [{**row, "resource_pk": change.pk} for row in _mappings(change.resource) if row["source_code"]]
            if rows:
                conn.execute(mapping.insert(), rows)
