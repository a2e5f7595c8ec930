"""Running the rules: in batch over the whole repository, or on the resources of one message at ingest."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from huitong.fhir import jsonio
from huitong.fhir.store import ResourceStore
from huitong.quality.registry import all_rules
from huitong.quality.rule import Context, Finding, PatientFacts, ResourceRule, Rule, SetRule, Severity, source_of
from huitong.quality.schema import quality_finding, quality_run
from huitong.security.actor import Actor
from huitong.settings import QualitySettings

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


def _patient_facts(body: dict[str, Any]) -> PatientFacts:
    born: date | None = None
    text = body.get("birthDate")
    if isinstance(text, str) and len(text) >= 10:
        try:
            born = date.fromisoformat(text[:10])
        except ValueError:
            born = None
    return PatientFacts(body.get("gender"), born)


def check_resources(
    resources: Iterable[dict[str, Any]], ctx: Context, rules: list[Rule] | None = None
) -> list[Finding]:
    """Per-resource rules on ``resources`` (e.g. one HL7 message's output at ingest). Set rules need a batch run."""
    rules = rules if rules is not None else all_rules()
    findings: list[Finding] = []
    batch = list(resources)
    for body in batch:
        if body.get("resourceType") == "Patient" and body.get("id"):
            ctx.patients[body["id"]] = _patient_facts(body)
    for body in batch:
        for rule in rules:
            if isinstance(rule, ResourceRule) and body.get("resourceType") in rule.reads:
                findings += [
                    Finding(rule.id, body["resourceType"], body.get("id", "?"), d, source_of(body))
                    for d in rule.check(body, ctx)
                ]
    return findings


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """The findings severe enough to quarantine a message at ingest."""
    by_id = {r.id: r for r in all_rules()}
    return [f for f in findings if by_id[f.rule_id].severity is Severity.ERROR]


def run_batch(
    store: ResourceStore,
    settings: QualitySettings,
    *,
    actor: Actor | None = None,
    rules: list[Rule] | None = None,
    record: bool = True,
    progress: Progress | None = None,
) -> RunResult:
    """Every rule over every current resource it reads; findings and the scorecard are stored as a run."""
    actor = actor or Actor.system("quality")
    rules = rules if rules is not None else all_rules()
    ctx = Context(settings)
    started = datetime.now(UTC)
    types = sorted({t for r in rules for t in r.reads} | {"Patient"}, key=lambda t: (t != "Patient", t))
    states = {r.id: r.start(ctx) for r in rules if isinstance(r, SetRule)}
    dims = {r.id: r.dimension.value for r in rules}
    tally = Tally()
    findings: list[Finding] = []
    sources: dict[tuple[str, str], str] = {}
    for rtype in types:
        per_type = [r for r in rules if rtype in r.reads]
        for n, stored in enumerate(store.scan(actor, rtype), start=1):
            body = jsonio.loads_fast(stored.content or b"{}")
            source = source_of(body)
            sources[(rtype, stored.res_id)] = source
            if rtype == "Patient":
                ctx.patients[stored.res_id] = _patient_facts(body)
            for dim in {dims[r.id] for r in per_type}:
                tally.checked[(source, dim)] += 1
            for rule in per_type:
                if isinstance(rule, ResourceRule):
                    for detail in rule.check(body, ctx):
                        findings.append(Finding(rule.id, rtype, stored.res_id, detail, source))
                else:
                    rule.observe(states[rule.id], body)
            if progress and n % 1000 == 0:
                progress(rtype, n)
    for rule in rules:
        if isinstance(rule, SetRule):
            for rtype, rid, detail in rule.conclude(states[rule.id]):
                findings.append(Finding(rule.id, rtype, rid, detail, sources.get((rtype, rid), "unknown")))
    for f in findings:
        tally.failed[(f.source, dims[f.rule_id])].add(f"{f.res_type}/{f.res_id}")
    scorecard = _scorecard(tally, findings)
    run_id = _record(store, actor, started, findings, scorecard, dims, rules) if record else None
    return RunResult(run_id, findings, scorecard)


def _scorecard(tally: Tally, findings: list[Finding]) -> dict[str, Any]:
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
    return {"rows": rows, "findings": len(findings), "per_rule": dict(sorted(per_rule.items()))}


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
