"""The home page: what this Huitong holds and where to go next, in Chinese and English.

Signed-in users only (anonymous visitors are sent to sign in): the counts describe the hospital's data.
"""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from huitong import __version__
from huitong.db.schema import resource
from huitong.deps import ServicesDep
from huitong.services import Services
from huitong.web.access import page_actor
from huitong.web.render import language, render

router = APIRouter(include_in_schema=False)

TEXT = {
    "zh": {
        "title": "汇通 智慧医院数据平台",
        "tagline": "集成引擎 · 临床数据中心 · 主索引 · 数据质量 · 绩效指标",
        "counts": "数据概况",
        "type": "资源类型",
        "count": "数量",
        "empty": "暂无数据。运行 make demo 载入演示数据。",
        "links": "入口",
        "metadata": "FHIR 能力声明",
        "api": "接口文档",
        "ready": "就绪检查",
        "switch": "English",
    },
    "en": {
        "title": "Huitong smart-hospital data platform",
        "tagline": "Integration engine · clinical data repository · EMPI · data quality · indicators",
        "counts": "What is stored",
        "type": "Resource type",
        "count": "Count",
        "empty": "Nothing stored yet. Run make demo to load the demo data.",
        "links": "Where to go",
        "metadata": "FHIR CapabilityStatement",
        "api": "API documentation",
        "ready": "Readiness",
        "switch": "中文",
    },
}


def resource_counts(services: Services) -> list[tuple[str, int]]:
    """Current (not deleted) resources per type, most first. Aggregate only: no patient data, no audit."""
    with services.db.read() as conn:
        rows = conn.execute(
            sa.select(resource.c.res_type, sa.func.count())
            .where(resource.c.deleted.is_(False))
            .group_by(resource.c.res_type)
            .order_by(sa.func.count().desc())
        ).all()
    return [(r[0], int(r[1])) for r in rows]


@router.get("/", dependencies=[Depends(page_actor)])
async def home(request: Request, services: ServicesDep) -> Response:
    """The landing page; ``?lang=en`` for English."""
    counts = await run_in_threadpool(resource_counts, services)
    return render(request, "home.html", {"text": TEXT[language(request)], "counts": counts, "version": __version__})
