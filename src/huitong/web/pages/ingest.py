"""The integration engine's dashboard page: per channel counts and rates, latest errors with the raw
message, replay buttons. Server-rendered (zh-CN by default, ``?lang=en``), data from
:func:`huitong.ingest.api.stats` and the message store; ECharts draws the received-per-5-minutes chart.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from huitong.deps import ServicesDep
from huitong.ingest import inbox
from huitong.ingest.api import _audit, engine_state, stats
from huitong.web.access import PageActor, require_area
from huitong.web.render import language, render, script_json

router = APIRouter(prefix="/ingest", include_in_schema=False)

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "集成引擎",
        "channels": "通道",
        "channel": "通道",
        "received": "已接收",
        "processed": "已处理",
        "error": "出错",
        "filtered": "已过滤",
        "unsupported": "不支持",
        "queued": "排队中",
        "rate": "每分钟 接收/处理/出错（近5分钟）",
        "chart": "近一小时接收量（每5分钟）",
        "errors": "最近的错误",
        "type": "类型",
        "control_id": "控制ID",
        "reason": "原因",
        "raw": "原始消息",
        "replay": "重放",
        "replay_all": "重放全部错误消息",
        "empty": "暂无消息。",
        "replayed": "已重新排队 {n} 条消息。",
        "this_engine": "本服务器的集成引擎正在处理消息（{holder}）。",
        "other_engine": "由集成引擎 {holder} 处理消息（租约至 {until}）；本服务器待命。",
        "nobody": "当前没有集成引擎在处理消息：排队的消息不会被处理。请检查集成引擎是否在运行。",
    },
    "en": {
        "title": "Integration engine",
        "channels": "Channels",
        "channel": "Channel",
        "received": "Received",
        "processed": "Processed",
        "error": "Errors",
        "filtered": "Filtered",
        "unsupported": "Unsupported",
        "queued": "Queued",
        "rate": "Per minute: received / processed / errors (last 5 min)",
        "chart": "Received in the last hour (per 5 minutes)",
        "errors": "Latest errors",
        "type": "Type",
        "control_id": "Control id",
        "reason": "Reason",
        "raw": "Raw message",
        "replay": "Replay",
        "replay_all": "Replay every failed message",
        "empty": "No messages yet.",
        "replayed": "{n} message(s) queued again.",
        "this_engine": "This server's integration engine is processing messages ({holder}).",
        "other_engine": "Engine {holder} is processing messages (lease until {until}); this server stands by.",
        "nobody": "No integration engine is processing messages: queued messages wait. Check that the engine runs.",
    },
}


def _page_data(
    services: Any, actor: Any, in_flight: int, holder: str | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    data = stats(services.db, in_flight, None, holder)
    errors = inbox.dead_letters(services.db, limit=20)
    _audit(services.db, actor, [r.id for r in errors])
    return data, [r.as_json(with_raw=True) for r in errors]


@router.get("")
async def board(request: Request, services: ServicesDep, actor: PageActor, replayed: int | None = None) -> Response:
    """Counts and rates per channel, the latest errors with their raw text, replay buttons."""
    require_area(actor, "operations")
    in_flight, holder = engine_state(request)
    data, errors = await run_in_threadpool(_page_data, services, actor, in_flight, holder)
    x = TEXT[language(request)]
    state = data["processing"]
    if not state["active"]:
        processing = x["nobody"]
    else:
        key = "this_engine" if state["this_engine"] else "other_engine"
        processing = x[key].format(holder=state["holder"], until=state["until"][11:19])
    chart = data["received_per_5min"]
    chart_json = script_json({"labels": [s[11:16] for s in chart["starts"]], "series": chart["series"]})
    return render(
        request,
        "ingest/board.html",
        {
            "x": x,
            "channels": data["channels"],
            "errors": errors,
            "chart_json": chart_json,
            "replayed": x["replayed"].format(n=replayed) if replayed is not None else None,
            "processing": processing,
            "processing_ok": bool(state["active"]),
        },
        actor=actor,
    )


@router.post("/replay")
async def replay(
    request: Request,
    services: ServicesDep,
    actor: PageActor,
    message_id: int | None = Form(None),
    all_errors: bool = Form(False),
) -> Response:
    """Replay one message or every dead letter, then show the board again."""
    require_area(actor, "operations")
    if all_errors:
        count = await run_in_threadpool(lambda: inbox.replay(services.db, q=inbox.Query(status="dead", limit=10_000)))
    elif message_id is not None:
        count = await run_in_threadpool(lambda: inbox.replay(services.db, [message_id]))
    else:
        count = 0
    engine = getattr(request.app.state, "ingest", None)
    if engine is not None:
        engine.pipeline.wake()
    return RedirectResponse(f"/ingest?replayed={count}&lang={language(request)}", status_code=303)
