"""``huitong bench quality``: recall and precision of the quality rules per family against the synthetic
hospital's injected defects, and the time of a batch run.

The data set is generated (``huitong synth``, cached in ``WORK/data`` per scale, seed and rates) with its
ground truth: ``truth/defects.jsonl`` (every injected defect and where it is) and ``truth/records.csv`` (the
registration noise of each record, e.g. LIS records without a birth date). Then, as the platform would:

* **ingest**: every HL7 message the rules read (ADT, SIU, orders and results; pharmacy messages are read by
  no rule and skipped) is parsed and mapped to FHIR by the integration engine's mapping, and every EMR
  bundle's resources are taken, and each message's resources are checked and cleansed as at ingest
  (:func:`huitong.quality.cleanse.at_ingest`: flag, then fix units and names); resources are kept in an
  in-memory repository with the store's semantics (the last write of an id wins). Front-page rows are
  checked by the row rules before import.
* **batch**: the repository is loaded into a SQLite database, ``--replicas N`` times, and ``huitong quality run``'s
  batch is timed over it (:mod:`huitong.quality.bench_batch`: the database, the timing, its same-run baseline
  and the projection to a hospital-year). Recall and precision are scored on the findings of the original, which
  must equal those of one process.

Matching: a finding counts as true when its record (message, registration, order, front-page row, or lab
result) carries an injected defect of the finding's family, or registration noise the truth records for that
family; a defect counts as found when a finding of its family names its record. Families: completeness,
validity, consistency, integration, timeliness. One more kind of finding is real without being recorded: the
generator's case mix gives some women a prostate diagnosis (N40) — a contradiction the truth files confirm
(the person's true sex) but do not list as a defect. ``precision`` counts these as true (``unrecorded``);
``precision_recorded`` does not.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from huitong.ingest.hl7v2.parse import parse_message
from huitong.ingest.mapping import map_to_fhir
from huitong.quality import dictionaries
from huitong.quality.batch import default_workers
from huitong.quality.bench_batch import Repository, batch, bench_database, identifier_codes, timing_summary
from huitong.quality.cleanse import at_ingest
from huitong.quality.registry import all_rules
from huitong.quality.rule import Context, Finding
from huitong.quality.run import check_rows
from huitong.settings import QualitySettings

Key = tuple[str, ...]

FAMILY: dict[str, str] = {
    "missing_mandatory": "completeness",
    "invalid_code": "validity",
    "invalid_resident_id": "validity",
    "unit_mismatch": "validity",
    "discharge_before_admission": "consistency",
    "diagnosis_sex_mismatch": "consistency",
    "diagnosis_age_mismatch": "consistency",
    "id_birthdate_mismatch": "consistency",
    "order_never_resulted": "integration",
    "duplicate_registration": "integration",
    "late_result": "timeliness",
    "late_frontpage": "timeliness",
}
#: Registration noise (truth/records.csv) that is a real quality problem, by family.
NOISE_FAMILY = {"missing_birth_date": "completeness"}
FAMILIES = ("completeness", "validity", "consistency", "integration", "timeliness")
#: Default rates for the benchmark: high enough that every kind has hundreds of cases at small scale.
BENCH_RATES = {
    "missing_mandatory": 0.05,
    "invalid_code": 0.05,
    "discharge_before_admission": 0.05,
    "diagnosis_sex_mismatch": 0.05,
    "diagnosis_age_mismatch": 0.05,
    "id_birthdate_mismatch": 0.05,
    "invalid_resident_id": 0.05,
    "late_result": 0.03,
    "late_frontpage": 0.05,
    "order_never_resulted": 0.03,
    "duplicate_registration": 0.05,
    "unit_mismatch": 0.05,
}
#: The hospital-year data set (docs/synth.md, seed 1) in the manifest's count names.
LOCAL_ID_SYSTEM = "urn:oid:2.16.156.10011.0.99999."
SKIPPED_EVENTS = (b"RDE^", b"RAS^")
_PATIENT_REF = re.compile(r"Patient/([A-Za-z0-9\-.]{1,64})")


def record_keys(body: dict[str, Any]) -> set[Key]:
    """The ground-truth keys a resource can be matched on: registrations, orders, visits, lab results."""
    keys: set[Key] = set()
    rtype = body.get("resourceType")
    for ident in body.get("identifier") or []:
        if not isinstance(ident, dict) or not isinstance(ident.get("value"), str):
            continue
        system = str(ident.get("system") or "")
        if rtype == "Patient" and system.startswith(LOCAL_ID_SYSTEM):
            keys.add(("reg", ident["value"]))
        elif rtype in ("ServiceRequest", "DiagnosticReport") and "PLAC" in identifier_codes(ident):
            keys.add(("order", ident["value"]))
        elif rtype == "Encounter" and "VN" in identifier_codes(ident):
            keys.add(("enc", ident["value"]))
    if rtype == "Condition":
        keys |= {("enc", n) for n in _ENCOUNTER_NO.findall(str(body.get("id", "")))}
    return keys


def _observation_keys(body: dict[str, Any], message: str) -> set[Key]:
    if body.get("resourceType") != "Observation":
        return set()
    local = [
        c["code"]
        for c in (body.get("code") or {}).get("coding") or []
        if isinstance(c, dict) and "99HTLAB" in str(c.get("system", "")) and isinstance(c.get("code"), str)
    ]
    return {("obs", message, code) for code in local}


def defect_keys(defect: dict[str, Any]) -> set[Key]:
    """Where a defect is, as keys comparable with :func:`record_keys`."""
    loc = defect.get("location") or {}
    if defect["kind"] == "unit_mismatch":
        return {("obs", loc["message"], defect.get("analyte", ""))}
    keys: set[Key] = set()
    if "key" in loc:
        keys.add(("fp", loc["key"].get("ZYH", "")))
    if loc.get("placer_order"):
        keys.add(("order", loc["placer_order"]))
    elif loc.get("message"):
        keys.add(("msg", loc["message"]))
    if loc.get("local_id"):
        keys.add(("reg", loc["local_id"]))
    return keys


def _noise(path: Path) -> dict[str, set[str]]:
    """Local id → families of the registration's recorded noise."""
    out: dict[str, set[str]] = defaultdict(set)
    with path.open(encoding="utf-8", newline="") as handle:
        import csv

        for row in csv.DictReader(handle):
            for item in (row.get("noise") or "").split(";"):
                if item in NOISE_FAMILY:
                    out[row["local_id"]].add(NOISE_FAMILY[item])
    return out


def _messages(data: Path) -> Iterator[tuple[str, str]]:
    from huitong.synth.readers import SynthOutput

    for system, text in SynthOutput(data).messages_in_time_order():
        header = text[: text.find("\r")].encode() if "\r" in text else text.encode()
        if any(event in header for event in SKIPPED_EVENTS):
            continue
        yield system, text


def ingest(data: Path, ctx: Context) -> tuple[Repository, list[tuple[Finding, set[Key]]], dict[str, float]]:
    """Map, check and keep every resource the rules read, as the ingest pipeline would."""
    from huitong.synth.readers import SynthOutput

    repo = Repository()
    found: list[tuple[Finding, set[Key]]] = []
    rules = all_rules()
    timing = {"map_s": 0.0, "ingest_check_s": 0.0}
    messages = 0
    for system, text in _messages(data):
        began = time.perf_counter()
        header = text[: text.find("\r")] if "\r" in text else text
        msg = parse_message(text.encode("gb18030" if "GB 18030" in header else "utf-8"))
        control = msg.msh.get("10") or ""
        resources = map_to_fhir(msg).resources
        checked = time.perf_counter()
        findings = at_ingest(resources, ctx, source=system).findings
        timing["ingest_check_s"] += time.perf_counter() - checked
        timing["map_s"] += checked - began
        by_id = {(b["resourceType"], b["id"]): b for b in resources}
        for f in findings:
            body = by_id[(f.res_type, f.res_id)]
            found.append((f, {("msg", control)} | record_keys(body) | _observation_keys(body, control)))
        for body in resources:
            repo.put(body, control)
        messages += 1
    bundles = 0
    for bundle in SynthOutput(data).bundles():
        resources = [e["resource"] for e in bundle.get("entry", []) if "resource" in e]
        checked = time.perf_counter()
        findings = at_ingest(resources, ctx, source="emr").findings
        timing["ingest_check_s"] += time.perf_counter() - checked
        by_id = {(b["resourceType"], b["id"]): b for b in resources}
        found += [(f, record_keys(by_id[(f.res_type, f.res_id)])) for f in findings]
        for body in resources:
            repo.put(body, f"bundle-{bundles}")
        bundles += 1
    rows = list(SynthOutput(data).table("frontpage/frontpage.csv"))
    checked = time.perf_counter()
    findings = check_rows(rows, ctx, rules=rules)
    timing["frontpage_check_s"] = time.perf_counter() - checked
    found += [(f, {("fp", f.res_id)}) for f in findings]
    timing["messages"] = messages
    timing["bundles"] = bundles
    timing["frontpage_rows"] = len(rows)
    return repo, found, timing


SEX_RULES = ("diagnosis-consistent-with-sex", "frontpage-diagnosis-sex")
_ENCOUNTER_NO = re.compile(r"(?:ZY|MZ)\d{9,}")


def _sex_by_encounter(data: Path) -> dict[str, str]:
    """Encounter number → the true sex (``M``/``F``) of its patient, from the truth files."""
    import csv

    with (data / "truth" / "persons.csv").open(encoding="utf-8", newline="") as handle:
        sex = {row["person_id"]: row["sex"] for row in csv.DictReader(handle)}
    with (data / "truth" / "encounters.csv").open(encoding="utf-8", newline="") as handle:
        return {row["encounter_no"]: sex.get(row["person_id"], "") for row in csv.DictReader(handle)}


def verified_in_truth(finding: Finding, keys: set[Key], sex_of: dict[str, str]) -> bool:
    """A sex-specific diagnosis the generator wrote for a patient of the other sex without recording a defect
    (its case mix does not restrict e.g. N40 to men): real, as the truth files show independently of the rule."""
    if finding.rule_id not in SEX_RULES:
        return False
    numbers = {k[1] for k in keys if k[0] in ("enc", "fp")} | set(_ENCOUNTER_NO.findall(finding.res_id))
    truth = {sex_of.get(n, "") for n in numbers}
    return ("men only" in finding.detail and "F" in truth) or ("women only" in finding.detail and "M" in truth)


def score(
    found: list[tuple[Finding, set[Key]]],
    defects: list[dict[str, Any]],
    noise: dict[str, set[str]],
    sex_of: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Recall and precision per family (see the module docstring)."""
    dims = {r.id: r.dimension.value for r in all_rules()}
    index: dict[tuple[str, Key], list[int]] = defaultdict(list)
    for n, d in enumerate(defects):
        for key in defect_keys(d):
            index[(FAMILY[d["kind"]], key)].append(n)
    detected: set[int] = set()
    tally: dict[str, Counter[str]] = {f: Counter() for f in FAMILIES}
    false_examples: dict[str, list[str]] = defaultdict(list)
    for finding, keys in found:
        family = dims[finding.rule_id]
        hits = {n for key in keys for n in index.get((family, key), ())}
        tally[family]["findings"] += 1
        if hits:
            detected |= hits
            tally[family]["true"] += 1
        elif any(k[0] == "reg" and family in noise.get(k[1], ()) for k in keys):
            tally[family]["noise"] += 1
        elif sex_of is not None and verified_in_truth(finding, keys, sex_of):
            tally[family]["unrecorded"] += 1
        else:
            tally[family]["false"] += 1
            if len(false_examples[finding.rule_id]) < 3:
                false_examples[finding.rule_id].append(f"{finding.res_type}/{finding.res_id}: {finding.detail}")
    per_kind: dict[str, dict[str, int]] = defaultdict(lambda: {"defects": 0, "found": 0})
    for n, d in enumerate(defects):
        per_kind[d["kind"]]["defects"] += 1
        per_kind[d["kind"]]["found"] += n in detected
        tally[FAMILY[d["kind"]]]["defects"] += 1
        tally[FAMILY[d["kind"]]]["found"] += n in detected
    families = {}
    for family, t in tally.items():
        families[family] = {
            "defects": t["defects"],
            "found": t["found"],
            "recall": round(t["found"] / t["defects"], 4) if t["defects"] else None,
            "findings": t["findings"],
            "true": t["true"],
            "noise": t["noise"],
            "unrecorded": t["unrecorded"],
            "false": t["false"],
            "precision": round((t["true"] + t["noise"] + t["unrecorded"]) / t["findings"], 4)
            if t["findings"]
            else None,
            "precision_recorded": round((t["true"] + t["noise"]) / t["findings"], 4) if t["findings"] else None,
        }
    return {
        "families": families,
        "per_kind": {k: {**v, "recall": round(v["found"] / v["defects"], 4)} for k, v in sorted(per_kind.items())},
        "false_examples": dict(false_examples),
    }


def _dedupe_defects(defects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One defect per injection: the front-page sex/age mismatch writes three cells (name, code, admission
    state) of one diagnosis; they are one defect, counted at the code cell."""
    out = []
    for d in defects:
        column = (d.get("location") or {}).get("column", "")
        if d["kind"] in ("diagnosis_sex_mismatch", "diagnosis_age_mismatch") and not column.startswith("JBDM"):
            continue
        out.append(d)
    return out


def generator_digest() -> str:
    """A digest of the synthetic hospital's generator (the source of ``huitong.synth``): a data set made by another
    generator is another data set, so a changed generator is not measured on data its predecessor wrote."""
    import hashlib

    import huitong.synth

    digest = hashlib.sha256()
    root = Path(huitong.synth.__file__).parent
    for source in sorted(root.rglob("*.py")):
        digest.update(source.relative_to(root).as_posix().encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def prepare(work: Path, scale: str, seed: int, year: int, rates: dict[str, float]) -> Path:
    """The synthetic data set for these arguments and this generator, generated once into ``work``."""
    import hashlib

    from huitong.synth.config import DefectRates
    from huitong.synth.generate import generate

    what = json.dumps([sorted(rates.items()), generator_digest()])
    digest = hashlib.sha256(what.encode()).hexdigest()[:12]
    tag = f"{scale}-{seed}-{year}-{digest}"
    data = work / "data" / tag
    if not (data / "manifest.json").exists():
        generate(scale, seed, year, data, defects=DefectRates.none().with_rates(rates), overwrite=True)
    return data


def run(
    data: Path, repeat: int = 3, *, work: Path | None = None, replicas: int = 1, workers: int | None = None
) -> dict[str, Any]:
    """Run the benchmark on a generated data set; see the module docstring. The batch reads a SQLite database
    in ``work`` (default: beside the data set) holding the ingested repository ``replicas`` times."""
    settings = QualitySettings()
    ctx = Context(settings, catalogues=dictionaries.load(data / "master"))
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    repo, found, timing = ingest(data, ctx)
    url, loaded = bench_database(work or data.parent.parent, data, repo, replicas)
    workers = workers or default_workers()
    measured = batch(repo, settings, ctx, repeat, url=url, workers=workers)
    found += [
        (
            f,
            {("msg", repo.written_by.get((f.res_type, f.res_id), ""))}
            | record_keys(repo.bodies.get((f.res_type, f.res_id), {}))
            | _observation_keys(
                repo.bodies.get((f.res_type, f.res_id), {}), repo.written_by.get((f.res_type, f.res_id), "")
            )
            | {k for ref in _PATIENT_REF.findall(f.detail) for k in record_keys(repo.bodies.get(("Patient", ref), {}))},
        )
        for f in measured["findings"]
    ]
    from huitong.synth.readers import iter_defects

    defects = _dedupe_defects(list(iter_defects(data / "truth" / "defects.jsonl")))
    scored = score(found, defects, _noise(data / "truth" / "records.csv"), _sex_by_encounter(data))
    families = scored["families"]
    recalls = [f["recall"] for f in families.values() if f["recall"] is not None]
    precisions = [f["precision"] for f in families.values() if f["precision"] is not None]
    batch_figures = timing_summary(measured, manifest, replicas)
    return {
        "benchmark": "quality",
        "scale": manifest["scale"]["name"],
        "replicas": replicas,
        "measured_scale": batch_figures.pop("measured_scale"),
        "seed": manifest["seed"],
        "defect_rates": manifest["defect_rates"],
        "messages": timing["messages"],
        "bundles": timing["bundles"],
        "frontpage_rows": timing["frontpage_rows"],
        "resources_checked": sum(measured["checked"].values()),
        "checked_by_type": measured["checked"],
        "recall": {name: f["recall"] for name, f in families.items()},
        "precision": {name: f["precision"] for name, f in families.items()},
        "precision_recorded": {name: f["precision_recorded"] for name, f in families.items()},
        "families": families,
        "per_kind": scored["per_kind"],
        "false_examples": scored["false_examples"],
        "map_s": round(timing["map_s"], 3),
        "ingest_check_s": round(timing["ingest_check_s"], 3),
        "frontpage_check_s": round(timing["frontpage_check_s"], 3),
        "database": "sqlite",
        "database_resources": loaded,
        **batch_figures,
        "goals": {
            "recall_min": 0.95,
            "precision_min": 0.99,
            "hospital_year_batch_s_max": 60,
            "recall_met": bool(recalls) and min(recalls) >= 0.95,
            "precision_met": bool(precisions) and min(precisions) >= 0.99,
            **batch_figures.pop("goals"),
        },
    }


def quality_bench(
    scale: Annotated[str, typer.Option(help="Synthetic hospital scale: tiny, small or hospital-year.")] = "small",
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 1,
    year: Annotated[int, typer.Option(help="Year of the data set.")] = 2024,
    defect: Annotated[
        list[str] | None, typer.Option(help="Override a defect rate, KIND=RATE (repeatable); defaults: BENCH_RATES.")
    ] = None,
    work: Annotated[Path, typer.Option(help="Work directory (keeps generated data sets).")] = Path("var/bench/quality"),
    repeat: Annotated[int, typer.Option(help="Batch runs to take the median of.")] = 3,
    replicas: Annotated[
        int,
        typer.Option(
            min=1, help="Load the ingested repository this many times (ids suffixed .cN) to time a larger batch."
        ),
    ] = 1,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes of the batch run; default: the number of CPUs.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Data quality: recall and precision per rule family against injected defects; batch time."""
    rates = dict(BENCH_RATES)
    for item in defect or []:
        name, _, value = item.partition("=")
        if name not in FAMILY:
            raise typer.BadParameter(f"unknown defect kind {name!r}; known: {', '.join(FAMILY)}")
        try:
            rates[name] = float(value)
        except ValueError:
            raise typer.BadParameter(f"{item!r}: give KIND=RATE, e.g. late_result=0.02") from None
    data = prepare(work, scale, seed, year, rates)
    result = run(data, repeat=repeat, work=work, replicas=replicas, workers=workers)
    typer.echo(json.dumps(result, ensure_ascii=False) if as_json else json.dumps(result, indent=2, ensure_ascii=False))
