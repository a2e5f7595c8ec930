"""Running the rules: in batch over the whole repository, or on the resources of one message at ingest."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from huitong.fhir.store import ResourceStore
from huitong.quality.batch import (
    PARALLEL_MIN_RESOURCES,
    PART_ROWS,
    check_part,
    cyclic_gc_paused,
    default_workers,
    scan_order,
    scan_store,
)
from huitong.quality.decode import patient_facts
from huitong.quality.registry import all_rules
from huitong.quality.rule import (
    Catalogues,
    Context,
    Finding,
    ResourceRule,
    RowRule,
    Rule,
    SetRule,
    Severity,
    source_of,
)
from huitong.quality.scan import lookup_sources
from huitong.quality.schema import quality_finding, quality_run
from huitong.security.actor import Actor
from huitong.settings import QualitySettings, Settings

Progress = Callable[[str, int], None]


@dataclass
class Tally:
    """Per (source, dimension): resources checked and resources failing at least one rule."""

    checked: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    failed: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))


@dataclass
class RunResult:
    """What a batch run found."""

    run_id: int | None
    findings: list[Finding]
    scorecard: dict[str, Any]
    #: processes that read the repository, and the resources they checked
    workers: int = 1
    resources: int = 0
    #: CPU seconds of the scan in every process that took part
    cpu_s: float = 0.0


def check_resources(
    resources: Iterable[dict[str, Any]], ctx: Context, rules: list[Rule] | None = None
) -> list[Finding]:
    """Per-resource rules on ``resources`` (e.g. one HL7 message's output at ingest). Set rules need a batch run."""
    by_type = _by_type(tuple(rules if rules is not None else all_rules()))
    findings: list[Finding] = []
    batch = list(resources)
    for body in batch:
        if body.get("resourceType") == "Patient" and body.get("id"):
            ctx.patients[body["id"]] = patient_facts(body)
    for body in batch:
        for rule in by_type.get(body.get("resourceType", ""), ()):
            findings += [
                Finding(rule.id, body["resourceType"], body.get("id", "?"), d, source_of(body))
                for d in rule.check(body, ctx)
            ]
    return findings


@lru_cache(maxsize=8)
def _by_type(rules: tuple[Rule, ...]) -> dict[str, tuple[ResourceRule, ...]]:
    out: dict[str, list[ResourceRule]] = defaultdict(list)
    for rule in rules:
        if isinstance(rule, ResourceRule):
            for rtype in rule.reads:
                out[rtype].append(rule)
    return {k: tuple(v) for k, v in out.items()}


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """The findings severe enough to quarantine a message at ingest."""
    by_id = {r.id: r for r in all_rules()}
    return [f for f in findings if by_id[f.rule_id].severity is Severity.ERROR]


#: Where a batch run reads resources from: ``scan(rtype)`` yields (id, JSON bytes) of every current resource.
Scan = Callable[[str], Iterable[tuple[str, bytes]]]


def _fhir_rules(rules: list[Rule]) -> list[ResourceRule | SetRule]:
    return [r for r in rules if isinstance(r, ResourceRule | SetRule)]


def check_all(
    scan: Scan,
    ctx: Context,
    rules: list[Rule] | None = None,
    *,
    progress: Progress | None = None,
) -> tuple[list[Finding], Tally]:
    """Every resource and set rule over every resource ``scan`` yields (patients first, so rules about
    diagnoses know each patient's sex and birth date), in this process, for a repository held in memory (tests).
    :func:`run_batch` reads the store the same way, split over processes."""
    fhir_rules = _fhir_rules(rules if rules is not None else all_rules())
    states = {r.id: r.start(ctx) for r in fhir_rules if isinstance(r, SetRule)}
    set_types = {t for r in fhir_rules if isinstance(r, SetRule) for t in r.reads}
    findings: list[Finding] = []
    per_type: dict[str, Counter[str]] = {}
    sources: dict[tuple[str, str], str] = {}
    for rtype in scan_order(fhir_rules):
        part = check_part(
            rtype, iter(scan(rtype)), ctx, fhir_rules, states, keep_sources=rtype in set_types, progress=progress
        )
        findings += part.findings
        per_type[rtype] = part.per_source
        sources.update(part.sources)
    findings += conclude(fhir_rules, states, lambda keys: sources)
    return findings, tally_of(fhir_rules, per_type, findings)


def conclude(
    rules: Sequence[ResourceRule | SetRule],
    states: dict[str, Any],
    sources: Callable[[set[tuple[str, str]]], dict[tuple[str, str], str]],
) -> list[Finding]:
    """The findings of the set rules at the end of a scan; ``sources`` gives the source system of the resources
    they name without one (the built-in set rules keep it in their states: no look-up of each, which reads the
    store out of order)."""
    concluded = [
        (rule.id, *item) for rule in rules if isinstance(rule, SetRule) for item in rule.conclude(states[rule.id])
    ]
    missing = {(c[1], c[2]) for c in concluded if len(c) < 5}
    known = sources(missing) if missing else {}
    return [
        Finding(c[0], c[1], c[2], c[3], c[4] if len(c) > 4 else known.get((c[1], c[2]), "unknown")) for c in concluded
    ]


def tally_of(
    rules: Sequence[ResourceRule | SetRule], per_type: dict[str, Counter[str]], findings: list[Finding]
) -> Tally:
    """Resources checked per (source, dimension) — each resource once in each dimension of the rules that read
    its type — and the failing ones."""
    tally = Tally()
    for rtype, per_source in per_type.items():
        dims = {r.dimension.value for r in rules if rtype in r.reads}
        for source, n in per_source.items():
            for dim in dims:
                tally.checked[(source, dim)] += n
    dims_of = {r.id: r.dimension.value for r in rules}
    for f in findings:
        tally.failed[(f.source, dims_of[f.rule_id])].add(f"{f.res_type}/{f.res_id}")
    return tally


def check_rows(
    rows: Iterable[dict[str, str]],
    ctx: Context,
    *,
    table: str = "frontpage",
    key: str = "ZYH",
    rules: list[Rule] | None = None,
    tally: Tally | None = None,
) -> list[Finding]:
    """Row rules of ``table`` on each row (e.g. the front-page CSV before it is submitted or imported). Each
    finding names the row by its ``key`` column; the source system is ``table``. Counts go to ``tally``."""
    row_rules = [r for r in (rules if rules is not None else all_rules()) if isinstance(r, RowRule)]
    row_rules = [r for r in row_rules if table in r.reads]
    dims = {r.dimension.value for r in row_rules}
    findings: list[Finding] = []
    for n, row in enumerate(rows, start=1):
        row_id = row.get(key) or f"row {n}"
        if tally is not None:
            for dim in dims:
                tally.checked[(table, dim)] += 1
        for rule in row_rules:
            for detail in rule.check(row, ctx):
                findings.append(Finding(rule.id, table, row_id, detail, table))
                if tally is not None:
                    tally.failed[(table, rule.dimension.value)].add(row_id)
    return findings


def run_batch(
    store: ResourceStore,
    settings: QualitySettings,
    *,
    actor: Actor | None = None,
    rules: list[Rule] | None = None,
    record: bool = True,
    progress: Progress | None = None,
    catalogues: Catalogues | None = None,
    frontpage: Iterable[dict[str, str]] | None = None,
    platform: Settings | None = None,
    workers: int | None = None,
    parallel_min: int = PARALLEL_MIN_RESOURCES,
    part_rows: int = PART_ROWS,
) -> RunResult:
    """Every rule over every current resource it reads (and the row rules over ``frontpage`` rows, when
    given); findings and the scorecard are stored as a run.

    With ``platform`` (the settings worker processes open their own database connection with), the scan is
    split over ``workers`` processes (default: ``settings.batch_workers``, else the number of CPUs) once the
    repository holds ``parallel_min`` resources of the types read (each type cut into parts of about ``part_rows``);
    the findings are the same, in the same order, as in one process.
    """
    actor = actor or Actor.system("quality")
    rules = rules if rules is not None else all_rules()
    ctx = Context(settings, catalogues=catalogues or Catalogues())
    started = datetime.now(UTC)

    fhir_rules = _fhir_rules(rules)
    count = workers if workers is not None else (settings.batch_workers or default_workers())
    scanned = scan_store(
        store,
        actor,
        ctx,
        fhir_rules,
        workers=count,
        platform=platform,
        progress=progress,
        parallel_min=parallel_min,
        part_rows=part_rows,
    )
    with cyclic_gc_paused():  # the set rules' states are millions of containers, none of them cycles
        findings = scanned.findings + conclude(
            fhir_rules, scanned.states, lambda keys: lookup_sources(store, actor, keys)
        )
    tally = tally_of(fhir_rules, scanned.per_type_source, findings)
    if frontpage is not None:
        findings += check_rows(frontpage, ctx, rules=rules, tally=tally)
    dims = {r.id: r.dimension.value for r in rules}
    scorecard = _scorecard(tally, findings, rules)
    run_id = _record(store, actor, started, findings, scorecard, dims, rules) if record else None
    return RunResult(run_id, findings, scorecard, scanned.workers, scanned.resources, scanned.cpu_s)


def _scorecard(tally: Tally, findings: list[Finding], rules: list[Rule]) -> dict[str, Any]:
    rows = []
    for (source, dim), checked in sorted(tally.checked.items()):
        failed = len(tally.failed.get((source, dim), set()))
        rows.append(
            {
                "source": source,
                "dimension": dim,
                "checked": checked,
                "failed": failed,
                "score": round(1 - failed / checked, 4) if checked else None,
            }
        )
    per_rule: dict[str, int] = defaultdict(int)
    for f in findings:
        per_rule[f.rule_id] += 1
    # what the scorecard page lists per rule and source, so that it never counts the stored findings again
    by_id = {r.id: r for r in rules}
    counted: Counter[tuple[str, str]] = Counter((f.rule_id, f.source[:255]) for f in findings)
    per_rule_source = [
        {
            "rule_id": rule,
            "dimension": by_id[rule].dimension.value,
            "severity": by_id[rule].severity.value,
            "source": source,
            "n": n,
        }
        for (rule, source), n in sorted(counted.items(), key=lambda item: (-item[1], item[0]))
    ]
    return {
        "rows": rows,
        "findings": len(findings),
        "per_rule": dict(sorted(per_rule.items())),
        "per_rule_source": per_rule_source,
    }


def _record(
    store: ResourceStore,
    actor: Actor,
    started: datetime,
    findings: list[Finding],
    scorecard: dict[str, Any],
    dims: dict[str, str],
    rules: list[Rule],
) -> int:
    severity = {r.id: r.severity.value for r in rules}

    def job(conn: Any) -> int:
        run_id = int(
            conn.execute(
                quality_run.insert().returning(quality_run.c.id),
                {
                    "started": started,
                    "finished": datetime.now(UTC),
                    "actor_id": actor.id,
                    "scorecard": json.dumps(scorecard, ensure_ascii=False),
                },
            ).scalar_one()
        )
        rows = [
            {
                "run_id": run_id,
                "rule_id": f.rule_id,
                "dimension": dims[f.rule_id],
                "severity": severity[f.rule_id],
                "source": f.source[:255],
                "res_type": f.res_type,
                "res_id": f.res_id,
                "detail": f.detail,
            }
            for f in findings
        ]
        for i in range(0, len(rows), 5000):
            conn.execute(quality_finding.insert(), rows[i : i + 5000])
        return run_id

    return store.db.write(job)
