"""Patient portal: consent to research use, regional sharing and follow-up messages (FHIR ``Consent``).

Consents are the patient's own declarations: they are written with the patient as the actor (the patient role may
write ``Consent`` and nothing else, and only in their own compartment). A withdrawal keeps the Consent as a new
version with status ``inactive``, so the history shows when consent was given and withdrawn.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from huitong.deps import ServicesDep
from huitong.fhir import errors, jsonio
from huitong.fhir.stored import instant
from huitong.security.actor import Actor
from huitong.services import Services
from huitong.times import CHINA
from huitong.web.access import PageActor, require_area
from huitong.web.pages.portal import patient_of, portal_context
from huitong.web.render import language, render

router = APIRouter(prefix="/portal", include_in_schema=False)
CONSENT_PURPOSE = "urn:huitong:consent-purpose"
#: The consents a patient manages: key, zh, en, what the consent permits (FHIR ``Consent.provision.purpose``).
CONSENT_PURPOSES = (
    (
        "research",
        "同意将本人去标识化数据用于医学研究",
        "My de-identified data may be used for medical research",
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
            "code": "HRESCH",
            "display": "healthcare research",
        },
    ),
    (
        "regional-sharing",
        "同意在区域卫生信息平台共享本人诊疗记录",
        "My records may be shared with the regional health information platform",
        {"system": CONSENT_PURPOSE, "code": "regional-sharing", "display": "区域平台共享"},
    ),
    (
        "follow-up",
        "同意接收随访与健康宣教信息",
        "I agree to receive follow-up calls and health education messages",
        {"system": CONSENT_PURPOSE, "code": "follow-up", "display": "随访与健康宣教"},
    ),
)


def _consent_id(patient_id: str, purpose: str) -> str:
    text = f"consent-{purpose}-{patient_id}"
    return text if len(text) <= 64 else f"consent-{hashlib.sha256(text.encode()).hexdigest()[:40]}"


def _china_time(text: object) -> str:
    """An instant as China time to the minute (consent times are stored in UTC)."""
    if not isinstance(text, str):
        return ""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return text


def consents(services: Services, actor: Actor, patient_id: str) -> list[dict[str, Any]]:
    """Each consent the portal manages with its current state (``active``, ``inactive`` = withdrawn, or none)."""
    found = services.search.search(actor, "Consent", [("patient", f"Patient/{patient_id}"), ("_count", "100")])
    current = {s.res_id: jsonio.loads_fast(s.content or b"{}") for s in found.matches}
    out = []
    for key, zh, en, _purpose in CONSENT_PURPOSES:
        body = current.get(_consent_id(patient_id, key), {})
        out.append(
            {
                "key": key,
                "zh": zh,
                "en": en,
                "status": body.get("status", "none"),
                "since": _china_time(body.get("dateTime")),
                "version": (body.get("meta") or {}).get("versionId", ""),
            }
        )
    return out


def set_consent(services: Services, actor: Actor, patient_id: str, key: str, *, grant: bool) -> dict[str, Any]:
    """Grant or withdraw one consent, as the patient: a FHIR Consent (withdrawal keeps it as ``inactive``)."""
    purpose = next((p for p in CONSENT_PURPOSES if p[0] == key), None)
    if purpose is None:
        raise errors.invalid(f"unknown consent {key!r}; choose one of {', '.join(p[0] for p in CONSENT_PURPOSES)}")
    _key, zh, _en, coding = purpose
    consent_id = _consent_id(patient_id, key)
    body: dict[str, Any] = {
        "resourceType": "Consent",
        "id": consent_id,
        "status": "active" if grant else "inactive",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "research" if key == "research" else "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": {"reference": f"Patient/{patient_id}"},
        "dateTime": instant(datetime.now(UTC)),
        "performer": [{"reference": f"Patient/{patient_id}"}],
        "policyRule": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}],
            "text": zh,
        },
        "provision": {"type": "permit", "purpose": [coding]},
    }
    stored, _created = services.store.update(actor, "Consent", consent_id, body)
    return stored.resource()


_MESSAGES = {
    "granted": ("已同意", "Consent given"),
    "withdrawn": ("已撤回同意", "Consent withdrawn"),
}


def _message(request: Request, key: str) -> str:
    zh, en = _MESSAGES[key]
    return en if language(request) == "en" else zh


def _consent_page(request: Request, services: Services, actor: Actor, message: str | None = None) -> Response:
    patient_id = patient_of(actor, request)
    items = consents(services, actor, patient_id)
    return render(
        request,
        "portal/consent.html",
        {"consents": items, "message": message, **portal_context(request, actor, patient_id, "consent")},
        actor=actor,
    )


@router.get("/consent")
def consent_page(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """The consents the patient has given or withdrawn, with buttons to change each."""
    require_area(actor, "portal")
    return _consent_page(request, services, actor)


@router.post("/consent/{key}")
async def consent_form(
    key: str, request: Request, services: ServicesDep, actor: PageActor, decision: str = Form(...)
) -> Response:
    """Grant (``decision=grant``) or withdraw (``decision=withdraw``) one consent."""
    require_area(actor, "portal")
    if decision not in ("grant", "withdraw"):
        raise errors.invalid("decision is grant or withdraw")
    pid = patient_of(actor, request)
    await run_in_threadpool(set_consent, services, actor, pid, key, grant=decision == "grant")
    message = _message(request, "granted" if decision == "grant" else "withdrawn")
    return await run_in_threadpool(_consent_page, request, services, actor, message)
