"""The integration engine's pages: the dashboard (per channel counts and rates, latest errors with the raw
message, replay buttons; ECharts draws the received-per-5-minutes chart) and the message browser (search the
message store, read one message, replay one, what was found, or every dead letter). Server-rendered (zh-CN by
default, ``?lang=en``), from :func:`huitong.ingest.api.stats` and the message store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from huitong.deps import ServicesDep
from huitong.ingest import inbox
from huitong.ingest.api import audit_reads, engine_state, search_audited, stats
from huitong.ingest.schema import ERROR, STATUSES
from huitong.times import CHINA
from huitong.web.access import PageActor, require_area
from huitong.web.render import language, render, script_json

#: Messages per page of a search.
PAGE = 50

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
        "unsupported_types": "尚无映射的消息类型",
        "unsupported_intro": "这些消息已保存但未转换为 FHIR；增加映射后可检索并重放。",
        "count": "条数",
        "last_received": "最近接收",
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
        "search": "消息检索",
        "patient": "患者标识",
        "status": "状态",
        "any": "全部",
        "since": "接收时间自",
        "until": "至",
        "find": "检索",
        "received_at": "接收时间",
        "results": "检索结果（最新在前）",
        "next": "下一页",
        "message": "消息",
        "sender": "发送方",
        "version": "版本",
        "ack": "应答",
        "attempts": "处理次数",
        "processed_at": "处理时间",
        "resources": "生成的FHIR资源",
        "patient_ids": "患者标识",
        "bad_time": "时间格式不正确：{text}",
        "dead": "死信（出错及不支持）",
        "replay_found": "重放检索到的全部消息（最新的至多 {n} 条）",
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
        "unsupported_types": "Message types with no mapping yet",
        "unsupported_intro": (
            "These messages are stored but not turned into FHIR; once a mapping exists, find and replay them."
        ),
        "count": "Messages",
        "last_received": "Last received",
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
        "search": "Find messages",
        "patient": "Patient identifier",
        "status": "Status",
        "any": "Any",
        "since": "Received from",
        "until": "to",
        "find": "Find",
        "received_at": "Received",
        "results": "Messages found (newest first)",
        "next": "Next page",
        "message": "Message",
        "sender": "Sender",
        "version": "Version",
        "ack": "ACK",
        "attempts": "Attempts",
        "processed_at": "Processed",
        "resources": "FHIR resources produced",
        "patient_ids": "Patient identifiers",
        "bad_time": "Not a time: {text}",
        "dead": "Dead letters (errors, unsupported)",
        "replay_found": "Replay every message found (the newest {n} at most)",
    },
}


def _local(text: str) -> datetime | None:
    """A time typed into the form (``datetime-local``: no offset, so the hospital's clock); ``ValueError`` when it
    cannot be read."""
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=CHINA)


#: The search fields of the message browser (query string of the search, form fields of its replay).
CRITERIA = ("control_id", "patient", "type", "status", "channel", "since", "until")

#: Most messages one replay by search from a page (every dead letter, or what the browser found) puts back into the
#: pipeline: the newest ones.
REPLAY_MAX = 10_000


def _criteria(source: Any) -> dict[str, str]:
    return {k: str(source.get(k) or "").strip()[:64] for k in CRITERIA}


def _query(form: dict[str, str], *, limit: int, offset: int = 0) -> inbox.Query:
    """The store's query for the browser's fields; ``ValueError`` when a time cannot be read."""
    return inbox.Query(
        control_id=form["control_id"] or None,
        patient_id=form["patient"] or None,
        message_type=form["type"] or None,
        status=form["status"] if form["status"] in (*STATUSES, "dead") else None,
        channel=form["channel"] or None,
        since=_local(form["since"]),
        until=_local(form["until"]),
        limit=limit,
        offset=offset,
    )


def _search(services: Any, actor: Any, q: inbox.Query) -> list[dict[str, Any]]:
    return [
        {**r.as_json(), "received_local": r.received_at.astimezone(CHINA)}
        for r in search_audited(services.db, actor, q)
    ]


def _page_data(
    services: Any, actor: Any, in_flight: int, holder: str | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    data = stats(services.db, in_flight, None, holder)
    errors = inbox.search(services.db, inbox.Query(status=ERROR, limit=20), with_raw=True)
    audit_reads(services.db, actor, [r.id for r in errors])
    data["unsupported_types"] = [
        {"type": kind, "count": n, "last": last.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")}
        for kind, n, last in inbox.unsupported_types(services.db)
    ]
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
            "unsupported": data["unsupported_types"],
            "chart_json": chart_json,
            "replayed": x["replayed"].format(n=replayed) if replayed is not None else None,
            "processing": processing,
            "processing_ok": bool(state["active"]),
        },
        actor=actor,
    )


def _wake(request: Request) -> None:
    """Tell this server's pipeline (if it runs one) that messages are waiting."""
    engine = getattr(request.app.state, "ingest", None)
    if engine is not None:
        engine.pipeline.wake()


@router.post("/replay")
async def replay(
    request: Request,
    services: ServicesDep,
    actor: PageActor,
    message_id: int | None = Form(None),
    all_errors: bool = Form(False),
    from_message: bool = Form(False),
    found: bool = Form(False),
) -> Response:
    """Replay one message, every failed one (the board), or what a search found, then show the board (or, from a
    message's page, that page; from a search, its results) again."""
    require_area(actor, "operations")
    if found:  # everything the browser's search finds (its fields came with the form)
        form = _criteria(await request.form())
        try:
            q = _query(form, limit=REPLAY_MAX)
        except ValueError:
            q = None
        count = await run_in_threadpool(lambda: inbox.replay(services.db, q=q)) if q is not None else 0
        _wake(request)
        back = urlencode({**{k: v for k, v in form.items() if v}, "replayed": count, "lang": language(request)})
        return RedirectResponse(f"/ingest/messages?{back}", status_code=303)
    if all_errors:  # the board's button under its list of errors: those, not the unsupported types listed apart
        failed = inbox.Query(status=ERROR, limit=REPLAY_MAX)
        count = await run_in_threadpool(lambda: inbox.replay(services.db, q=failed))
    elif message_id is not None:
        count = await run_in_threadpool(lambda: inbox.replay(services.db, [message_id]))
    else:
        count = 0
    _wake(request)
    if from_message and message_id is not None:
        return RedirectResponse(f"/ingest/messages/{message_id}?replayed={count}&lang={language(request)}", 303)
    return RedirectResponse(f"/ingest?replayed={count}&lang={language(request)}", status_code=303)


@router.get("/messages")
async def messages(request: Request, services: ServicesDep, actor: PageActor, replayed: int | None = None) -> Response:
    """Search the message store: control id, patient identifier, type, status, channel, time; a page at a time."""
    require_area(actor, "operations")
    x = TEXT[language(request)]
    form = _criteria(request.query_params)
    asked = request.query_params.get("offset", "")
    offset = int(asked) if asked.isdigit() else 0
    error, found = "", []
    try:
        q = _query(form, limit=PAGE + 1, offset=offset)
    except ValueError:
        error = x["bad_time"].format(text=form["since"] or form["until"])
    else:
        found = await run_in_threadpool(_search, services, actor, q)
    more = len(found) > PAGE
    query = urlencode({**{k: v for k, v in form.items() if v}, "offset": offset + PAGE, "lang": language(request)})
    return render(
        request,
        "ingest/messages.html",
        {
            "x": x,
            "form": form,
            "statuses": (*STATUSES, "dead"),
            "found": found[:PAGE],
            "error": error,
            "next_page": f"/ingest/messages?{query}" if more else None,
            "replayed": x["replayed"].format(n=replayed) if replayed is not None else None,
            "replay_max": REPLAY_MAX,
        },
        actor=actor,
        status=400 if error else 200,
    )


@router.get("/messages/{message_id}")
async def message(
    message_id: str, request: Request, services: ServicesDep, actor: PageActor, replayed: int | None = None
) -> Response:
    """One message: what was received, what became of it (status, ACK, error, resources), the raw text, Replay.
    (``message_id`` is read after the access check: a refused role learns nothing, not even a malformed id.)"""
    require_area(actor, "operations")
    row = await run_in_threadpool(inbox.get, services.db, int(message_id)) if message_id.isdigit() else None
    if row is None:
        return render(request, "error.html", {"status": 404, "message": f"#{message_id}"}, actor=actor, status=404)
    await run_in_threadpool(audit_reads, services.db, actor, [row.id])
    shown = {**row.as_json(with_raw=True), "received_local": row.received_at.astimezone(CHINA)}
    if row.processed_at is not None:
        shown["processed_local"] = row.processed_at.astimezone(CHINA)
    x = TEXT[language(request)]
    done = x["replayed"].format(n=replayed) if replayed is not None else None
    return render(request, "ingest/message.html", {"x": x, "m": shown, "replayed": done}, actor=actor)
