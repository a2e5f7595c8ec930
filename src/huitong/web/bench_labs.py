"""The lab-heavy patient of ``huitong bench web``: a year of laboratory results sent the way the LIS sends them.

A chronic inpatient's LIS results are filed under the LIS's own Patient (its own MRN, assigning authority ``LIS``)
with the person's resident ID number, so the EMPI links that Patient to the hospital's record of the same person
and the doctor's one-patient view gathers them. :func:`lab_messages` writes them as HL7 v2.5 ORU^R01 messages
(one per report: an OBR with its panel, an OBX per analyte with value, UCUM unit, reference interval and H/L
flag) spread over the year before ``until``; :func:`feed_labs` sends them over MLLP to the bench's server and
waits until the integration engine has stored them. Values stay inside the catalogue's critical limits, so the
feed raises no critical-value alerts (which would change the doctor's workbench being measured).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from huitong.identifiers import RESIDENT_ID_SYSTEM
from huitong.ingest.errors import MllpError
from huitong.ingest.mllp.client import send_messages
from huitong.synth.catalogues.lab import ANALYTE_BY_CODE, PANEL_BY_CODE, Analyte
from huitong.synth.writers.hl7_messages import obx_parts
from huitong.times import CHINA

Log = Callable[[str], None]
LIS_AUTHORITY = "LIS&2.16.156.10011.0.99999.2&ISO"
#: The panels of a chronic renal/medical inpatient's year, in the order they recur (LOINC panel code first, so
#: the results are categorised ``laboratory``, then the LIS's local code).
PANEL_LOINC = {
    "LP01": ("58410-2", "CBC panel - Blood by Automated count"),
    "LP02": ("24362-6", "Renal function panel - Serum or Plasma"),
    "LP03": ("24325-3", "Hepatic function panel - Serum or Plasma"),
}
CYCLE = ("LP01", "LP02", "LP01", "LP02", "LP03")
#: An analyte the verification looks for in the view (white cell count, in every CBC).
MARKER_CODE = "L0101"


class LabFeedError(RuntimeError):
    """The lab-heavy patient could not be set up or its results do not show: measuring its view would be worthless."""


@dataclass(frozen=True)
class LabFeed:
    """What was sent: the LIS's MRN of the patient, and how many reports and results."""

    mrn: str
    reports: int
    observations: int
    messages: list[bytes]


def _ts(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y%m%d%H%M%S")


def _value(rng: random.Random, analyte: Analyte, sex: str, drift: float) -> tuple[float, str]:
    """A plausible value (about one in six outside the reference interval, never past a critical limit) and its
    H/L/N flag."""
    low, high = analyte.reference(sex)
    span = (high - low) or 1.0
    centre = (low + high) / 2 + drift * span
    value = rng.gauss(centre, span / 3.2)
    floor = max(0.0, analyte.critical_low if analyte.critical_low is not None else low - span)
    ceiling = analyte.critical_high if analyte.critical_high is not None else high + 2 * span
    value = min(max(value, floor + span * 0.01), ceiling - span * 0.01)
    value = round(value, analyte.decimals)
    return value, ("H" if value > high else "L" if value < low else "N")


def _pid(patient: dict[str, Any], mrn: str, resident: str) -> str:
    name = (patient.get("name") or [{}])[0]
    family = name.get("family") or name.get("text") or ""
    given = "".join(name.get("given") or [])
    born = str(patient.get("birthDate") or "").replace("-", "")
    sex = {"male": "M", "female": "F"}.get(str(patient.get("gender")), "U")
    phone = next((t["value"] for t in patient.get("telecom") or [] if t.get("system") == "phone"), "")
    phone_field = f"{phone}^PRN^CP" if phone else ""
    ids = f"{mrn}^^^{LIS_AUTHORITY}^PI~{resident}^^^^NNCHN"
    return f"PID|1||{ids}||{family}^{given}||{born}|{sex}|||||{phone_field}"


def resident_id_of(patient: dict[str, Any]) -> str | None:
    return next((i["value"] for i in patient.get("identifier") or [] if i.get("system") == RESIDENT_ID_SYSTEM), None)


def lis_mrn(patient_id: str) -> str:
    """The LIS's MRN of the bench's lab-heavy patient (stable for a patient id)."""
    return f"L9{zlib.crc32(patient_id.encode()):010d}"


def lab_messages(patient: dict[str, Any], observations: int, *, until: datetime, seed: int = 1) -> LabFeed:
    """ORU^R01 messages with ``observations`` results of ``patient`` over the 365 days before ``until``."""
    resident = resident_id_of(patient)
    if resident is None:
        raise LabFeedError(
            f"Patient/{patient.get('id')} has no resident ID number: the EMPI could not link a LIS record"
        )
    rng = random.Random(seed)  # noqa: S311 - synthetic values, not secrets
    mrn = lis_mrn(str(patient["id"]))
    sex = {"male": "M", "female": "F"}.get(str(patient.get("gender")), "M")
    panels: list[str] = []
    total = 0
    while total < observations:
        code = CYCLE[len(panels) % len(CYCLE)]
        panels.append(code)
        total += len(PANEL_BY_CODE[code].analytes)
    pid = _pid(patient, mrn, resident)
    start = until - timedelta(days=365)
    step = timedelta(days=364) / max(len(panels) - 1, 1)  # the first a year ago, the last yesterday
    messages: list[bytes] = []
    left = observations
    for n, code in enumerate(panels, start=1):
        panel = PANEL_BY_CODE[code]
        loinc, loinc_name = PANEL_LOINC[code]
        drawn = start + step * (n - 1) + timedelta(minutes=rng.randint(0, 120))
        reported = drawn + timedelta(minutes=panel.turnaround_min)
        drift = 0.6 * (n / len(panels)) - 0.3  # a slow trend over the year
        order = f"{n:06d}"
        segments = [
            f"MSH|^~\\&|LIS|HUITONG^2.16.156.10011.0.99999^ISO|HUITONG-ESB|HUITONG^2.16.156.10011.0.99999^ISO|"
            f"{_ts(reported)}||ORU^R01^ORU_R01|LH{mrn}{order}|P|2.5|||AL|NE|CHN|UNICODE UTF-8",
            pid,
            f"ORC|RE|LHP{mrn}{order}^HIS|LHF{mrn}{order}^LIS||CM||||{_ts(reported)}",
            f"OBR|1|LHP{mrn}{order}^HIS|LHF{mrn}{order}^LIS|{loinc}^{loinc_name}^LN^{code}^{panel.name_zh}^99HTLAB"
            f"|||{_ts(drawn)}||||||||{panel.specimen}^^HL70487|||||||{_ts(reported)}|||F",
        ]
        for set_id, analyte_code in enumerate(panel.analytes[:left], start=1):
            value, flag = _value(rng, ANALYTE_BY_CODE[analyte_code], sex, drift)
            ident, decimals, tail = obx_parts(analyte_code, sex)  # as the synthetic hospital's LIS writes them
            segments.append(f"OBX|{set_id}|NM|{ident}||{value:.{decimals}f}|{tail}|{flag}|||F|||{_ts(drawn)}")
        left -= min(left, len(panel.analytes))
        messages.append("\r".join(segments).encode() + b"\r")
    return LabFeed(mrn=mrn, reports=len(panels), observations=observations, messages=messages)


def send_labs(host: str, port: int, feed: LabFeed, *, batch: int = 200, timeout_s: float = 60.0) -> int:
    """Send the messages over MLLP (retrying the first connection while the listener starts); returns how many
    were acknowledged ``AA``."""
    deadline = time.monotonic() + timeout_s
    accepted = 0
    for start in range(0, len(feed.messages), batch):
        while True:
            try:
                acks = asyncio.run(send_messages(host, port, feed.messages[start : start + batch]))
                break
            except (MllpError, OSError):
                if start or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        accepted += sum(1 for a in acks if b"|AA|" in a or b"|CA|" in a)
    return accepted


def count(client: httpx.Client, rtype: str, params: dict[str, str]) -> int:
    """``_summary=count`` of a FHIR search."""
    response = client.get(f"/fhir/{rtype}", params={**params, "_summary": "count"})
    response.raise_for_status()
    return int(response.json().get("total", 0))


def wait_stored(client: httpx.Client, feed: LabFeed, *, timeout_s: float = 900.0) -> str:
    """Wait until the integration engine stored every result under the LIS's Patient; returns that Patient's id."""
    deadline = time.monotonic() + timeout_s
    patient_id = ""
    stored = 0
    while time.monotonic() < deadline:
        if not patient_id:
            found = client.get("/fhir/Patient", params={"identifier": feed.mrn}).json().get("entry") or []
            patient_id = str(found[0]["resource"]["id"]) if found else ""
        if patient_id:
            stored = count(client, "Observation", {"subject": f"Patient/{patient_id}"})
            if stored >= feed.observations:
                return patient_id
        time.sleep(1.0)
    raise LabFeedError(
        f"the LIS results were not stored in time: {stored} of {feed.observations} Observations of the LIS's "
        f"Patient (MRN {feed.mrn}, id {patient_id or 'not stored'}); see /ingest for errors"
    )


#: Results a chronic inpatient's year holds (a CBC and a renal panel about every other day, liver monthly).
LAB_RESULTS = 3000
#: The key of the lab-heavy patient's one-patient view in the figures.
LAB_HEAVY_PAGE = "/doctor/patient/{lab-heavy}"
_TOTAL = re.compile(r'data-results-total="(\d+)"')


def listed_patients(client: httpx.Client, prefix: str) -> list[str]:
    """The patients a role's main page links to, in order."""
    html = client.get(prefix).text
    return list(dict.fromkeys(re.findall(rf'href="{prefix}/patient/([A-Za-z0-9.\-]+)"', html)))


def _admit(feeder: httpx.Client, department: str, log: Log, *, want: int, listed: list[str]) -> None:
    """Admit ``want`` patients the department has treated and its page does not list yet (inpatient stays in
    progress, as the EMR writes them), so the doctor's page lists a lab-heavy patient and an ordinary one beside
    it: the synthetic hospitals' stays have all ended."""
    found = feeder.get(
        "/fhir/Encounter",
        params={"service-provider": f"Organization/{department}", "_sort": "-date", "_count": "200"},
    ).json()
    chosen: list[str] = []
    for entry in found.get("entry") or []:
        subject = str(((entry.get("resource") or {}).get("subject") or {}).get("reference", ""))
        if not subject.startswith("Patient/") or subject in chosen or subject.removeprefix("Patient/") in listed:
            continue
        if resident_id_of(feeder.get(f"/fhir/{subject}").json()):
            chosen.append(subject)
            if len(chosen) == want:
                break
    if not chosen and not listed:
        raise LabFeedError(f"no patient of {department} with a resident ID number to give a year of lab results")
    for subject in chosen:
        stay = {
            "resourceType": "Encounter",
            "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": subject},
            "period": {"start": (datetime.now(CHINA) - timedelta(days=30)).isoformat(timespec="seconds")},
            "serviceProvider": {"reference": f"Organization/{department}"},
        }
        feeder.post("/fhir/Encounter", json=stay).raise_for_status()
        log(f"admitted {subject} to {department} (its page listed {len(listed)} patients)")


def lab_heavy_patient(
    base: str, feeder_token: str, doctor_cookie: str, department: str, results: int, mllp_port: int, log: Log
) -> dict[str, Any]:
    """Give the first patient the doctor's page lists ``results`` LIS results over a year, through the MLLP
    listener, and check that the one-patient view shows them; what it holds, for the figures."""
    from huitong.security.sessions import COOKIE

    headers = {"Authorization": f"Bearer {feeder_token}", "Accept": "application/fhir+json"}
    with (
        httpx.Client(base_url=base, headers=headers, timeout=120) as feeder,
        httpx.Client(base_url=base, headers={"Accept": "text/html"}, cookies={COOKIE: doctor_cookie}) as doctor,
    ):
        listed = listed_patients(doctor, "/doctor")
        if len(listed) < 2:  # one patient to load with results, one ordinary beside it (measured apart)
            _admit(feeder, department, log, want=2 - len(listed), listed=listed)
            listed = listed_patients(doctor, "/doctor")
        patients = [feeder.get(f"/fhir/Patient/{pid}").json() for pid in listed[:20]]
        patient = next((p for p in patients if resident_id_of(p)), None)
        if patient is None:
            raise LabFeedError("none of the patients the doctor's page lists has a resident ID number")
        feed = lab_messages(patient, results, until=datetime.now(CHINA))
        log(f"sending {feed.reports} ORU^R01 ({feed.observations} results) for Patient/{patient['id']} over MLLP")
        started = time.monotonic()
        acked = send_labs("127.0.0.1", mllp_port, feed)
        if acked != len(feed.messages):
            raise LabFeedError(f"the MLLP listener acknowledged {acked} of {len(feed.messages)} ORU^R01 with AA")
        lis_patient = wait_stored(feeder, feed)
        log(f"stored under Patient/{lis_patient} (LIS MRN {feed.mrn}) in {time.monotonic() - started:.0f} s")
        shown = _wait_shown(doctor, str(patient["id"]), feed)
        subject = {"subject": f"Patient/{lis_patient}"}
        return {
            "patient": str(patient["id"]),
            "lis_patient": lis_patient,
            "lis_mrn": feed.mrn,
            "reports_sent": feed.reports,
            "observations": count(feeder, "Observation", subject),
            "diagnostic_reports": count(feeder, "DiagnosticReport", subject),
            "service_requests": count(feeder, "ServiceRequest", subject),
            "view_results_total": shown,
        }


def _wait_shown(doctor: httpx.Client, patient_id: str, feed: LabFeed, *, timeout_s: float = 120.0) -> int:
    """Wait until the doctor's one-patient view lists the LIS record and counts its results; the count shown."""
    from huitong.synth.catalogues.lab import ANALYTE_BY_CODE

    marker = ANALYTE_BY_CODE[MARKER_CODE].name_zh
    deadline = time.monotonic() + timeout_s
    status, total, has_record, has_marker = 0, 0, False, False
    while time.monotonic() < deadline:
        response = doctor.get(f"/doctor/patient/{patient_id}")
        status, html = response.status_code, response.text
        found = _TOTAL.search(html)
        total = int(found.group(1)) if found else 0
        has_record, has_marker = feed.mrn in html, marker in html
        if status == 200 and has_record and has_marker and total >= feed.observations:
            return total
        time.sleep(1.0)
    raise LabFeedError(
        f"/doctor/patient/{patient_id} does not show the linked LIS results (status {status}, LIS record "
        f"{feed.mrn} {'listed' if has_record else 'not listed'}, {marker} {'shown' if has_marker else 'not shown'}, "
        f"{total} results counted, {feed.observations} sent): is the LIS Patient linked by the EMPI?"
    )
