"""Data-quality scorecard (数据质量): the latest batch run's scores per source system and dimension, the trend
of each dimension over runs, findings per rule with the drill-down to the failing records, and CSV and Excel
exports of the scorecard and of a rule's failing records."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from huitong.deps import ServicesDep
from huitong.quality import scorecard
from huitong.quality.registry import all_rules
from huitong.quality.rule import DIMENSION_ZH, Dimension
from huitong.security.actor import Actor
from huitong.web.access import PageActor, require_area
from huitong.web.render import language, render, script_json

router = APIRouter(prefix="/quality", include_in_schema=False)
PAGE_SIZE = 200
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _run_id(request: Request) -> int | None:
    asked = request.query_params.get("run", "")
    return int(asked) if asked.isdigit() else None


def _dimension_names(lang: str) -> dict[str, str]:
    return {d.value: (DIMENSION_ZH[d] if lang == "zh" else scorecard.DIMENSION_EN[d.value]) for d in Dimension}


def _download(content: bytes, media_type: str, filename: str) -> Response:
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def _missing(request: Request, actor: Actor, run_id: int | None) -> Response:
    message = f"no quality run {run_id}" if run_id is not None else "no quality run yet: run `huitong quality run`"
    return render(request, "error.html", {"status": 404, "message": message}, actor=actor, status=404)


@router.get("")
def board(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """The scorecard of the latest (or ``?run=``) run, the trend over runs, and findings per rule."""
    require_area(actor, "quality")
    lang = language(request)
    history = scorecard.runs(services.db)
    current = scorecard.run(services.db, _run_id(request))
    titles = {r.id: r.title for r in all_rules()}
    return render(
        request,
        "quality/board.html",
        {
            "run": current,
            "history": history,
            "dimensions": scorecard.DIMENSIONS,
            "dimension_names": _dimension_names(lang),
            "matrix": current.matrix() if current else [],
            "overall": current.overall() if current else {},
            "per_rule": scorecard.per_rule(services.db, current) if current else [],
            "titles": titles,
            "trend_json": script_json(scorecard.trend(history, lang)),
        },
        actor=actor,
    )


@router.get("/findings")
def failing_records(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """The failing records of a run, filtered by ``rule``, ``source`` and ``dimension``, a page at a time."""
    require_area(actor, "quality")
    run_id = _run_id(request)
    current = scorecard.run(services.db, run_id)
    if current is None:
        return _missing(request, actor, run_id)
    params = request.query_params
    page_no = int(params["page"]) if params.get("page", "").isdigit() and int(params["page"]) > 0 else 1
    rows = scorecard.findings(
        services.db,
        current.id,
        rule_id=params.get("rule") or None,
        source=params.get("source") or None,
        dimension=params.get("dimension") or None,
        limit=PAGE_SIZE + 1,
        offset=(page_no - 1) * PAGE_SIZE,
    )
    query = urlencode({k: params[k] for k in ("rule", "source", "dimension") if params.get(k)})
    return render(
        request,
        "quality/findings.html",
        {
            "run": current,
            "rows": rows[:PAGE_SIZE],
            "more": len(rows) > PAGE_SIZE,
            "page_no": page_no,
            "rule": params.get("rule", ""),
            "source": params.get("source", ""),
            "dimension": params.get("dimension", ""),
            "query": query,
            "dimension_names": _dimension_names(language(request)),
            "titles": {r.id: r.title for r in all_rules()},
        },
        actor=actor,
    )


def _scorecard_sheets(
    request: Request, services: ServicesDep, actor: PageActor
) -> tuple[scorecard.Run | None, list[list[Any]]]:
    require_area(actor, "quality")
    current = scorecard.run(services.db, _run_id(request))
    if current is None:
        return None, []
    return current, scorecard.score_table(current, language(request))


@router.get("/export.csv")
def export_csv(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """The scorecard as CSV."""
    current, table = _scorecard_sheets(request, services, actor)
    if current is None or not table:
        return _missing(request, actor, _run_id(request))
    return _download(scorecard.to_csv(table), "text/csv; charset=utf-8", f"quality-run-{current.id}.csv")


@router.get("/export.xlsx")
def export_xlsx(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """The scorecard as an Excel workbook (with findings per rule on a second sheet)."""
    current, table = _scorecard_sheets(request, services, actor)
    if current is None or not table:
        return _missing(request, actor, _run_id(request))
    zh = language(request) == "zh"
    counts: list[list[Any]] = [
        [
            "规则" if zh else "Rule",
            "维度" if zh else "Dimension",
            "严重程度" if zh else "Severity",
            "来源系统" if zh else "Source system",
            "不合格数" if zh else "Failing",
        ]
    ]
    counts += [
        [r["rule_id"], r["dimension"], r["severity"], r["source"], r["n"]]
        for r in scorecard.per_rule(services.db, current)
    ]
    sheets = {("评分" if zh else "Scorecard"): table, ("规则" if zh else "Rules"): counts}
    return _download(scorecard.to_xlsx(sheets), XLSX, f"quality-run-{current.id}.xlsx")


def _findings_table(request: Request, services: ServicesDep, actor: PageActor) -> tuple[int, list[list[Any]]]:
    require_area(actor, "quality")
    current = scorecard.run(services.db, _run_id(request))
    if current is None:
        return 0, []
    params = request.query_params
    rows = scorecard.findings(
        services.db,
        current.id,
        rule_id=params.get("rule") or None,
        source=params.get("source") or None,
        dimension=params.get("dimension") or None,
        limit=None,
    )
    return current.id, scorecard.finding_table(rows, language(request))


def _findings_name(request: Request, run_id: int, suffix: str) -> str:
    rule = "".join(c for c in request.query_params.get("rule", "") if c.isalnum() or c == "-")
    return f"quality-run-{run_id}{'-' + rule if rule else ''}-findings.{suffix}"


@router.get("/findings.csv")
def findings_csv(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """A rule's (or the whole run's) failing records as CSV."""
    run_id, table = _findings_table(request, services, actor)
    if not table:
        return _missing(request, actor, _run_id(request))
    return _download(scorecard.to_csv(table), "text/csv; charset=utf-8", _findings_name(request, run_id, "csv"))


@router.get("/findings.xlsx")
def findings_xlsx(request: Request, services: ServicesDep, actor: PageActor) -> Response:
    """A rule's (or the whole run's) failing records as an Excel workbook."""
    run_id, table = _findings_table(request, services, actor)
    if not table:
        return _missing(request, actor, _run_id(request))
    sheet = "不合格记录" if language(request) == "zh" else "Failing records"
    return _download(scorecard.to_xlsx({sheet: table}), XLSX, _findings_name(request, run_id, "xlsx"))
