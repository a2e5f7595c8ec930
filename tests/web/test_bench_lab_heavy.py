"""``huitong bench web``'s lab-heavy patient: a year of LIS results sent over MLLP to a served Huitong, filed under
the LIS's own Patient, linked by the EMPI and shown — a page at a time, with the trend — in the doctor's view."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import httpx
import orjson
import pytest

from huitong.fhir.bench.server import free_port
from huitong.ingest.hl7v2.parse import parse_message
from huitong.security.sessions import COOKIE
from huitong.times import CHINA
from huitong.web.bench import mllp_env, prepare, serve
from huitong.web.bench_labs import lab_heavy_patient, lab_messages

pytestmark = pytest.mark.slow
RESULTS = 130  # more than one page of results (100)


def test_the_messages_are_a_year_of_flagged_numeric_results_under_the_lis_mrn() -> None:
    patient = {
        "id": "p1",
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "110101199003070016"}],
        "name": [{"family": "王", "given": ["芳"]}],
        "gender": "female",
        "birthDate": "1990-03-07",
    }
    feed = lab_messages(patient, 50, until=datetime(2026, 11, 28, tzinfo=CHINA))
    assert sum(m.count(b"\rOBX|") for m in feed.messages) == 50
    assert feed.reports == len(feed.messages) < 50
    first, last = parse_message(feed.messages[0]), parse_message(feed.messages[-1])
    pid = first.segment("PID")
    assert pid is not None and feed.mrn in pid.get(3) and "110101199003070016" in str(pid.field(3))
    obr_first, obr_last = first.segment("OBR"), last.segment("OBR")
    assert obr_first is not None and obr_last is not None
    assert obr_first.get(7)[:8] < "20251201" and obr_last.get(7)[:8] >= "20261101"  # spread over the year
    obx = [s for m in feed.messages for s in parse_message(m).segment_list if s.name == "OBX"]
    assert all(s.get(2) == "NM" and s.get(6) and "-" in s.get(7) for s in obx)  # value, unit, reference range
    assert {s.get(8) for s in obx} >= {"N", "H"} or {s.get(8) for s in obx} >= {"N", "L"}


def test_the_lab_heavy_patient_s_linked_lis_results_show_in_the_doctor_s_view(tmp_path: Path) -> None:
    ready = prepare(tmp_path, "demo-dept-4")
    port = free_port()
    with serve(ready.url, ready.secret, ready.feeder, mllp_env(port)) as base:
        lab = lab_heavy_patient(base, ready.feeder, ready.sessions["doctor"], ready.department, RESULTS, port, print)
        assert lab["observations"] == RESULTS
        assert lab["lis_patient"] != lab["patient"]  # filed under the LIS's own Patient
        assert lab["diagnostic_reports"] == lab["reports_sent"] > 1
        with httpx.Client(base_url=base, cookies={COOKIE: ready.sessions["doctor"]}, timeout=60) as doctor:
            view = doctor.get(f"/doctor/patient/{lab['patient']}", params={"lang": "en"})
            assert view.status_code == 200
            html = view.text
            assert lab["lis_mrn"] in html  # under "Records in other systems"
            total = re.search(r'data-results-total="(\d+)"', html)
            assert total is not None and int(total.group(1)) >= RESULTS  # the LIS's and the record's own
            assert html.count("10*9/L") > 0  # white cell counts with their unit
            trend = re.search(r'<script type="application/json" id="trend-data">(.*?)</script>', html, re.S)
            assert trend is not None
            series = orjson.loads(trend.group(1))
            assert "白细胞计数" in series and len(series["白细胞计数"]) > 5
            rows = re.findall(r"<tr><td>", html)
            assert len(rows) == 100  # one page of results …
            second = doctor.get(f"/doctor/patient/{lab['patient']}", params={"lang": "en", "results": "1"}).text
            assert len(re.findall(r"<tr><td>", second)) == int(total.group(1)) - 100  # … the rest on the next
            assert "?lang=en&amp;results=1#results" in html
