"""Bed assignment across the whole hospital: every ward stay of every shard gets a bed of its department that
is free for the whole stay; when a department is full, the patient gets an extra bed (加床) in the corridor,
as Chinese hospitals do. Shards are planned independently, so this runs once on all their ward stays."""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from huitong.synth.catalogues.departments import WARDS_BY_DEPARTMENT, beds_of, extra_bed

#: (stay number, segment index) → (ward, room, bed, is extra bed)
BedMap = dict[tuple[str, int], tuple[str, str, str, bool]]
#: (start, end, department, stay number, segment index) of one ward stay
WardStay = tuple[int, int, str, str, int]


def assign_beds(ward_stays: Iterable[WardStay]) -> BedMap:
    """Assign beds first come, first served in admission order; ties by stay number."""
    by_dept: dict[str, list[WardStay]] = {}
    for ws in ward_stays:
        by_dept.setdefault(ws[2], []).append(ws)
    out: BedMap = {}
    for dept, stays in by_dept.items():
        stays.sort()
        wards = WARDS_BY_DEPARTMENT.get(dept, ())
        free: list[tuple[int, int, str, str, str]] = []  # (free from, order, ward, room, bed)
        order = 0
        for w in wards:
            for regular in beds_of(w):
                heapq.heappush(free, (-(10**12), order, regular.ward, regular.room, regular.bed))
                order += 1
        extra: list[tuple[int, int, str]] = []  # (free from, n, ward) for extra beds
        extra_count = 0
        for start, end, _, stay_no, seg in stays:
            if free and free[0][0] <= start:
                _, n, ward_code, room, bed_no = heapq.heappop(free)
                out[(stay_no, seg)] = (ward_code, room, bed_no, False)
                heapq.heappush(free, (end, n, ward_code, room, bed_no))
                continue
            if extra and extra[0][0] <= start:
                _, n, ward_code = heapq.heappop(extra)
            else:
                extra_count += 1
                n, ward_code = extra_count, wards[(extra_count - 1) % len(wards)].code
            b = extra_bed(next(w for w in wards if w.code == ward_code), n)
            out[(stay_no, seg)] = (b.ward, b.room, b.bed, True)
            heapq.heappush(extra, (end, n, ward_code))
    return out
