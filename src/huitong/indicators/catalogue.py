"""The 2019 national list (``catalogue.csv``, a copy of the shared standard) joined with our definition files,
and ``docs/indicators.md`` generated from both."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from huitong.indicators.definition import Definition, load_definitions
from huitong.indicators.fhirmap import EXT, EXTENSIONS
from huitong.indicators.flatten import load_views

PACKAGE = Path(str(resources.files("huitong.indicators")))
#: Why an indicator of the list is not computed here (entered by hand or from another platform).
NOT_COMPUTED: dict[str, str] = {
    "2": "entered by hand: needs referral records to lower-level institutions (medical-alliance referral system)",
    "7": "entered by hand: no premium-service flag on registrations and charges",
    "12": "entered by hand: qualitative",
    "13": "entered by hand: result of external quality assessment (national or provincial platform)",
    "14": "entered by hand: needs the national DRG grouper and risk grading (CN-DRG)",
    "15": "entered by hand: administrative ward designation",
    "16": "entered by hand: needs the prescription-review system",
    "20": "entered by hand: needs procurement data",
    "24": "entered by hand: result of the national EMR grading",
    "32": "entered by hand: no adjuvant-drug list",
    "42": "entered by hand: qualitative",
    "43": "entered by hand: qualitative",
    "47": "entered by hand: needs a trainee registry and follow-up",
    "48": "entered by hand: exam results come from the national exam body",
    "49": "entered by hand: composite, composition unconfirmed",
    "50": "entered by hand: research-management data",
    "51": "entered by hand: research-management data",
    "52": "entered by hand: external rating",
    "53": "entered by hand: national satisfaction survey platform",
    "54": "entered by hand: national satisfaction survey platform",
    "55": "entered by hand: national satisfaction survey platform",
    "new-1": "entered by hand: no key-monitored consumables list",
}
_DIRECTION = {"higher": "↑ 逐步提高", "lower": "↓ 逐步降低", "monitor": "→ 监测比较"}


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One indicator of the national list."""

    id: str
    dimension: str
    sub_dimension: str
    name_zh: str
    name_en: str
    national: bool
    direction: str
    unit: str
    source: str
    computable: str
    notes: str


def national_list() -> list[CatalogueEntry]:
    """The 55 indicators (and ``new-1``) of the national list, in order."""
    with (PACKAGE / "catalogue.csv").open(encoding="utf-8", newline="") as handle:
        return [
            CatalogueEntry(
                r["id"],
                r["dimension"],
                r["sub_dimension"],
                r["name_zh"],
                r["name_en"],
                r["national_monitoring"] == "yes",
                r["direction"],
                r["unit"],
                r["data_source"],
                r["computable_from_clinical_data"],
                r["notes"],
            )
            for r in csv.DictReader(handle)
        ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _definition_section(d: Definition) -> list[str]:
    lines = [
        f"### {d.id} {d.name_zh}{' ▲' if d.national else ''}",
        "",
        f"*{d.name_en}* — {d.meta['dimension']}; {_DIRECTION[d.direction]}; unit {d.unit}"
        + (f" (× {d.meta['factor']})" if d.meta["factor"] not in ("1", "100") else ""),
        "",
        f"- **Numerator:** {d.meta['numerator']}",
        f"- **Denominator:** {d.meta['denominator']}",
        f"- **Rule:** {d.meta['rule']}",
        f"- **Source:** {d.meta['source']}",
        f"- **Configurable:** {d.meta['configurable']}",
        f"- **Unconfirmed:** {d.meta['unconfirmed']}",
    ]
    if d.params:
        lines.append("- **Parameters:** " + ", ".join(f"`{k}` = `{v}`" for k, v in d.params.items()))
    if d.growth_of:
        lines.append(f"- **Growth of:** `{d.growth_of}` (same period of the previous year)")
    if d.year_only or d.hospital_only:
        lines.append("- **Granularity:** year, hospital-wide (a snapshot of the current master data)")
    lines += [f"- **Definition:** `{d.path.name}` (SHA-256 `{d.sha256[:16]}…`)", ""]
    return lines


def render() -> str:
    """The whole of ``docs/indicators.md``."""
    defs = {d.id: d for d in load_definitions()}
    out = [(PACKAGE / "doc_intro.md").read_text(encoding="utf-8").rstrip(), ""]
    entries = national_list()
    computed = [e for e in entries if e.id in defs]
    out += [
        "## The national list and what is computed",
        "",
        f"{len(computed)} of the {len(entries)} indicators are computed from the platform's data "
        f"({sum(1 for e in computed if e.national)} of the {sum(1 for e in entries if e.national)} ▲); "
        "the others cannot be computed from clinical data and are entered by hand (or taken from another "
        "platform), each with the reason.",
        "",
        "| id | indicator | ▲ | direction | unit | catalogue | here |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for e in entries:
        status = f"computed (`{defs[e.id].path.name}`)" if e.id in defs else NOT_COMPUTED.get(e.id, "not computed")
        out.append(
            f"| {e.id} | {_cell(e.name_zh)} | {'▲' if e.national else ''} | {_DIRECTION.get(e.direction, e.direction)}"
            f" | {_cell(e.unit)} | {e.computable} | {_cell(status)} |"
        )
    out += ["", "## Definitions", ""]
    for d in defs.values():
        if not d.id.startswith("aux."):
            out += _definition_section(d)
    out += ["## Companion measures", "", "Building blocks of the indicators above, computed the same way.", ""]
    for d in defs.values():
        if d.id.startswith("aux."):
            out += _definition_section(d)
    out += ["## Views", "", "| view | resource | description |", "| --- | --- | --- |"]
    for view in load_views():
        out.append(f"| `{view.name}` | {view.resource} | {_cell(view_description(view.name))} |")
    out += ["", "## Extensions", "", f"Under `{EXT}`:", "", "| extension | holds |", "| --- | --- |"]
    out += [f"| `{name}` | {_cell(text)} |" for name, text in EXTENSIONS.items()]
    return "\n".join(out) + "\n"


def view_description(name: str) -> str:
    """The ``description`` of a view file."""
    import json

    path = PACKAGE / "views" / f"{name}.json"
    return str(json.loads(path.read_text(encoding="utf-8")).get("description", ""))
