"""Critical values (危急值): raised when a critical result is stored, closed when a clinician acknowledges it.

The EMR grading asks for this closed loop with its times. A write hook keeps ``critical_alert`` rows in step
with Observations whose interpretation is critical (v3 ObservationInterpretation ``HH``, ``LL``, ``AA``; v2 flags
map to those) — in the same transaction as the Observation. Acknowledging writes a FHIR ``Task`` (code
``critical-value-ack``, ``executionPeriod`` from the report to the acknowledgement, ``owner`` the clinician)
through the store, so it is audited and versioned like any clinical fact; the same hook then marks the alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from huitong.clinical.schema import critical_alert
from huitong.fhir import errors
from huitong.fhir.hooks import ResourceChange
from huitong.fhir.store import ResourceStore
from huitong.fhir.stored import instant, moment_of, utc
from huitong.security.actor import Actor
from huitong.security.audit import AuditEntry

CRITICAL_CODES = {"HH", "LL", "AA", "critical"}
TASK_SYSTEM = "urn:huitong:task-code"
ACK_CODE = "critical-value-ack"


def critical_flag(obs: dict[str, Any]) -> str | None:
    """The critical interpretation code of an Observation, if it has one."""
    for concept in obs.get("interpretation") or []:
        for coding in (concept or {}).get("coding") or []:
            if isinstance(coding, dict) and coding.get("code") in CRITICAL_CODES:
                return str(coding["code"])
    return None


def _moment(text: object) -> datetime | None:
    return moment_of(text, naive=UTC)


def _ref_id(ref: object, rtype: str) -> str | None:
    target = ref.get("reference", "") if isinstance(ref, dict) else ""
    return target.removeprefix(f"{rtype}/") if isinstance(target, str) and target.startswith(f"{rtype}/") else None


def _value_text(obs: dict[str, Any]) -> str | None:
    q = obs.get("valueQuantity")
    if isinstance(q, dict) and "value" in q:
        return f"{q['value']} {q.get('unit') or q.get('code') or ''}".strip()
    for key in ("valueString", "valueInteger"):
        if key in obs:
            return str(obs[key])
    return None


class CriticalAlertHook:
    """Raises, updates, withdraws and closes alerts as Observations and acknowledgement Tasks are written."""

    def resource_written(self, conn: sa.Connection, change: ResourceChange) -> None:
        if change.res_type == "Observation":
            self._observation(conn, change)
        elif change.res_type == "Task" and change.resource is not None:
            self._task(conn, change.resource)

    def _observation(self, conn: sa.Connection, change: ResourceChange) -> None:
        obs = change.resource
        flag = critical_flag(obs) if obs and obs.get("status") in ("final", "amended", "corrected") else None
        if flag is None and change.created:
            return  # a new, uncritical result: no alert to raise or withdraw
        existing = conn.execute(
            sa.select(critical_alert.c.acknowledged_at).where(critical_alert.c.observation_pk == change.pk)
        ).first()
        if flag is None or obs is None:
            if existing is not None and existing.acknowledged_at is None:
                conn.execute(critical_alert.delete().where(critical_alert.c.observation_pk == change.pk))
            return
        raised = _moment(obs.get("issued")) or _moment(obs.get("effectiveDateTime")) or datetime.now(UTC)
        row = {
            "observation_id": change.res_id,
            "patient_id": _ref_id(obs.get("subject"), "Patient"),
            "encounter_id": _ref_id(obs.get("encounter"), "Encounter"),
            "code_text": (obs.get("code") or {}).get("text")
            or next((c.get("display") for c in (obs.get("code") or {}).get("coding", []) if c.get("display")), None),
            "value_text": _value_text(obs),
            "interpretation": flag,
            "raised_at": raised,
        }
        if existing is None:
            conn.execute(critical_alert.insert(), {"observation_pk": change.pk, **row})
        else:
            conn.execute(critical_alert.update().where(critical_alert.c.observation_pk == change.pk).values(**row))

    @staticmethod
    def _task(conn: sa.Connection, task: dict[str, Any]) -> None:
        codes = {c.get("code") for c in (task.get("code") or {}).get("coding", []) if isinstance(c, dict)}
        obs_id = _ref_id(task.get("focus"), "Observation")
        if ACK_CODE not in codes or task.get("status") != "completed" or obs_id is None:
            return
        ended = _moment((task.get("executionPeriod") or {}).get("end")) or datetime.now(UTC)
        owner = task.get("owner") or {}
        who = (owner.get("identifier") or {}).get("value") or owner.get("reference") or owner.get("display")
        conn.execute(
            critical_alert.update()
            .where(critical_alert.c.observation_id == obs_id, critical_alert.c.acknowledged_at.is_(None))
            .values(acknowledged_at=ended, acknowledged_by=who, task_id=task.get("id"))
        )


@dataclass(frozen=True)
class Alert:
    """One critical value as the workbench shows it."""

    observation_id: str
    patient_id: str | None
    encounter_id: str | None
    what: str | None
    value: str | None
    interpretation: str
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None

    @property
    def minutes_to_acknowledge(self) -> float | None:
        if self.acknowledged_at is None:
            return None
        return round((utc(self.acknowledged_at) - utc(self.raised_at)).total_seconds() / 60, 1)


def list_alerts(
    store: ResourceStore, actor: Actor, *, open_only: bool = True, limit: int = 50, offset: int = 0
) -> list[Alert]:
    """Critical values the actor may see (same patient reach as any read), newest first; audited as a search."""
    query = sa.select(critical_alert).order_by(critical_alert.c.raised_at.desc()).limit(limit).offset(offset)
    if open_only:
        query = query.where(critical_alert.c.acknowledged_at.is_(None))
    condition = store.policy.visible_condition(actor, critical_alert.c.observation_pk)
    if condition is not None:
        query = query.where(condition)
    entry = AuditEntry("search-type", entity_type="Observation", query=f"critical-values open={open_only}")

    def work() -> list[Alert]:
        store.check_search(actor, "Observation")
        with store.db.read() as conn:
            rows = conn.execute(query).all()
        return [
            Alert(
                r.observation_id,
                r.patient_id,
                r.encounter_id,
                r.code_text,
                r.value_text,
                r.interpretation,
                utc(r.raised_at),
                utc(r.acknowledged_at) if r.acknowledged_at else None,
                r.acknowledged_by,
            )
            for r in rows
        ]

    return store.audited_read(actor, entry, work)


def acknowledge(store: ResourceStore, actor: Actor, observation_id: str, *, note: str | None = None) -> dict[str, Any]:
    """Record that ``actor`` received the critical value: a completed Task, audited; returns the Task."""
    obs = store.read(actor, "Observation", observation_id).resource()
    if critical_flag(obs) is None:
        raise errors.invalid(f"Observation/{observation_id} is not a critical value")
    now = datetime.now(UTC)
    raised = _moment(obs.get("issued")) or _moment(obs.get("effectiveDateTime")) or now
    task: dict[str, Any] = {
        "resourceType": "Task",
        "status": "completed",
        "intent": "order",
        "code": {"coding": [{"system": TASK_SYSTEM, "code": ACK_CODE, "display": "危急值接收确认"}]},
        "focus": {"reference": f"Observation/{observation_id}"},
        "authoredOn": instant(raised),
        "lastModified": instant(now),
        "executionPeriod": {"start": instant(raised), "end": instant(now)},
        "owner": {"identifier": {"value": actor.id}, "display": actor.name or actor.id},
    }
    for key, source in (("for", "subject"), ("encounter", "encounter")):
        if isinstance(obs.get(source), dict):
            task[key] = obs[source]
    if note:
        task["note"] = [{"text": note}]
    return store.create(actor, task).resource()
