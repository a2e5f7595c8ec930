"""Patient portal: self-registration pages (mobile-first), open to anyone — the only portal pages that are.

``GET /portal/register`` shows the form; ``POST /portal/register`` registers (a new record and account) or, for a
patient the hospital already knows, sends a one-time code and shows ``POST /portal/register/verify``'s form. The
rules are in :mod:`huitong.web.registration`.

Like the login form, the visitor has no session yet: the forms carry a random CSRF token that must equal the one
in a short-lived ``SameSite=Strict`` cookie (double submit), and every POST counts against the per-address rate
limit of the login (``HUITONG_SECURITY__LOGIN_RATE_PER_MINUTE``).
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from huitong.deps import ServicesDep
from huitong.security.deps import CsrfError, security_of
from huitong.security.runtime import SecurityServices
from huitong.services import Services
from huitong.web.registration import PendingBinding, RegistrationError, check_form, confirm, register
from huitong.web.render import render

router = APIRouter(prefix="/portal/register", include_in_schema=False)
CSRF_COOKIE = "huitong_register_csrf"
FIELDS = {"name": 40, "gender": 8, "birth_date": 10, "resident_id": 24, "phone": 20}
SECRET_FIELDS = {"password": 256, "password_again": 256}


def _security(request: Request) -> SecurityServices:
    security = security_of(request)
    if security is None:
        raise RuntimeError("security services are not open")
    return security


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _policy(security: SecurityServices) -> dict[str, int]:
    policy = security.accounts.policy
    return {"length": policy.min_length, "classes": policy.min_classes}


def _closed(services: Services) -> None:
    if not services.settings.portal.registration_enabled:
        raise RegistrationError("reg_closed", 404)


def _form_page(
    request: Request,
    security: SecurityServices,
    csrf: str,
    values: dict[str, str],
    error: RegistrationError | None = None,
) -> Response:
    context: dict[str, Any] = {
        "reg_csrf": csrf,
        "values": values,
        "error": error,
        "policy": _policy(security),
    }
    return render(request, "portal/register.html", context, status=error.status if error else 200)


def _with_cookie(response: Response, security: SecurityServices, csrf: str) -> Response:
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=1800,
        httponly=True,
        secure=security.settings.security.cookie_secure,
        samesite="strict",
        path="/portal/register",
    )
    return response


async def _checked_form(request: Request, security: SecurityServices) -> tuple[FormData, str]:
    await security.login_limiter.hit_exact_async(f"register:{_client(request)}")
    form = await request.form()
    given, expected = str(form.get("csrf", "")), request.cookies.get(CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
        raise CsrfError("the registration form expired; reload it and fill it in again")
    return form, expected


@router.get("")
def register_page(request: Request, services: ServicesDep) -> Response:
    """The registration form (sets the form's CSRF cookie)."""
    security = _security(request)
    csrf = secrets.token_urlsafe(24)
    try:
        _closed(services)
    except RegistrationError as exc:
        return _form_page(request, security, csrf, {}, exc)
    return _with_cookie(_form_page(request, security, csrf, {}), security, csrf)


@router.post("")
async def register_form(request: Request, services: ServicesDep) -> Response:
    """Register: a new account (and record), or the one-time code form when the hospital knows the patient."""
    security = _security(request)
    form, csrf = await _checked_form(request, security)
    values = {key: str(form.get(key, ""))[:limit] for key, limit in FIELDS.items()}
    secret = {key: str(form.get(key, ""))[:limit] for key, limit in SECRET_FIELDS.items()}
    try:
        _closed(services)
        applicant = check_form(security, {**values, **secret})
        outcome = await run_in_threadpool(
            lambda: register(
                services,
                security,
                applicant,
                source_address=_client(request),
                request_id=getattr(request.state, "request_id", None),
            )
        )
    except RegistrationError as exc:
        return _form_page(request, security, csrf, values, exc)
    if isinstance(outcome, PendingBinding):
        context = {"reg_csrf": csrf, "pending": outcome, "error": None}
        return render(request, "portal/register_verify.html", context)
    response = render(request, "portal/register_done.html", {"registered": outcome}, status=201)
    response.delete_cookie(CSRF_COOKIE, path="/portal/register")
    return response


@router.post("/verify")
async def verify_form(request: Request, services: ServicesDep) -> Response:
    """Check the one-time code and finish binding the account to the hospital record."""
    security = _security(request)
    form, csrf = await _checked_form(request, security)
    token, code = str(form.get("token", ""))[:64], str(form.get("code", ""))[:12]
    hint, minutes = str(form.get("phone_hint", ""))[:16], services.settings.portal.code_minutes
    try:
        registered = await run_in_threadpool(
            lambda: confirm(
                services,
                security,
                token,
                code,
                source_address=_client(request),
                request_id=getattr(request.state, "request_id", None),
            )
        )
    except RegistrationError as exc:
        if exc.key != "reg_bad_code":  # the registration is over: start again from the form
            return _form_page(request, security, csrf, {}, exc)
        context = {"reg_csrf": csrf, "pending": PendingBinding(token, hint, minutes), "error": exc}
        return render(request, "portal/register_verify.html", context, status=exc.status)
    response = render(request, "portal/register_done.html", {"registered": registered}, status=201)
    response.delete_cookie(CSRF_COOKIE, path="/portal/register")
    return response
