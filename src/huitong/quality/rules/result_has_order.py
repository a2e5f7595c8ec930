"""Integration: every lab report refers to the order it answers."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from huitong.quality.rule import Context, Dimension, SetRule, Severity, source_of


@dataclass
class State:
    orders: set[str] = field(default_factory=set)
    reports: dict[str, tuple[list[str], str]] = field(default_factory=dict)  # report id → (ordered ids, source)


def start(_ctx: Context) -> State:
    return State()


def observe(state: State, resource: dict[str, Any]) -> None:
    if resource["resourceType"] == "ServiceRequest":
        state.orders.add(resource["id"])
        return
    refs = [r.get("reference", "") for r in resource.get("basedOn") or [] if isinstance(r, dict)]
    orders = [r.removeprefix("ServiceRequest/") for r in refs if r.startswith("ServiceRequest/")]
    state.reports[resource["id"]] = (orders, source_of(resource))


def merge(first: State, later: State) -> State:
    """The state of two parts of the scan, ``first`` observed before ``later``."""
    first.orders |= later.orders
    first.reports.update(later.reports)
    return first


def conclude(state: State) -> Iterator[tuple[str, str, str, str]]:
    for report_id, (orders, source) in state.reports.items():
        if not orders:
            yield "DiagnosticReport", report_id, "the report names no order (basedOn)", source
        elif not any(o in state.orders for o in orders):
            yield "DiagnosticReport", report_id, f"the order {orders[0]} it names is not in the repository", source


RULE = SetRule(
    "result-has-order",
    Dimension.INTEGRATION,
    Severity.WARNING,
    "结果有医嘱 Every result has its order",
    "Every DiagnosticReport names (basedOn) a ServiceRequest that exists in the repository.",
    ("ServiceRequest", "DiagnosticReport"),
    start,
    observe,
    conclude,
    merge,
    fields=("basedOn",),
)
