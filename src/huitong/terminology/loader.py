"""Loading dictionaries from CSV into CodeSystem, ValueSet and ConceptMap resources.

Formats (UTF-8, header row; documented in docs/terminology.md):

* code system: ``code,display`` plus optional ``parent`` (hierarchy), ``display_en`` (an English
  designation) and any other column, kept as a concept property (e.g. ``antimicrobial``, ``ddd``, ``level``).
* concept map: ``source_code,target_code`` plus optional ``source_display``, ``target_display``,
  ``equivalence`` (default ``equivalent``; ``unmatched`` when there is no target).

Each code system also gets a ValueSet of all its codes (``<url>/vs``) for pickers. Resource ids are derived
from URL and version, so loading the same edition twice changes nothing and a new edition sits beside the old.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huitong.fhir.store import ResourceStore
from huitong.fhir.transaction import Transaction
from huitong.security.actor import Actor
from huitong.terminology.errors import TerminologyError

STARTER = Path(__file__).parent / "starter"
_RESERVED = {"code", "display", "parent", "display_en"}


@dataclass(frozen=True)
class Edition:
    """What identifies a loaded dictionary."""

    url: str
    version: str
    name: str
    title: str
    publisher: str = "local"


def resource_id(prefix: str, url: str, version: str) -> str:
    """A stable id for one edition of a canonical resource."""
    return f"{prefix}-{hashlib.sha256(f'{url}|{version}'.encode()).hexdigest()[:24]}"


def _rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise TerminologyError(f"{path.name}: missing column(s) {', '.join(missing)}")
            rows = [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TerminologyError(f"{path}: cannot read ({exc})") from exc
    for i, row in enumerate(rows, start=2):
        for column in required:
            if not row.get(column):
                raise TerminologyError(f"{path.name} line {i}: empty {column}")
    return rows


def code_system_from_csv(path: Path, edition: Edition) -> dict[str, Any]:
    """A complete CodeSystem resource from a code-system CSV."""
    rows = _rows(path, ("code", "display"))
    seen: set[str] = set()
    concepts: list[dict[str, Any]] = []
    for i, row in enumerate(rows, start=2):
        if row["code"] in seen:
            raise TerminologyError(f"{path.name} line {i}: code {row['code']!r} appears twice")
        seen.add(row["code"])
        item: dict[str, Any] = {"code": row["code"], "display": row["display"]}
        if row.get("display_en"):
            item["designation"] = [{"language": "en", "value": row["display_en"]}]
        props = [{"code": "parent", "valueCode": row["parent"]}] if row.get("parent") else []
        props += [{"code": k, "valueString": v} for k, v in row.items() if k not in _RESERVED and v]
        if props:
            item["property"] = props
        concepts.append(item)
    parents = {r["parent"] for r in rows if r.get("parent")}
    unknown = parents - seen
    if unknown:
        raise TerminologyError(f"{path.name}: parent code(s) not in the file: {', '.join(sorted(unknown))}")
    extra = sorted({k for r in rows for k in r if k not in _RESERVED})
    cs: dict[str, Any] = {
        "resourceType": "CodeSystem",
        "id": resource_id("cs", edition.url, edition.version),
        "url": edition.url,
        "version": edition.version,
        "name": edition.name,
        "title": edition.title,
        "status": "active",
        "publisher": edition.publisher,
        "content": "complete",
        "valueSet": f"{edition.url}/vs",
        "count": len(concepts),
        "concept": concepts,
    }
    props_def = [{"code": "parent", "type": "code", "description": "the parent concept"}] if parents else []
    props_def += [{"code": k, "type": "string"} for k in extra]
    if props_def:
        cs["hierarchyMeaning"] = "is-a"
        cs["property"] = props_def
    return cs


def value_set_for(cs: dict[str, Any]) -> dict[str, Any]:
    """The ValueSet of every code of ``cs``."""
    return {
        "resourceType": "ValueSet",
        "id": resource_id("vs", cs["url"], cs["version"]),
        "url": cs["valueSet"],
        "version": cs["version"],
        "name": f"{cs['name']}All",
        "title": cs["title"],
        "status": "active",
        "compose": {"include": [{"system": cs["url"], "version": cs["version"]}]},
    }


def concept_map_from_csv(path: Path, edition: Edition, *, source: str, target: str) -> dict[str, Any]:
    """A ConceptMap resource from a concept-map CSV (one group: ``source`` → ``target``)."""
    elements: dict[str, dict[str, Any]] = {}
    for row in _rows(path, ("source_code",)):
        element = elements.setdefault(row["source_code"], {"code": row["source_code"], "target": []})
        if row.get("source_display"):
            element["display"] = row["source_display"]
        equivalence = row.get("equivalence") or ("equivalent" if row.get("target_code") else "unmatched")
        tgt: dict[str, Any] = {"equivalence": equivalence}
        if row.get("target_code"):
            tgt["code"] = row["target_code"]
        if row.get("target_display"):
            tgt["display"] = row["target_display"]
        element["target"].append(tgt)
    return {
        "resourceType": "ConceptMap",
        "id": resource_id("cm", edition.url, edition.version),
        "url": edition.url,
        "version": edition.version,
        "name": edition.name,
        "title": edition.title,
        "status": "active",
        "publisher": edition.publisher,
        "sourceUri": source,
        "targetUri": target,
        "group": [{"source": source, "target": target, "element": list(elements.values())}],
    }


def store_all(store: ResourceStore, resources: list[dict[str, Any]], *, actor: Actor | None = None) -> int:
    """Write ``resources`` in one transaction (unchanged ones make no new version); returns how many."""

    def work(tx: Transaction) -> int:
        for body in resources:
            tx.update(body, body["id"])
        return len(resources)

    return store.transaction(actor or Actor.system("terminology"), work)


def starter_resources() -> list[dict[str, Any]]:
    """The built-in starter set (see ``starter/manifest.json``)."""
    manifest = json.loads((STARTER / "manifest.json").read_text(encoding="utf-8"))
    out: list[dict[str, Any]] = []
    for item in manifest["codesystems"]:
        cs = code_system_from_csv(
            STARTER / item["file"],
            Edition(item["url"], item["version"], item["name"], item["title"], item["publisher"]),
        )
        out += [cs, value_set_for(cs)]
    for item in manifest["conceptmaps"]:
        out.append(
            concept_map_from_csv(
                STARTER / item["file"],
                Edition(item["url"], item["version"], item["name"], item["title"]),
                source=item["source"],
                target=item["target"],
            )
        )
    return out
