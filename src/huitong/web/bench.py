"""``huitong bench web``: response times of each role's main pages against a running Huitong with demo data.

A throwaway SQLite database gets the demo seed and one account per role (doctor, nurse, operations, patient);
``huitong serve`` runs on it in its own process on 127.0.0.1, as in production; with ``--scale tiny`` or
``small`` the synthetic hospital's EMR bundles are first fed in through ``POST /fhir`` (the path the demo feed
uses), so lists and charts hold more than the six demo patients. Each page is then fetched sequentially by its
role (a signed-in session cookie), after warm-up requests; p50 and p95 are reported per page.

Baseline, same run and same server: a static file (``/static/huitong.css``) and ``/healthz``. ``ratio`` is the
worst page p95 divided by the static file's p95 (how many times the cost of serving bytes from disk).
"""

from __future__ import annotations

import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from huitong.db import migrate
from huitong.demo.feed import post_bundles, wait_until_ready
from huitong.demo.seed import load_demo
from huitong.fhir.bench.server import free_port
from huitong.security.actor import Actor
from huitong.security.runtime import open_security
from huitong.security.sessions import COOKIE
from huitong.services import open_services
from huitong.settings import Settings
from huitong.web.bench_labs import LAB_HEAVY_PAGE, LAB_RESULTS, lab_heavy_patient, listed_patients

Log = Callable[[str], None]
GOAL_P95_MS = 300.0
PASSWORD = secrets.token_urlsafe(18) + "-Aa1"

#: role → (account, pages); ``{patient}`` is the patient each role opens.
PAGES: dict[str, list[str]] = {
    "doctor": ["/doctor", "/doctor/patient/{patient}"],
    "nurse": ["/nurse", "/nurse/tasks", "/nurse/patient/{patient}"],
    "operations": ["/operations", "/cockpit"],
    "patient": ["/portal", "/portal/visits", "/portal/bills", "/portal/consent"],
}


@contextmanager
def serve(url: str, secret: str, feeder: str, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """``huitong serve`` on ``url`` in its own process on 127.0.0.1; yields its base URL, stops it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "HUITONG_ENV": "development",
        "HUITONG_DATABASE__URL": url,
        "HUITONG_SECURITY__SECRET_KEY": secret,
        "HUITONG_SECURITY__COOKIE_SECURE": "false",
        "HUITONG_SECURITY__API_TOKENS": orjson.dumps({"bench-feeder": feeder}).decode(),
        **(extra_env or {}),
    }
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "huitong", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, timeout_s=600)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def timings(client: httpx.Client, url: str, requests: int, warmup: int) -> dict[str, Any]:
    status = 0
    for _ in range(warmup):
        status = client.get(url).status_code
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    return {
        "status": status,
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(_percentile(times, 0.95), 2),
        "max_ms": round(max(times), 2),
    }


def _busiest_department(data: Path) -> str | None:
    """The department (Organization id) with the most encounters in a synthetic hospital's EMR bundles."""
    stream = data / "fhir" / "emr" / "encounters.ndjson"
    if not stream.exists():
        return None
    counts: Counter[str] = Counter()
    with stream.open("rb") as fh:
        for line in fh:
            for entry in orjson.loads(line).get("entry", []):
                res = entry.get("resource", {})
                if res.get("resourceType") == "Encounter":
                    ref = (res.get("serviceProvider") or {}).get("reference", "")
                    if ref.startswith("Organization/"):
                        counts[ref.removeprefix("Organization/")] += 1
    return counts.most_common(1)[0][0] if counts else None


def _synthetic(scale: str, folder: Path, log: Log) -> Path:
    from huitong.synth import generate

    cached = Path("var") / "synth" / f"{scale}-seed1"
    if (cached / "manifest.json").exists():
        log(f"synthetic hospital ({scale}) found in {cached}")
        return cached
    target = folder / f"{scale}-seed1"
    log(f"generating the synthetic hospital ({scale})")
    generate(scale, 1, 2026, target)
    return target


@dataclass(frozen=True)
class Prepared:
    """A throwaway store ready to serve: its URL, secrets, the feeder's token and a session per role."""

    url: str
    secret: str
    feeder: str
    department: str
    sessions: dict[str, str]


def prepare(folder: Path, department: str) -> Prepared:
    """A SQLite store in ``folder`` with the demo seed and one signed-in account per role (the doctor in
    ``department``)."""
    url = f"sqlite:///{folder}/web.db"
    feeder = secrets.token_urlsafe(24)
    secret = secrets.token_urlsafe(48)
    settings = Settings(
        env="development",
        database={"url": url},
        security={"secret_key": secret, "cookie_secure": False, "api_tokens": {"bench-feeder": feeder}},
    )
    migrate.upgrade(settings.database)
    services = open_services(settings)
    try:
        load_demo(services.store)
        security = open_security(settings, services.db, services.store.policy)
        admin = Actor.system("bench-web")
        #: role → (department, patient the account is confined to)
        accounts: dict[str, tuple[str | None, str | None]] = {
            "doctor": (department, None),
            "nurse": ("demo-dept-2", None),
            "operations": (None, None),
            "patient": (None, "demo-p002"),
        }
        for role, (dept, patient) in accounts.items():
            security.accounts.create(
                admin,
                user_id=f"bench.{role}",
                display_name=role,
                role=role,
                password=PASSWORD,
                department=dept,
                patient_id=patient,
            )
        sessions = {role: security.sessions.start(f"bench.{role}", mfa_passed=True) for role in accounts}
    finally:
        services.close()
    return Prepared(url, secret, feeder, department, sessions)


def mllp_env(port: int) -> dict[str, str]:
    """The server's MLLP listener on 127.0.0.1:``port`` (for the LIS feed of the lab-heavy patient)."""
    return {"HUITONG_MLLP__ENABLED": "true", "HUITONG_MLLP__HOST": "127.0.0.1", "HUITONG_MLLP__PORT": str(port)}


def bench_web(
    scale: str, requests: int, warmup: int, data: Path | None, log: Log, *, lab_results: int = LAB_RESULTS
) -> dict[str, Any]:
    """Set up, serve, (feed), give the lab-heavy patient its year of LIS results, measure; the figures as one
    dict."""
    with tempfile.TemporaryDirectory(prefix="huitong-bench-web-") as tmp:
        folder = Path(tmp)
        source = data or (_synthetic(scale, folder, log) if scale != "none" else None)
        department = (_busiest_department(source) if source else None) or "demo-dept-4"
        ready = prepare(folder, department)
        url, secret, feeder, sessions = ready.url, ready.secret, ready.feeder, ready.sessions
        mllp_port = free_port()
        with serve(url, secret, feeder, mllp_env(mllp_port) if lab_results else None) as base:
            fed = (0, 0)
            if source is not None:
                log(f"feeding {source} through POST /fhir")
                started = time.monotonic()
                fed = post_bundles(base, feeder, source, log)
                log(f"fed {fed[0]} bundles ({fed[1]} refused) in {time.monotonic() - started:.0f} s")
            lab = (
                lab_heavy_patient(base, feeder, sessions["doctor"], department, lab_results, mllp_port, log)
                if lab_results
                else None
            )
            figures = _measure(base, sessions, department, requests, warmup, log, lab=lab)
    pages = figures["pages"]
    worst = max(p["p95_ms"] for p in pages.values())
    return {
        "bench": "web",
        "scale": "custom" if data else scale,
        "bundles_fed": fed[0],
        "bundles_refused": fed[1],
        "requests_per_page": requests,
        "doctor_department": department,
        "lab_heavy": lab,
        "pages": pages,
        "baseline": figures["baseline"],
        "max_p95_ms": worst,
        "goal_p95_ms": GOAL_P95_MS,
        "goal_met": worst <= GOAL_P95_MS and all(p["status"] == 200 for p in pages.values()),
        "ratio": round(worst / figures["baseline"]["static"]["p95_ms"], 1),
    }


def _first_patient(client: httpx.Client, prefix: str, *, other_than: str = "") -> str:
    """A patient the role can open: the first linked from its main page other than ``other_than`` (the lab-heavy
    one, measured on its own), the demo's as a fallback."""
    listed = [p for p in listed_patients(client, prefix) if p != other_than]
    return listed[0] if listed else "demo-p002"


def _measure(
    base: str,
    sessions: dict[str, str],
    department: str,
    requests: int,
    warmup: int,
    log: Log,
    *,
    lab: dict[str, Any] | None = None,
) -> dict[str, Any]:
    headers = {"Accept": "text/html"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as anonymous:
        baseline = {
            "static": timings(anonymous, "/static/huitong.css", requests, warmup),
            "healthz": timings(anonymous, "/healthz", requests, warmup),
        }
    pages: dict[str, Any] = {}
    for role, urls in PAGES.items():
        with httpx.Client(base_url=base, headers=headers, timeout=60, cookies={COOKIE: sessions[role]}) as client:
            heavy = lab["patient"] if lab else ""
            patient = _first_patient(client, f"/{role}", other_than=heavy) if role in ("doctor", "nurse") else ""
            templates = [(t, t.format(patient=patient)) for t in urls]
            if role == "doctor" and lab:
                templates.append((LAB_HEAVY_PAGE, f"/doctor/patient/{heavy}"))
            for template, url in templates:
                pages[template] = {"role": role, **timings(client, url, requests, warmup)}
                got = pages[template]
                log(f"{role:10} {url:40} p50 {got['p50_ms']:7.1f} ms  p95 {got['p95_ms']:7.1f} ms")
    return {"pages": pages, "baseline": baseline}
