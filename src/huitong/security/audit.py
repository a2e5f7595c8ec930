"""The audit trail: one row per call on patient data, written in the transaction of the call.

Rows are shaped after FHIR ``AuditEvent`` (action C/R/U/D/E, outcome 0/4/8/12, agent, entity) and can be
rendered as one with :func:`to_audit_event`. Writes are recorded inside the write's own transaction, so a
change and its audit row commit or roll back together; a failed call is recorded after its rollback. The
security issue adds the hash chain and the auditor's tools on top of this table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from huitong.security import audit_chain
from huitong.security.actor import Actor


class Action(StrEnum):
    """FHIR AuditEvent.action."""

    CREATE = "C"
    READ = "R"
    UPDATE = "U"
    DELETE = "D"
    EXECUTE = "E"


class Outcome(StrEnum):
    """FHIR AuditEvent.outcome."""

    SUCCESS = "0"
    MINOR_FAILURE = "4"  # the request was refused (4xx)
    SERIOUS_FAILURE = "8"  # the request failed (5xx)
    MAJOR_FAILURE = "12"


#: FHIR restful interaction → AuditEvent action.
ACTION_OF: dict[str, Action] = {
    "create": Action.CREATE,
    "read": Action.READ,
    "vread": Action.READ,
    "update": Action.UPDATE,
    "patch": Action.UPDATE,
    "delete": Action.DELETE,
    "history-instance": Action.READ,
    "history-type": Action.READ,
    "history-system": Action.READ,
    "search-type": Action.EXECUTE,
    "search-system": Action.EXECUTE,
    "transaction": Action.EXECUTE,
    "batch": Action.EXECUTE,
    "operation": Action.EXECUTE,
}


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What one call did to what."""

    interaction: str
    outcome: Outcome = Outcome.SUCCESS
    outcome_desc: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    entity_version: int | None = None
    query: str | None = None


def audit_row(actor: Actor, entry: AuditEntry, *, recorded: datetime | None = None) -> dict[str, Any]:
    """The ``audit_event`` row for ``entry`` done by ``actor``."""
    return {
        "recorded": recorded or datetime.now(UTC),
        "action": ACTION_OF.get(entry.interaction, Action.EXECUTE).value,
        "interaction": entry.interaction,
        "outcome": entry.outcome.value,
        "outcome_desc": entry.outcome_desc,
        "actor_id": actor.id,
        "actor_role": actor.role,
        "actor_name": actor.name,
        "on_behalf_of": actor.on_behalf_of,
        "source_address": actor.source_address,
        "purpose_of_use": actor.purpose_of_use,
        "request_id": actor.request_id,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "entity_version": entry.entity_version,
        "query": entry.query,
    }


def record(conn: sa.Connection, actor: Actor, entries: list[AuditEntry]) -> None:
    """Append audit rows, hash-chained (:mod:`huitong.security.audit_chain`), in the caller's transaction."""
    if entries:
        now = datetime.now(UTC)
        audit_chain.append(conn, [audit_row(actor, e, recorded=now) for e in entries])


def to_audit_event(row: sa.Row[Any]) -> dict[str, Any]:
    """Render an ``audit_event`` row as a FHIR R4 AuditEvent resource."""
    m = row._mapping
    recorded = m["recorded"]
    if recorded.tzinfo is None:
        recorded = recorded.replace(tzinfo=UTC)
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(m["seq"]),
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        },
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": m["interaction"]}],
        "action": m["action"],
        "recorded": recorded.isoformat(timespec="milliseconds"),
        "outcome": m["outcome"],
        "agent": [
            {
                "who": {"identifier": {"value": m["actor_id"]}, "display": m["actor_name"] or m["actor_id"]},
                "role": [{"text": m["actor_role"]}],
                "requestor": True,
                **({"network": {"address": m["source_address"], "type": "2"}} if m["source_address"] else {}),
                **({"purposeOfUse": [{"text": m["purpose_of_use"]}]} if m["purpose_of_use"] else {}),
            }
        ],
        "source": {"observer": {"display": "Huitong"}},
    }
    if m["outcome_desc"]:
        event["outcomeDesc"] = m["outcome_desc"]
    if m["on_behalf_of"]:
        event["agent"].append({"who": {"identifier": {"value": m["on_behalf_of"]}}, "requestor": False})
    if m["entity_type"]:
        entity: dict[str, Any] = (
            {"what": {"reference": f"{m['entity_type']}/{m['entity_id']}"}}
            if m["entity_id"]
            else {"what": {"type": m["entity_type"]}}
        )
        if m["query"]:
            entity["description"] = m["query"]
        event["entity"] = [entity]
    return event
