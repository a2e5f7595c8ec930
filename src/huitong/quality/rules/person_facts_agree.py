"""Consistency: the same fact agrees across systems — each source system's record of a person gives the birth date
and sex of the person's golden record (the EMPI's, built from the most trusted source by survivorship).

A person's records are those the golden Patient links (``seealso``); a record is named when its birth date or its
sex (male or female) differs from the golden record's, so the finding counts against the system that disagrees.
Retired golden records (merged persons) are skipped; without the EMPI (no golden records) the rule finds nothing."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from huitong.empi.golden import is_golden
from huitong.quality.rule import Context, Dimension, SetRule, Severity, source_of

#: The facts compared: (birth date as YYYY-MM-DD or None, sex when male or female else None)
Facts = tuple[str | None, str | None]


@dataclass
class State:
    #: golden Patient id → (its facts, the ids of the source records it links)
    persons: dict[str, tuple[Facts, list[str]]] = field(default_factory=dict)
    #: source Patient id → (its facts, its source system)
    records: dict[str, tuple[Facts, str]] = field(default_factory=dict)


def start(_ctx: Context) -> State:
    return State()


def _facts(patient: dict[str, Any]) -> Facts:
    born, sex = patient.get("birthDate"), patient.get("gender")
    return (
        born[:10] if isinstance(born, str) and born else None,
        sex if sex in ("male", "female") else None,
    )


def observe(state: State, patient: dict[str, Any]) -> None:
    if not is_golden(patient):
        state.records[patient["id"]] = (_facts(patient), source_of(patient))
        return
    if patient.get("active") is False:
        return  # a person merged into another
    members = [
        ref[8:]
        for link in patient.get("link") or ()
        if isinstance(link, dict)
        and link.get("type") == "seealso"
        and isinstance(ref := (link.get("other") or {}).get("reference"), str)
        and ref.startswith("Patient/")
    ]
    if members:
        state.persons[patient["id"]] = (_facts(patient), members)


def merge(first: State, later: State) -> State:
    """The state of two parts of the scan, ``first`` observed before ``later``."""
    first.persons.update(later.persons)
    first.records.update(later.records)
    return first


def conclude(state: State) -> Iterator[tuple[str, str, str, str]]:
    labels = ("birthDate", "gender")
    for person, (golden, members) in state.persons.items():
        for member in members:
            record = state.records.get(member)
            if record is None:
                continue
            facts, source = record
            differ = [
                f"{label} {mine} but {theirs} in the person's golden record Patient/{person}"
                for label, mine, theirs in zip(labels, facts, golden, strict=True)
                if mine is not None and theirs is not None and mine != theirs
            ]
            if differ:
                yield "Patient", member, "; ".join(differ), source


RULE = SetRule(
    "person-facts-agree",
    Dimension.CONSISTENCY,
    Severity.WARNING,
    "同一患者跨系统一致 The same person's facts agree across systems",
    "Each source record linked to an EMPI golden Patient gives the golden record's birth date and sex (male or "
    "female); a record that differs is named, so the finding counts against the system that disagrees.",
    ("Patient",),
    start,
    observe,
    conclude,
    merge,
    fields=("active", "link", "birthDate", "gender"),
)
