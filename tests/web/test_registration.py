"""Patient self-registration over HTTP, on both backends: a new patient, binding to a hospital record only with the
second proof (mobile number on file and the SMS code), refusals that say what to do next, CSRF and rate limits."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from starlette.testclient import TestClient

from huitong.app import create_app
from huitong.db.schema import audit_event
from huitong.demo.seed import load_demo
from huitong.empi.resident_id import build
from huitong.empi.schema import empi_record
from huitong.security.schema import sec_user
from huitong.services import Services, open_services
from huitong.web.pages.registration import CSRF_COOKIE
from huitong.web.registration import RegistrationError, confirm
from tests.conftest import make_settings

PASSWORD = "Spring-Rain-2026!"
NEW_ID = build("110101", date(1992, 5, 17), 321, "female")
#: demo-p002 (李伟) as the demo hospital registered him: resident ID, mobile number on file.
LI_WEI = {
    "name": "李伟",
    "gender": "male",
    "birth_date": "1978-11-02",
    "resident_id": build("310104", date(1978, 11, 2), 102, "male"),
    "phone": "13900139002",
}


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with small parameters, so the tests stay fast (production uses RFC 9106's)."""
    monkeypatch.setattr(
        "huitong.security.passwords._HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def _client(db_url: str, **security: Any) -> Iterator[tuple[TestClient, Services]]:
    settings = make_settings(db_url, security=security)
    services = open_services(settings)
    load_demo(services.store)
    try:
        with TestClient(create_app(settings, services=services), base_url="https://testserver") as client:
            yield client, services
    finally:
        services.close()


@pytest.fixture
def site(db_url: str) -> Iterator[tuple[TestClient, Services]]:
    """The real app (no anonymous access) on the demo hospital, and its services."""
    yield from _client(db_url)


def _form(client: TestClient, path: str = "/portal/register") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.findall(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return str(found[-1])  # the form's (a signed-in page also has the header's sign-out form first)


def _new_patient(**changes: str) -> dict[str, str]:
    return {
        "name": "周晓梅",
        "gender": "female",
        "birth_date": "1992-05-17",
        "resident_id": NEW_ID,
        "phone": "13512345678",
        "password": PASSWORD,
        "password_again": PASSWORD,
        **changes,
    }


def _register(client: TestClient, data: dict[str, str], **params: str) -> Any:
    csrf = _form(client)
    return client.post("/portal/register", params=params, data={**data, "csrf": csrf})


def _error(page: str) -> str:
    found = re.search(r'data-error="([^"]+)"', page)
    return found.group(1) if found else ""


def _accounts(services: Services) -> dict[str, str | None]:
    with services.db.read() as conn:
        return {r.user_id: r.patient_id for r in conn.execute(sa.select(sec_user.c.user_id, sec_user.c.patient_id))}


def _audit(services: Services, interaction: str) -> list[Any]:
    with services.db.read() as conn:
        return list(
            conn.execute(
                sa.select(audit_event).where(audit_event.c.interaction == interaction).order_by(audit_event.c.seq)
            )
        )


def _sign_in(client: TestClient, user: str, password: str = PASSWORD) -> None:
    page = client.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    answer = client.post(
        "/login",
        data={"csrf": found.group(1), "user_id": user, "password": password, "next": "/portal"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith("/portal")


def test_a_new_patient_registers_signs_in_and_sees_only_their_own_records(site: tuple[TestClient, Services]) -> None:
    client, services = site
    form = client.get("/portal/register")
    assert form.status_code == 200 and 'name="resident_id"' in form.text
    assert client.cookies.get(CSRF_COOKIE)
    done = _register(client, _new_patient(phone="135 1234 5678"))
    assert done.status_code == 201, done.text
    assert "13512345678" in done.text and "注册成功" in done.text
    patient_id = _accounts(services)["13512345678"]
    assert patient_id
    with services.db.read() as conn:
        record = conn.execute(sa.select(empi_record).where(empi_record.c.patient_id == patient_id)).one()
    assert record.record_key == f"portal|{patient_id}"  # linked in the EMPI as the portal's record
    [registered] = _audit(services, "register")
    assert (registered.actor_id, registered.entity_id, registered.query) == (
        "system:portal-registration",
        patient_id,
        "new",
    )
    assert [r.entity_id for r in _audit(services, "user-create")] == ["13512345678"]

    _sign_in(client, "13512345678")
    home = client.get("/portal")
    assert home.status_code == 200 and "周晓梅" in home.text
    assert "mmol/L" not in home.text  # the demo inpatients' results are not theirs
    own = client.get("/fhir/Patient")
    assert [e["resource"]["id"] for e in own.json().get("entry", [])] == [patient_id]
    assert own.json()["entry"][0]["resource"]["birthDate"] == "1992-05-17"
    assert client.get("/fhir/Observation").json().get("entry", []) == []
    assert client.get("/fhir/Patient/demo-p001").status_code == 404
    assert client.get("/doctor").status_code == 403


def test_a_hospital_record_is_bound_only_with_the_mobile_number_on_file_and_the_sms_code(
    site: tuple[TestClient, Services], caplog: pytest.LogCaptureFixture
) -> None:
    client, services = site
    li_wei = {**LI_WEI, "password": PASSWORD, "password_again": PASSWORD}
    wrong = _register(client, {**li_wei, "phone": "13811112222"})
    assert wrong.status_code == 409 and _error(wrong.text) == "reg_phone_mismatch"
    assert "服务台" in wrong.text  # says what to do next
    assert "13811112222" not in _accounts(services)
    refused = _audit(services, "register")
    assert [(r.outcome, r.entity_id) for r in refused] == [("4", "demo-p002")]

    caplog.set_level(logging.WARNING, logger="huitong.web.registration")
    pending = _register(client, li_wei)
    assert pending.status_code == 200 and "139****9002" in pending.text
    [code] = re.findall(r"one-time code for 139\*\*\*\*9002 is (\d{6})", caplog.text)
    assert code not in pending.text  # the code goes by SMS (here: the log), never to the page
    assert "13900139002" not in _accounts(services)  # nothing bound before the code is given
    token = re.search(r'name="token" value="([^"]+)"', pending.text)
    csrf = re.search(r'name="csrf" value="([^"]+)"', pending.text)
    assert token and csrf
    fields = {"csrf": csrf.group(1), "token": token.group(1), "phone_hint": "139****9002"}
    bad = client.post("/portal/register/verify", data={**fields, "code": f"{(int(code) + 1) % 10**6:06d}"})
    assert bad.status_code == 400 and _error(bad.text) == "reg_bad_code" and "4" in bad.text
    assert "13900139002" not in _accounts(services)
    done = client.post("/portal/register/verify", data={**fields, "code": code})
    assert done.status_code == 201, done.text
    assert _accounts(services)["13900139002"] == "demo-p002"  # the hospital's record, no duplicate
    with services.db.read() as conn:
        portal_records = conn.execute(sa.select(empi_record).where(empi_record.c.source_system == "portal")).all()
    assert portal_records == []
    assert [(r.outcome, r.query) for r in _audit(services, "register")][-1] == ("0", "bound")
    assert [r.entity_id for r in _audit(services, "register-code")] == ["demo-p002"]
    assert client.post("/portal/register/verify", data={**fields, "code": code}).status_code == 403  # form closed
    with pytest.raises(RegistrationError) as used:  # and a code works once
        confirm(services, client.app.state.security, token.group(1), code)  # type: ignore[attr-defined]
    assert used.value.key == "reg_code_expired"

    _sign_in(client, "13900139002")
    assert "5.4 mmol/L" in client.get("/portal").text  # his own result, from the hospital record
    bills = client.get("/portal/bills")
    assert bills.status_code == 200 and "180.50" in bills.text
    twice = _register(client, {**li_wei, "phone": "13700001111"})
    assert twice.status_code == 409 and _error(twice.text) == "reg_account_exists"


def test_wrong_codes_use_up_the_registration(
    site: tuple[TestClient, Services], caplog: pytest.LogCaptureFixture
) -> None:
    client, services = site
    caplog.set_level(logging.WARNING, logger="huitong.web.registration")
    pending = _register(client, {**LI_WEI, "password": PASSWORD, "password_again": PASSWORD}).text
    [code] = re.findall(r"one-time code for \S+ is (\d{6})", caplog.text)
    token = re.search(r'name="token" value="([^"]+)"', pending)
    csrf = re.search(r'name="csrf" value="([^"]+)"', pending)
    assert token and csrf
    fields = {"csrf": csrf.group(1), "token": token.group(1)}
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    answers = [client.post("/portal/register/verify", data={**fields, "code": wrong}) for _ in range(5)]
    assert [a.status_code for a in answers] == [400, 400, 400, 400, 410]
    late = client.post("/portal/register/verify", data={**fields, "code": code})
    assert late.status_code == 410 and "13900139002" not in _accounts(services)
    assert len([r for r in _audit(services, "register") if r.outcome == "4"]) == 5


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"resident_id": NEW_ID[:17] + ("0" if NEW_ID[17] != "0" else "1")}, "reg_bad_check_character"),
        ({"resident_id": "11010119920517"}, "reg_bad_resident_id"),
        ({"birth_date": "1992-05-18"}, "reg_birth_date_mismatch"),
        ({"gender": "male"}, "reg_gender_mismatch"),
        ({"phone": "12345"}, "reg_bad_phone"),
        ({"password": "password", "password_again": "password"}, "reg_weak_password"),
        ({"password": "springrain2026", "password_again": "springrain2026"}, "reg_weak_password"),
        ({"password_again": PASSWORD + "x"}, "reg_password_mismatch"),
        ({"name": "1"}, "reg_bad_name"),
    ],
)
def test_bad_input_is_refused_with_what_to_do_and_nothing_is_written(
    site: tuple[TestClient, Services], change: dict[str, str], error: str
) -> None:
    client, services = site
    answer = _register(client, _new_patient(**change))
    assert answer.status_code == 400 and _error(answer.text) == error, answer.text
    assert 'value="13512345678"' in answer.text or "phone" in change  # the form keeps what was typed …
    assert PASSWORD not in answer.text  # … but never the password
    assert "13512345678" not in _accounts(services)
    assert _audit(services, "register") == []


def test_errors_are_in_english_too(site: tuple[TestClient, Services]) -> None:
    client, _ = site
    answer = _register(client, _new_patient(resident_id=NEW_ID[:17] + ("0" if NEW_ID[17] != "0" else "1")), lang="en")
    assert "Compare it with your card digit by digit" in answer.text
    weak = _register(client, _new_patient(password="short", password_again="short"), lang="en")
    assert "Choose another one" in weak.text and "at least 12 characters" in weak.text


def test_the_form_needs_its_csrf_token(site: tuple[TestClient, Services]) -> None:
    client, services = site
    client.get("/portal/register")
    assert client.post("/portal/register", data=_new_patient()).status_code == 403  # no token in the form
    assert client.post("/portal/register", data={**_new_patient(), "csrf": "forged"}).status_code == 403
    client.cookies.clear()
    assert client.post("/portal/register", data={**_new_patient(), "csrf": "forged"}).status_code == 403  # no cookie
    assert client.post("/portal/register/verify", data={"csrf": "x", "token": "y", "code": "1"}).status_code == 403
    assert "13512345678" not in _accounts(services)


def test_registration_is_rate_limited_per_address(db_url: str) -> None:
    for client, _services in _client(db_url, login_rate_per_minute=2):
        csrf = _form(client)
        answers = [client.post("/portal/register", data={**_new_patient(phone="12"), "csrf": csrf}) for _ in range(3)]
        assert [a.status_code for a in answers] == [400, 400, 429]
        assert "retry after" in answers[2].text


def test_a_phone_number_registers_once(site: tuple[TestClient, Services]) -> None:
    client, _ = site
    assert _register(client, _new_patient()).status_code == 201
    other = build("110101", date(1990, 1, 1), 10, "male")
    again = _register(client, _new_patient(resident_id=other, birth_date="1990-01-01", gender="male"))
    assert again.status_code == 409 and _error(again.text) == "reg_phone_taken"


def _li_wei_pending(client: TestClient) -> Any:
    return _register(client, {**LI_WEI, "password": PASSWORD, "password_again": PASSWORD})


def test_codes_go_to_the_sms_gateway(db_url: str) -> None:
    received: list[dict[str, Any]] = []

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"auth": self.headers.get("Authorization"), **json.loads(body)})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    gateway = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=gateway.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{gateway.server_address[1]}/sms"
        settings = make_settings(db_url, portal={"sms_gateway_url": url, "sms_gateway_token": "gw-token"})
        services = open_services(settings)
        load_demo(services.store)
        try:
            app = create_app(settings, services=services)
            with TestClient(app, base_url="https://testserver") as client:
                pending = _li_wei_pending(client)
                assert pending.status_code == 200, pending.text
                [sms] = received
                assert sms["phone"] == "13900139002" and sms["auth"] == "Bearer gw-token"
                code = re.search(r"\d{6}", sms["text"])
                assert code and code.group(0) not in pending.text
        finally:
            services.close()
    finally:
        gateway.shutdown()
        gateway.server_close()


def test_without_a_gateway_production_sends_the_patient_to_the_desk(db_url: str) -> None:
    settings = make_settings(db_url, env="production")
    services = open_services(settings)
    load_demo(services.store)
    try:
        with TestClient(create_app(settings, services=services), base_url="https://testserver") as client:
            answer = _li_wei_pending(client)
            assert answer.status_code == 503 and _error(answer.text) == "reg_no_sms"
            assert "服务台" in answer.text
            assert _register(client, _new_patient()).status_code == 201  # new patients need no code
    finally:
        services.close()
