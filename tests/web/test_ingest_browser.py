"""The integration engine's dashboard in a real browser (headless Chromium via Playwright) against a real server
with its MLLP listener, fed over a real MLLP socket.

The operator's journey the dashboard exists for: a merge (ADT^A40) arrives before the registration of the patient
it retires and fails; the dashboard shows the failure with its reason and raw text; once the registration has
arrived, the operator presses Replay and the merge goes through. A message that cannot be read at all was refused
(AR) on receipt and stays listed. Screenshot: ``test-artifacts/screenshots/ingest.png``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from huitong.fhir.bench.server import free_port
from huitong.ingest.mllp.client import send_messages
from huitong.security.actor import Actor
from tests.web.serving import browser_hospital, huitong_serving, served_env
from tests.web.test_browser import CHROMIUM, PASSWORD, SHOTS, _sign_in

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")

A04 = (
    "MSH|^~\\&|HIS|HOSP|HUITONG|HOSP|20261127080000||ADT^A04^ADT_A01|{cid}|P|2.5.1\r"
    "EVN|A04|20261127080000\r"
    "PID|1||{mrn}^^^HOSP^MR||{name}||{dob}|M\r"
    "PV1|1|O|OPD^^^HOSP||||||||||||||||V{cid}^^^HOSP^VN\r"
)
A40 = (
    "MSH|^~\\&|HIS|HOSP|HUITONG|HOSP|20261127100000||ADT^A40^ADT_A39|MERGE-1|P|2.5.1\r"
    "EVN|A40|20261127100000\r"
    "PID|1||41^^^HOSP^MR||王^建国||19650303|M\r"
    "MRG|42^^^HOSP^MR\r"
)
UNREADABLE = "MSH|^~\\&|LIS|HOSP|HUITONG|HOSP|20261127110000||ORU^R01|||2.5.1\rPID|1||41^^^HOSP^MR\r"


@pytest.fixture(scope="module")
def engine_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str | int]]:
    """``huitong serve`` with the MLLP listener on, and an operations account."""
    with browser_hospital(tmp_path_factory.mktemp("ingest-browser"), "ingest", demo=False) as (url, _, security):
        security.accounts.create(
            Actor.system("browser-tests"), user_id="ops.zhou", display_name="ops.zhou", role="operations",
            password=PASSWORD,
        )  # fmt: skip
    port, mllp_port = free_port(), free_port()
    env = served_env(
        url,
        **{
            "HUITONG_MLLP__ENABLED": "true",
            "HUITONG_MLLP__PORT": str(mllp_port),
        },
    )
    with huitong_serving(env, port) as base:
        yield {"base": base, "mllp": mllp_port}


def _send(port: int, *messages: str) -> list[str]:
    """Send over MLLP; the ACK code (MSA-1) of each message. (In a thread of its own: Playwright's sync API keeps
    an event loop running in this one.)"""
    with ThreadPoolExecutor(1) as pool:
        sent = pool.submit(asyncio.run, send_messages("127.0.0.1", port, [m.encode() for m in messages]))
        acks = sent.result(timeout=60)
    return [re.search(r"MSA\|(\w\w)\|", a.decode()).group(1) for a in acks]  # type: ignore[union-attr]


def _until(page: object, base: str, counts: dict[str, str], timeout_s: float = 60.0) -> None:
    """Reload the dashboard until the default channel shows ``counts`` (the pipeline works after the ACK)."""
    deadline = time.monotonic() + timeout_s
    while True:
        page.goto(f"{base}/ingest")  # type: ignore[attr-defined]
        row = page.locator("#channel-default")  # type: ignore[attr-defined]
        seen = {k: row.locator(f"[data-count={k}]").inner_text() for k in counts} if row.count() else {}
        if seen == counts:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the dashboard shows {seen}, not {counts}, after {timeout_s:.0f} s")
        time.sleep(0.3)


def test_an_operator_replays_a_merge_once_the_registration_it_needed_has_arrived(
    engine_server: dict[str, str | int], browser: object
) -> None:
    base, mllp = str(engine_server["base"]), int(engine_server["mllp"])
    assert _send(mllp, A04.format(cid="REG-41", mrn="41", name="王^建国", dob="19650303"), A40, UNREADABLE) == [
        "AA",  # stored
        "AA",  # stored: the merge fails later, in the pipeline
        "AR",  # no control id: refused on receipt, and kept
    ]
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    _sign_in(page, base, "ops.zhou")
    _until(page, base, {"received": "3", "processed": "1", "error": "2"})

    merge = page.locator("tr[data-control-id='MERGE-1']")
    reason = merge.inner_text()
    assert "ADT^A40" in reason and "42" in reason and "replay" in reason  # what failed, and what to do
    merge.locator("summary").click()  # the raw message, as received
    assert "MRG|42^^^HOSP^MR" in merge.locator("pre").inner_text()
    refused = page.locator("tr[data-control-id='']")
    assert "MSH-10" in refused.inner_text()
    page.wait_for_selector("#received canvas")  # the received-per-5-minutes chart is drawn
    assert "正在处理消息" in page.locator("p[role=status]").first.inner_text()
    page.screenshot(path=str(SHOTS / "ingest.png"), full_page=True)

    assert _send(mllp, A04.format(cid="REG-42", mrn="42", name="汪^见果", dob="19560330")) == ["AA"]
    _until(page, base, {"received": "4", "processed": "2", "error": "2"})
    page.locator("tr[data-control-id='MERGE-1'] button").click()
    page.wait_for_url(re.compile(r".*/ingest\?replayed=1.*"))
    assert "已重新排队 1 条消息" in page.content()
    _until(page, base, {"received": "4", "processed": "3", "error": "1"})  # the merge went through this time
    assert page.locator("tr[data-control-id='MERGE-1']").count() == 0
    assert page.locator("tr[data-control-id='']").count() == 1  # the unreadable one stays a dead letter

    page.click("a[href='/ingest/messages']")  # find it in the message store, and read what became of it
    page.fill("input[name=control_id]", "MERGE-1")
    page.click("form.filters button")
    page.click("#found a[href^='/ingest/messages/']")
    assert "已处理" in page.locator("#status").inner_text()
    assert "Patient/" in page.locator("#resources").inner_text()  # the merged records it wrote
    assert "MRG|42^^^HOSP^MR" in page.locator("#raw").inner_text()
    page.screenshot(path=str(SHOTS / "ingest-message.png"), full_page=True)

    page.goto(f"{base}/ingest?lang=en")
    assert page.locator("h1").inner_text() == "Integration engine"
    context.close()  # the browser fixture checks that no page logged a script error
