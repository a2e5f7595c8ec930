"""The results of the doctor's one-patient view: one page of Observations and the trend chart, from the index.

A chronic patient's year holds thousands of laboratory results (most filed by the LIS under its own Patient).
The view does not read them all: the list is one page, newest first (ordered by the ``date`` index rows, the JSON
read for that page only), and the trend chart is an aggregate — the mean value per analyte and China day from
the ``value-quantity``, ``date`` and ``code`` index rows — with one result read per analyte for its name. Every
query keeps to the Observations ``actor`` may see (``ResourceStore.visible_conditions``), of the Patients given
(the opened one and the person's records in other systems). Results the archive moved to the cold tier are
older than any live one: they follow the live ones in the list and add their points to the chart.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from huitong.db.schema import resource
from huitong.fhir import jsonio
from huitong.fhir.operations._patient_compartment import PATIENT_COMPARTMENT
from huitong.fhir.operations.everything import contents, from_archive, live_keys
from huitong.fhir.operations.record import visible_archived
from huitong.fhir.search.schema import search_date, search_number, search_reference, search_token
from huitong.fhir.stored import StoredResource
from huitong.ops.archive import patient_archive
from huitong.security.actor import Actor
from huitong.web.view_models import text_of, when_of

if TYPE_CHECKING:
    from huitong.services import Services

DAY_MS = 86_400_000
CHINA_MS = 8 * 3_600_000
OBS = "Observation"
#: Keys per IN list (well under SQLite's 32,766 bound parameters).
CHUNK = 5000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Results:
    """One page of the person's results (newest first), how many there are, and the trend series."""

    page: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    trends: dict[str, list[tuple[str, float]]] = field(default_factory=dict)


def patient_results(
    services: Services, actor: Actor, conn: sa.Connection, patient_ids: list[str], *, offset: int, size: int
) -> Results:
    """Results ``offset`` … ``offset + size`` of the Patients ``patient_ids`` as ``actor`` sees them, with the
    total and the trend series (name → [(day, mean value)])."""
    # the visible results' keys once (the access condition is evaluated once per result), then index rows by key
    pks = [int(pk) for pk in conn.execute(_members(services, actor, patient_ids)).scalars()]
    archived = _archived(services, actor, conn, patient_ids)
    out = Results(total=len(pks) + len(archived))
    if offset < len(pks):
        out.page = _read(conn, _newest_first(conn, pks)[offset : offset + size])
    rest = size - len(out.page)
    if rest > 0 and archived:
        start = max(0, offset - len(pks))
        out.page.extend(archived[start : start + rest])
    out.trends = _trends(conn, pks, archived)
    return out


def _chunks(pks: list[int]) -> list[list[int]]:
    return [pks[start : start + CHUNK] for start in range(0, len(pks), CHUNK)]


def _members(services: Services, actor: Actor, patient_ids: list[str]) -> sa.Select[Any]:
    """The keys of the live Observations of ``patient_ids`` that ``actor`` may see (each once)."""
    ref = search_reference
    return (
        sa.select(resource.c.pk)
        .join(ref, ref.c.resource_pk == resource.c.pk)
        .where(
            ref.c.res_type == OBS,
            ref.c.param.in_(PATIENT_COMPARTMENT[OBS]),
            ref.c.target_type == "Patient",
            ref.c.target_id.in_(patient_ids),
            resource.c.res_type == OBS,
            resource.c.deleted.is_(False),
            *services.store.visible_conditions(actor, resource.c.pk, resource.c.res_type),
        )
        .distinct()
    )


def _newest_first(conn: sa.Connection, pks: list[int]) -> list[int]:
    """``pks`` newest first by their ``date`` index rows (undated ones last, then by key)."""
    d = search_date
    moment: dict[int, int] = {}
    for chunk in _chunks(pks):
        query = (
            sa.select(d.c.resource_pk, sa.func.max(d.c.low))
            .where(d.c.resource_pk.in_(chunk), d.c.param == "date")
            .group_by(d.c.resource_pk)
        )
        moment.update((int(pk), int(low)) for pk, low in conn.execute(query))
    return sorted(pks, key=lambda pk: (moment.get(pk, -(2**62)), pk), reverse=True)


def _read(conn: sa.Connection, pks: list[int]) -> list[dict[str, Any]]:
    """The JSON of the resources ``pks``, in that order."""
    bodies = _bodies(conn, pks)
    return [bodies[pk] for pk in pks if pk in bodies]


def _bodies(conn: sa.Connection, pks: list[int]) -> dict[int, dict[str, Any]]:
    """Key → parsed JSON of the live resources ``pks`` (a page, or one result per analyte: few)."""
    return {pk: jsonio.loads_fast(text) for pk, text in contents(conn, pks).items()}


def _trends(conn: sa.Connection, pks: list[int], archived: list[dict[str, Any]]) -> dict[str, list[tuple[str, float]]]:
    """Mean value per analyte and China day: a grouped query over the index rows (per 5,000 results), one read
    per analyte for its name."""
    sums: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
    sample: dict[str, int] = {}
    for chunk in _chunks(pks):
        for key, days, total, count, pk in conn.execute(_grouped(chunk)):
            sample[key] = max(sample.get(key, 0), int(pk))
            point = sums[(key, int(days))]
            point[0] += float(total)
            point[1] += int(count)
    return _series(conn, sums, sample, archived)


def _grouped(chunk: list[int]) -> sa.Select[Any]:
    """(series key, China day, sum, count, latest key) of the results ``chunk`` with a quantity and a date."""
    n, d, t = search_number, search_date, search_token
    # Joined on ``resource_pk`` and ``param`` only: with ``res_type`` as well, SQLite seeks the lookup indexes
    # (``res_type, param, …``) and reads every Observation's rows of the store (2 s for one patient's page); the
    # rows of an Observation's key are an Observation's anyway.
    # one series key per result (a result coded in the LIS's code and in LOINC has two code rows)
    code_key = sa.func.coalesce(t.c.system, "") + "|" + sa.func.coalesce(t.c.code, "")
    codes = (
        sa.select(t.c.resource_pk.label("pk"), sa.func.min(code_key).label("key"))
        .where(t.c.resource_pk.in_(chunk), t.c.param == "code")
        .group_by(t.c.resource_pk)
        .subquery()
    )
    day = (d.c.low + CHINA_MS) / DAY_MS
    return (
        sa.select(codes.c.key, day.label("day"), sa.func.sum(n.c.value), sa.func.count(), sa.func.max(codes.c.pk))
        .join(n, sa.and_(n.c.resource_pk == codes.c.pk, n.c.param == "value-quantity"))
        .join(d, sa.and_(d.c.resource_pk == codes.c.pk, d.c.param == "date"))
        .group_by(codes.c.key, day)
    )


def _series(
    conn: sa.Connection,
    sums: dict[tuple[str, int], list[float]],
    sample: dict[str, int],
    archived: list[dict[str, Any]],
) -> dict[str, list[tuple[str, float]]]:
    """Name → [(day, mean)]: the live sums under their analytes' names, with the archived results added."""
    names = _names(conn, sample)
    series: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    for (key, days), (total, count) in sums.items():
        point = series[names.get(key, key)][_day(int(days))]
        point[0] += total
        point[1] += count
    for obs in archived:  # the cold tier's results, few and old
        q = obs.get("valueQuantity")
        if isinstance(q, dict) and "value" in q and when_of(obs):
            try:
                value = float(Decimal(str(q["value"])))
            except (InvalidOperation, ValueError):
                continue
            point = series[text_of(obs.get("code"))][when_of(obs)[:10]]
            point[0] += value
            point[1] += 1
    return {
        name: sorted((when, round(total / count, 4)) for when, (total, count) in points.items())
        for name, points in series.items()
    }


@functools.lru_cache(maxsize=4096)
def _day(days: int) -> str:
    """``YYYY-MM-DD`` of a day number (days since 1970-01-01)."""
    return (EPOCH + timedelta(days=days)).strftime("%Y-%m-%d")


def _names(conn: sa.Connection, sample: dict[str, int]) -> dict[str, str]:
    """Series key → the name of its latest result's code (as the list shows it)."""
    bodies = _bodies(conn, list(sample.values()))
    return {key: text_of(bodies[pk].get("code")) for key, pk in sample.items() if pk in bodies}


def _archived(services: Services, actor: Actor, conn: sa.Connection, patient_ids: list[str]) -> list[dict[str, Any]]:
    """The archived results of ``patient_ids`` that ``actor`` may see and the live database no longer holds,
    newest first (the cold tier's access rule and live check, as ``fhir.operations.record`` reads a record)."""
    directory = Path(services.settings.archive.directory)
    if not directory.is_dir():
        return []
    found: dict[str, StoredResource] = {}
    for patient_id in patient_ids:
        versions = [from_archive(v) for v in patient_archive(directory, patient_id) if v.res_type == OBS and v.content]
        for stored in visible_archived(services, actor, conn, patient_id, versions):
            found.setdefault(stored.res_id, stored)
    live = live_keys(conn, [(OBS, rid) for rid in found])
    bodies = [jsonio.loads_fast(s.content or b"{}") for rid, s in found.items() if (OBS, rid) not in live]
    return sorted(bodies, key=when_of, reverse=True)
