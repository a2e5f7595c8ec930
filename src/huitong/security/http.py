"""The security pages and endpoints: login, second factor, password change, logout, the OAuth token
endpoint, break-the-glass, and the auditor's pages. Server-rendered (Jinja2), Chinese by default.

Every form carries a CSRF token: before login a random token in a short-lived cookie and the form (double
submit); after login the session's own token. Login and token requests are rate-limited per address.
"""

from __future__ import annotations

import base64
import logging
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from huitong.fhir import jsonio
from huitong.fhir.errors import Issue
from huitong.fhir.outcome import operation_outcome
from huitong.security import totp
from huitong.security.actor import Actor, ActorKind
from huitong.security.audit import AuditEntry, Outcome, record
from huitong.security.audit_review import anomaly_report, search_audit, to_csv
from huitong.security.break_glass import BreakGlassError
from huitong.security.deps import CsrfError, NotAuthenticatedError, actor_from_request, check_csrf, security_of
from huitong.security.oidc import STATE_COOKIE, OidcError
from huitong.security.passwords import PasswordPolicyError
from huitong.security.ratelimit import RateLimitedError
from huitong.security.roles import grant_of
from huitong.security.runtime import SecurityServices
from huitong.security.sessions import COOKIE
from huitong.security.text import TEXT
from huitong.security.tokens import TokenError

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/auth", tags=["Security"])
templates = Jinja2Templates(directory=Path(__file__).parents[1] / "web" / "templates")
LOGIN_CSRF = "huitong_login_csrf"


def _sec(request: Request) -> SecurityServices:
    security = security_of(request)
    if security is None:
        raise RuntimeError("security services are not open")
    return security


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang", "zh")
    return lang if lang in TEXT else "zh"


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    lang = _lang(request)
    base = {"t": TEXT[lang], "lang": lang, "other": "en" if lang == "zh" else "zh"}
    return templates.TemplateResponse(request, f"security/{name}", {**base, **context}, status_code=status)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def safe_next(target: str) -> str:
    """``target`` if it is a path on this site (no open redirect), else ``/``."""
    ok = target.startswith("/") and not target.startswith(("//", "/\\")) and "\n" not in target
    return target[:500] if ok else "/"


def login_redirect(request: Request) -> str:
    """Where to send a browser that asked for a page without signing in ("" for API clients)."""
    path = request.url.path
    if "text/html" not in request.headers.get("accept", "") or path.startswith(("/fhir", "/api", "/auth", "/login")):
        return ""
    target = path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?{urlencode({'next': safe_next(target)})}"


def _set_session_cookie(response: Response, security: SecurityServices, token: str) -> None:
    response.set_cookie(value=token, **security.sessions.cookie_options())


# -- login ------------------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request) -> Response:
    """The login form."""
    csrf = secrets.token_urlsafe(24)
    security = _sec(request)
    next_page = safe_next(request.query_params.get("next", "/"))
    context = {"csrf": csrf, "error": "", "oidc": security.oidc.enabled, "next": next_page}
    response = _page(request, "login.html", context)
    response.set_cookie(
        LOGIN_CSRF, csrf, max_age=900, httponly=True, secure=security.sessions.settings.cookie_secure, samesite="strict"
    )
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the password; continue to the second factor or the password change when needed."""
    security = _sec(request)
    await security.login_limiter.hit_exact_async(_client(request))
    form = await request.form()
    given, expected = str(form.get("csrf", "")), request.cookies.get(LOGIN_CSRF, "")
    if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
        raise CsrfError("the login form expired; reload it")
    user_id, password = str(form.get("user_id", ""))[:64], str(form.get("password", ""))[:256]
    result = await run_in_threadpool(security.accounts.authenticate, user_id, password, source_address=_client(request))
    t = TEXT[_lang(request)]
    if result.account is None:
        context = {"csrf": expected, "error": t[result.reason], "oidc": security.oidc.enabled, "next": "/"}
        return _page(request, "login.html", context, 401)
    mfa_pending = result.needs_mfa
    token = await run_in_threadpool(
        security.sessions.start,
        user_id,
        mfa_passed=not mfa_pending and not result.password_expired,
        source_address=_client(request),
    )
    lang = _lang(request)
    target = safe_next(str(form.get("next", "/")))
    if result.password_expired:
        target = "/login/password"
    elif mfa_pending:
        target = "/login/mfa"
    response = RedirectResponse(f"{target}{'&' if '?' in target else '?'}lang={lang}", status_code=303)
    _set_session_cookie(response, security, token)
    response.delete_cookie(LOGIN_CSRF)
    return response


def _redirect_uri(request: Request, security: SecurityServices) -> str:
    base = security.settings.http.public_base_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/login/oidc/callback"


@router.get("/login/oidc")
def oidc_start(request: Request) -> Response:
    """Send the browser to the hospital's identity provider (when single sign-on is configured)."""
    security = _sec(request)
    if not security.oidc.enabled:
        return PlainTextResponse("single sign-on is not configured", status_code=404)
    security.login_limiter.hit_exact(_client(request))
    try:
        url, state = security.oidc.start(_redirect_uri(request, security), security.clock())
    except (OidcError, httpx.HTTPError) as exc:
        log.warning("OIDC start failed: %s", exc)
        return PlainTextResponse("the identity provider cannot be reached", status_code=502)
    response = RedirectResponse(url, status_code=303)
    secure = security.settings.security.cookie_secure
    response.set_cookie(STATE_COOKIE, state, max_age=600, httponly=True, secure=secure, samesite="lax")
    return response


@router.get("/login/oidc/callback")
def oidc_callback(request: Request) -> Response:
    """The identity provider's answer: check it, then start a session (or ask for the TOTP code)."""
    security = _sec(request)
    security.login_limiter.hit_exact(_client(request))
    params = request.query_params
    anonymous = Actor(id="login:oidc", kind=ActorKind.USER, role="anonymous", source_address=_client(request))
    try:
        identity = security.oidc.finish(
            code=params.get("code", "")[:2000],
            state=params.get("state", "")[:200],
            cookie=request.cookies.get(STATE_COOKIE, ""),
            redirect_uri=_redirect_uri(request, security),
            now=security.clock(),
        )
    except (OidcError, httpx.HTTPError, ValueError, KeyError) as exc:
        log.warning("OIDC login failed: %s", exc)
        entry = AuditEntry("login", Outcome.MINOR_FAILURE, "single sign-on failed", entity_type="User")
        security.db.write(lambda conn: record(conn, anonymous, [entry]))
        return PlainTextResponse("single sign-on failed", status_code=401)
    account = security.accounts.get(identity.user_id)
    if account is None:
        entry = AuditEntry(
            "login", Outcome.MINOR_FAILURE, "no such account", entity_type="User", entity_id=identity.user_id
        )
        security.db.write(lambda conn: record(conn, anonymous, [entry]))
        return PlainTextResponse("no Huitong account for this user", status_code=401)
    passed = identity.second_factor or not security.accounts.requires_mfa(account)
    actor = account.actor(source_address=_client(request))
    entry = AuditEntry("login", entity_type="User", entity_id=account.user_id, query="oidc")
    security.db.write(lambda conn: record(conn, actor, [entry]))
    token = security.sessions.start(account.user_id, mfa_passed=passed, source_address=_client(request))
    response = RedirectResponse("/" if passed else "/login/mfa", status_code=303)
    _set_session_cookie(response, security, token)
    response.delete_cookie(STATE_COOKIE)
    return response


def _pending(request: Request) -> tuple[SecurityServices, str, Any]:
    security = _sec(request)
    cookie = request.cookies.get(COOKIE, "")
    session = security.sessions.resolve(cookie)
    if session is None:
        raise NotAuthenticatedError("the login session expired; sign in again")
    return security, cookie, session


@router.get("/login/mfa")
def mfa_page(request: Request) -> Response:
    """The second factor: enter a TOTP code (enrolling first if the account has none)."""
    security, _, session = _pending(request)
    account = security.accounts.get(session.user_id)
    context: dict[str, Any] = {"csrf": session.csrf_token, "error": "", "secret": "", "uri": ""}
    if account is not None and not account.has_totp:
        secret = security.accounts.enrol_totp(session.user_id)
        context |= {"secret": secret, "uri": totp.provisioning_uri(secret, session.user_id)}
    return _page(request, "mfa.html", context)


@router.post("/login/mfa")
async def mfa(request: Request) -> Response:
    """Check the TOTP code; on success the session is renewed (new cookie) and fully signed in."""
    security, cookie, session = _pending(request)
    await security.login_limiter.hit_exact_async(_client(request))
    form = await request.form()
    check_csrf(request, security, str(form.get("csrf", "")))
    ok = await run_in_threadpool(security.accounts.verify_totp, session.user_id, str(form.get("code", ""))[:16])
    if not ok:
        context = {"csrf": session.csrf_token, "error": TEXT[_lang(request)]["bad_code"], "secret": "", "uri": ""}
        return _page(request, "mfa.html", context, 401)
    new = await run_in_threadpool(security.sessions.pass_mfa, cookie)
    response = RedirectResponse(f"/?lang={_lang(request)}", status_code=303)
    _set_session_cookie(response, security, new)
    return response


@router.get("/login/password")
def password_page(request: Request) -> Response:
    """Choose a new password: one that expired or was set by an administrator, or, signed in, one's own (the
    current password is asked for then)."""
    _, _, session = _pending(request)
    return _page(request, "password.html", {"csrf": session.csrf_token, "error": "", "voluntary": session.mfa_passed})


@router.post("/login/password")
async def change_password(request: Request) -> Response:
    """Set the new password, then sign in again.

    Reached two ways: right after a password check when the password expired or was set by an administrator (the
    session is not yet signed in), or from the header by a signed-in user, who must then give the current
    password too — checked like a login, failures counted towards the lock-out — so that a session left open on a
    shared workstation cannot be used to take the account over."""
    security, _cookie, session = _pending(request)
    form = await request.form()
    check_csrf(request, security, str(form.get("csrf", "")))
    voluntary = session.mfa_passed
    context = {"csrf": session.csrf_token, "voluntary": voluntary}
    if voluntary:
        current = str(form.get("current_password", ""))[:256]
        checked = await run_in_threadpool(
            security.accounts.authenticate, session.user_id, current, source_address=_client(request)
        )
        if checked.account is None:
            t = TEXT[_lang(request)]
            error = t["locked"] if checked.reason == "locked" else t["wrong_current"]
            return _page(request, "password.html", {**context, "error": error}, 400)
    try:
        await run_in_threadpool(security.accounts.change_password, session.user_id, str(form.get("password", "")))
    except PasswordPolicyError as exc:
        return _page(request, "password.html", {**context, "error": str(exc)}, 400)
    await run_in_threadpool(security.sessions.end_all, session.user_id)
    return RedirectResponse(f"/login?lang={_lang(request)}", status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session (CSRF-protected)."""
    security = _sec(request)
    cookie = request.cookies.get(COOKIE, "")
    form = await request.form()
    check_csrf(request, security, str(form.get("csrf", "")))
    session = security.sessions.resolve(cookie)
    await run_in_threadpool(security.sessions.end, cookie)
    account = security.accounts.get(session.user_id) if session else None
    if account is not None:
        actor = account.actor(source_address=_client(request))
        entry = AuditEntry("logout", entity_type="User", entity_id=account.user_id[:64])  # like the login's
        security.db.write(lambda conn: record(conn, actor, [entry]))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


# -- OAuth 2.0 and break-the-glass ----------------------------------------------------------------


@api.post("/token")
async def token(request: Request) -> Response:
    """OAuth 2.0 token endpoint: the client-credentials grant with SMART ``system/`` scopes."""
    security = _sec(request)
    try:
        await security.login_limiter.hit_exact_async(_client(request))
    except RateLimitedError as exc:
        return JSONResponse({"error": "slow_down", "error_description": str(exc)}, 429)
    form = await request.form()
    client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
    basic = request.headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        except ValueError:
            return JSONResponse({"error": "invalid_client"}, 401)
    if form.get("grant_type") != "client_credentials":
        return JSONResponse({"error": "unsupported_grant_type"}, 400)
    try:
        issued = await run_in_threadpool(
            lambda: security.tokens.client_credentials(
                client_id[:64], secret[:256], str(form.get("scope", ""))[:2000], source_address=_client(request)
            )
        )
    except TokenError as exc:
        status = 401 if exc.code == "invalid_client" else 400
        return JSONResponse({"error": exc.code, "error_description": str(exc)}, status)
    return JSONResponse(issued.response(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@api.post("/revoke")
async def revoke(request: Request) -> Response:
    """Token revocation (RFC 7009): ``token=…``; always 200, so it reveals nothing about the token."""
    security = _sec(request)
    form = await request.form()
    await run_in_threadpool(security.tokens.revoke, str(form.get("token", ""))[:256])
    return JSONResponse({}, headers={"Cache-Control": "no-store"})


@api.post("/break-glass")
async def break_glass(request: Request) -> Response:
    """Emergency access to one patient: ``{"patient": "123", "reason": "..."}``; time-limited, flagged, audited."""
    security = _sec(request)
    actor = actor_from_request(request, security.settings, security)
    try:
        body = await request.json()
    except ValueError:
        body = None
    if request.cookies.get(COOKIE) and not request.headers.get("authorization"):
        check_csrf(request, security, request.headers.get("x-csrf-token", ""))
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("patient"), str)
        or not isinstance(body.get("reason"), str)
    ):
        return JSONResponse({"error": 'send {"patient": "<id>", "reason": "<why>"}'}, 400)
    try:
        grant = await run_in_threadpool(security.break_glass.open, actor, body["patient"][:64], body["reason"][:2000])
    except BreakGlassError as exc:
        return JSONResponse({"error": str(exc)}, 403)
    return JSONResponse({"grant": grant.grant_id, "patient": grant.patient_id, "expires": grant.expires.isoformat()})


# -- the auditor's pages ----------------------------------------------------------------------------


def _auditor(request: Request) -> tuple[SecurityServices, Any]:
    security = _sec(request)
    actor = actor_from_request(request, security.settings, security)
    if not grant_of(actor.role).reads_audit:
        raise PermissionError(f"role {actor.role!r} may not read the audit trail")
    return security, actor


def _date(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None
    except ValueError:
        return None


@router.get("/audit")
def audit_page(request: Request) -> Response:
    """Search the audit trail (auditors only); ``format=csv`` exports the result. Both are audited."""
    security, actor = _auditor(request)
    q = {k: request.query_params.get(k, "")[:130] for k in ("actor", "entity", "since", "until")}
    until = _date(q["until"])
    rows = search_audit(
        security.db,
        actor_id=q["actor"],
        entity=q["entity"],
        since=_date(q["since"]),
        until=until + timedelta(days=1) if until else None,
        limit=10_000 if request.query_params.get("format") == "csv" else 200,
    )
    csv_export = request.query_params.get("format") == "csv"
    query_text = urlencode({k: v for k, v in q.items() if v})
    entry = AuditEntry("audit-export" if csv_export else "audit-search", entity_type="AuditEvent", query=query_text)
    security.db.write(lambda conn: record(conn, actor, [entry]))
    if csv_export:
        headers = {"Content-Disposition": 'attachment; filename="huitong-audit.csv"'}
        return PlainTextResponse(to_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)
    return _page(request, "audit.html", {"rows": rows, "q": q, "csv_query": urlencode({**q, "format": "csv"})})


@router.get("/audit/anomalies")
def anomalies_page(request: Request) -> Response:
    """The access-anomaly report of the last ``days`` days (default 1; auditors only)."""
    security, actor = _auditor(request)
    days = request.query_params.get("days", "1")
    span = int(days) if days.isdigit() and 0 < int(days) <= 366 else 1
    until = security.clock()
    since = until - timedelta(days=span)
    report = anomaly_report(security.db, security.settings.audit, since, until)
    entry = AuditEntry("audit-anomalies", entity_type="AuditEvent", query=f"days={span}")
    security.db.write(lambda conn: record(conn, actor, [entry]))
    return _page(request, "anomalies.html", {"report": report, "since": since.date(), "until": until.date()})


# -- wiring -----------------------------------------------------------------------------------------


def register_security(app: FastAPI) -> None:
    """Mount the security routes and the handlers of their errors on ``app``."""
    from huitong.security.admin_pages import router as admin_router

    app.include_router(router)
    app.include_router(api)
    app.include_router(admin_router)

    async def csrf_failed(_request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"403 forbidden: {exc}", status_code=403)

    async def forbidden(_request: Request, exc: Exception) -> Response:
        return PlainTextResponse(f"403 forbidden: {exc}", status_code=403)

    async def rate_limited(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RateLimitedError)  # noqa: S101 - registered for this type only
        headers = {"Retry-After": str(exc.retry_after)}
        if request.url.path.startswith("/fhir"):  # FHIR clients get an OperationOutcome, as for every refusal
            outcome = operation_outcome([Issue("error", "throttled", str(exc))])
            return Response(
                jsonio.dumps(outcome),
                status_code=429,
                headers=headers,
                media_type="application/fhir+json; charset=utf-8",
            )
        return PlainTextResponse(str(exc), status_code=429, headers=headers)

    app.add_exception_handler(CsrfError, csrf_failed)
    app.add_exception_handler(PermissionError, forbidden)
    app.add_exception_handler(RateLimitedError, rate_limited)
