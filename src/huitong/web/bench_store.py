"""``huitong bench web --database URL``: page response times against an existing store (e.g. a hospital-year).

The store is upgraded to the current migrations, gets one account per role (``bench.<role>``, created once,
reused on later runs) and, with ``--data DIR --feed-patients N``, the EMR master bundle and every EMR bundle of
the N patients with the most visits in that synthetic hospital (``POST /fhir``, as any outside system), so the
patient pages show real records inside the full-size store. ``huitong serve`` then runs on the store in its own
process on 127.0.0.1 and each role's pages are fetched sequentially, after warm-up requests.

What each page is asked for is picked from the data: the patient with the largest record (resources in their
compartment) of those a department treats, for the doctor's, nurse's and portal pages; the doctor's and nurse's
department is that patient's; the operations board is asked for the busiest outpatient day (and for today); the
cockpit for the latest year
with stored indicator values, its first ▲ indicator and that indicator's cases in the busiest month; the audit
page for the trail of that patient and of the actor with the most audit rows. A page whose data is absent (no
quality run, no indicator values) is still measured; ``bytes`` shows how much it held.

The store is written to (migrations, accounts, sessions, audit rows, fed bundles): point it at a copy.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import sqlalchemy as sa

from huitong.db import migrate
from huitong.demo.feed import post_paced
from huitong.security.actor import Actor
from huitong.security.runtime import open_security
from huitong.security.sessions import COOKIE
from huitong.services import Services, open_services
from huitong.settings import Settings
from huitong.web.bench import GOAL_P95_MS, PASSWORD, Log, serve, timings

ROLES = ("doctor", "nurse", "operations", "manager", "quality_officer", "auditor", "patient")
_SUBJECT = re.compile(rb'"subject":\{"reference":"Patient/([^"]+)"')


def _settings(url: str, secret: str) -> Settings:
    return Settings(env="development", database={"url": url}, security={"secret_key": secret, "cookie_secure": False})


def _heaviest_patients(stream: Path, count: int, log: Log) -> dict[str, int]:
    """The ``count`` patients with the most EMR bundles (visits and stays) in ``encounters.ndjson``."""
    counts: Counter[str] = Counter()
    with stream.open("rb") as fh:
        for line in fh:
            found = _SUBJECT.search(line)
            if found:
                counts[found.group(1).decode()] += 1
    log(f"{sum(counts.values())} EMR bundles of {len(counts)} patients")
    return dict(counts.most_common(count))


def feed_patients(base: str, token: str, data: Path, count: int, log: Log) -> dict[str, Any]:
    """POST the EMR master bundle and every bundle of the ``count`` patients with the most visits."""
    emr = data / "fhir" / "emr"
    chosen = _heaviest_patients(emr / "encounters.ndjson", count, log)
    wanted = {f'"reference":"Patient/{pid}"'.encode() for pid in chosen}
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json", "Prefer": "return=minimal"}
    ok = refused = 0
    started = time.monotonic()
    with httpx.Client(base_url=base, headers=headers, timeout=300) as client:
        bodies: list[bytes] = []
        if (emr / "master.json").exists():
            bodies.append((emr / "master.json").read_bytes())
        with (emr / "encounters.ndjson").open("rb") as fh:
            bodies.extend(line for line in fh if any(w in line for w in wanted))
        for body in bodies:
            if post_paced(client, "/fhir", body).status_code < 300:
                ok += 1
            else:
                refused += 1
    log(f"fed {ok} bundles ({refused} refused) of {len(chosen)} patients in {time.monotonic() - started:.0f} s")
    return {"patients": len(chosen), "bundles": ok, "refused": refused, "seconds": round(time.monotonic() - started)}


def _pick(services: Services) -> dict[str, Any]:
    """The patient, department, day, year and indicator the pages are asked for, from the data."""
    picked: dict[str, Any] = {}
    with services.db.read() as conn:
        row = conn.execute(
            sa.text(
                # of the patients some department treats (a doctor sees only those: a patient known only to the
                # lab has no department, and the doctor's page would answer 404)
                "SELECT rp.patient_id, count(*) AS n FROM sec_resource_patient rp "
                "JOIN resource r ON r.res_type = 'Patient' AND r.res_id = rp.patient_id AND NOT r.deleted "
                "WHERE EXISTS (SELECT 1 FROM sec_patient_department pd WHERE pd.patient_id = rp.patient_id) "
                "GROUP BY rp.patient_id ORDER BY n DESC, rp.patient_id LIMIT 1"
            )
        ).first()
        picked["patient"], picked["patient_resources"] = (str(row[0]), int(row[1])) if row else (None, 0)
        dept = None
        if row is not None:
            dept = conn.execute(
                sa.text(
                    "SELECT pd.department FROM sec_patient_department pd "
                    "JOIN sec_patient_department other ON other.department = pd.department "
                    "WHERE pd.patient_id = :p GROUP BY pd.department ORDER BY count(*) DESC LIMIT 1"
                ),
                {"p": row[0]},
            ).scalar()
        if dept is None:  # the department with the most encounters
            dept = conn.execute(
                sa.text(
                    "SELECT target_id FROM search_reference WHERE res_type = 'Encounter' "
                    "AND param = 'service-provider' GROUP BY target_id ORDER BY count(*) DESC LIMIT 1"
                )
            ).scalar()
        picked["department"] = str(dept) if dept else None
        # the busiest outpatient day (China time) by encounter start, from the date index (ms since the epoch)
        day = conn.execute(
            sa.text(
                "SELECT (d.low + 28800000) / 86400000 AS day FROM search_date d "
                "JOIN search_token t ON t.resource_pk = d.resource_pk AND t.param = 'class' AND t.code = 'AMB' "
                "WHERE d.res_type = 'Encounter' AND d.param = 'date' GROUP BY day ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar()
        picked["busy_day"] = time.strftime("%Y-%m-%d", time.gmtime(int(day) * 86400)) if day is not None else None
        ind = conn.execute(
            sa.text(
                "SELECT indicator_id, substr(period, 1, 4) FROM indicator_value WHERE length(period) = 7 "
                "AND department = '*' AND denominator > 0 ORDER BY period DESC, denominator DESC LIMIT 1"
            )
        ).first()
        picked["indicator"], picked["year"] = (str(ind[0]), str(ind[1])) if ind else (None, None)
        if ind is not None:
            month = conn.execute(
                sa.text(
                    "SELECT period FROM indicator_value WHERE indicator_id = :i AND department = '*' "
                    "AND length(period) = 7 AND period LIKE :y ORDER BY denominator DESC LIMIT 1"
                ),
                {"i": ind[0], "y": f"{ind[1]}-%"},
            ).scalar()
            picked["month"] = str(month)
        picked["audit_actor"] = conn.execute(
            sa.text("SELECT actor_id FROM audit_event GROUP BY actor_id ORDER BY count(*) DESC LIMIT 1")
        ).scalar()
    return picked


def _accounts(settings: Settings, services: Services, picked: dict[str, Any]) -> dict[str, str]:
    """One account per role (created once), and a signed-in session for each."""
    security = open_security(settings, services.db, services.store.policy)
    admin = Actor.system("bench-web")
    sessions: dict[str, str] = {}
    for role in ROLES:
        user = f"bench.{role}"
        if role == "patient" and not picked["patient"]:
            continue
        department = picked["department"] if role in ("doctor", "nurse") else None
        patient = picked["patient"] if role == "patient" else None
        existing = security.accounts.get(user)
        if existing is not None and (existing.department != department or existing.patient_id != patient):
            user = f"bench.{role}.{secrets.token_hex(3)}"  # the data changed since the last run: a fresh account
            existing = None
        if existing is None:
            security.accounts.create(
                admin,
                user_id=user,
                display_name=role,
                role=role,
                password=PASSWORD,
                department=department,
                patient_id=patient,
            )
        sessions[role] = security.sessions.start(user, mfa_passed=True)
    return sessions


def _pages(picked: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, role, URL) of every page measured."""
    p, ind = picked["patient"], picked["indicator"]
    pages = [
        ("/doctor", "doctor", "/doctor"),
        ("/nurse", "nurse", "/nurse"),
        ("/nurse/tasks", "nurse", "/nurse/tasks"),
        ("/operations", "operations", "/operations"),
        ("/cockpit", "manager", "/cockpit"),
        ("/quality", "quality_officer", "/quality"),
        ("/quality/findings", "quality_officer", "/quality/findings"),
        ("/empi/review", "quality_officer", "/empi/review"),
        ("/audit", "auditor", "/audit"),
    ]
    if picked["audit_actor"]:
        pages.append(("/audit?actor={busiest actor}", "auditor", f"/audit?actor={quote(picked['audit_actor'])}"))
    if picked["busy_day"]:
        pages.insert(4, ("/operations?day={busiest day}", "operations", f"/operations?day={picked['busy_day']}"))
    if ind:
        pages += [
            ("/cockpit/indicator/{id}", "manager", f"/cockpit/indicator/{ind}?year={picked['year']}"),
            (
                "/cockpit/indicator/{id}/cases",
                "manager",
                f"/cockpit/indicator/{ind}/cases?period={picked['month']}",
            ),
        ]
    if p:
        pages += [
            ("/doctor/patient/{patient}", "doctor", f"/doctor/patient/{p}"),
            ("/nurse/patient/{patient}", "nurse", f"/nurse/patient/{p}"),
            ("/audit?entity={patient}", "auditor", f"/audit?entity=Patient/{p}"),
            ("/portal", "patient", "/portal"),
            ("/portal/visits", "patient", "/portal/visits"),
            ("/portal/bills", "patient", "/portal/bills"),
            ("/portal/consent", "patient", "/portal/consent"),
        ]
    return pages


def _counts(services: Services) -> dict[str, int]:
    with services.db.read() as conn:
        rows = conn.execute(sa.text("SELECT res_type, count(*) FROM resource GROUP BY res_type")).all()
    return {str(t): int(n) for t, n in rows}


def _statistics(services: Services) -> bool | None:
    """Whether a SQLite store holds planner statistics (``ANALYZE``); ``None`` on PostgreSQL (autovacuum)."""
    if not services.settings.database.url.startswith("sqlite"):
        return None
    with services.db.read() as conn:
        return bool(conn.execute(sa.text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar())


def bench_store(
    url: str, data: Path | None, feed: int, requests: int, warmup: int, duckdb: Path | None, log: Log
) -> dict[str, Any]:
    """Upgrade, (feed,) pick, sign in, serve, measure; the figures as one dict."""
    secret = os.environ.get("HUITONG_SECURITY__SECRET_KEY") or secrets.token_urlsafe(48)
    feeder = secrets.token_urlsafe(24)
    settings = _settings(url, secret)
    log("upgrading the store to the current migrations")
    migrate.upgrade(settings.database)
    extra = {"HUITONG_INDICATORS__DUCKDB_PATH": str(duckdb)} if duckdb else {}
    fed: dict[str, Any] = {}
    if data is not None and feed > 0:
        with serve(url, secret, feeder, extra) as base:
            fed = feed_patients(base, feeder, data, feed, log)
    services = open_services(settings)
    try:
        picked = _pick(services)
        log(f"picked {picked}")
        sessions = _accounts(settings, services, picked)
        counts = _counts(services)
        statistics = _statistics(services)
    finally:
        services.close()
    pages: dict[str, Any] = {}
    with serve(url, secret, feeder, extra) as base:
        headers = {"Accept": "text/html"}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as anonymous:
            baseline = {
                "static": timings(anonymous, "/static/huitong.css", requests, warmup),
                "healthz": timings(anonymous, "/healthz", requests, warmup),
            }
        for label, role, path in _pages(picked):
            cookies = {COOKIE: sessions[role]}
            with httpx.Client(base_url=base, headers=headers, timeout=120, cookies=cookies) as client:
                got = {"role": role, "url": path, **timings(client, path, requests, warmup)}
                got["bytes"] = len(client.get(path).content)
            pages[label] = got
            log(f"{role:16} {path:60} p50 {got['p50_ms']:8.1f} ms  p95 {got['p95_ms']:8.1f} ms  ({got['status']})")
    worst = max(p["p95_ms"] for p in pages.values())
    return {
        "bench": "web",
        "scale": "database",
        "resources": counts,
        "planner_statistics": statistics,
        "fed": fed,
        "picked": picked,
        "requests_per_page": requests,
        "pages": pages,
        "baseline": baseline,
        "max_p95_ms": worst,
        "goal_p95_ms": GOAL_P95_MS,
        "goal_met": worst <= GOAL_P95_MS and all(p["status"] == 200 for p in pages.values()),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "ratio": round(worst / baseline["static"]["p95_ms"], 1),
    }
