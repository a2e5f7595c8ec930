"""The batch scan of a quality run over the repository: streamed by key, split over worker processes.

A run reads every current resource of the types its rules read, patients first (rules about diagnoses need each
patient's sex and birth date). Each type is read in key order (``resource(res_type, pk)``), in pages of
:data:`PAGE` rows, never all at once. With more than one worker, each type's key range is cut into parts, each
part is checked by one of the workers — this process, or a spawned one with its own database connection — and the
parts' results are joined in scan order: findings concatenated, counts added, set rules' states merged with their
``merge``. The findings are the same, in the same order, as when one process reads everything (tested on both
backends).

The store stays the door: the parent checks that the actor may search each type and records one audit row per
type, as :meth:`ResourceStore.scan` does; the workers read through the store's visibility conditions and
:meth:`ResourceStore.opened`.
"""

from __future__ import annotations

import atexit
import gc
import math
import os
import pickle
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypedDict

import msgspec
import orjson
import sqlalchemy as sa

from huitong.db.schema import resource
from huitong.fhir.store import ResourceStore
from huitong.fhir.stored import StoredResource
from huitong.processes import spawn_pool
from huitong.quality.rule import (
    ALWAYS_DECODED,
    Catalogues,
    Context,
    Finding,
    PatientFacts,
    ResourceRule,
    SetRule,
    source_of,
)
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry
from huitong.security.fields import PERSON_TYPES
from huitong.security.protection import is_sealed_content
from huitong.settings import QualitySettings, Settings

#: Rows per keyset page.
PAGE = 5000
#: Below this many resources a run stays in one process: starting a worker (a fresh interpreter importing
#: Huitong) takes seconds, which a one-process run of this size about takes in all.
PARALLEL_MIN_RESOURCES = 300_000
#: Resources per part of a type's key range (at least one part per worker and type): small enough that the
#: last parts to finish leave little of the other workers idle.
PART_ROWS = 25_000

Progress = Callable[[str, int], None]
FhirRule = ResourceRule | SetRule


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def scan_order(rules: Sequence[FhirRule]) -> list[str]:
    """The types a run reads, patients first."""
    return sorted({t for r in rules for t in r.reads} | {"Patient"}, key=lambda t: (t != "Patient", t))


#: The elements of a Patient that :func:`patient_facts` reads.
PATIENT_FACTS = ("gender", "birthDate")


def decoded_fields(rtype: str, rules: Sequence[FhirRule]) -> tuple[str, ...] | None:
    """The top-level elements of ``rtype`` that ``rules`` read (with :data:`ALWAYS_DECODED`, and a patient's
    facts), or ``None`` when one of them may read any (declares no ``fields``)."""
    fields = set(ALWAYS_DECODED)
    if rtype == "Patient":
        fields.update(PATIENT_FACTS)
    for rule in rules:
        if rtype in rule.reads:
            if rule.fields is None:
                return None
            fields.update(rule.fields)
    return tuple(sorted(fields))


Decode = Callable[[bytes | str], dict[str, Any]]


def decoder(fields: tuple[str, ...] | None) -> Decode:
    """A JSON decoder that builds only ``fields`` of a resource (every element for ``None``): the elements no
    rule reads — narrative, identifiers, codings of other elements — are skipped while parsing instead of being
    built into objects and freed again (Observation 3.0 → 2.2 µs, Encounter 2.6 → 1.0 µs here). Anything the
    projection cannot decode is decoded whole; what neither can decode raises as before. Element names are
    FHIR's, ASCII names; a set with any other name is decoded whole (msgspec 0.22 matched the empty key to a
    non-ASCII field name)."""
    if fields is None or not all(f.isascii() and f.isidentifier() for f in fields):
        return orjson.loads
    return _projection(fields)


@lru_cache(maxsize=64)
def _projection(fields: tuple[str, ...]) -> Decode:
    # a TypedDict decodes to a plain dict, unknown keys skipped (msgspec); built from names known only here
    make_shape: Any = TypedDict
    project = msgspec.json.Decoder(make_shape("Decoded", dict.fromkeys(fields, Any), total=False)).decode
    loads = orjson.loads
    error = msgspec.DecodeError

    def decode(raw: bytes | str) -> dict[str, Any]:
        try:
            body: dict[str, Any] = project(raw)
        except error:
            body = loads(raw)
        return body

    return decode


def patient_facts(body: dict[str, Any]) -> PatientFacts:
    """What rules about diagnoses need to know of a patient."""
    born: date | None = None
    text = body.get("birthDate")
    if isinstance(text, str) and len(text) >= 10:
        try:
            born = date.fromisoformat(text[:10])
        except ValueError:
            born = None
    return PatientFacts(body.get("gender"), born)


def pack_facts(patients: dict[str, PatientFacts]) -> bytes:
    """Every patient's facts for the spawned workers, pickled as three flat lists (ids, genders, birth dates as
    day ordinals, 0 for none): a seventh of the time of pickling a date object per patient."""
    genders = [f.gender for f in patients.values()]
    born = [f.birth_date.toordinal() if f.birth_date is not None else 0 for f in patients.values()]
    return pickle.dumps((list(patients), genders, born), protocol=pickle.HIGHEST_PROTOCOL)


def unpack_facts(data: bytes) -> dict[str, PatientFacts]:
    """What :func:`pack_facts` packed."""
    ids, genders, born = pickle.loads(data)  # noqa: S301 - written by the run's own process, this run
    day = date.fromordinal
    return {pid: PatientFacts(g, day(b) if b else None) for pid, g, b in zip(ids, genders, born, strict=True)}


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused (reference counting goes on): a part decodes a document per resource
    and the set rules' states grow by hundreds of thousands of containers, which the collector walks again and
    again though none of them are cycles — 2,500 collections, 1.6 s of a 33 s run over 2 M resources, 0.8 s of it in
    4 full collections over every state. Cyclic garbage a part leaves is collected once the collector runs again;
    a collector switched off by someone else stays off."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class PartResult:
    """What checking one part of the scan found."""

    rtype: str
    findings: list[Finding] = field(default_factory=list)
    #: resources checked per source system
    per_source: Counter[str] = field(default_factory=Counter)
    #: set rule id → its state over this part (worker parts only)
    states: dict[str, Any] = field(default_factory=dict)
    #: (type, id) → source system, when asked to keep them
    sources: dict[tuple[str, str], str] = field(default_factory=dict)
    #: CPU seconds of the worker process that checked this part
    cpu_s: float = 0.0
    #: patient id → (gender, birth date), from a part of the patients checked in a worker
    patients: dict[str, tuple[str | None, date | None]] = field(default_factory=dict)
    #: checked in the run's own process (not in a spawned worker)
    here: bool = False
    #: wall-clock time (``time.time()``) the part's check began and ended, for a timeline of the processes
    span: tuple[float, float] = (0.0, 0.0)


def check_part(
    rtype: str,
    items: Iterator[Item] | Sequence[Item],
    ctx: Context,
    rules: Sequence[FhirRule],
    states: dict[str, Any],
    *,
    keep_sources: bool = False,
    progress: Progress | None = None,
    done: int = 0,
) -> PartResult:
    """Every rule of ``rules`` that reads ``rtype`` over ``items`` (id, JSON, …): each resource decoded once, all
    its resource rules and set-rule observers in one pass. Patients' facts go to ``ctx.patients``."""
    out = PartResult(rtype)
    # this type's rules, looked up once per part (not per resource)
    checks = tuple((r.id, r.check) for r in rules if isinstance(r, ResourceRule) and rtype in r.reads)
    observers = tuple((r.observe, states[r.id]) for r in rules if isinstance(r, SetRule) and rtype in r.reads)
    findings, sources, patients = out.findings, out.sources, ctx.patients
    add = findings.append
    counts: dict[str, int] = {}
    count = counts.get
    is_patient = rtype == "Patient"
    loads = decoder(decoded_fields(rtype, rules))
    n = done
    every = 1000 if progress is not None else 0
    with cyclic_gc_paused():
        for item in items:
            res_id = item[0]
            body = loads(item[1] or b"{}")
            meta = body.get("meta")
            source = meta.get("source") if isinstance(meta, dict) else None
            if not (isinstance(source, str) and source):
                source = "unknown"
            counts[source] = count(source, 0) + 1
            if is_patient:
                patients[res_id] = patient_facts(body)
            for rule_id, check in checks:
                details = check(body, ctx)
                if details:  # the built-in rules return an empty tuple when nothing is wrong: no iterator to make
                    for detail in details:
                        add(Finding(rule_id, rtype, res_id, detail, source))
            for observe, state in observers:
                observe(state, body)
            if keep_sources:
                sources[(rtype, res_id)] = source
            if every:
                n += 1
                if progress is not None and n % every == 0:
                    progress(rtype, n)
    out.per_source.update(counts)
    return out


# -- reading the store ------------------------------------------------------------------------------


#: What a scan yields per resource: (id, JSON), the store's rows also carrying their key after these two.
Item = tuple[str, bytes | str] | tuple[str, bytes | str, int]


def stream(
    store: ResourceStore, actor: Actor, rtype: str, after: int | None = None, upto: int | None = None
) -> Iterator[Item]:
    """(id, JSON, key) of every current resource of ``rtype`` the actor may see with ``after < pk <= upto``, in
    key order, :data:`PAGE` rows per query (the ``resource(res_type, pk)`` index). The query is compiled once
    and each page's rows are handed on as the driver returns them."""
    visible = store.visible_conditions(actor, resource.c.pk, resource.c.res_type)
    sealed = store.protector is not None and rtype in PERSON_TYPES  # only person types hold encrypted fields
    bound = [resource.c.pk <= upto] if upto is not None else []
    # SQLite hands the JSON over as bytes when asked to (no text object per row; orjson reads bytes faster)
    content_col: sa.ColumnElement[Any] = (
        sa.cast(resource.c.content, sa.LargeBinary) if store.db.is_sqlite else resource.c.content
    )
    query = (
        sa.select(resource.c.res_id, content_col, resource.c.pk)
        .where(
            resource.c.res_type == rtype,
            resource.c.deleted.is_(False),
            resource.c.pk > sa.bindparam("after_pk", -1, type_=resource.c.pk.type),
            *bound,
            *visible,
        )
        .order_by(resource.c.pk)
        .limit(PAGE)
    )
    page: _Page | None = None
    last = after if after is not None else -1
    while True:
        with store.db.read() as conn:
            page = page or _Page(conn, query)
            rows = page.fetch(conn, {"after_pk": last})
        if not rows:
            return
        if not sealed:
            yield from rows
        else:
            for row in rows:
                res_id, content, pk = row
                raw = content.encode() if isinstance(content, str) else content
                if not is_sealed_content(raw):  # nothing encrypted (the store would hand back the same bytes)
                    yield row
                    continue
                stored = StoredResource(rtype, res_id, 0, datetime.now(UTC), False, raw)
                yield res_id, store.opened(actor, stored).content or b"{}", pk
        if len(rows) < PAGE:
            return
        last = rows[-1][2]


class _Page:
    """A query compiled once for the database driver, run with other parameters per page: a page of a scan is
    thousands of rows, and making each a SQLAlchemy ``Row`` costs about a third of reading it."""

    def __init__(self, conn: sa.Connection, query: sa.Select[Any]) -> None:
        compiled = query.compile(dialect=conn.dialect)
        self.sql = str(compiled)
        self.params = compiled.construct_params()
        self.order = list(compiled.positiontup or ()) if compiled.positional else None

    def fetch(self, conn: sa.Connection, values: dict[str, Any]) -> list[Any]:
        params = {**self.params, **values}
        args: Any = tuple(params[name] for name in self.order) if self.order is not None else params
        cursor = conn.connection.cursor()
        try:
            cursor.execute(self.sql, args)
            return list(cursor.fetchall())
        finally:
            cursor.close()


def at_least(store: ResourceStore, types: Sequence[str], rows: int) -> bool:
    """Whether there are at least ``rows`` rows of ``types`` (deleted ones included): counted on the
    ``resource(res_type, pk)`` index, no further than ``rows``."""
    if rows <= 0:
        return True
    with store.db.read() as conn:
        for rtype in types:
            some = sa.select(resource.c.pk).where(resource.c.res_type == rtype).limit(rows).subquery()
            rows -= int(conn.execute(sa.select(sa.func.count()).select_from(some)).scalar_one())
            if rows <= 0:
                return True
    return False


def key_ranges(store: ResourceStore, rtype: str, parts_min: int, part_rows: int) -> list[tuple[int, int]]:
    """The key range of ``rtype``'s rows (deleted ones included) cut into parts (``after``, ``upto``) of
    ``part_rows`` rows (the last one fewer), or into ``parts_min`` parts of equal numbers of rows when that
    makes more parts. The cuts are read from the ``resource(res_type, pk)`` index, each from the previous one
    (``LIMIT 1 OFFSET n``): one pass over the type's index entries, not over its rows, and no count first."""
    of_type = resource.c.res_type == rtype
    cut = (
        sa.select(resource.c.pk)
        .where(of_type, resource.c.pk > sa.bindparam("after_pk", type_=resource.c.pk.type))
        .order_by(resource.c.pk)
        .limit(1)
        .offset(sa.bindparam("skip", type_=sa.Integer))
    )
    with store.db.read() as conn:
        # min and max apart: each is one step into the index
        low = conn.execute(sa.select(sa.func.min(resource.c.pk)).where(of_type)).scalar_one()
        high = conn.execute(sa.select(sa.func.max(resource.c.pk)).where(of_type)).scalar_one()
        if low is None or high is None:
            return []

        def cuts(step: int) -> list[int]:
            bounds = [int(low) - 1]
            while True:
                # the step-th row after the last cut (offset step - 1) ends a part
                upto = conn.execute(cut, {"after_pk": bounds[-1], "skip": step - 1}).scalar()
                if upto is None or upto >= high:
                    return [*bounds, int(high)]
                bounds.append(int(upto))

        bounds = cuts(max(part_rows, 1))
        if len(bounds) - 1 < parts_min:  # few rows: count them (fewer than part_rows × parts_min) and share out
            count = int(conn.execute(sa.select(sa.func.count()).where(of_type)).scalar_one())
            if count >= parts_min * 2:
                bounds = cuts(math.ceil(count / parts_min))
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1) if bounds[i + 1] > bounds[i]]


def audit_scan(store: ResourceStore, actor: Actor, rtype: str) -> None:
    """Refuse a type the actor may not search; record the scan of it (one audit row, as ``store.scan``)."""
    store.check_search(actor, rtype)
    store.audited_read(actor, AuditEntry("search-type", entity_type=rtype, query="_scan=all"), lambda: None)


def lookup_sources(store: ResourceStore, actor: Actor, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The source system of each (type, id) — for set-rule findings, which name resources after the scan."""
    out: dict[tuple[str, str], str] = {}
    by_type: dict[str, list[str]] = {}
    for rtype, rid in keys:
        by_type.setdefault(rtype, []).append(rid)
    visible = store.visible_conditions(actor, resource.c.pk, resource.c.res_type)
    for rtype, ids in by_type.items():
        ids.sort()
        for i in range(0, len(ids), 500):
            query = sa.select(resource.c.res_id, resource.c.content).where(
                resource.c.res_type == rtype,
                resource.c.res_id.in_(ids[i : i + 500]),
                resource.c.deleted.is_(False),
                *visible,
            )
            with store.db.read() as conn:
                rows = conn.execute(query).all()
            for res_id, content in rows:
                if store.protector is not None and rtype in PERSON_TYPES:
                    stored = StoredResource(rtype, res_id, 0, datetime.now(UTC), False, content.encode())
                    content = store.opened(actor, stored).content
                out[(rtype, res_id)] = source_of(orjson.loads(content or b"{}"))
    return out


# -- the run -----------------------------------------------------------------------------------------


@dataclass
class Scanned:
    """The joined result of a scan: findings of resource rules in scan order, set rules' states, counts."""

    findings: list[Finding]
    states: dict[str, Any]
    per_type_source: dict[str, Counter[str]]
    workers: int
    resources: int
    #: CPU seconds of every process that took part (this one from the start of the scan, and the workers')
    cpu_s: float = 0.0
    #: parts checked in this process and in spawned workers
    parts_here: int = 0
    parts_spawned: int = 0


def scan_store(
    store: ResourceStore,
    actor: Actor,
    ctx: Context,
    rules: Sequence[FhirRule],
    *,
    workers: int = 1,
    platform: Settings | None = None,
    progress: Progress | None = None,
    parallel_min: int = PARALLEL_MIN_RESOURCES,
    part_rows: int = PART_ROWS,
) -> Scanned:
    """Check every resource the rules read; in ``workers`` processes when ``platform`` (the settings a worker
    opens its own database connection with) is given, the repository holds at least ``parallel_min`` of those
    resources, and every rule can be sent to a worker (importable, and every set rule has a ``merge``)."""
    began = time.process_time()
    types = scan_order(rules)
    for rtype in types:
        audit_scan(store, actor, rtype)
    blob = _picklable(rules) if workers > 1 and platform is not None else None
    if blob is None or platform is None or not at_least(store, types, parallel_min):
        scanned = _scan_here(store, actor, ctx, rules, types, progress)
    else:
        scanned = _scan_in_workers(store, platform, actor, ctx, rules, blob, types, workers, part_rows, progress)
    scanned.cpu_s += time.process_time() - began
    return scanned


def _picklable(rules: Sequence[FhirRule]) -> bytes | None:
    if any(isinstance(r, SetRule) and r.merge is None for r in rules):
        return None
    try:
        return pickle.dumps(list(rules))
    except (pickle.PicklingError, AttributeError, TypeError):
        return None  # a rule defined inside a function: it can only run here


def _scan_here(
    store: ResourceStore,
    actor: Actor,
    ctx: Context,
    rules: Sequence[FhirRule],
    types: list[str],
    progress: Progress | None,
) -> Scanned:
    states = {r.id: r.start(ctx) for r in rules if isinstance(r, SetRule)}
    findings: list[Finding] = []
    per_type: dict[str, Counter[str]] = {}
    for rtype in types:
        part = check_part(rtype, stream(store, actor, rtype), ctx, rules, states, progress=progress)
        findings += part.findings
        per_type[rtype] = part.per_source
    return Scanned(findings, states, per_type, 1, sum(sum(c.values()) for c in per_type.values()))


def waits_for_patients(rules: Sequence[FhirRule], rtype: str) -> bool:
    """Whether checking ``rtype`` needs every patient's facts first: some resource rule reading it reads them
    (``needs_patients``). Set rules' observers never do (they get no context)."""
    return rtype != "Patient" and any(
        isinstance(r, ResourceRule) and r.needs_patients and rtype in r.reads for r in rules
    )


def _scan_in_workers(
    store: ResourceStore,
    platform: Settings,
    actor: Actor,
    ctx: Context,
    rules: Sequence[FhirRule],
    blob: bytes,
    types: list[str],
    workers: int,
    part_rows: int,
    progress: Progress | None,
) -> Scanned:
    """Every part in one of ``workers`` processes — this one and ``workers - 1`` spawned ones: the patients' parts
    first; the types whose rules read patients' facts (diagnoses) once every patient is known, the others as soon
    as a process is free. This process checks parts as well (one interpreter fewer to start, its parts' results not
    pickled), hands out the others and joins each part as it comes back, in scan order, while the spawned workers
    go on."""
    set_rules = [r for r in rules if isinstance(r, SetRule)]
    joined = _Joined(set_rules)
    init = (platform, actor, ctx.settings, ctx.catalogues, blob)
    helpers = workers - 1

    def here(task: Task) -> PartResult:
        rtype, after, upto, _facts = task
        began = time.time()
        states = {r.id: r.start(ctx) for r in set_rules if rtype in r.reads}
        part = check_part(rtype, stream(store, actor, rtype, after, upto), ctx, rules, states)  # facts: ctx.patients
        part.states = states
        part.here = True  # its CPU is this process's own, counted once by scan_store
        part.span = (began, time.time())
        return part

    # every worker starts now, while this process plans and checks the first parts
    pool, starting = spawn_pool(helpers, initializer=_init, initargs=init, bare=b"__main__" not in blob)
    # paused for the whole scan here, not only while a part is checked: the parts' results coming back from the
    # workers are unpickled (another thread) into hundreds of thousands of containers, six times slower with it on
    with tempfile.TemporaryDirectory(prefix="huitong-quality-") as scratch, pool, cyclic_gc_paused():
        facts_path = Path(scratch) / "patients.pickle"
        # smaller parts for patients: a patient costs several other resources, and the diagnoses wait for the last
        tasks: list[Task] = [
            ("Patient", after, upto, None)
            for after, upto in key_ranges(store, "Patient", workers, max(part_rows // 4, 1))
        ]
        patient_parts = len(tasks)
        rest = [t for t in types if t != "Patient"]
        waiting = {t for t in rest if waits_for_patients(rules, t)}
        plans = {t: key_ranges(store, t, workers, part_rows) for t in rest}
        tasks += [(t, after, upto, str(facts_path) if t in waiting else None) for t in rest for after, upto in plans[t]]
        # checked in this order, joined in scan order all the same: the patients; the types waiting for them
        # (taken once every patient is known, the others filling in until then); each type's last part, the one
        # with fewer rows, after all the full ones, so that the last parts to finish are small
        order = sorted(
            range(len(tasks)),
            key=lambda i: (
                i >= patient_parts,
                i >= patient_parts and tasks[i][2] == plans[tasks[i][0]][-1][1],
                tasks[i][0] not in waiting,
            ),
        )
        facts_ready = [False]

        def blocked(i: int) -> bool:
            return tasks[i][0] in waiting and not facts_ready[0]

        def facts_known() -> None:
            facts_path.write_bytes(pack_facts(ctx.patients))
            facts_ready[0] = True

        if patient_parts == 0:
            facts_known()
        for n, part in enumerate(_share(pool, starting, tasks, order, here, blocked), start=1):
            if part.rtype == "Patient":
                for pid, (gender, born) in part.patients.items():  # the spawned workers' patients
                    ctx.patients[pid] = PatientFacts(gender, born)
                part.patients = {}
            joined.add(part, progress)
            if n == patient_parts:  # every patient is known (patients come first in scan order)
                facts_known()
    return joined.scanned(ctx, set_rules, workers)


#: A part to check: type, key range (``after < pk <= upto``), the file of every patient's facts (none for patients
#: and for types whose rules do not read them).
Task = tuple[str, int, int, str | None]
#: Parts handed to each spawned worker ahead of time, so that it is not left waiting while this process checks one.
AHEAD = 2
#: Wait until the spawned workers have started before handing out the first part (tests: small runs are otherwise
#: all checked here before a worker is up).
WAIT_FOR_WORKERS = False


def _share(
    pool: ProcessPoolExecutor,
    starting: list[Future[bool]],
    tasks: list[Task],
    order: Sequence[int],
    here: Callable[[Task], PartResult],
    blocked: Callable[[int], bool] = lambda _i: False,
) -> Iterator[PartResult]:
    """Check ``tasks`` in the order ``order`` gives — skipping, until it is no longer ``blocked``, a task that
    must wait — each either in a spawned worker of ``pool`` (kept :data:`AHEAD` parts ahead once they have all
    started) or by ``here`` in this process; yield their results in task order (scan order). What unblocks a task
    must follow from the results yielded before it."""
    queue = list(order)
    pending: dict[Future[PartResult], int] = {}
    results: dict[int, PartResult] = {}
    next_out = 0

    def take() -> int | None:
        for at, i in enumerate(queue):
            if not blocked(i):
                return queue.pop(at)
        return None

    if WAIT_FOR_WORKERS:
        wait(starting)
    while queue or pending:
        ahead = AHEAD if all(f.done() for f in starting) else 0  # until then, this process checks every part
        while len(pending) < ahead * len(starting) and (i := take()) is not None:
            pending[pool.submit(_check_range, tasks[i])] = i
        if (i := take()) is not None:
            results[i] = here(tasks[i])
        elif pending:
            wait(pending, return_when=FIRST_COMPLETED)
        elif next_out not in results:  # pragma: no cover - every blocked task waits for a result already in
            raise RuntimeError("quality batch: every remaining part waits for a part that was never checked")
        for future in [f for f in pending if f.done()]:
            results[pending.pop(future)] = future.result()
        while next_out in results:
            yield results.pop(next_out)
            next_out += 1


class _Joined:
    """The parts' results joined in scan order: findings concatenated, counts added, set rules' states merged."""

    def __init__(self, set_rules: list[SetRule]) -> None:
        self.set_rules = set_rules
        self.findings: list[Finding] = []
        self.per_type: dict[str, Counter[str]] = {}
        self.states: dict[str, Any] = {}
        self.cpu_s = 0.0
        self.done: Counter[str] = Counter()
        self.parts: Counter[bool] = Counter()

    def add(self, part: PartResult, progress: Progress | None) -> None:
        self.findings += part.findings
        self.per_type.setdefault(part.rtype, Counter()).update(part.per_source)
        for rule in self.set_rules:
            if rule.id not in part.states:
                continue
            if rule.id in self.states and rule.merge is not None:  # _picklable made sure every set rule has one
                self.states[rule.id] = rule.merge(self.states[rule.id], part.states[rule.id])
            else:
                self.states[rule.id] = part.states[rule.id]
        self.cpu_s += part.cpu_s
        self.parts[part.here] += 1
        self.done[part.rtype] += sum(part.per_source.values())
        if progress is not None:
            progress(part.rtype, self.done[part.rtype])

    def scanned(self, ctx: Context, set_rules: list[SetRule], workers: int) -> Scanned:
        for rule in set_rules:
            self.states.setdefault(rule.id, rule.start(ctx))
        resources = sum(sum(c.values()) for c in self.per_type.values())
        return Scanned(
            self.findings,
            self.states,
            self.per_type,
            workers,
            resources,
            self.cpu_s,
            self.parts[True],
            self.parts[False],
        )


# -- in a worker process -----------------------------------------------------------------------------


@dataclass
class _Worker:
    store: ResourceStore
    actor: Actor
    ctx: Context
    rules: list[FhirRule]
    facts_from: str | None = None


_worker: _Worker | None = None


def _init(platform: Settings, actor: Actor, settings: QualitySettings, catalogues: Catalogues, blob: bytes) -> None:
    global _worker
    from huitong.db import open_database
    from huitong.security.protection import FieldProtector

    db = open_database(platform.database)
    atexit.register(db.close)
    store = ResourceStore(db, platform.fhir, platform.audit, protector=FieldProtector.from_settings(platform))
    _worker = _Worker(store, actor, Context(settings, catalogues=catalogues), pickle.loads(blob))  # noqa: S301 - the parent's own rules


def _check_range(task: Task) -> PartResult:
    rtype, after, upto, facts_from = task
    worker = _worker
    if worker is None:
        raise RuntimeError("the quality worker process was not initialised")
    if rtype == "Patient":  # this part's patients only, for the parent
        worker.ctx.patients = {}
        worker.facts_from = None
    elif facts_from is not None and facts_from != worker.facts_from:
        worker.ctx.patients = unpack_facts(Path(facts_from).read_bytes())
        worker.facts_from = facts_from
    began, began_wall = time.process_time(), time.time()
    states = {r.id: r.start(worker.ctx) for r in worker.rules if isinstance(r, SetRule) and rtype in r.reads}
    part = check_part(rtype, stream(worker.store, worker.actor, rtype, after, upto), worker.ctx, worker.rules, states)
    part.states = states
    if rtype == "Patient":  # the facts rules about diagnoses need, for the parent to hand to every worker
        part.patients = {pid: (f.gender, f.birth_date) for pid, f in worker.ctx.patients.items()}
    part.cpu_s = time.process_time() - began
    part.span = (began_wall, time.time())
    return part
