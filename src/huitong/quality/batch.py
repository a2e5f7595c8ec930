"""The batch scan of a quality run over the repository: one pass over the table in key order, split over worker
processes.

A run reads every current resource of the types its rules read in one pass over the ``resource`` table in key order
(:func:`huitong.quality.scan.stream_mixed`), a page of rows at a time, never all at once: rows of every type lie
side by side in the table, as their messages brought them, so one pass reads each page once, in the order it was
written, where a pass per type over the type index would read a page again for each type on it — and, where the
pages are not in memory, read them out of order. Each resource is decoded once, only the elements its type's rules
read. The rules that read patients' facts (diagnoses against sex and age) check their resources after the pass, once
every patient has been seen. With more than one worker, the key range is cut into parts, each part is checked by one
of the workers — this process, or a spawned one with its own database connection — and the parts' results are joined
in scan order: findings concatenated, counts added, set rules' states merged with their ``merge``. The findings are
the same, in the same order, as when one process reads everything (tested on both backends).

The store stays the door: the parent checks that the actor may search each type and records one audit row per
type, as :meth:`ResourceStore.scan` does; the workers read through the store's visibility conditions and
:meth:`ResourceStore.opened`.
"""

from __future__ import annotations

import atexit
import gc
import os
import pickle
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from huitong.fhir.store import ResourceStore
from huitong.processes import spawn_pool
from huitong.quality.decode import Decode, FhirRule, decoded_fields, decoder, patient_facts
from huitong.quality.rule import Catalogues, Context, Finding, PatientFacts, ResourceRule, SetRule
from huitong.quality.scan import Item, audit_scan, pk_ranges, stream_mixed
from huitong.security.actor import Actor
from huitong.settings import QualitySettings, Settings

#: Below this many keys spanned by the types read a run stays in one process: starting a worker (a fresh
#: interpreter importing Huitong) takes seconds, which a one-process run of this size about takes in all.
PARALLEL_MIN_RESOURCES = 300_000
#: Keys per part of the key range (at least one part per worker): small enough that the last parts to finish leave
#: little of the other workers idle.
PART_ROWS = 25_000

Progress = Callable[[str, int], None]


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def scan_order(rules: Sequence[FhirRule]) -> list[str]:
    """The types a run reads, patients first."""
    return sorted({t for r in rules for t in r.reads} | {"Patient"}, key=lambda t: (t != "Patient", t))


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


#: The type name of a part that reads several types at once, in key order (``Task`` and ``PartResult.rtype``).
MIXED = "*"


@dataclass
class PartResult:
    """What checking one part of the scan found."""

    #: the type of the part's resources, or :data:`MIXED`
    rtype: str
    findings: list[Finding] = field(default_factory=list)
    #: type → resources checked per source system
    per_type: dict[str, Counter[str]] = field(default_factory=dict)
    #: set rule id → its state over this part (worker parts only)
    states: dict[str, Any] = field(default_factory=dict)
    #: (type, id) → source system, when asked to keep them
    sources: dict[tuple[str, str], str] = field(default_factory=dict)
    #: CPU seconds of the worker process that checked this part
    cpu_s: float = 0.0
    #: patient id → (gender, birth date), from a part of the patients checked in a worker
    patients: dict[str, tuple[str | None, date | None]] = field(default_factory=dict)
    #: (type, id, JSON) of the resources whose rules read patients' facts, checked by those rules once every patient
    #: is known (:func:`check_deferred`)
    deferred: list[tuple[str, str, bytes | str]] = field(default_factory=list)
    #: checked in the run's own process (not in a spawned worker)
    here: bool = False
    #: wall-clock time (``time.time()``) the part's check began and ended, for a timeline of the processes
    span: tuple[float, float] = (0.0, 0.0)

    @property
    def per_source(self) -> Counter[str]:
        """Resources checked per source system, all types together."""
        total: Counter[str] = Counter()
        for counts in self.per_type.values():
            total.update(counts)
        return total


@dataclass
class _TypePlan:
    """What a part does with each resource of one type, looked up once per type and part (not per resource)."""

    decode: Decode
    checks: tuple[tuple[str, Callable[[dict[str, Any], Context], Any]], ...]
    observers: tuple[tuple[Callable[[Any, dict[str, Any]], None], Any], ...]
    counts: dict[str, int]
    #: whether some rule reading the type reads patients' facts: the resource is kept for :func:`check_deferred`
    defer: bool = False
    #: when deferring: the rules' ``candidate`` tests, a resource being kept if one says yes (``None``: every one kept)
    keep_if: tuple[Callable[[dict[str, Any]], bool], ...] | None = None


def _resource_checks(
    rules: Sequence[FhirRule], rtype: str, needs_patients: bool | None = None
) -> tuple[tuple[str, Callable[[dict[str, Any], Context], Any]], ...]:
    """(id, check) of the resource rules reading ``rtype`` (only those that do, or do not, read patients' facts)."""
    return tuple(
        (r.id, r.check)
        for r in rules
        if isinstance(r, ResourceRule)
        and rtype in r.reads
        and (needs_patients is None or r.needs_patients == needs_patients)
    )


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
    defer: bool = True,
) -> PartResult:
    """Every rule of ``rules`` that reads the type of each of ``items`` over it: each resource decoded once (the
    elements its type's rules read), all its resource rules and set-rule observers in one pass. ``items`` are
    (id, JSON, …) of type ``rtype``, or, for ``rtype`` :data:`MIXED`, (id, JSON, key, type) of any types in key
    order. Patients' facts go to ``ctx.patients``. In a mixed part (unless ``defer`` is false), the rules that read
    patients' facts are left for :func:`check_deferred` (a patient may come later in the scan): their resources are
    kept in ``deferred`` — only those some such rule's ``candidate`` test keeps, when every such rule has one."""
    out = PartResult(rtype)
    plans: dict[str, _TypePlan] = {}
    mixed = rtype == MIXED

    def plan_of(of_type: str) -> _TypePlan:
        needing = [r for r in rules if isinstance(r, ResourceRule) and of_type in r.reads and r.needs_patients]
        later = mixed and defer and bool(needing)
        checks = _resource_checks(rules, of_type, needs_patients=False if later else None)
        observers = tuple((r.observe, states[r.id]) for r in rules if isinstance(r, SetRule) and of_type in r.reads)
        tests = tuple(r.candidate for r in needing if r.candidate is not None)
        keep_if = tests if len(tests) == len(needing) else None
        plan = _TypePlan(decoder(decoded_fields(of_type, rules)), checks, observers, {}, later, keep_if)
        plans[of_type] = plan
        return plan

    findings, sources, patients, deferred = out.findings, out.sources, ctx.patients, out.deferred
    add = findings.append
    current = "" if mixed else rtype
    plan = plan_of(rtype) if not mixed else _TypePlan(orjson.loads, (), (), {})  # replaced at a mixed part's first row
    n = done
    every = 1000 if progress is not None else 0
    with cyclic_gc_paused():
        for item in items:
            if mixed and item[3] != current:  # type: ignore[misc]  # a mixed part's rows carry their type
                current = item[3]  # type: ignore[misc]
                plan = plans.get(current) or plan_of(current)
            res_id = item[0]
            body = plan.decode(item[1] or b"{}")
            meta = body.get("meta")
            source = meta.get("source") if isinstance(meta, dict) else None
            if not (isinstance(source, str) and source):
                source = "unknown"
            counts = plan.counts
            counts[source] = counts.get(source, 0) + 1
            if current == "Patient":
                patients[res_id] = patient_facts(body)
            for rule_id, check in plan.checks:
                details = check(body, ctx)
                if details:  # the built-in rules return an empty tuple when nothing is wrong: no iterator to make
                    for detail in details:
                        add(Finding(rule_id, current, res_id, detail, source))
            for observe, state in plan.observers:
                observe(state, body)
            if plan.defer and (plan.keep_if is None or any(test(body) for test in plan.keep_if)):
                deferred.append((current, res_id, item[1] or b"{}"))
            if keep_sources:
                sources[(current, res_id)] = source
            if every:
                n += 1
                if progress is not None and n % every == 0:
                    progress("resources" if mixed else rtype, n)
    out.per_type = {t: Counter(p.counts) for t, p in plans.items() if p.counts}
    return out


def check_deferred(
    deferred: Iterable[tuple[str, str, bytes | str]], ctx: Context, rules: Sequence[FhirRule]
) -> list[Finding]:
    """The findings of the rules that read patients' facts over the resources a mixed scan kept for them, once
    every patient is known (``ctx.patients``)."""
    needing = [r for r in rules if isinstance(r, ResourceRule) and r.needs_patients]
    items = ((res_id, raw, 0, rtype) for rtype, res_id, raw in deferred)
    return check_part(MIXED, items, ctx, needing, {}, defer=False).findings


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
    """Check every resource the rules read, in one pass over the table in key order; in ``workers`` processes when
    ``platform`` (the settings a worker opens its own database connection with) is given, the keys of the types
    read span at least ``parallel_min`` resources, and every rule can be sent to a worker (importable, and every
    set rule has a ``merge``). The rules that read patients' facts check their resources after the pass."""
    began = time.process_time()
    types = scan_order(rules)
    for rtype in types:
        audit_scan(store, actor, rtype)
    blob = _picklable(rules) if workers > 1 and platform is not None else None
    ranges = pk_ranges(store, types, workers, part_rows) if blob is not None else []
    if blob is None or platform is None or not ranges or ranges[-1][1] - ranges[0][0] < parallel_min:
        scanned = _scan_here(store, actor, ctx, rules, types, progress)
    else:
        scanned = _scan_in_workers(store, platform, actor, ctx, rules, blob, types, workers, ranges, progress)
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
    part = check_part(MIXED, stream_mixed(store, actor, types), ctx, rules, states, progress=progress)
    findings = part.findings + check_deferred(part.deferred, ctx, rules)
    per_type = part.per_type
    return Scanned(findings, states, per_type, 1, sum(sum(c.values()) for c in per_type.values()))


def _scan_in_workers(
    store: ResourceStore,
    platform: Settings,
    actor: Actor,
    ctx: Context,
    rules: Sequence[FhirRule],
    blob: bytes,
    types: list[str],
    workers: int,
    ranges: list[tuple[int, int]],
    progress: Progress | None,
) -> Scanned:
    """Every part (a range of keys) in one of ``workers`` processes — this one and ``workers - 1`` spawned ones.
    This process checks parts as well (one interpreter fewer to start, its parts' results not pickled), hands out
    the others and joins each part as it comes back, in scan order, while the spawned workers go on; the patients'
    facts the spawned workers saw come back with their parts, and the rules that read them check the kept
    resources at the end, here."""
    set_rules = [r for r in rules if isinstance(r, SetRule)]
    joined = _Joined(set_rules)
    init = (platform, actor, ctx.settings, ctx.catalogues, blob)
    helpers = workers - 1

    def here(task: Task) -> PartResult:
        began = time.time()
        part = _check_task(store, actor, ctx, rules, types, task)  # its patients' facts go to ctx.patients
        part.here = True  # its CPU is this process's own, counted once by scan_store
        part.span = (began, time.time())
        return part

    # every worker starts now, while this process checks the first parts
    pool, starting = spawn_pool(helpers, initializer=_init, initargs=init, bare=b"__main__" not in blob)
    # paused for the whole scan here, not only while a part is checked: the parts' results coming back from the
    # workers are unpickled (another thread) into hundreds of thousands of containers, six times slower with it on
    with pool, cyclic_gc_paused():
        for part in _share(pool, starting, ranges, here):
            for pid, (gender, born) in part.patients.items():  # the spawned workers' patients
                ctx.patients[pid] = PatientFacts(gender, born)
            part.patients = {}
            joined.add(part, progress)
        joined.findings += check_deferred(joined.deferred, ctx, rules)
        joined.deferred = []
    return joined.scanned(ctx, set_rules, workers)


#: A part to check: a key range (``after < pk <= upto``) of every type the rules read.
Task = tuple[int, int]


def _check_task(
    store: ResourceStore, actor: Actor, ctx: Context, rules: Sequence[FhirRule], types: Sequence[str], task: Task
) -> PartResult:
    """Check one part: a range of keys of the types read (``types``)."""
    after, upto = task
    states = {r.id: r.start(ctx) for r in rules if isinstance(r, SetRule)}
    part = check_part(MIXED, stream_mixed(store, actor, types, after, upto), ctx, rules, states)
    part.states = states
    return part


#: Parts handed to each spawned worker ahead of time, so that it is not left waiting while this process checks one.
AHEAD = 2
#: Wait until the spawned workers have started before handing out the first part (tests: small runs are otherwise
#: all checked here before a worker is up).
WAIT_FOR_WORKERS = False


def _share(
    pool: ProcessPoolExecutor,
    starting: list[Future[bool]],
    tasks: list[Task],
    here: Callable[[Task], PartResult],
) -> Iterator[PartResult]:
    """Check ``tasks`` in their order, each either in a spawned worker of ``pool`` (kept :data:`AHEAD` parts ahead
    once they have all started) or by ``here`` in this process; yield their results in task order (scan order)."""
    queue = list(range(len(tasks)))
    pending: dict[Future[PartResult], int] = {}
    results: dict[int, PartResult] = {}
    next_out = 0
    if WAIT_FOR_WORKERS:
        wait(starting)
    while queue or pending:
        ahead = AHEAD if all(f.done() for f in starting) else 0  # until then, this process checks every part
        while len(pending) < ahead * len(starting) and queue:
            i = queue.pop(0)
            pending[pool.submit(_check_range, tasks[i])] = i
        if queue:
            i = queue.pop(0)
            results[i] = here(tasks[i])
        elif pending:
            wait(pending, return_when=FIRST_COMPLETED)
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
        self.deferred: list[tuple[str, str, bytes | str]] = []
        self.cpu_s = 0.0
        self.done: Counter[str] = Counter()
        self.parts: Counter[bool] = Counter()

    def add(self, part: PartResult, progress: Progress | None) -> None:
        self.findings += part.findings
        self.deferred += part.deferred
        for rtype, counts in part.per_type.items():
            self.per_type.setdefault(rtype, Counter()).update(counts)
        for rule in self.set_rules:
            if rule.id not in part.states:
                continue
            if rule.id in self.states and rule.merge is not None:  # _picklable made sure every set rule has one
                self.states[rule.id] = rule.merge(self.states[rule.id], part.states[rule.id])
            else:
                self.states[rule.id] = part.states[rule.id]
        self.cpu_s += part.cpu_s
        self.parts[part.here] += 1
        label = "resources" if part.rtype == MIXED else part.rtype
        self.done[label] += sum(part.per_source.values())
        if progress is not None:
            progress(label, self.done[label])

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
    worker = _worker
    if worker is None:
        raise RuntimeError("the quality worker process was not initialised")
    worker.ctx.patients = {}  # this part's patients only, for the parent
    began, began_wall = time.process_time(), time.time()
    part = _check_task(worker.store, worker.actor, worker.ctx, worker.rules, scan_order(worker.rules), task)
    part.patients = {pid: (f.gender, f.birth_date) for pid, f in worker.ctx.patients.items()}
    part.cpu_s = time.process_time() - began
    part.span = (began_wall, time.time())
    return part
