"""Master data of the synthetic hospital: departments, wards and beds, staff, drugs, procedures, diagnoses,
lab and imaging catalogues, charge items, and the case mix that drives the clinical events."""

from __future__ import annotations

from dataclasses import dataclass

from huitong.synth.catalogues.departments import ANAESTHESIA, DEPARTMENTS, IMAGING, LAB, PHARMACY, RECORDS
from huitong.synth.catalogues.staff import StaffMember, build_staff


@dataclass(frozen=True, slots=True)
class Staffing:
    """Staff of one seed, indexed the way the event generator needs them."""

    staff: tuple[StaffMember, ...]
    physicians: dict[str, tuple[StaffMember, ...]]
    seniors: dict[str, tuple[StaffMember, ...]]
    attendings: dict[str, tuple[StaffMember, ...]]
    juniors: dict[str, tuple[StaffMember, ...]]
    nurses: dict[str, tuple[StaffMember, ...]]
    heads: dict[str, StaffMember]
    anaesthetists: tuple[StaffMember, ...]
    radiologists: tuple[StaffMember, ...]
    technologists: tuple[StaffMember, ...]
    pharmacists: tuple[StaffMember, ...]
    coders: tuple[StaffMember, ...]

    def physicians_of(self, department: str) -> tuple[StaffMember, ...]:
        """Physicians of a department (never empty for clinical departments)."""
        return self.physicians[department]


def build_staffing(seed: int) -> Staffing:
    """Staff for ``seed`` with indexes by department and grade."""
    staff = build_staff(seed)

    def by(role: str, grades: tuple[str, ...]) -> dict[str, tuple[StaffMember, ...]]:
        out: dict[str, list[StaffMember]] = {d.code: [] for d in DEPARTMENTS}
        for s in staff:
            if s.role == role and s.grade in grades:
                out[s.department].append(s)
        return {k: tuple(v) for k, v in out.items()}

    physicians = by("physician", ("senior", "intermediate", "junior"))
    seniors = by("physician", ("senior",))
    heads = {}
    for dept, members in physicians.items():
        chiefs = [s for s in members if s.title_code == "231"] or list(seniors.get(dept, ())) or list(members)
        if chiefs:
            heads[dept] = chiefs[0]
    return Staffing(
        staff=staff,
        physicians=physicians,
        seniors=seniors,
        attendings=by("physician", ("intermediate",)),
        juniors=by("physician", ("junior",)),
        nurses=by("nurse", ("senior", "intermediate", "junior")),
        heads=heads,
        anaesthetists=physicians[ANAESTHESIA],
        radiologists=physicians[IMAGING],
        technologists=tuple(s for s in staff if s.role == "technician" and s.department == LAB),
        pharmacists=tuple(s for s in staff if s.role == "pharmacist" and s.department == PHARMACY),
        coders=tuple(s for s in staff if s.department == RECORDS),
    )
