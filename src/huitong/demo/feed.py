"""Feeding the synthetic hospital into a running Huitong through the paths a hospital uses.

The EMR's FHIR transaction bundles go to ``POST /fhir`` over HTTP (full validation, as any outside system); the
HIS, LIS and PACS HL7 v2 streams go to the MLLP listener, message by message, each acknowledged only once stored;
the files a hospital exports (reference data, the inpatient front page 病案首页, the HIS's outpatient visits and
charges) are imported with the operator's own commands (``huitong indicators import-…``), the indicators of the
synthetic year computed (``huitong indicators compute``) and the data-quality rules run (``huitong quality run``,
again after the HL7 streams), so the leadership cockpit has a year to show and the quality scorecard its findings.
Nothing is written to the database directly: what the demo shows is what the platform made of the feed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from huitong.ingest.errors import MllpError
from huitong.ingest.hl7v2.parse import split_messages
from huitong.ingest.mllp.client import send_messages

Log = Callable[[str], None]

#: Source streams in the order a day unfolds: registrations before orders, orders before results.
HL7_ORDER = ("his/adt.hl7", "his/siu.hl7", "his/orders.hl7", "lis/results.hl7", "pacs/reports.hl7", "his/pharmacy.hl7")


def wait_until_ready(base_url: str, *, timeout_s: float = 120.0) -> None:
    """Block until the server answers ``/healthz``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{base_url} did not become ready within {timeout_s:.0f} s")


def _bundles(data_dir: Path) -> Iterator[bytes]:
    master = data_dir / "fhir" / "emr" / "master.json"
    if master.exists():
        yield master.read_bytes()
    stream = data_dir / "fhir" / "emr" / "encounters.ndjson"
    if stream.exists():
        with stream.open("rb") as fh:
            yield from (line for line in fh if line.strip())


def post_paced(client: httpx.Client, path: str, body: bytes, *, attempts: int = 20) -> httpx.Response:
    """POST ``body``, waiting as the server's ``429 Too Many Requests`` asks (``Retry-After``) and trying again."""
    response = client.post(path, content=body)
    for _ in range(attempts):
        if response.status_code != 429:
            break
        try:
            wait = float(response.headers.get("Retry-After", "1"))
        except ValueError:
            wait = 1.0
        time.sleep(min(max(wait, 0.1), 60.0))
        response = client.post(path, content=body)
    return response


def post_bundles(base_url: str, token: str, data_dir: Path, log: Log) -> tuple[int, int]:
    """POST every EMR bundle; returns (accepted, refused)."""
    ok = refused = 0
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json", "Prefer": "return=minimal"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
        for n, body in enumerate(_bundles(data_dir), start=1):
            if post_paced(client, "/fhir", body).status_code < 300:
                ok += 1
            else:
                refused += 1
            if n % 1000 == 0:
                log(f"EMR (FHIR): {n} bundles sent")
    return ok, refused


def send_hl7(host: str, port: int, data_dir: Path, log: Log, *, batch: int = 500) -> tuple[int, int]:
    """Send every HL7 stream over MLLP; returns (acknowledged AA, acknowledged otherwise)."""
    accepted = other = 0
    for name in HL7_ORDER:
        path = data_dir / "hl7" / name
        if not path.exists():
            continue
        messages = split_messages(path.read_bytes())
        for start in range(0, len(messages), batch):
            acks = asyncio.run(send_messages(host, port, messages[start : start + batch]))
            good = sum(1 for a in acks if b"|AA|" in a or b"|CA|" in a)
            accepted, other = accepted + good, other + len(acks) - good
        log(f"{name}: {len(messages)} messages sent over MLLP")
    return accepted, other


#: The hospital's file exports, imported before the message streams: (``huitong indicators`` command, file in the
#: data folder).
FILE_FEEDS = (
    ("import-master", "master"),
    ("import-frontpage", "frontpage/frontpage.csv"),
    ("import-visits", "his/outpatient_visits.csv"),
    ("import-charges", "his/charges.csv"),
)


def _huitong(*args: str, summary_on_stderr: bool = False) -> tuple[int, str]:
    """Run ``huitong ARGS…`` as the operator would (same interpreter, same settings): its exit code and its summary,
    the last line it prints that is not an indented detail (on stdout; the progress bars are on stderr, where
    ``indicators compute`` also writes its summary)."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and module, arguments from FILE_FEEDS
        [sys.executable, "-m", "huitong", *args], capture_output=True, text=True, check=False
    )
    text = done.stderr if summary_on_stderr else done.stdout
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line[:1].isspace()]
    return done.returncode, lines[-1] if lines else ""


def import_files_and_compute(data_dir: Path, log: Log) -> None:
    """Import the hospital's file exports and compute the synthetic year's indicators.

    The front page carries the synthetic hospital's deliberate defects, so its import reports rejected rows (exit
    code 1): that is logged, not an error of the demo.
    """
    for command, relative in FILE_FEEDS:
        path = data_dir / relative
        if path.exists():
            code, last = _huitong("indicators", command, str(path))
            log(f"{relative}: {last}" + (" (rows with defects were rejected, as a hospital's would be)" * (code == 1)))
    year = int(json.loads((data_dir / "manifest.json").read_text(encoding="utf-8")).get("year", 2026))
    code, last = _huitong(
        "indicators", "compute", "--from", f"{year}-01-01", "--to", f"{year}-12-31", summary_on_stderr=True
    )
    log(f"indicators {year}: {last}" + ("; see /cockpit" if code == 0 else f" (exit code {code})"))


def run_quality(log: Log) -> None:
    """Run the data-quality rules over what is stored (``huitong quality run``) and log how much they found."""
    code, last = _huitong("quality", "run")
    log(f"data quality: {last.split(';')[0]}" + ("; see /quality" if code == 0 else f" (exit code {code})"))


def feed(base_url: str, token: str, mllp: tuple[str, int], data_dir: Path, log: Log) -> None:
    """Everything, in order; logs a line per stream and a summary.

    The files and the batch work come before the HL7 streams, which are the long part (on the small hospital some
    150,000 messages, half an hour on two cores): the cockpit and the quality scorecard fill within minutes of the
    start, and the quality rules run again once the streams are in.

    The feed runs beside the server it feeds: when the server stops (Ctrl+C) or cannot be reached, the feed ends
    with one line saying so, not a traceback. What was acknowledged is stored; a later ``huitong demo`` sends the
    rest again, and the messages already stored are answered as repeats (their control ids are known).
    """
    try:
        wait_until_ready(base_url)
        ok, refused = post_bundles(base_url, token, data_dir, log)
        log(f"EMR (FHIR): {ok} bundles stored, {refused} refused")
        synthetic = (data_dir / "manifest.json").exists()  # the batch work is for a whole synthetic hospital
        if synthetic:
            import_files_and_compute(data_dir, log)
            run_quality(log)
        started = time.monotonic()
        accepted, other = send_hl7(mllp[0], mllp[1], data_dir, log)
    except (MllpError, httpx.TransportError, TimeoutError) as exc:
        log(f"stopped before the end: {exc}. What was acknowledged is stored; `huitong demo` again sends the rest.")
        return
    log(
        f"HL7: {accepted} messages acknowledged AA, {other} AE/AR (kept for replay; see /ingest) "
        f"in {time.monotonic() - started:.0f} s"
    )
    if synthetic:
        run_quality(log)
