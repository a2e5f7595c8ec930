"""Leadership cockpit (院长驾驶舱): the national performance indicators of one year from the stored values —
▲ indicators first with trend charts, target and direction, each indicator's department ranking and monthly
trend, the drill-down to the cases behind a value, and the report as Excel or PDF."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from huitong.deps import ServicesDep
from huitong.indicators import report, service, values
from huitong.indicators.definition import by_id
from huitong.indicators.engine import HOSPITAL, period_bounds
from huitong.services import Services
from huitong.web.access import PageActor, require_area
from huitong.web.i18n import translate
from huitong.web.render import language, render, script_json

router = APIRouter(prefix="/cockpit", include_in_schema=False)


def _year(request: Request, services: Services) -> int:
    asked = request.query_params.get("year", "")
    if asked.isdigit() and len(asked) == 4:
        return int(asked)
    return values.latest_year(services.db, HOSPITAL) or date.today().year


def _trend(line: report.ReportLine, year: int) -> str:
    """The year's twelve months on the axis, whatever months have values (a gap where one has none), and the target
    line where there is one: the ``months`` chart of ``static/charts.js``."""
    by_month = dict(line.months)
    labels = [f"{year}-{m:02d}" for m in range(1, 13)]
    return script_json(
        {"labels": labels, "series": {line.id: [by_month.get(m) for m in labels]}, "target": line.target}
    )


@router.get("")
def overview(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """Every indicator of the year, ▲ first, with trend charts for the ▲ ones."""
    require_area(actor, "cockpit")
    year = _year(request, services)
    lines = report.build(services.db, year, services.settings.indicators.targets, departments=False)
    charts = [(line, _trend(line, year)) for line in lines if line.national and line.months and "." not in line.id]
    return render(
        request,
        "cockpit/overview.html",
        {
            "year": year,
            "lines": lines,
            "charts": charts,
            "fmt": report.fmt,
            "directions": report.DIRECTION_ZH if language(request) == "zh" else report.DIRECTION_EN,
        },
        actor=actor,
    )


@router.get("/indicator/{indicator_id}")
def indicator(request: Request, indicator_id: str, services: ServicesDep, actor: PageActor) -> Response:
    """One indicator: monthly trend, department ranking, links to the cases."""
    require_area(actor, "cockpit")
    year = _year(request, services)
    targets = services.settings.indicators.targets
    line = next(iter(report.build(services.db, year, targets, indicator_id=indicator_id)), None)
    if line is None:
        return render(request, "error.html", {"status": 404, "message": indicator_id}, actor=actor, status=404)
    definition, _ = report.definition_of(indicator_id, by_id())
    ranked = line.ranked_departments()
    names = report.department_names(services.db, language(request))
    ranking = {
        "labels": [names.get(d[0], d[0]) for d in ranked if d[1] is not None],
        "values": [d[1] for d in ranked if d[1] is not None],
    }
    return render(
        request,
        "cockpit/indicator.html",
        {
            "year": year,
            "line": line,
            "definition": definition,
            "ranked": ranked,
            "names": names,
            "fmt": report.fmt,
            "trend_json": _trend(line, year),
            "ranking_json": script_json(ranking),
            "directions": report.DIRECTION_ZH if language(request) == "zh" else report.DIRECTION_EN,
            "drillable": definition is not None and not definition.growth_of,
        },
        actor=actor,
    )


@router.get("/indicator/{indicator_id}/cases")
def cases(request: Request, indicator_id: str, services: ServicesDep, actor: PageActor) -> Response:
    """The cases behind one value, with what each added to the numerator and denominator and the rule it met."""
    require_area(actor, "cockpit")
    period = request.query_params.get("period", "")
    department = request.query_params.get("department", HOSPITAL)
    try:
        period_bounds(period)
    except ValueError:
        return render(request, "error.html", {"status": 400, "message": period}, actor=actor, status=400)
    settings = services.settings.indicators
    workspace = service.Workspace(Path(settings.duckdb_path), dict(settings.parameters))
    error = ""
    found: list[object] = []
    try:
        found = list(
            service.drill_down(
                services.db,
                workspace,
                actor,
                indicator_id,
                period,
                department,
                only_numerator=request.query_params.get("numerator") == "1",
                limit=500,
            )
        )
    except service.IndicatorsBusyError:
        error = translate("cases_busy", language(request))
    except (duckdb.Error, KeyError) as exc:
        error = str(exc).splitlines()[0]
    return render(
        request,
        "cockpit/cases.html",
        {
            "indicator_id": indicator_id,
            "period": period,
            "department": department,
            "department_name": (
                translate("hospital_wide", language(request))
                if department == HOSPITAL
                else report.department_names(services.db, language(request)).get(department, "")
            ),
            "cases": found,
            "error": error,
        },
        actor=actor,
    )


def _download(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/export.xlsx")
def export_xlsx(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """The year's report as an Excel workbook."""
    require_area(actor, "cockpit")
    year = _year(request, services)
    lines = report.build(services.db, year, services.settings.indicators.targets)
    content = report.to_xlsx(lines, year, language(request))
    return _download(
        content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"indicators-{year}.xlsx"
    )


@router.get("/export.pdf")
def export_pdf(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """The year's report as a PDF (needs the CJK font of the setting ``indicators.cjk_font``)."""
    require_area(actor, "cockpit")
    year = _year(request, services)
    lines = report.build(services.db, year, services.settings.indicators.targets)
    font = Path(services.settings.indicators.cjk_font)
    if not font.exists():
        return render(request, "error.html", {"status": 503, "message": f"font {font}"}, actor=actor, status=503)
    return _download(report.to_pdf(lines, year, font, language(request)), "application/pdf", f"indicators-{year}.pdf")
