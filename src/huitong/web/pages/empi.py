"""The EMPI review queue page: pairs the model is unsure about, both records side by side, the field-by-field
evidence (which field agreed, at which level, with what weight), and accept/reject buttons.

For the role that looks after patient identity across the source systems (area ``empi``: the quality
officer, who may read every patient). Reading the queue is audited as a read of Patient data; a decision is
written by the EMPI as ``system:empi`` on behalf of the user (:func:`huitong.empi.review.steward_actor`), and
the EMPI's event and the item name the user. zh-CN by default, ``?lang=en``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from huitong.deps import ServicesDep
from huitong.empi.errors import ConflictError, NotFoundError
from huitong.empi.names import is_newborn_placeholder
from huitong.empi.review import steward_actor
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry
from huitong.services import Services
from huitong.web.access import PageActor, require_area
from huitong.web.render import language, render

router = APIRouter(prefix="/empi", include_in_schema=False)

STATUSES = ("open", "accepted", "rejected")
FIELDS = ("name", "gender", "birth_date", "id_number", "phone", "address", "source_system", "record_id")

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "患者主索引 · 待审核",
        "intro": "模型无法确定是否为同一患者的记录对。请逐项核对后确认合并或判定为不同患者。",
        "open": "待审核",
        "accepted": "已合并",
        "rejected": "已驳回",
        "count": "共 {n} 条",
        "empty": "没有待审核的记录对。",
        "pair": "记录对 #{id}",
        "probability": "匹配概率",
        "weight": "匹配权重",
        "field": "字段",
        "record": "新记录",
        "candidate": "已有患者的记录",
        "evidence": "逐项比对",
        "comparison": "比对项",
        "level": "结果",
        "agrees": "一致",
        "yes": "一致",
        "no": "不一致",
        "reason": "理由（可选）",
        "accept": "确认为同一患者（合并）",
        "reject": "不是同一患者（驳回）",
        "decided": "已处理：{what}。",
        "conflict": "未处理：{why}",
        "decided_by": "处理人",
        "created": "进入队列",
        "source_system": "来源系统",
        "record_id": "来源编号",
        "name": "姓名",
        "newborn": "新生儿占位名（如“王芳之子”），不作姓名比对",
        "gender": "性别",
        "birth_date": "出生日期",
        "id_number": "身份证号",
        "phone": "电话",
        "address": "地址",
        "person": "患者主索引号",
        "default_accept": "审核确认为同一患者",
        "default_reject": "审核判定为不同患者",
    },
    "en": {
        "title": "Master patient index · review",
        "intro": "Pairs of records the model cannot decide on. Check them field by field, then merge or reject.",
        "open": "Open",
        "accepted": "Merged",
        "rejected": "Rejected",
        "count": "{n} item(s)",
        "empty": "No pairs are waiting for review.",
        "pair": "Pair #{id}",
        "probability": "Match probability",
        "weight": "Match weight",
        "field": "Field",
        "record": "New record",
        "candidate": "Record of the existing person",
        "evidence": "Field-by-field evidence",
        "comparison": "Comparison",
        "level": "Outcome",
        "agrees": "Agrees",
        "yes": "agrees",
        "no": "disagrees",
        "reason": "Reason (optional)",
        "accept": "Same person (merge)",
        "reject": "Different people (reject)",
        "decided": "Done: {what}.",
        "conflict": "Not done: {why}",
        "decided_by": "Decided by",
        "created": "Queued",
        "source_system": "Source system",
        "record_id": "Source id",
        "name": "Name",
        "newborn": "a newborn's placeholder name (such as 王芳之子): not compared as a name",
        "gender": "Sex",
        "birth_date": "Birth date",
        "id_number": "Resident ID",
        "phone": "Phone",
        "address": "Address",
        "person": "Person",
        "default_accept": "reviewed: same person",
        "default_reject": "reviewed: different people",
    },
}

#: Chinese for the model's level labels (``huitong.empi.compare``); English shows the labels as they are.
LEVELS_ZH: dict[str, str] = {
    "exact": "完全一致",
    "exact characters": "汉字完全一致",
    "exact pinyin": "拼音一致（同音字、繁体或仅拼音）",
    "same surname and initials, given name one edit": "同姓同首字母，名差一个字母",
    "same given name, surname differs": "名相同，姓不同",
    "same initials": "首字母相同",
    "one digit or day/month swapped": "差一位数字或日月颠倒",
    "a check fails, two characters off": "校验位不符，差两位（录入错误）",
    "valid, same division and sequence": "均有效，地区码和顺序码相同",
    "both valid, different": "均有效但不同",
    "one digit": "差一位数字",
    "same district": "同区县",
    "same city": "同城市",
    "null": "缺失",
    "else": "不一致",
}


def _level(level: str, lang: str) -> str:
    return LEVELS_ZH.get(level, level) if lang == "zh" else level


#: Review items per page: each is a pair of records with the field-by-field evidence.
PAGE_SIZE = 20


def _queue(services: Services, actor: Actor, status: str, page: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the items of ``status`` and how many there are, read as an audited read of Patient data."""
    query = f"empi review queue status={status} page={page}"
    entry = AuditEntry("search-type", entity_type="Patient", query=query)

    def work() -> tuple[list[dict[str, Any]], int]:
        services.store.check_search(actor, "Patient")
        items = services.empi.review_items(status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        return [item.as_dict() for item in items], services.empi.review_count(status=status)

    return services.store.audited_read(actor, entry, work)


@router.get("")
async def home() -> Response:
    """The review queue is the EMPI's page."""
    return RedirectResponse("/empi/review", status_code=307)


@router.get("/review")
async def review_queue(
    request: Request,
    services: ServicesDep,
    actor: PageActor,
    status: str = "open",
    done: str | None = None,
    problem: str | None = None,
    page: str = "1",
) -> Response:
    """Uncertain pairs side by side with the evidence, and accept/reject buttons, :data:`PAGE_SIZE` at a time."""
    require_area(actor, "empi")
    if status not in STATUSES:
        status = "open"
    page_no = int(page) if page.isdigit() and 0 < int(page) < 1_000_000 else 1
    lang = language(request)
    x = TEXT[lang]
    items, total = await run_in_threadpool(_queue, services, actor, status, page_no)
    for item in items:
        placeholder = any(is_newborn_placeholder(str(r.get("name") or "")) for r in (item["record"], item["candidate"]))
        for evidence in item["evidence"]:
            evidence["label"] = x.get(evidence["comparison"], evidence["comparison"])
            evidence["level_text"] = _level(evidence["level"], lang)
            if evidence["comparison"] == "name" and evidence["level"] == "null" and placeholder:
                evidence["level_text"] = x["newborn"]  # a placeholder is no name: why the name weighed nothing
    message = x["decided"].format(what=x[done]) if done in ("accepted", "rejected") else None
    return render(
        request,
        "empi/review.html",
        {
            "x": x,
            "items": items,
            "total": total,
            "page": page_no,
            "has_more": page_no * PAGE_SIZE < total,
            "status": status,
            "statuses": STATUSES,
            "fields": FIELDS,
            "message": message,
            "problem": x["conflict"].format(why=problem) if problem else None,
        },
        actor=actor,
    )


@router.post("/review/{review_id}/{decision}")
async def decide(
    review_id: int,
    decision: str,
    request: Request,
    services: ServicesDep,
    actor: PageActor,
    reason: str = Form(""),
) -> Response:
    """Accept (merge the two persons) or reject (different people) one item, then show the queue again."""
    require_area(actor, "empi")
    lang = language(request)
    if decision not in ("accept", "reject"):
        from huitong.web.routes import error_page

        return error_page(request, 404, f"unknown decision {decision!r}: accept or reject")
    why = reason.strip()[:500] or TEXT["en"][f"default_{decision}"]
    steward = steward_actor(actor)
    query: dict[str, str] = {"lang": lang}
    try:
        if decision == "accept":
            await run_in_threadpool(services.empi.accept_review, steward, review_id, why)
            query["done"] = "accepted"
        else:
            await run_in_threadpool(services.empi.reject_review, steward, review_id, why)
            query["done"] = "rejected"
    except NotFoundError as exc:
        from huitong.web.routes import error_page

        return error_page(request, 404, str(exc))
    except ConflictError as exc:  # decided meanwhile by someone else, or a person already merged
        query["problem"] = str(exc)
    return RedirectResponse(f"/empi/review?{urlencode(query)}", status_code=303)
