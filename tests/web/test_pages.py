"""The role pages in-process on both backends: what each shows and what each action stores."""

from __future__ import annotations

import re

from starlette.testclient import TestClient


def test_doctor_workbench_lists_inpatients_and_open_critical_values(demo_client: TestClient) -> None:
    page = demo_client.get("/doctor")
    assert page.status_code == 200
    assert "王秀英" in page.text and "刘强" in page.text
    assert 'id="alert-demo-p004-glu1"' in page.text  # glucose 11.8 mmol/L flagged HH by the LIS


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
    assert demo_client.get("/doctor/patient/nobody").status_code == 404
    assert "Doctor" in demo_client.get("/doctor/patient/demo-p004", params={"lang": "en"}).text


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
    page = demo_client.get("/operations")
    assert page.status_code == 200 and "25.0" in page.text  # 1 of 4 beds occupied per ward


def test_patient_books_checks_in_cancels_and_answers_survey(demo_client: TestClient) -> None:
    home = demo_client.get("/portal", params={"patient": "demo-p002"}).text
    slots = re.findall(r'option value="(demo-slot-[^"]+)"', home)
    assert len(slots) == 15
    booked = demo_client.post("/portal/book", params={"patient": "demo-p002"}, data={"slot_id": slots[0]})
    assert booked.status_code == 200 and "booked" in booked.text
    assert slots[0] not in re.findall(r'option value="(demo-slot-[^"]+)"', booked.text)
    appt = re.findall(r'data-appointment="([^"]+)"', booked.text)[0]
    arrived = demo_client.post(f"/portal/appointments/{appt}/check-in", params={"patient": "demo-p002"})
    assert "arrived" in arrived.text
    assert demo_client.post(f"/portal/appointments/{appt}/cancel", params={"patient": "demo-p002"}).status_code == 409
    second = demo_client.post("/portal/book", params={"patient": "demo-p002"}, data={"slot_id": slots[1]}).text
    other = next(a for a in re.findall(r'data-appointment="([^"]+)"', second) if a != appt)
    cancelled = demo_client.post(f"/portal/appointments/{other}/cancel", params={"patient": "demo-p002"})
    assert "cancelled" in cancelled.text and slots[1] in cancelled.text  # the slot is free again
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
