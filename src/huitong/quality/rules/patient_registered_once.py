"""Integration: one person has one registration per source system — two patient records of the same system
with the same resident ID number are a duplicate registration (the patient must resolve to one person).

The EMPI's golden records are not registrations: built from a person's source records, they carry the same
facts, and counting them made every person the EMPI linked a "duplicate" of its own golden record."""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from huitong.empi.golden import is_golden
from huitong.quality.rule import Context, Dimension, SetRule, Severity, source_of
from huitong.quality.rules.resident_id_check_character import resident_ids

#: Placeholder names of newborns registered under the mother's name (twins share them).
NEWBORN_SUFFIXES = ("之子", "之女", "之婴")


@dataclass
class State:
    #: (local identifier system, resident ID) or (system, name, birth date, sex) → patient ids
    groups: dict[tuple[str, ...], list[str]] = field(default_factory=lambda: defaultdict(list))
    #: patient id → source system, of the patients in some group
    sources: dict[str, str] = field(default_factory=dict)


def start(_ctx: Context) -> State:
    return State()


def _local_system(patient: dict[str, Any]) -> str:
    for ident in patient.get("identifier") or ():
        if not isinstance(ident, dict):
            continue
        for coding in (ident.get("type") or {}).get("coding") or ():
            if isinstance(coding, dict) and coding.get("code") in ("PI", "MR"):
                return str(ident.get("system") or "")
    meta = patient.get("meta") or {}
    return str(meta.get("source") or "") if isinstance(meta, dict) else ""


def _replaced(patient: dict[str, Any]) -> bool:
    if patient.get("active") is False:
        return True
    return any(isinstance(link, dict) and link.get("type") == "replaced-by" for link in patient.get("link") or [])


def _name(patient: dict[str, Any]) -> str:
    for name in patient.get("name") or []:
        if isinstance(name, dict):
            text = name.get("text") or f"{name.get('family', '')}{''.join(name.get('given') or [])}"
            if text:
                return "".join(str(text).split())
    return ""


def observe(state: State, patient: dict[str, Any]) -> None:
    if _replaced(patient) or is_golden(patient):
        return
    system = _local_system(patient)
    groups = state.groups
    numbers = resident_ids(patient)
    grouped = bool(numbers)
    for number in set(numbers):
        groups[(system, "id", number)].append(patient["id"])
    name, born, sex = _name(patient), patient.get("birthDate"), patient.get("gender")
    if name and born and sex in ("male", "female") and not name.endswith(NEWBORN_SUFFIXES):
        groups[(system, "demographics", name, str(born), str(sex))].append(patient["id"])
        grouped = True
    if grouped:  # the source system of a patient a finding may name
        state.sources[patient["id"]] = source_of(patient)


def merge(first: State, later: State) -> State:
    """The state of two parts of the scan, ``first`` observed before ``later`` (ids keep their scan order)."""
    for key, ids in later.groups.items():
        first.groups[key].extend(ids)
    first.sources.update(later.sources)
    return first


def conclude(state: State) -> Iterator[tuple[str, str, str, str]]:
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    how: dict[frozenset[str], set[str]] = defaultdict(set)
    for ids in state.groups.values():
        if len(set(ids)) < 2:
            continue
        for other in ids[1:]:
            parent[root(other)] = root(ids[0])
    members: dict[str, set[str]] = defaultdict(set)
    for key, ids in state.groups.items():
        if len(set(ids)) >= 2:
            group = root(ids[0])
            members[group].update(ids)
            how[frozenset([group])].add("resident ID" if key[1] == "id" else "name, birth date and sex")
    for group, together in members.items():
        ordered = sorted(together)
        others = ", ".join(f"Patient/{i}" for i in ordered[:-1])
        same = " and ".join(sorted(how[frozenset([group])]))
        yield (
            "Patient",
            ordered[-1],
            f"same {same} in one system as {others}",
            state.sources.get(ordered[-1], "unknown"),
        )


RULE = SetRule(
    "patient-registered-once",
    Dimension.INTEGRATION,
    Severity.WARNING,
    "患者唯一登记 One registration per person and system",
    "No two active Patient records with the same local identifier system share a resident ID number (a "
    "duplicate registration, to be merged — ADT^A40 — or linked by the EMPI).",
    ("Patient",),
    start,
    observe,
    conclude,
    merge,
    fields=("identifier", "active", "link", "name", "birthDate", "gender"),  # meta: always decoded
)
