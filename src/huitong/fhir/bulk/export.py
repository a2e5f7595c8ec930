"""``$export`` (FHIR Bulk Data Access 2.0): system, Patient and Group level, NDJSON files, asynchronous.

The kick-off writes ``status.json`` in a new job folder under ``settings.fhir.export_dir`` and starts a
worker thread; the worker streams each resource type's stored JSON, one resource per line, into
``<Type>.ndjson`` and records the manifest when done. Status and files are read back from the folder,
so they survive a restart of the process that started the job (a job interrupted by a restart is
reported as failed). Resources are written exactly as stored — no parsing, no re-serialising.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from huitong.db.schema import resource
from huitong.fhir import errors
from huitong.fhir.operations._patient_compartment import PATIENT_COMPARTMENT
from huitong.fhir.resource_types import NOT_STORED, RESOURCE_TYPES
from huitong.fhir.search.params import row_codes
from huitong.fhir.search.schema import search_reference
from huitong.fhir.store import ResourceStore
from huitong.fhir.stored import instant
from huitong.security.actor import Actor

_JOB_ID = frozenset("0123456789abcdef")
_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What to export: ``level`` is ``system``, ``patient`` or ``group`` (with ``group_id``)."""

    level: str
    request_url: str
    types: tuple[str, ...] = ()
    since: datetime | None = None
    group_id: str | None = None


def parse_types(text: str | None, level: str) -> tuple[str, ...]:
    """``_type``: comma-separated resource types (checked); default all (or the Patient compartment's)."""
    if text:
        types = tuple(t.strip() for t in text.split(",") if t.strip())
        for rtype in types:
            if rtype not in RESOURCE_TYPES or rtype in NOT_STORED:
                raise errors.invalid(f"_type names an unknown resource type {rtype!r}")
        return types
    if level == "system":
        return ()
    return ("Patient", *sorted(PATIENT_COMPARTMENT))


def check_output_format(value: str | None) -> None:
    """Only NDJSON is offered."""
    if value is not None and value not in _FORMATS:
        raise errors.invalid(f"_outputFormat {value!r} is not supported; use application/fhir+ndjson")


class ExportJobs:
    """Starts export jobs and reads their status from their folders."""

    def __init__(self, store: ResourceStore, folder: Path) -> None:
        self.store = store
        self.folder = folder

    def start(self, actor: Actor, request: ExportRequest, *, run_inline: bool = False) -> str:
        """Create the job folder, start the worker; returns the job id."""
        job_id = uuid.uuid4().hex
        job_dir = self.folder / job_id
        job_dir.mkdir(parents=True)
        status = {
            "status": "in-progress",
            "transactionTime": instant(datetime.now(UTC)),
            "request": request.request_url,
            "actor": actor.id,
        }
        _write_json(job_dir / "status.json", status)
        worker = threading.Thread(
            target=self._run, args=(actor, request, job_dir, status), name=f"export-{job_id[:8]}", daemon=True
        )
        if run_inline:
            worker.run()
        else:
            worker.start()
        return job_id

    def status(self, job_id: str) -> dict[str, Any]:
        """The job's status document (``status``: in-progress, complete, error)."""
        path = self._job_dir(job_id) / "status.json"
        if not path.exists():
            raise errors.not_found(f"no export job {job_id}")
        value: dict[str, Any] = orjson.loads(path.read_bytes())
        return value

    def file(self, job_id: str, name: str) -> Path:
        """The path of one output file of a job."""
        if "/" in name or "\\" in name or not name.endswith(".ndjson") or name.startswith("."):
            raise errors.not_found(f"no export file {name!r}")
        path = self._job_dir(job_id) / name
        if not path.is_file():
            raise errors.not_found(f"no export file {name!r} in job {job_id}")
        return path

    def delete(self, job_id: str) -> None:
        """Cancel a job and remove its files."""
        job_dir = self._job_dir(job_id)
        if not job_dir.exists():
            raise errors.not_found(f"no export job {job_id}")
        (job_dir / "cancelled").touch()
        shutil.rmtree(job_dir, ignore_errors=True)

    def _job_dir(self, job_id: str) -> Path:
        if not job_id or not set(job_id) <= _JOB_ID or len(job_id) != 32:
            raise errors.not_found(f"no export job {job_id!r}")
        return self.folder / job_id

    # -- the worker ---------------------------------------------------------------------------------

    def _run(self, actor: Actor, request: ExportRequest, job_dir: Path, status: dict[str, Any]) -> None:
        try:
            output = self._export(actor, request, job_dir)
        except Exception as exc:  # noqa: BLE001 - any failure must end up in the job's status, not be lost
            status.update(status="error", error=[{"type": "OperationOutcome", "diagnostics": str(exc)[:1000]}])
        else:
            status.update(status="complete", output=output, error=[])
        if job_dir.exists() and not (job_dir / "cancelled").exists():
            _write_json(job_dir / "status.json", status)

    def _export(self, actor: Actor, request: ExportRequest, job_dir: Path) -> list[dict[str, Any]]:
        output: list[dict[str, Any]] = []
        with self.store.db.read() as conn:
            patients = self._group_patients(conn, request.group_id) if request.level == "group" else None
            for rtype in request.types or self._types_present(conn):
                if (job_dir / "cancelled").exists():
                    break
                count = self._write_type(conn, actor, request, rtype, patients, job_dir / f"{rtype}.ndjson")
                if count:
                    output.append({"type": rtype, "url": f"{rtype}.ndjson", "count": count})
        return output

    @staticmethod
    def _types_present(conn: sa.Connection) -> list[str]:
        query = sa.select(resource.c.res_type).where(resource.c.deleted.is_(False)).distinct()
        return sorted(conn.execute(query).scalars())

    @staticmethod
    def _group_patients(conn: sa.Connection, group_id: str | None) -> list[str]:
        row = conn.execute(
            sa.select(resource.c.content).where(
                resource.c.res_type == "Group", resource.c.res_id == group_id, resource.c.deleted.is_(False)
            )
        ).first()
        if row is None:
            raise errors.not_found(f"Group/{group_id} does not exist")
        group = orjson.loads(row.content)
        ids = []
        for member in group.get("member") or []:
            ref = str((member.get("entity") or {}).get("reference", ""))
            if ref.startswith("Patient/"):
                ids.append(ref.split("/")[1])
        return ids

    def _write_type(
        self,
        conn: sa.Connection,
        actor: Actor,
        request: ExportRequest,
        rtype: str,
        patients: list[str] | None,
        path: Path,
    ) -> int:
        query = sa.select(resource.c.content).where(resource.c.res_type == rtype, resource.c.deleted.is_(False))
        if request.since is not None:
            query = query.where(resource.c.last_updated >= request.since)
        if request.level in ("patient", "group"):
            membership = _compartment_condition(rtype, patients)
            if membership is None:
                return 0
            query = query.where(membership)
        query = query.where(*self.store.visible_conditions(actor, resource.c.pk, resource.c.res_type))
        count = 0
        with path.open("wb") as out:
            protector = self.store.protector  # encrypted fields revealed or masked for the requester
            for content in _stream(conn, query.order_by(resource.c.pk)):
                out.write(protector.open(actor, rtype, content.encode()) if protector else content.encode())
                out.write(b"\n")
                count += 1
        if count == 0:
            path.unlink()
        return count


def _compartment_condition(rtype: str, patients: list[str] | None) -> sa.ColumnElement[bool] | None:
    if rtype == "Patient":
        return resource.c.res_id.in_(patients) if patients is not None else sa.true()
    codes = PATIENT_COMPARTMENT.get(rtype)
    if not codes:
        return None
    ref = search_reference
    members = sa.select(ref.c.resource_pk).where(
        ref.c.res_type == rtype, ref.c.target_type == "Patient", ref.c.param.in_(row_codes(rtype, codes))
    )
    if patients is not None:
        members = members.where(ref.c.target_id.in_(patients))
    return resource.c.pk.in_(members)


def _stream(conn: sa.Connection, query: sa.Select[Any]) -> Iterable[str]:
    result = conn.execution_options(stream_results=True, yield_per=1000).execute(query)
    for (content,) in result:
        yield content


def _write_json(path: Path, value: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(value))
    tmp.replace(path)
