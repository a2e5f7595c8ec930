"""The access policy: which actor may do what to which resource. The resource store consults it on every
call, so no route, operation or export can skip it.

Three layers, all of which must allow a call:

1. **Role** (:mod:`huitong.security.roles`): may this role read/write this resource type at all?
2. **Scopes** (:mod:`huitong.security.scopes`): an OAuth token may narrow the role further.
3. **Patient reach**: which patients' records the actor may see — their department's patients (from the
   ``serviceProvider`` of the patients' Encounters), their care team's, break-the-glass grants still
   running; only their own as a patient; everyone for system actors and hospital-wide roles.

Which patients a resource belongs to (every ``Patient/…`` it references) is kept in ``sec_resource_patient``
by :class:`PatientLinkHook`, in the transaction of each write. A resource linked to no patient (an
Organization, a Medication) is visible to every role that may read its type; a resource linked to patients
is visible only if *all* of them are in reach. Search code filters with
:meth:`AccessPolicy.visible_condition` (see docs/security.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from huitong.db import Database, bulk
from huitong.fhir.hooks import ResourceChange
from huitong.security.actor import Actor
from huitong.security.roles import ALL, REFERENCE_TYPES, grant_of
from huitong.security.schema import (
    sec_break_glass,
    sec_care_team,
    sec_patient_department,
    sec_patient_link,
    sec_resource_patient,
)
from huitong.security.scopes import parse_scopes, scopes_allow

#: FHIR interaction → SMART permission letter.
PERM_OF = {
    "read": "r",
    "vread": "r",
    "history-instance": "r",
    "history-type": "r",
    "history-system": "r",
    "search-type": "s",
    "search-system": "s",
    "operation": "r",
    "create": "c",
    "update": "u",
    "patch": "u",
    "delete": "d",
}

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class AccessDeniedError(Exception):
    """The actor may not do this. ``hide`` asks the edge to answer 404 rather than reveal the resource."""

    def __init__(self, message: str, *, hide: bool = False) -> None:
        super().__init__(message)
        self.hide = hide


def patient_refs(res_type: str, res_id: str, body: dict[str, Any]) -> set[str]:
    """The ids of every patient ``body`` refers to, anywhere in it (its compartment and beyond).

    Deliberately wide: a resource that mentions several patients is visible only to whoever may see all of
    them, so a reference in an unusual element (``performer``, ``focus``, ``participant``) cannot leak it.
    """
    if res_type == "Patient":
        return {res_id}
    return _referenced_patients(body)


def named_patients(res_id: str, body: dict[str, Any]) -> set[str]:
    """A Patient and the Patients it names — ``Patient.link`` (the same person: the EMPI's golden Patient, a record
    merged into another) or any other reference — which reach through one of them extends to (``sec_patient_link``).
    """
    return {res_id} | _referenced_patients(body)


def _referenced_patients(body: dict[str, Any]) -> set[str]:
    # every write walks its resource here: one loop over each dict's items, no generator per container
    out: set[str] = set()
    stack: list[Any] = [body]
    pop, push = stack.pop, stack.append
    while stack:
        value = pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, str):
                    if key == "reference":
                        kind, _, pid = item.partition("/_history/")[0].rpartition("/")  # a version's too
                        if pid and (kind == "Patient" or kind.endswith("/Patient")):
                            out.add(pid)
                elif isinstance(item, dict | list) and key != "contained":
                    push(item)
        else:
            for item in value:
                if isinstance(item, dict | list):
                    push(item)
    return out


def department_of(body: dict[str, Any]) -> str | None:
    """The department (Organization id) an Encounter is in: its ``serviceProvider``."""
    provider = body.get("serviceProvider")
    if isinstance(provider, dict) and isinstance(provider.get("reference"), str):
        kind, _, org = provider["reference"].rpartition("/")
        if kind.endswith("Organization") and org:
            return str(org)
    return None


class PatientLinkHook:
    """Write hook: keeps ``sec_resource_patient``, ``sec_patient_department`` and ``sec_patient_link`` in step
    with each write.

    A deletion keeps the resource's patient links, so old versions of a deleted resource stay as protected as it
    was; a deleted Patient no longer joins the records it named into one person (``sec_patient_link``).
    """

    def resource_written(self, conn: sa.Connection, change: ResourceChange) -> None:
        self.resources_written(conn, [change])

    def resources_written(self, conn: sa.Connection, changes: Sequence[ResourceChange]) -> None:
        """The links of many written resources, with one statement per table."""
        stale = [c.pk for c in changes if c.resource is not None and not c.created]  # new resources have none
        for start in range(0, len(stale), 500):
            conn.execute(
                sa.delete(sec_resource_patient).where(
                    sec_resource_patient.c.resource_pk.in_(stale[start : start + 500])
                )
            )
        links: list[dict[str, Any]] = []
        departments: set[tuple[str, str]] = set()
        for change in changes:
            if change.resource is None:
                continue
            patients = patient_refs(change.res_type, change.res_id, change.resource)
            links.extend({"resource_pk": change.pk, "patient_id": p} for p in sorted(patients))
            department = department_of(change.resource) if change.res_type == "Encounter" else None
            if department:
                departments.update((pid, department) for pid in patients)
        bulk.insert_rows(conn, sec_resource_patient, links)
        persons = _relink_persons(conn, [c for c in changes if c.res_type == "Patient"])
        # a department reaches every record of the persons it treats: its patients' other records (named together
        # by a Patient — the EMPI's golden Patient) get its department as well, here and when a link is written
        departments |= _across_persons(conn, departments, persons)
        if departments:
            _add_departments(conn, departments)


def _across_persons(
    conn: sa.Connection, departments: set[tuple[str, str]], persons: list[set[str]]
) -> set[tuple[str, str]]:
    """The (patient, department) pairs that reach through a person adds: for each new pair, the patient's other
    records (``sec_patient_link``); for each group of Patients a written Patient names, the departments of any of
    them for all of them."""
    out: set[tuple[str, str]] = set()
    others = _same_persons(conn, {pid for pid, _dept in departments})
    for pid, dept in departments:
        out.update((other, dept) for other in others.get(pid, ()))
    if persons:
        known = _departments_of(conn, set().union(*persons))
        for group in persons:
            depts = {dept for pid in group for dept in known.get(pid, ())}
            out.update((pid, dept) for pid in group for dept in depts)
    return out


def _relink_persons(conn: sa.Connection, changes: Sequence[ResourceChange]) -> list[set[str]]:
    """``sec_patient_link`` for written Patients: the Patients each names (``Patient.link`` …) with itself, when it
    names another; nothing for a deleted one. Returns those groups."""
    stale = [c.pk for c in changes if not c.created]
    for start in range(0, len(stale), 500):
        conn.execute(sa.delete(sec_patient_link).where(sec_patient_link.c.resource_pk.in_(stale[start : start + 500])))
    rows: list[dict[str, Any]] = []
    groups: list[set[str]] = []
    for change in changes:
        if change.resource is None:
            continue
        named = named_patients(change.res_id, change.resource)
        if len(named) > 1:
            rows.extend({"resource_pk": change.pk, "patient_id": p} for p in sorted(named))
            groups.append(named)
    bulk.insert_rows(conn, sec_patient_link, rows)
    return groups


def same_person(conn: sa.Connection, patient_id: str) -> list[str]:
    """The other Patients a Patient resource names together with ``patient_id`` (``sec_patient_link``: the records
    of one person under the EMPI's golden Patient, a merged record and its survivor), sorted; reach is not
    checked here."""
    return sorted(_same_persons(conn, {patient_id}).get(patient_id, ()))


def _same_persons(conn: sa.Connection, patient_ids: set[str]) -> dict[str, set[str]]:
    """Patient id → the other Patients named together with it (:func:`same_person`), for many at once."""
    named, same = sec_patient_link.alias("named"), sec_patient_link.alias("same")
    ids = sorted(patient_ids)
    out: dict[str, set[str]] = {}
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            sa.select(named.c.patient_id, same.c.patient_id)
            .select_from(named.join(same, same.c.resource_pk == named.c.resource_pk))
            .where(named.c.patient_id.in_(ids[start : start + 500]), same.c.patient_id != named.c.patient_id)
        )
        for pid, other in rows:
            out.setdefault(str(pid), set()).add(str(other))
    return out


_LINKS = PatientLinkHook()
_KNOWN_DEPARTMENTS = sa.select(sec_patient_department.c.patient_id, sec_patient_department.c.department).where(
    sec_patient_department.c.patient_id.in_(sa.bindparam("b_ids", expanding=True))
)


def _departments_of(conn: sa.Connection, patient_ids: set[str]) -> dict[str, set[str]]:
    """Patient id → its recorded departments: one look-up per 500 patients."""
    patients = sorted(patient_ids)
    out: dict[str, set[str]] = {}
    for start in range(0, len(patients), 500):
        for pid, dept in conn.execute(_KNOWN_DEPARTMENTS, {"b_ids": patients[start : start + 500]}):
            out.setdefault(str(pid), set()).add(str(dept))
    return out


def _add_departments(conn: sa.Connection, pairs: set[tuple[str, str]]) -> None:
    """Record the (patient, department) pairs not recorded yet: one look-up per 500 patients, one insert."""
    known = _departments_of(conn, {pid for pid, _dept in pairs})
    missing = [{"patient_id": pid, "department": dept} for pid, dept in sorted(pairs) if dept not in known.get(pid, ())]
    bulk.insert_rows(conn, sec_patient_department, missing)


@dataclass(frozen=True, slots=True)
class _AccessHook:
    policy: AccessPolicy
    actor: Actor

    def resource_written(self, conn: sa.Connection, change: ResourceChange) -> None:
        self.resources_written(conn, [change])

    def resources_written(self, conn: sa.Connection, changes: Sequence[ResourceChange]) -> None:
        unrestricted = self.policy.is_unrestricted(self.actor)
        for change in changes:
            perm = "c" if change.created else "d" if change.deleted else "u"
            self.policy.check_interaction(self.actor, change.res_type, perm)
            if not unrestricted:
                self._check_reach(conn, change)
        _LINKS.resources_written(conn, changes)

    def _check_reach(self, conn: sa.Connection, change: ResourceChange) -> None:
        if not change.created:  # the version it replaces must have been visible
            self.policy.check_pk(self.actor, conn, change.pk, change.res_type, hide=False)
        if change.resource is None:
            return
        if change.created and change.res_type == "Patient":
            # Registering a new patient: the registering member of staff joins the patient's care team. The other
            # patients it names (Patient.link: the same person) must be in reach already, or naming one would
            # reach it (reach follows those links).
            if self.actor.user_id is not None:
                conn.execute(sec_care_team.insert().values(user_id=self.actor.user_id, patient_id=change.res_id))
            patients = named_patients(change.res_id, change.resource) - {change.res_id}
            if not patients:
                return
        elif change.res_type == "Patient":  # an update may not name a patient out of reach either
            patients = named_patients(change.res_id, change.resource)
        else:
            patients = patient_refs(change.res_type, change.res_id, change.resource)
        outside = patients - self.policy.reached_ids(self.actor, conn, patients)
        if outside:
            raise AccessDeniedError(f"{self.actor.id} may not write records of patients outside their reach")


class AccessPolicy:
    """See the module docstring. One per running Huitong; stateless apart from the clock."""

    def __init__(self, db: Database | None = None, *, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock

    # -- type level ---------------------------------------------------------------------------------

    def check_interaction(self, actor: Actor, rtype: str | None, perm: str) -> None:
        """Raise :class:`AccessDeniedError` unless ``actor`` may ``perm`` (c r u d s) resources of ``rtype``.

        ``rtype`` ``None`` (system-wide history or search) asks whether the actor may read anything at all.
        """
        grant = grant_of(actor.role)
        write = perm in ("c", "u", "d")
        allowed = bool(grant.read) if rtype is None else grant.may(rtype, write)
        if allowed and actor.scopes:
            scopes = parse_scopes(actor.scopes)
            allowed = any(perm in s.perms for s in scopes) if rtype is None else scopes_allow(scopes, rtype, perm)
        if not allowed:
            what = rtype or "any resource"
            raise AccessDeniedError(f"role {actor.role!r} may not {_VERB[perm]} {what}")

    def readable_types(self, actor: Actor) -> frozenset[str] | None:
        """The resource types ``actor`` may read, or ``None`` for every type."""
        grant = grant_of(actor.role)
        types: frozenset[str] | None = None if ALL in grant.read else grant.read | REFERENCE_TYPES
        if actor.scopes:
            named = {s.rtype for s in parse_scopes(actor.scopes) if "r" in s.perms or "s" in s.perms}
            if "*" not in named:
                types = frozenset(named) if types is None else types & named
        return types

    # -- patient level ------------------------------------------------------------------------------

    def is_unrestricted(self, actor: Actor) -> bool:
        """Whether ``actor`` reaches every patient (system actors, hospital-wide roles)."""
        return grant_of(actor.role).reach == "all" and not self._patient_scoped(actor)

    def _patient_scoped(self, actor: Actor) -> bool:
        return bool(actor.scopes) and all(s.context == "patient" for s in parse_scopes(actor.scopes))

    def reaches(self, actor: Actor, patient_id: sa.ColumnElement[str]) -> sa.ColumnElement[bool] | None:
        """A condition true when ``actor`` reaches the patient whose id ``patient_id`` holds (a column of an
        enclosing query, or a literal), or ``None`` when the actor reaches every patient.

        Checked patient by patient through the primary keys of the reach tables (``sec_patient_department``,
        ``sec_care_team``, ``sec_break_glass``), so its cost does not grow with the size of a department (it used to
        list every patient the actor reaches, per query).
        """
        if self.is_unrestricted(actor):
            return None
        reach = grant_of(actor.role).reach
        if reach == "own" or self._patient_scoped(actor):
            return patient_id == sa.literal(actor.patient_id or "\x00no-patient", sa.String)
        if reach != "department" or actor.user_id is None:
            return sa.false()
        now = self.clock()
        parts: list[sa.ColumnElement[bool]] = []
        if actor.department:  # the usual way in first: the checks stop at the first that holds
            parts.append(
                sa.exists(
                    sa.select(sa.literal(1)).where(
                        sec_patient_department.c.patient_id == patient_id,
                        sec_patient_department.c.department == actor.department,
                    )
                )
            )
        parts.append(
            sa.exists(
                sa.select(sa.literal(1)).where(
                    sec_care_team.c.user_id == actor.user_id,
                    sec_care_team.c.patient_id == patient_id,
                    sa.or_(sec_care_team.c.until.is_(None), sec_care_team.c.until > now),
                )
            )
        )
        parts.append(
            sa.exists(
                sa.select(sa.literal(1)).where(
                    sec_break_glass.c.user_id == actor.user_id,
                    sec_break_glass.c.patient_id == patient_id,
                    sec_break_glass.c.expires > now,
                )
            )
        )
        return sa.or_(*parts)

    def reached_ids(self, actor: Actor, conn: sa.Connection, patient_ids: Iterable[str]) -> set[str]:
        """Those of ``patient_ids`` that ``actor`` reaches (one look-up each; for writes and single records)."""
        ids = set(patient_ids)
        if self.is_unrestricted(actor):
            return ids
        out: set[str] = set()
        for pid in sorted(ids):
            condition = self.reaches(actor, sa.literal(pid, sa.String))
            if condition is None or conn.execute(sa.select(condition)).scalar():
                out.add(pid)
        return out

    def visible_condition(
        self, actor: Actor, resource_pk: sa.ColumnElement[Any], res_type: sa.ColumnElement[str] | None = None
    ) -> sa.ColumnElement[bool] | None:
        """A WHERE condition on a column holding ``resource.pk``: true for the resources ``actor`` may see.

        ``None`` when the actor reaches every patient. Add it to every query that returns resources
        (search, ``_include``, ``$everything``, export, history); see docs/security.md. With ``res_type``
        (the resource type column) it fails closed: a clinical resource with no patient link at all (written
        around the store, not yet relinked) is hidden; only reference types may be unlinked.
        """
        link = sec_resource_patient.alias("visible_link")
        reached = self.reaches(actor, link.c.patient_id)
        if reached is None:
            return None
        # a linked patient out of reach hides the resource (each linked patient looked up on its own: the cost
        # does not grow with the size of the actor's department)
        outside = sa.exists(sa.select(sa.literal(1)).where(link.c.resource_pk == resource_pk, ~reached))
        if res_type is None:
            return ~outside
        linked = sa.exists(sa.select(sa.literal(1)).where(link.c.resource_pk == resource_pk))
        return sa.or_(res_type.in_(sorted(REFERENCE_TYPES)), sa.and_(linked, ~outside))

    def check_pk(self, actor: Actor, conn: sa.Connection, pk: int, rtype: str, *, hide: bool = True) -> None:
        """Raise :class:`AccessDeniedError` unless ``actor`` may see the ``rtype`` resource with key ``pk``."""
        if self.is_unrestricted(actor):  # no condition to build or run (the read-by-id hot path)
            return
        condition = self.visible_condition(actor, sa.literal(pk, sa.BigInteger), sa.literal(rtype, sa.String))
        if condition is not None and not conn.execute(sa.select(condition)).scalar():
            raise AccessDeniedError(f"{actor.id} may not see this record", hide=hide)

    def write_hook(self, actor: Actor) -> _AccessHook:
        """A write hook that refuses, inside the write's transaction, each change ``actor`` may not make,
        and keeps the patient links of each change it allows (:class:`PatientLinkHook`)."""
        return _AccessHook(self, actor)


_VERB = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}


def relink(db: Database, *, batch: int = 2000) -> int:
    """Rebuild the patient links of every current resource (after data was written around the store, e.g.
    restored from an archive or bulk-loaded); returns how many resources were linked. Idempotent."""
    from huitong.db.schema import resource

    hook = PatientLinkHook()
    after, linked = 0, 0
    while True:
        with db.read() as conn:
            rows = conn.execute(
                sa.select(resource.c.pk, resource.c.res_type, resource.c.res_id, resource.c.content)
                .where(resource.c.pk > after, resource.c.deleted.is_(False))
                .order_by(resource.c.pk)
                .limit(batch)
            ).all()
        if not rows:
            return linked
        changes = [
            ResourceChange(r.pk, r.res_type, r.res_id, 0, orjson.loads(r.content), created=False)
            for r in rows
            if r.content is not None
        ]

        def job(conn: sa.Connection, changes: list[ResourceChange] = changes) -> None:
            for change in changes:
                hook.resource_written(conn, change)

        db.write(job)
        linked += len(changes)
        after = rows[-1].pk
