"""The role pages in-process on both backends: what each shows and what each action stores."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from huitong.demo.seed import load_demo
from huitong.fhir.errors import FhirError
from huitong.security.actor import Actor, ActorKind
from huitong.services import open_services
from huitong.web.pages.consent import consents, set_consent
from tests.conftest import make_settings


def test_doctor_workbench_lists_inpatients_and_open_critical_values(demo_client: TestClient) -> None:
    page = demo_client.get("/doctor")
    assert page.status_code == 200
    assert "王秀英" in page.text and "刘强" in page.text
    assert 'id="alert-demo-p004-glu1"' in page.text  # glucose 11.8 mmol/L flagged HH by the LIS
    row = page.text.split('id="alert-demo-p004-glu1"')[1].split("</tr>")[0]
    assert ">刘强</a>" in row and "男" in row  # the patient's name, not an id


def test_critical_value_acknowledgement_closes_the_loop(demo_client: TestClient) -> None:
    done = demo_client.post("/doctor/critical/demo-p004-glu1/acknowledge")
    assert done.status_code == 200 and "已确认" in done.text
    assert 'id="alert-demo-p004-glu1"' not in demo_client.get("/doctor").text
    tasks = demo_client.get("/fhir/Task", params={"focus": "Observation/demo-p004-glu1"}).json()
    [task] = [e["resource"] for e in tasks["entry"]]
    assert task["status"] == "completed" and task["executionPeriod"]["start"] < task["executionPeriod"]["end"]
    again = demo_client.post("/doctor/critical/demo-p001-glu1/acknowledge")  # 6.1 mmol/L: not critical
    assert again.status_code == 400


def test_one_patient_view_and_missing_patient(demo_client: TestClient) -> None:
    page = demo_client.get("/doctor/patient/demo-p004")
    assert page.status_code == 200
    assert "肺炎" in page.text and "11.8 mmol/L" in page.text and "flag-critical" in page.text
    # the resident ID masked to region and check digits, under its name; the visit's class in Chinese
    assert ">身份证号</span> 510107********2099" in page.text and "510107196501302099" not in page.text
    assert ">病历号</span> MRN000004" in page.text  # the demo MRN named by its v2 type (MR), not by its system URI
    assert "住院" in page.text and "inpatient encounter" not in page.text
    assert demo_client.get("/doctor/patient/nobody").status_code == 404
    english = demo_client.get("/doctor/patient/demo-p004", params={"lang": "en"}).text
    assert "Doctor" in english and "Male · " in english and " y · " in english and "岁" not in english


def test_nurse_admits_to_a_free_bed_and_records_vitals(demo_client: TestClient) -> None:
    board = demo_client.get("/nurse").text
    assert board.count('class="bed occupied"') == 6 and board.count('class="bed free"') == 12
    admitted = demo_client.post("/nurse/admit", data={"patient_id": "demo-p001", "bed_id": "demo-ward-2-bed-2"})
    assert admitted.status_code == 200 and admitted.text.count('class="bed occupied"') == 7
    taken = demo_client.post("/nurse/admit", data={"patient_id": "demo-p002", "bed_id": "demo-ward-2-bed-2"})
    assert taken.status_code == 409
    saved = demo_client.post("/nurse/vitals/demo-p001", data={"temperature": "37.2", "pulse": "88"})
    assert saved.status_code == 200 and "(2)" in saved.text
    bad = demo_client.post("/nurse/vitals/demo-p001", data={"temperature": "hot", "pulse": ""})
    assert bad.status_code == 400
    temps = demo_client.get("/fhir/Observation", params={"subject": "Patient/demo-p001", "code": "8310-5"}).json()
    assert temps["entry"][0]["resource"]["valueQuantity"]["value"] == 37.2


def test_operations_board(demo_client: TestClient) -> None:
    ward = {
        "resourceType": "Location",
        "status": "active",
        "name": "HL7 未映射病区",  # a ward code a feed brought in, with no beds registered
        "physicalType": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "wa"}]
        },
    }
    assert demo_client.put("/fhir/Location/no-beds-ward", json={**ward, "id": "no-beds-ward"}).status_code in (200, 201)
    page = demo_client.get("/operations")
    assert page.status_code == 200 and "25.0" in page.text  # 1 of 4 beds occupied per ward
    table, _, below = page.text.partition('id="wards-without-beds"')
    assert "HL7 未映射病区" not in table and "HL7 未映射病区" in below and "0/0" not in table


def test_patient_books_checks_in_cancels_and_answers_survey(demo_client: TestClient) -> None:
    home = demo_client.get("/portal", params={"patient": "demo-p002"}).text
    slots = re.findall(r'option value="(demo-slot-[^"]+)"', home)
    assert len(slots) == 15
    booked = demo_client.post("/portal/book", params={"patient": "demo-p002"}, data={"slot_id": slots[0]})
    assert booked.status_code == 200 and 'data-status="booked">已预约<' in booked.text
    assert slots[0] not in re.findall(r'option value="(demo-slot-[^"]+)"', booked.text)
    appt = re.findall(r'data-appointment="([^"]+)"', booked.text)[0]
    arrived = demo_client.post(f"/portal/appointments/{appt}/check-in", params={"patient": "demo-p002"})
    assert 'data-status="arrived">已到院<' in arrived.text
    assert demo_client.post(f"/portal/appointments/{appt}/cancel", params={"patient": "demo-p002"}).status_code == 409
    second = demo_client.post("/portal/book", params={"patient": "demo-p002"}, data={"slot_id": slots[1]}).text
    other = next(a for a in re.findall(r'data-appointment="([^"]+)"', second) if a != appt)
    cancelled = demo_client.post(f"/portal/appointments/{other}/cancel", params={"patient": "demo-p002"})
    assert 'data-status="cancelled">已取消<' in cancelled.text and slots[1] in cancelled.text  # the slot is free again
    survey = demo_client.post(
        "/portal/survey", params={"patient": "demo-p002"}, data={"overall": 5, "waiting": 3, "doctor": 4}
    )
    assert survey.status_code == 200
    responses = demo_client.get("/fhir/QuestionnaireResponse", params={"subject": "Patient/demo-p002"}).json()
    assert responses["entry"][0]["resource"]["item"][1]["answer"][0]["valueInteger"] == 3
    encounters = demo_client.get("/fhir/Encounter", params={"subject": "Patient/demo-p002", "class": "AMB"}).json()
    assert encounters["entry"][0]["resource"]["status"] == "arrived"


def test_pages_switch_language(demo_client: TestClient) -> None:
    en = demo_client.get("/nurse", params={"lang": "en"})
    assert "Bed board" in en.text and en.cookies.get("lang") == "en"
    assert "Bed board" in demo_client.get("/nurse").text  # the cookie keeps the choice


P2 = {"patient": "demo-p002"}


def _free_slots(html: str) -> list[str]:
    section = html.split('id="book"', 1)[1]
    return re.findall(r'option value="(demo-slot-[^"]+)"', section)


def test_patient_changes_an_appointment_to_another_slot(demo_client: TestClient) -> None:
    slots = _free_slots(demo_client.get("/portal", params=P2).text)
    booked = demo_client.post("/portal/book", params=P2, data={"slot_id": slots[0]}).text
    appt = re.findall(r'data-appointment="([^"]+)"', booked)[0]
    changed = demo_client.post(f"/portal/appointments/{appt}/change", params=P2, data={"slot_id": slots[2]})
    assert changed.status_code == 200 and "已改约" in changed.text
    free = _free_slots(changed.text)
    assert slots[0] in free and slots[2] not in free  # the old slot is free again, the new one taken
    body = demo_client.get(f"/fhir/Appointment/{appt}").json()
    assert body["status"] == "booked" and body["slot"] == [{"reference": f"Slot/{slots[2]}"}]
    assert demo_client.get(f"/fhir/Slot/{slots[0]}").json()["status"] == "free"
    other = demo_client.post("/portal/book", params=P2, data={"slot_id": slots[3]})
    assert other.status_code == 200
    taken = demo_client.post(f"/portal/appointments/{appt}/change", params=P2, data={"slot_id": slots[3]})
    assert taken.status_code == 409  # someone holds that slot; nothing changed
    assert demo_client.get(f"/fhir/Appointment/{appt}").json()["slot"] == [{"reference": f"Slot/{slots[2]}"}]


def test_patient_reads_visit_summaries_and_bills(demo_client: TestClient) -> None:
    visits = demo_client.get("/portal/visits", params={"patient": "demo-p006"})
    assert visits.status_code == 200
    assert "普通外科" in visits.text and "胆囊结石不伴有胆囊炎" in visits.text and "腹腔镜胆囊切除术" in visits.text
    assert re.search(r"状态:</span> (已结束|进行中|计划中)<", visits.text)  # the visit's status as people say it
    bills = demo_client.get("/portal/bills", params=P2)
    assert bills.status_code == 200
    assert re.search(r'id="grand-total">180.50<', bills.text)
    assert re.search(r"<caption>就诊 2026-\d\d-\d\d \d\d:\d\d 住院 · ", bills.text)  # the visit as the patient knows it
    assert "床位费" in bills.text and "120.00" in bills.text  # 2 days × 60.00
    assert "Bills" in demo_client.get("/portal/bills", params={**P2, "lang": "en"}).text


def test_patient_grants_and_withdraws_research_consent(demo_client: TestClient) -> None:
    page = demo_client.get("/portal/consent", params=P2).text
    assert re.findall(r'data-status="(\w+)"', page) == ["none", "none", "none"]
    granted = demo_client.post("/portal/consent/research", params=P2, data={"decision": "grant"})
    assert granted.status_code == 200 and 'data-consent="research" data-status="active"' in granted.text
    withdrawn = demo_client.post("/portal/consent/research", params=P2, data={"decision": "withdraw"})
    assert 'data-consent="research" data-status="inactive"' in withdrawn.text
    found = demo_client.get("/fhir/Consent", params={"patient": "Patient/demo-p002"}).json()
    [consent] = [e["resource"] for e in found["entry"]]
    assert consent["status"] == "inactive" and consent["meta"]["versionId"] == "2"
    assert consent["provision"]["purpose"][0]["code"] == "HRESCH"
    history = demo_client.get(f"/fhir/Consent/{consent['id']}/_history").json()
    assert [e["resource"]["status"] for e in history["entry"]] == ["inactive", "active"]
    assert demo_client.post("/portal/consent/marketing", params=P2, data={"decision": "grant"}).status_code == 400
    assert demo_client.post("/portal/consent/research", params=P2, data={"decision": "maybe"}).status_code == 400


def test_the_nurse_board_puts_the_nurses_own_wards_first_and_names_wards_without_beds(
    demo_client: TestClient,
) -> None:
    from dataclasses import replace

    from huitong.security.actor import Actor
    from huitong.web.pages.nurse import bed_board

    ward = {
        "resourceType": "Location",
        "id": "no-beds-ward",
        "status": "active",
        "name": "HL7 未映射病区",
        "physicalType": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "wa"}]
        },
    }
    assert demo_client.put("/fhir/Location/no-beds-ward", json=ward).status_code in (200, 201)
    board = demo_client.get("/nurse").text
    grid, _, below = board.partition('id="wards-without-beds"')
    assert 'aria-label="HL7 未映射病区"' not in grid and "HL7 未映射病区" in below
    services = demo_client.app.state.services  # type: ignore[attr-defined]
    everyone = bed_board(services, Actor.system("tests"))
    last = everyone[-1]  # a ward whose department is not first in name order
    assert last["department"]
    mine = bed_board(services, replace(Actor.system("tests"), department=last["department"]))
    assert mine[0]["id"] == last["id"] and mine[0]["own"] and not any(w["own"] for w in mine[1:])
    assert [w["id"] for w in mine[1:]] == [w["id"] for w in everyone if w["id"] != last["id"]]  # the rest unchanged


def test_nurse_task_list_doses_rounds_and_critical_values(demo_client: TestClient) -> None:
    tasks = demo_client.get("/nurse/tasks")
    assert tasks.status_code == 200
    for task in ("task-demo-p002-rx1-0", "task-demo-p002-rx1-1", "task-vitals-demo-p002", "task-alert-demo-p004-glu1"):
        assert f'id="{task}"' in tasks.text, task
    given = demo_client.post("/nurse/tasks/medication/demo-p002-rx1/given")
    assert given.status_code == 200 and "已执行给药" in given.text
    assert 'id="task-demo-p002-rx1-0"' not in given.text and 'id="task-demo-p002-rx1-1"' in given.text
    [dose] = [
        e["resource"]
        for e in demo_client.get(
            "/fhir/MedicationAdministration", params={"request": "MedicationRequest/demo-p002-rx1"}
        ).json()["entry"]
    ]
    assert dose["status"] == "completed" and dose["subject"] == {"reference": "Patient/demo-p002"}
    demo_client.post("/nurse/patient/demo-p002/vitals", data={"temperature": "36.8"})
    after = demo_client.get("/nurse/tasks").text
    assert 'id="task-vitals-demo-p002"' not in after and 'id="task-vitals-demo-p001"' in after
    taken = demo_client.post("/nurse/tasks/critical/demo-p004-glu1/acknowledge")
    assert taken.status_code == 200 and 'id="task-alert-demo-p004-glu1"' not in taken.text
    assert demo_client.post("/nurse/tasks/medication/nothing/given").status_code == 404


def test_vital_signs_chart_records_a_full_set(demo_client: TestClient) -> None:
    empty = demo_client.get("/nurse/patient/demo-p002")
    assert empty.status_code == 200 and "体温单" in empty.text and 'data-chart="tpr"' not in empty.text
    values = {"temperature": "38.2", "pulse": "96", "respiration": "20", "systolic": "132", "diastolic": "86"}
    saved = demo_client.post("/nurse/patient/demo-p002/vitals", data=values)
    assert saved.status_code == 200 and 'data-chart="tpr"' in saved.text
    chart = re.search(r'id="tpr-data">([^<]+)<', saved.text)
    assert chart and '"temperature":[["' in chart.group(1) and '"diastolic":[["' in chart.group(1)
    [panel] = [
        e["resource"]
        for e in demo_client.get(
            "/fhir/Observation", params={"subject": "Patient/demo-p002", "code": "85354-9"}
        ).json()["entry"]
    ]
    assert [c["valueQuantity"]["value"] for c in panel["component"]] == [132, 86]
    before = demo_client.get("/fhir/Observation", params={"subject": "Patient/demo-p002", "_summary": "count"})
    for bad in ({"temperature": "36.5", "systolic": "120"}, {"temperature": "45"}, {"pulse": "fast"}, {}):
        assert demo_client.post("/nurse/patient/demo-p002/vitals", data=bad).status_code == 400, bad
    after = demo_client.get("/fhir/Observation", params={"subject": "Patient/demo-p002", "_summary": "count"})
    assert after.json()["total"] == before.json()["total"]  # bad input stored nothing
    assert demo_client.get("/nurse/patient/nobody").status_code == 404


def test_operations_board_shows_theatre_utilisation(demo_client: TestClient) -> None:
    page = demo_client.get("/operations", params={"day": "2026-11-21"})
    assert page.status_code == 200
    assert re.search(r'id="theatre-rate">2.8<', page.text)  # 285 min of 3 theatres × 7 days × 480 min
    row = re.search(r'<tr data-theatre="第1手术间">(.*?)</tr>', page.text)
    assert row and ">2<" in row.group(1) and ">240<" in row.group(1) and ">08:10<" in row.group(1)
    assert demo_client.get("/operations", params={"day": "yesterday"}).status_code == 400


def test_a_patient_account_writes_its_own_consent_and_nothing_else(db_url: str) -> None:
    services = open_services(make_settings(db_url))
    try:
        load_demo(services.store)
        patient = Actor(id="patient:pt.li", kind=ActorKind.PATIENT, role="patient", patient_id="demo-p002")
        stored = set_consent(services, patient, "demo-p002", "research", grant=True)
        assert stored["status"] == "active" and stored["patient"] == {"reference": "Patient/demo-p002"}
        assert [c["status"] for c in consents(services, patient, "demo-p002")] == ["active", "none", "none"]
        with pytest.raises(FhirError) as refused:  # someone else's record
            set_consent(services, patient, "demo-p001", "research", grant=True)
        assert refused.value.status in (403, 404)
        observation = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
        with pytest.raises(FhirError) as refused:  # the patient role writes consents only
            services.store.create(patient, {**observation, "subject": {"reference": "Patient/demo-p002"}})
        assert refused.value.status == 403
    finally:
        services.close()


def test_nurse_station_lists_the_days_admissions_and_discharges(demo_client: TestClient) -> None:
    quiet = demo_client.get("/nurse").text
    assert "入院 (0)" in quiet and "出院 (0)" in quiet  # the demo stays began on 2026-11-20
    demo_client.post("/nurse/admit", data={"patient_id": "demo-p001", "bed_id": "demo-ward-2-bed-2"})
    stay = demo_client.get("/fhir/Encounter/demo-p003-enc1").json()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    stay.update(status="finished", period={**stay["period"], "end": now})
    assert demo_client.put("/fhir/Encounter/demo-p003-enc1", json=stay).status_code == 200
    board = demo_client.get("/nurse").text
    admissions = re.search(r'data-movement="admissions">(.*?)</div>', board, re.S)
    discharges = re.search(r'data-movement="discharges">(.*?)</div>', board, re.S)
    assert admissions and "王秀英" in admissions.group(1) and "(1)" in admissions.group(1)
    assert discharges and "张丽" in discharges.group(1)


def test_operations_board_shows_appointment_rate_and_waiting_time(demo_client: TestClient) -> None:
    demo_client.post("/portal/book", params=P2, data={"slot_id": "demo-slot-1-8"})
    home = demo_client.get("/portal", params=P2).text
    appt = re.findall(r'data-appointment="([^"]+)"', home)[0]
    demo_client.post(f"/portal/appointments/{appt}/check-in", params=P2)
    [visit] = [
        e["resource"]
        for e in demo_client.get("/fhir/Encounter", params={"appointment": f"Appointment/{appt}"}).json()["entry"]
    ]
    arrived = datetime.fromisoformat(visit["period"]["start"].replace("Z", "+00:00"))
    seen = (arrived + timedelta(minutes=15)).isoformat(timespec="seconds")
    visit.update(
        status="in-progress",
        statusHistory=[*visit["statusHistory"], {"status": "in-progress", "period": {"start": seen}}],
    )
    assert demo_client.put(f"/fhir/Encounter/{visit['id']}", json=visit).status_code == 200
    today = demo_client.get("/operations").text
    assert re.search(r'id="appointment-rate">100.0<', today) and re.search(r'id="waiting-median">15.0<', today)
    december = demo_client.get("/operations", params={"day": "2026-12-01"}).text
    assert re.search(r'data-appointment-status="arrived"><td>已到院</td><td class="num">1<', december)


INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


def test_a_critical_value_of_a_patient_in_no_bed_is_named_on_the_nurses_list(demo_client: TestClient) -> None:
    """A result for someone not (or not yet) in a bed of the nurse's wards — an outpatient, a patient the LIS knows
    under its own record — names the patient, not a resource id."""
    store = demo_client.app.state.services.store  # type: ignore[attr-defined]
    lab = Actor.system("tests-lis")
    store.transaction(
        lab,
        lambda tx: [
            tx.update(
                {"resourceType": "Patient", "id": "walk-in", "name": [{"family": "周", "given": ["敏"]}],
                 "gender": "female", "birthDate": "1990-05-01"},
                "walk-in",
            ),
            tx.update(
                {"resourceType": "Observation", "id": "walk-in-k", "status": "final",
                 "code": {"text": "血钾"}, "subject": {"reference": "Patient/walk-in"},
                 "valueQuantity": {"value": 6.9, "unit": "mmol/L"}, "issued": "2026-11-21T08:00:00+08:00",
                 "interpretation": [{"coding": [{"system": INTERPRETATION, "code": "HH"}]}]},
                "walk-in-k",
            ),
        ],
    )  # fmt: skip
    page = demo_client.get("/nurse/tasks").text
    row = page.split('id="task-alert-walk-in-k"')[1].split("</tr>")[0]
    assert "周敏" in row and "女" in row and "walk-in" not in row.split("<td")[1]
