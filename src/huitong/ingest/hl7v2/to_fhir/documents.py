"""MDM^T02 → DocumentReference (IG sheets TXA[DocumentReference], OBX[DocumentReference]).

The id comes from the unique document number (TXA-12), else the placer/filler order numbers (TXA-14,
TXA-15), else MSH-10. The document body is the OBX segments: text (TX, FT, ST) joined into one
``text/plain`` attachment; ED values as attachments of their own type; RP (reference pointers) as URLs.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from huitong.ingest.errors import MappingError
from huitong.ingest.hl7v2.to_fhir import datatypes as dt
from huitong.ingest.hl7v2.to_fhir.context import MapContext, stable_id
from huitong.ingest.hl7v2.to_fhir.encounter import map_encounter
from huitong.ingest.hl7v2.to_fhir.patient import PatientFacts, map_patient

# TXA-17 (document completion status, table 0271) → DocumentReference.docStatus
_DOC_STATUS = {"AU": "final", "LA": "final", "PA": "preliminary", "IP": "preliminary", "IN": "preliminary",
               "DI": "preliminary", "DO": "preliminary"}  # fmt: skip


def map_mdm(ctx: MapContext) -> PatientFacts:
    """MDM^T02."""
    txa = ctx.msg.segment("TXA")
    if txa is None:
        raise MappingError("MDM^T02 has no TXA segment", location="TXA")
    pid = ctx.msg.segment("PID")
    if pid is None:
        raise MappingError("MDM^T02 has no PID segment: the document has no patient", location="PID")
    patient, facts = map_patient(pid, ctx, ctx.msg.segment("PD1"))
    number = txa.field(12)
    if number.get(1).strip():
        rid = stable_id("DocumentReference", *dt.ei_key(number))
    elif txa.get(14).strip() or txa.get(15).strip():
        rid = stable_id("DocumentReference", "order", *dt.ei_key(txa.field(14)), *dt.ei_key(txa.field(15)))
    else:
        rid = stable_id("DocumentReference", ctx.facility, ctx.msg.control_id)
        ctx.warn("TXA-12 (unique document number) is empty; document id taken from MSH-10")
    completion = txa.get(17).strip().upper()
    doc: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": rid,
        "status": "entered-in-error" if completion == "CA" else "current",
    }
    master = dt.entity_identifier(number, ctx)
    if master:
        doc["masterIdentifier"] = master
    if completion in _DOC_STATUS:
        doc["docStatus"] = _DOC_STATUS[completion]
    kind = dt.codeable(txa.field(2), ctx, table="0270")
    if kind:
        doc["type"] = kind
    doc["subject"] = patient
    when = dt.instant(txa.get(4) or txa.get(6), ctx)
    if when:
        doc["date"] = when
    authors = [r for n in (5, 9) for r in (dt.practitioner(x, ctx) for x in txa.repetitions(n)) if r]
    if authors:
        doc["author"] = list({a["reference"]: a for a in authors}.values())
    authenticators = [r for r in (dt.practitioner(x, ctx) for x in txa.repetitions(22)) if r]
    if authenticators:
        doc["authenticator"] = authenticators[0]
    pv1 = ctx.msg.segment("PV1")
    if pv1 is not None:
        encounter = map_encounter(pv1, ctx, patient, pid=pid)
        if encounter is not None:
            doc["context"] = {"encounter": [encounter]}
    content = _content(ctx)
    if not content:
        raise MappingError("MDM^T02 has no OBX with document content", location="OBX")
    doc["content"] = content
    ctx.add(doc)
    return facts


def _content(ctx: MapContext) -> list[dict[str, Any]]:
    text_lines: list[str] = []
    content: list[dict[str, Any]] = []
    for obx in ctx.msg.segments("OBX"):
        kind = obx.get(2).strip().upper()
        if kind in ("TX", "FT", "ST", "CE", "CWE"):
            text_lines += [f.text() for f in obx.repetitions(5)]
        elif kind == "ED":
            value = obx.field(5)
            media, subtype, encoding, data = value.get(2), value.get(3), value.get(4).upper(), value.get(5)
            attachment: dict[str, Any] = {
                "contentType": f"{media}/{subtype}".lower() if media and subtype else "application/octet-stream"
            }
            if data.strip():
                payload = _base64(data, encoding)
                if payload is None:
                    ctx.warn(f"OBX {obx.get(1)}: ED data in encoding {encoding!r} could not be decoded; left out")
                    continue
                attachment["data"] = payload
            content.append({"attachment": attachment})
        elif kind == "RP":
            url = obx.field(5).get(1).strip()
            if url:
                content.append({"attachment": {"url": url}})
        elif kind == "HD":
            continue  # a study or system identifier, not content
    if any(line.strip() for line in text_lines):
        body = "\n".join(text_lines).encode("utf-8")
        content.insert(
            0, {"attachment": {"contentType": "text/plain; charset=utf-8", "data": base64.b64encode(body).decode()}}
        )
    return content


def _base64(data: str, encoding: str) -> str | None:
    if encoding in ("BASE64", "B64"):
        try:
            return base64.b64encode(base64.b64decode(data.replace("\n", ""), validate=True)).decode()
        except (binascii.Error, ValueError):
            return None
    if encoding == "HEX":
        try:
            return base64.b64encode(bytes.fromhex(data)).decode()
        except ValueError:
            return None
    return base64.b64encode(data.encode("utf-8")).decode()  # A (ASCII text) and unknown encodings: the text
