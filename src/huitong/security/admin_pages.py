"""The administrator's account page (``/admin/users``): create accounts, change roles and departments, add
care-team members, deactivate. Administrators only; every change is audited by :mod:`accounts`; the
administrator cannot change their own account (separation of duties)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from huitong.security.accounts import AccountError
from huitong.security.deps import actor_from_request, check_csrf, security_of
from huitong.security.http import _lang, _page
from huitong.security.passwords import PasswordPolicyError
from huitong.security.roles import GRANTS, grant_of
from huitong.security.runtime import SecurityServices
from huitong.security.schema import sec_user
from huitong.security.sessions import COOKIE
from huitong.security.text import TEXT

router = APIRouter(include_in_schema=False)
ROLES = sorted(r for r in GRANTS if r not in ("developer", "system"))


def _admin(request: Request) -> tuple[SecurityServices, Any]:
    security = security_of(request)
    if security is None:
        raise RuntimeError("security services are not open")
    actor = actor_from_request(request, security.settings, security)
    if not grant_of(actor.role).manages_accounts:
        raise PermissionError(f"role {actor.role!r} does not manage accounts")
    return security, actor


def _render(request: Request, security: SecurityServices, *, error: str = "", message: str = "") -> Response:
    with security.db.read() as conn:
        users = conn.execute(sa.select(sec_user).order_by(sec_user.c.user_id)).all()
    session = security.sessions.resolve(request.cookies.get(COOKIE, ""))
    context = {
        "users": users,
        "roles": ROLES,
        "csrf": session.csrf_token if session else "",
        "error": error,
        "message": message,
    }
    return _page(request, "users.html", context, 400 if error else 200)


@router.get("/admin/users")
def users_page(request: Request) -> Response:
    """The accounts and the forms to change them."""
    security, _ = _admin(request)
    return _render(request, security)


@router.post("/admin/users")
async def users_change(request: Request) -> Response:
    """Apply one change (``action``: create, role, care_team, reset, deactivate)."""
    security, actor = _admin(request)
    form = await request.form()
    check_csrf(request, security, str(form.get("csrf", "")))
    field = {k: str(form.get(k, "")).strip()[:256] for k in form}
    accounts, user_id = security.accounts, field.get("user_id", "")[:64]
    try:
        action = field.get("action")
        if action == "create":
            await run_in_threadpool(
                lambda: accounts.create(
                    actor,
                    user_id=user_id,
                    display_name=field.get("display_name", "")[:128],
                    role=field.get("role", ""),
                    password=field.get("password") or None,
                    department=field.get("department") or None,
                    patient_id=field.get("patient_id") or None,
                    temporary=True,  # the administrator chose it: the user chooses their own at the first login
                )
            )
        elif action == "role":
            await run_in_threadpool(
                accounts.set_role, actor, user_id, field.get("role", ""), field.get("department") or None
            )
        elif action == "care_team":
            await run_in_threadpool(accounts.add_to_care_team, actor, user_id, field.get("patient_id", "")[:64])
        elif action == "reset":
            await run_in_threadpool(accounts.reset_credentials, actor, user_id, field.get("password", ""))
            await run_in_threadpool(security.sessions.end_all, user_id)
        elif action == "deactivate":
            await run_in_threadpool(accounts.deactivate, actor, user_id)
            await run_in_threadpool(security.sessions.end_all, user_id)
        else:
            return _render(request, security, error=f"unknown action {action!r}")
    except (AccountError, PasswordPolicyError) as exc:
        return _render(request, security, error=str(exc))
    return _render(request, security, message=TEXT[_lang(request)]["done"])
