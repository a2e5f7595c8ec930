"""Who each person is in each source system over the year: HIS, LIS, PACS and EMR registrations, created on first
contact, with HIS duplicates (and their later merge) and address updates after a move."""

from __future__ import annotations

import random
from dataclasses import dataclass

from huitong.synth.config import DefectKind, SynthConfig
from huitong.synth.defects import Defects
from huitong.synth.people import Person
from huitong.synth.registration import Registrar, Registration
from huitong.synth.writers.streams import ShardFiles

#: Where each system's registrations show up.
FILES = {
    "his": ["hl7/his/adt.hl7", "hl7/his/siu.hl7", "hl7/his/orders.hl7", "hl7/his/pharmacy.hl7"],
    "lis": ["hl7/lis/results.hl7"],
    "pacs": ["hl7/pacs/reports.hl7"],
    "emr": ["fhir/emr/encounters.ndjson"],
}
RECORDS_FILE = "truth/records.csv"


@dataclass(slots=True)
class Duplicate:
    """A second HIS registration of a person, used from ``start`` until the merge (if any)."""

    registration: Registration
    start: int
    merge_at: int  # 0 when never merged
    defect_logged: bool = False
    merged: bool = False


class Registry:
    """Registrations of one shard's persons."""

    def __init__(self, config: SynthConfig, shard: int, files: ShardFiles, defects: Defects) -> None:
        base = f"huitong-synth:{config.seed}:{config.year}:{config.scale.name}:{shard}"
        self.registrar = Registrar(random.Random(f"{base}:registration"), shard, config.noise)  # noqa: S311
        self.dup_registrar = Registrar(defects.rng, 500 + shard, config.noise)
        self.files = files
        self.defects = defects
        self.regs: dict[tuple[str, str], Registration] = {}
        self.duplicates: dict[str, Duplicate | None] = {}
        self.encounters_left: dict[str, int] = {}

    def _new(self, person: Person, system: str, when: int) -> Registration:
        reg = self.registrar.register(person, system, when)
        self.defects.registration(reg, FILES[system])
        self._record(reg)
        return reg

    def _record(self, reg: Registration) -> None:
        self.files.csv_row(
            RECORDS_FILE,
            [reg.system, reg.local_id, reg.person.key, "1" if reg.is_duplicate else "0", ";".join(reg.noise)],
        )

    def get(self, person: Person, system: str, when: int) -> Registration:
        """The person's registration in a system (LIS, PACS, EMR), created on first use."""
        reg = self.regs.get((system, person.key))
        if reg is None:
            reg = self._new(person, system, when)
            self.regs[(system, person.key)] = reg
        return reg

    def his(self, person: Person, when: int) -> tuple[Registration, str, Duplicate | None]:
        """The HIS registration to use for an encounter starting at ``when`` (a duplicate while it is in use),
        what just happened (``""``, ``"duplicated"`` or ``"merged"``) and the duplicate concerned."""
        key = person.key
        primary = self.regs.get(("his", key))
        if primary is None:
            primary = self._new(person, "his", when)
            self.regs[("his", key)] = primary
            rng = self.defects.rng
            has_more = self.encounters_left.get(key, 0) > 1
            wants = has_more and self.defects.hit(DefectKind.DUPLICATE_REGISTRATION)
            self.duplicates[key] = None
            if wants:
                self.duplicates[key] = Duplicate(primary, -1, 1 if rng.random() < 0.6 else 0)
            return primary, "", None
        dup = self.duplicates.get(key)
        if dup is None or dup.merged:
            return primary, "", None
        if dup.start == -1:
            reg = self.dup_registrar.register(person, "his", when, duplicate=True)
            self._record(reg)
            dup.registration, dup.start = reg, when
            if dup.merge_at:
                dup.merge_at = when + self.defects.rng.randint(1, 60) * 86_400
            return reg, "duplicated", dup
        if dup.merge_at and when >= dup.merge_at:
            dup.merged = True
            return primary, "merged", dup
        return dup.registration, "", None

    def pending_merges(self, end: int) -> list[tuple[Person, Duplicate]]:
        """Duplicates whose merge falls before ``end`` but after the person's last encounter."""
        out = []
        for key, dup in self.duplicates.items():
            if dup is not None and dup.start >= 0 and dup.merge_at and not dup.merged and dup.merge_at < end:
                dup.merged = True
                out.append((self.regs[("his", key)].person, dup))
        return out

    def primary(self, person: Person) -> Registration:
        """The person's first HIS registration."""
        return self.regs[("his", person.key)]
