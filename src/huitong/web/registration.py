"""Patient self-registration in the portal: an account bound to the patient's FHIR Patient.

1. The form is checked: name, gender, birth date, resident ID number (GB 11643 check character, and the birth
   date and sex it encodes must match the ones given), a mobile number (it becomes the login name) and a password
   that meets the password policy (``HUITONG_SECURITY__PASSWORD_*``).
2. Is the person already known to the hospital? Patients holding the same resident ID number (an exact search,
   which works on encrypted identifiers through their blind index), and the source Patients of the person the
   EMPI matches strongly (decision ``link``) are the hospital's records of this person; EMPI golden records and
   inactive Patients are never bound to.
3. **Not known**: a Patient is created (EMPI source system ``portal``, linked in the same transaction, so a
   possible duplicate goes to the EMPI review queue) together with the account — one transaction, nothing
   half-written.
4. **Known**: binding the account to that record needs two proofs beyond the ID number, which is written on
   many documents and so proves little: the mobile number given must be the one on file, and a one-time code
   sent by SMS to that number must be typed in (:func:`confirm`). The code goes to the SMS gateway
   (``HUITONG_PORTAL__SMS_GATEWAY_URL``); without one, development and test write it to this module's log —
   never to the page — and production refuses online binding and sends the patient to the registration desk.
   A record with no mobile number on file, or one already bound to an account, is refused the same way.

Everything runs as the system actor ``system:portal-registration`` (on behalf of the Patient once it is known)
and is audited: ``register`` (query ``new`` or ``bound``), ``register-code`` for each code sent, and refusals
(wrong number on file, wrong code) as minor failures naming the Patient, so takeover attempts stand out.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from huitong.empi import resident_id
from huitong.empi.errors import EmpiError
from huitong.empi.golden import is_golden
from huitong.empi.normalise import SourceRecord
from huitong.empi.patient import record_from_patient
from huitong.empi.phone import normalise_phone
from huitong.fhir.errors import FhirError
from huitong.fhir.transaction import Transaction
from huitong.identifiers import RESIDENT_ID_SYSTEM
from huitong.security import audit
from huitong.security.accounts import AccountError
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry, Outcome
from huitong.security.passwords import PasswordPolicyError, hash_password
from huitong.security.runtime import SecurityServices
from huitong.security.schema import sec_user
from huitong.services import Services
from huitong.settings import Environment
from huitong.web.schema import portal_registration

log = logging.getLogger(__name__)

SOURCE_SYSTEM = "portal"
_NAME = re.compile(r"[\u3400-\u9fffA-Za-z·•.' -]{2,40}")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_SHAPE_18 = re.compile(r"\d{17}[\dX]")


class RegistrationError(Exception):
    """A registration that cannot go on. ``key`` names the message in ``web/i18n.py`` (both languages, each saying
    what to do next); ``values`` fill in its placeholders; ``status`` is the HTTP status of the page."""

    def __init__(self, key: str, status: int = 400, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.status = status
        self.values = values


@dataclass(frozen=True)
class Applicant:
    """A checked registration form."""

    name: str
    gender: str
    birth_date: date
    resident_id: str
    phone: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Registered:
    """A finished registration: the account (login name = mobile number) and the Patient it is bound to."""

    user_id: str
    patient_id: str
    bound: bool  # True: an existing hospital record; False: a new Patient


@dataclass(frozen=True)
class PendingBinding:
    """A registration waiting for its one-time code: ``token`` goes back with the code; ``phone_hint`` is shown."""

    token: str = field(repr=False)
    phone_hint: str
    minutes: int


def check_form(security: SecurityServices, values: dict[str, str]) -> Applicant:
    """Check the form fields; raise :class:`RegistrationError` naming the first problem."""
    name = " ".join(values.get("name", "").split())
    if not _NAME.fullmatch(name):
        raise RegistrationError("reg_bad_name")
    gender = values.get("gender", "")
    if gender not in ("male", "female"):
        raise RegistrationError("reg_bad_gender")
    try:
        born = date.fromisoformat(values.get("birth_date", ""))
    except ValueError:
        raise RegistrationError("reg_bad_birth_date") from None
    number = resident_id.normalise(values.get("resident_id", ""))
    try:
        parsed = resident_id.parse(number)
    except resident_id.ResidentIdError:
        if _SHAPE_18.fullmatch(number) and resident_id.check_character(number[:17]) != number[17]:
            raise RegistrationError("reg_bad_check_character") from None
        raise RegistrationError("reg_bad_resident_id") from None
    if parsed.birth_date != born:
        raise RegistrationError("reg_birth_date_mismatch")
    if parsed.gender != gender:
        raise RegistrationError("reg_gender_mismatch")
    phone = normalise_phone(values.get("phone", "")) or ""
    if not _MOBILE.fullmatch(phone):
        raise RegistrationError("reg_bad_phone")
    password = values.get("password", "")
    if password != values.get("password_again", ""):
        raise RegistrationError("reg_password_mismatch")
    policy = security.accounts.policy
    try:
        policy.check(password, user_id=phone)
    except PasswordPolicyError:
        raise RegistrationError("reg_weak_password", length=policy.min_length, classes=policy.min_classes) from None
    return Applicant(name, gender, born, parsed.number, phone, password)


def _actor(source_address: str | None, request_id: str | None, patient_id: str | None = None) -> Actor:
    actor = Actor.system("portal-registration", source_address=source_address)
    return replace(actor, request_id=request_id, on_behalf_of=f"Patient/{patient_id}" if patient_id else None)


def _audit(security: SecurityServices, actor: Actor, entry: AuditEntry) -> None:
    security.db.write(lambda conn: audit.record(conn, actor, [entry]))


def hospital_records(services: Services, actor: Actor, applicant: Applicant) -> list[dict[str, Any]]:
    """The hospital's Patients of this person: same resident ID number, or the EMPI's strong match."""
    found = services.search.search(actor, "Patient", [("identifier", applicant.resident_id), ("_count", "50")])
    ids = [m.res_id for m in found.matches]
    probe = SourceRecord(
        record_id="portal-registration",
        source_system=SOURCE_SYSTEM,
        name=applicant.name,
        gender=applicant.gender,
        birth_date=applicant.birth_date.isoformat(),
        id_number=applicant.resident_id,
        phone=applicant.phone,
    )
    match = services.empi.match(probe)
    if match.decision == "link" and match.best is not None:
        ids += services.empi.patient_ids_of_person(match.best.person_id)
    records: list[dict[str, Any]] = []
    for pid in dict.fromkeys(ids):
        try:
            body = services.store.read(actor, "Patient", pid).resource()
        except FhirError:
            continue  # deleted meanwhile
        if not is_golden(body) and body.get("active", True) is not False:
            records.append(body)
    return records


def _phones(patient: dict[str, Any]) -> set[str]:
    out = set()
    for telecom in patient.get("telecom") or []:
        if telecom.get("system") in (None, "phone", "sms") and isinstance(telecom.get("value"), str):
            phone = normalise_phone(telecom["value"])
            if phone:
                out.add(phone)
    return out


def _login_taken(security: SecurityServices, user_id: str) -> bool:
    with security.db.read() as conn:  # inactive accounts count too: login names are never reused
        return conn.execute(sa.select(sec_user.c.user_id).where(sec_user.c.user_id == user_id)).first() is not None


def _bound_patients(security: SecurityServices, patient_ids: list[str]) -> set[str]:
    with security.db.read() as conn:
        rows = conn.execute(
            sa.select(sec_user.c.patient_id).where(sec_user.c.patient_id.in_(patient_ids), sec_user.c.is_active)
        ).all()
    return {r[0] for r in rows}


def register(
    services: Services,
    security: SecurityServices,
    applicant: Applicant,
    *,
    source_address: str | None = None,
    request_id: str | None = None,
) -> Registered | PendingBinding:
    """Register ``applicant``: a new Patient and account, or a one-time code on the way to bind to their record."""
    if not services.settings.portal.registration_enabled:
        raise RegistrationError("reg_closed", 404)
    if _login_taken(security, applicant.phone):
        raise RegistrationError("reg_phone_taken", 409)
    actor = _actor(source_address, request_id)
    records = hospital_records(services, actor, applicant)
    if not records:
        return _register_new(services, security, applicant, actor)
    ids = [str(r["id"]) for r in records]
    if _bound_patients(security, ids):
        raise RegistrationError("reg_account_exists", 409)
    matching = [r for r in records if applicant.phone in _phones(r)]
    if not matching:
        no_phone = not any(_phones(r) for r in records)
        reason = "no mobile number on file" if no_phone else "mobile number differs from the one on file"
        entry = AuditEntry("register", Outcome.MINOR_FAILURE, reason, entity_type="Patient", entity_id=ids[0])
        _audit(security, _actor(source_address, request_id, ids[0]), entry)
        raise RegistrationError("reg_no_phone_on_file" if no_phone else "reg_phone_mismatch", 409)
    return _send_code(services, security, applicant, str(matching[0]["id"]), source_address, request_id)


def _register_new(services: Services, security: SecurityServices, applicant: Applicant, actor: Actor) -> Registered:
    password_hash = hash_password(applicant.password)
    family, given = (applicant.name[:1], applicant.name[1:]) if not applicant.name.isascii() else ("", "")
    name: dict[str, Any] = {"use": "official", "text": applicant.name}
    if family and given:
        name |= {"family": family, "given": [given]}
    body: dict[str, Any] = {
        "resourceType": "Patient",
        "meta": {"source": f"urn:huitong:source:{SOURCE_SYSTEM}"},
        "identifier": [{"use": "official", "system": RESIDENT_ID_SYSTEM, "value": applicant.resident_id}],
        "active": True,
        "name": [name],
        "telecom": [{"system": "phone", "value": applicant.phone, "use": "mobile"}],
        "gender": applicant.gender,
        "birthDate": applicant.birth_date.isoformat(),
    }

    def work(tx: Transaction) -> str:
        patient_id = tx.create(body).res_id
        record = record_from_patient({**body, "id": patient_id}, SOURCE_SYSTEM, patient_id)
        services.empi.link_in(tx, record, patient_id=patient_id)
        security.accounts.insert(
            tx.conn,
            actor,
            user_id=applicant.phone,
            display_name=applicant.name,
            role="patient",
            password_hash=password_hash,
            patient_id=patient_id,
        )
        tx.audit_entries.append(AuditEntry("register", entity_type="Patient", entity_id=patient_id, query="new"))
        return patient_id

    try:
        patient_id = services.store.transaction(actor, work)
    except AccountError:
        raise RegistrationError("reg_phone_taken", 409) from None  # taken meanwhile; nothing was written
    except EmpiError:
        log.exception("the EMPI could not link a portal registration")
        raise RegistrationError("reg_failed", 503) from None
    return Registered(applicant.phone, patient_id, bound=False)


def _code_hash(security: SecurityServices, token: str, code: str) -> str:
    key = security.settings.security.secret_key.get_secret_value().encode()
    return hmac.new(key, f"portal-code:{token}:{code}".encode(), hashlib.sha256).hexdigest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mask_phone(phone: str) -> str:
    """``13900139002`` → ``139****9002``."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "****"


def _send_code(
    services: Services,
    security: SecurityServices,
    applicant: Applicant,
    patient_id: str,
    source_address: str | None,
    request_id: str | None,
) -> PendingBinding:
    portal = services.settings.portal
    if not portal.sms_gateway_url and services.settings.env is Environment.PRODUCTION:
        raise RegistrationError("reg_no_sms", 503)
    now = security.clock()
    token, code = secrets.token_urlsafe(32), f"{secrets.randbelow(10**6):06d}"
    password_hash = hash_password(applicant.password)
    row = {
        "token_hash": _token_hash(token),
        "patient_id": patient_id,
        "user_id": applicant.phone,
        "display_name": applicant.name,
        "password_hash": password_hash,
        "code_hash": _code_hash(security, token, code),
        "phone_hint": mask_phone(applicant.phone),
        "created": now,
        "expires": now + timedelta(minutes=portal.code_minutes),
        "attempts": 0,
        "status": "pending",
    }
    actor = _actor(source_address, request_id, patient_id)

    def job(conn: sa.Connection) -> bool:
        conn.execute(sa.delete(portal_registration).where(portal_registration.c.expires < now - timedelta(days=1)))
        sent = conn.execute(
            sa.select(sa.func.count())
            .select_from(portal_registration)
            .where(
                portal_registration.c.patient_id == patient_id, portal_registration.c.created > now - timedelta(hours=1)
            )
        ).scalar_one()
        if sent >= portal.codes_per_hour:
            return False
        conn.execute(portal_registration.insert().values(**row))
        entry = AuditEntry("register-code", entity_type="Patient", entity_id=patient_id, query="sms")
        audit.record(conn, actor, [entry])
        return True

    if not security.db.write(job):
        raise RegistrationError("reg_too_many_codes", 429)
    try:
        send_sms(services, applicant.phone, code)
    except httpx.HTTPError:
        log.exception("the SMS gateway did not take the one-time code")
        security.db.write(
            lambda conn: conn.execute(
                portal_registration.update()
                .where(portal_registration.c.token_hash == row["token_hash"])
                .values(status="failed")
            )
        )
        raise RegistrationError("reg_sms_failed", 502) from None
    return PendingBinding(token, mask_phone(applicant.phone), portal.code_minutes)


def send_sms(services: Services, phone: str, code: str) -> None:
    """Send the one-time code: to the SMS gateway if one is set, else (development, test) to the log."""
    portal = services.settings.portal
    text = f"【汇通】您的注册验证码为 {code}，{portal.code_minutes} 分钟内有效。如非本人操作，请忽略。"
    if portal.sms_gateway_url:
        token = portal.sms_gateway_token.get_secret_value() if portal.sms_gateway_token else ""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.post(portal.sms_gateway_url, json={"phone": phone, "text": text}, headers=headers, timeout=10)
        response.raise_for_status()
        return
    # No gateway (refused in production before a code is made): development and test write the code to the log.
    log.warning("no SMS gateway set: one-time code for %s is %s", mask_phone(phone), code)


def confirm(
    services: Services,
    security: SecurityServices,
    token: str,
    code: str,
    *,
    source_address: str | None = None,
    request_id: str | None = None,
) -> Registered:
    """Check the one-time code of a pending registration; when right, create the account bound to the record."""
    now = security.clock()
    token_hash = _token_hash(token)
    with security.db.read() as conn:
        row = conn.execute(sa.select(portal_registration).where(portal_registration.c.token_hash == token_hash)).first()
    expires = row.expires if row is not None else None
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=now.tzinfo)
    if row is None or row.status != "pending" or expires is None or expires <= now:
        raise RegistrationError("reg_code_expired", 410)
    actor = _actor(source_address, request_id, row.patient_id)
    if not hmac.compare_digest(_code_hash(security, token, code.strip()), row.code_hash):
        attempts = row.attempts + 1
        left = services.settings.portal.code_attempts - attempts
        entry = AuditEntry(
            "register", Outcome.MINOR_FAILURE, "wrong one-time code", entity_type="Patient", entity_id=row.patient_id
        )

        def fail(conn: sa.Connection) -> None:
            conn.execute(
                portal_registration.update()
                .where(portal_registration.c.token_hash == token_hash)
                .values(attempts=attempts, status="pending" if left > 0 else "failed")
            )
            audit.record(conn, actor, [entry])

        security.db.write(fail)
        if left <= 0:
            raise RegistrationError("reg_code_expired", 410)
        raise RegistrationError("reg_bad_code", 400, left=left)

    def work(tx: Transaction) -> None:
        taken = tx.conn.execute(
            portal_registration.update()
            .where(portal_registration.c.token_hash == token_hash, portal_registration.c.status == "pending")
            .values(status="done")
        ).rowcount
        if taken != 1:
            raise RegistrationError("reg_code_expired", 410)  # used by a concurrent request
        bound = tx.conn.execute(
            sa.select(sec_user.c.user_id).where(sec_user.c.patient_id == row.patient_id, sec_user.c.is_active)
        ).first()
        if bound is not None:
            raise RegistrationError("reg_account_exists", 409)
        security.accounts.insert(
            tx.conn,
            actor,
            user_id=row.user_id,
            display_name=row.display_name,
            role="patient",
            password_hash=row.password_hash,
            patient_id=row.patient_id,
        )
        tx.audit_entries.append(AuditEntry("register", entity_type="Patient", entity_id=row.patient_id, query="bound"))

    try:
        services.store.transaction(actor, work)
    except AccountError:
        raise RegistrationError("reg_phone_taken", 409) from None
    return Registered(row.user_id, row.patient_id, bound=True)
