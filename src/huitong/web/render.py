"""Rendering pages: one Jinja2 environment, the language of the request, the navigation of the actor's role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import Response

from huitong.security.actor import Actor
from huitong.web.access import csrf_token
from huitong.web.i18n import LANGUAGES, status_text, translate

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

#: Which pages each role sees in the navigation (the pages check access themselves as well).
NAV: dict[str, tuple[tuple[str, str], ...]] = {
    "doctor": (("/doctor", "nav_doctor"),),
    "nurse": (("/nurse", "nav_nurse"),),
    "manager": (("/cockpit", "nav_cockpit"), ("/operations", "nav_operations"), ("/quality", "nav_quality")),
    "operations": (("/operations", "nav_operations"), ("/cockpit", "nav_cockpit"), ("/quality", "nav_quality")),
    "quality_officer": (("/quality", "nav_quality"), ("/cockpit", "nav_cockpit"), ("/empi/review", "nav_empi")),
    "patient": (("/portal", "nav_portal"),),
    "developer": (
        ("/doctor", "nav_doctor"),
        ("/nurse", "nav_nurse"),
        ("/operations", "nav_operations"),
        ("/cockpit", "nav_cockpit"),
        ("/portal", "nav_portal"),
        ("/ingest", "integration"),
        ("/quality", "nav_quality"),
        ("/empi/review", "nav_empi"),
    ),
}


def language(request: Request) -> str:
    """``?lang=`` if given, else the ``lang`` cookie, else Chinese."""
    lang = request.query_params.get("lang") or request.cookies.get("lang") or "zh"
    return lang if lang in LANGUAGES else "zh"


def render(
    request: Request, name: str, context: dict[str, Any], *, actor: Actor | None = None, status: int = 200
) -> Response:
    """Render ``name`` with the shell's context (language, text function, navigation, actor)."""
    lang = language(request)

    def t(key: str, **values: object) -> str:
        return translate(key, lang, **values)

    response = templates.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "other_lang": "en" if lang == "zh" else "zh",
            "t": t,
            "status_text": lambda code: status_text(code, lang),
            "actor": actor,
            "csrf": csrf_token(request),
            "nav": NAV.get(actor.role, ()) if actor else (),
            **context,
        },
        status_code=status,
    )
    if "lang" in request.query_params:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


def script_json(value: object) -> str:
    """JSON safe inside a ``<script type="application/json">`` element (charts read their data from there)."""
    from huitong.fhir import jsonio

    return jsonio.dumps(value).decode().replace("<", "\\u003c")
