"""Integration: every lab order gets its result (the closed loop the EMR grading asks for)."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from huitong.quality.rule import Context, Dimension, SetRule, Severity, source_of
from huitong.quality.rules.discharge_after_admission import parse_moment


@dataclass
class State:
    grace: timedelta
    orders: dict[str, tuple[str, str]] = field(default_factory=dict)  # id → (authoredOn, source system)
    resulted: set[str] = field(default_factory=set)


def start(ctx: Context) -> State:
    return State(timedelta(hours=ctx.settings.order_result_grace_hours))


def observe(state: State, resource: dict[str, Any]) -> None:
    if resource["resourceType"] == "ServiceRequest":
        if resource.get("status") not in ("revoked", "entered-in-error", "draft"):
            state.orders[resource["id"]] = (resource.get("authoredOn", ""), source_of(resource))
    else:
        for ref in resource.get("basedOn") or ():
            target = ref.get("reference") if isinstance(ref, dict) else None
            if isinstance(target, str) and target.startswith("ServiceRequest/"):
                state.resulted.add(target[15:])


def merge(first: State, later: State) -> State:
    """The state of two parts of the scan, ``first`` observed before ``later``."""
    first.orders.update(later.orders)
    first.resulted |= later.resulted
    return first


def conclude(state: State) -> Iterator[tuple[str, str, str, str]]:
    now = datetime.now(UTC)
    for order_id, (authored, source) in state.orders.items():
        if order_id in state.resulted:
            continue
        when = parse_moment(authored) if authored else None
        if when is None or now - when > state.grace:
            detail = f"no result for this order (ordered {authored or 'at an unknown time'})"
            yield "ServiceRequest", order_id, detail, source


RULE = SetRule(
    "order-has-result",
    Dimension.INTEGRATION,
    Severity.WARNING,
    "医嘱有结果 Every order has its result",
    "Every ServiceRequest older than HUITONG_QUALITY__ORDER_RESULT_GRACE_HOURS is the basedOn of some "
    "DiagnosticReport or Observation.",
    ("ServiceRequest", "DiagnosticReport", "Observation"),
    start,
    observe,
    conclude,
    merge,
    fields=("status", "authoredOn", "basedOn"),
)
