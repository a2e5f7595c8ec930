"""Protecting identifying elements inside FHIR resources: resident ID numbers, phone numbers, addresses.

:func:`protect` encrypts them in place (AES-256-GCM via :class:`~huitong.security.crypto.FieldCipher`) and adds
a blind index to each (an extension ``urn:huitong:blind-index``), so exact search and EMPI blocking can match
on the index; :func:`reveal` turns a protected resource back for an actor allowed to see it;
:func:`rotate` re-encrypts under the active key. City, district, province, postal code and country stay in
clear: they are needed for generalised statistics and identify far less.

The normalisers decide which spellings share one blind index; callers with better ones (the EMPI's
``resident_id.normalise`` and ``phone.normalise_phone``) pass them in (security does not import the EMPI).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from huitong.identifiers import RESIDENT_ID_SYSTEMS
from huitong.security.crypto import FieldCipher

BLIND_INDEX_URL = "urn:huitong:blind-index"
PERSON_TYPES = frozenset({"Patient", "RelatedPerson", "Person", "Practitioner"})
PHONE_SYSTEMS = frozenset({"phone", "sms"})

Normaliser = Callable[[str], str]


def simple_resident_id(text: str) -> str:
    return re.sub(r"\s", "", text).upper()


def simple_phone(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def _index(element: dict[str, Any], value: str) -> None:
    others = [e for e in element.get("extension", []) if e.get("url") != BLIND_INDEX_URL]
    element["extension"] = [*others, {"url": BLIND_INDEX_URL, "valueString": value}]


def _unindex(element: dict[str, Any]) -> None:
    others = [e for e in element.get("extension", []) if e.get("url") != BLIND_INDEX_URL]
    if others:
        element["extension"] = others
    else:
        element.pop("extension", None)


def _is_sealed(value: Any) -> bool:
    return isinstance(value, str) and FieldCipher.key_id(value) is not None


def _copy(body: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``body`` deep enough for the changes made here (the protected elements; no deepcopy)."""
    out = dict(body)
    for key in ("identifier", "telecom", "address"):
        elements = out.get(key)
        if isinstance(elements, list):
            out[key] = [dict(e) if isinstance(e, dict) else e for e in elements]
    return out


def protect(
    body: dict[str, Any],
    cipher: FieldCipher,
    *,
    resident_id: Normaliser = simple_resident_id,
    phone: Normaliser = simple_phone,
) -> dict[str, Any]:
    """A copy of ``body`` with its resident ID numbers, phone numbers and address lines encrypted."""
    if body.get("resourceType") not in PERSON_TYPES:
        return body
    out = _copy(body)
    for ident in out.get("identifier", []):
        if not isinstance(ident, dict):
            continue
        value = ident.get("value")
        if ident.get("system") in RESIDENT_ID_SYSTEMS and isinstance(value, str) and not _is_sealed(value):
            _index(ident, cipher.blind_index("resident_id", resident_id(value)))
            ident["value"] = cipher.encrypt("resident_id", value)
    for telecom in out.get("telecom", []):
        if not isinstance(telecom, dict):
            continue
        value = telecom.get("value")
        if telecom.get("system") in PHONE_SYSTEMS and isinstance(value, str) and not _is_sealed(value):
            _index(telecom, cipher.blind_index("phone", phone(value)))
            telecom["value"] = cipher.encrypt("phone", value)
    for address in out.get("address", []):
        if not isinstance(address, dict):
            continue
        lines = {k: address.pop(k) for k in ("line", "text") if k in address and not _is_sealed(address.get(k))}
        if lines:
            address["text"] = cipher.encrypt("address", orjson.dumps(lines).decode())
    return out


def reveal(body: dict[str, Any], cipher: FieldCipher) -> dict[str, Any]:
    """The plaintext copy of a resource :func:`protect` produced (unprotected resources pass through)."""
    if body.get("resourceType") not in PERSON_TYPES:
        return body
    out = _copy(body)
    for ident in out.get("identifier", []):
        if not isinstance(ident, dict):
            continue
        if _is_sealed(ident.get("value")):
            ident["value"] = cipher.decrypt("resident_id", ident["value"])
            _unindex(ident)
    for telecom in out.get("telecom", []):
        if not isinstance(telecom, dict):
            continue
        if _is_sealed(telecom.get("value")):
            telecom["value"] = cipher.decrypt("phone", telecom["value"])
            _unindex(telecom)
    for address in out.get("address", []):
        if not isinstance(address, dict):
            continue
        if _is_sealed(address.get("text")):
            address.update(orjson.loads(cipher.decrypt("address", address.pop("text"))))
    return out


def rotate(body: dict[str, Any], cipher: FieldCipher) -> dict[str, Any]:
    """A copy of ``body`` with every encrypted element under the active key (blind indexes unchanged)."""
    if body.get("resourceType") not in PERSON_TYPES:
        return body
    out = _copy(body)
    for ident in out.get("identifier", []):
        if not isinstance(ident, dict):
            continue
        if _is_sealed(ident.get("value")):
            ident["value"] = cipher.rotate("resident_id", ident["value"])
    for telecom in out.get("telecom", []):
        if not isinstance(telecom, dict):
            continue
        if _is_sealed(telecom.get("value")):
            telecom["value"] = cipher.rotate("phone", telecom["value"])
    for address in out.get("address", []):
        if not isinstance(address, dict):
            continue
        if _is_sealed(address.get("text")):
            address["text"] = cipher.rotate("address", address["text"])
    return out
