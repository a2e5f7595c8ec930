"""Field-level encryption at rest for stored FHIR resources: the codec the resource store applies.

The store calls :class:`FieldProtector` at its serialise/deserialise points:

* **write** — :meth:`FieldProtector.seal` encrypts resident ID numbers, phone numbers and address lines of
  Patient, RelatedPerson, Person and Practitioner (:mod:`huitong.security.fields`) before the JSON is stored
  in ``resource`` and ``resource_version``. Values that did not change keep the ciphertext of the version
  they replace, so an unchanged update is still recognised as "no change" (AES-GCM nonces are random).
* **indexing** — the write hooks (search index, …) get :func:`index_view` of the stored document: every
  encrypted value replaced by its blind index (HMAC of the normalised value). The search index therefore
  holds neither plaintext nor ciphertext, only blind indexes, and :meth:`FieldProtector.search_pairs`
  turns ``identifier=<system>|<id>`` and ``telecom=``/``phone=`` values into the same blind indexes.
* **read** — :meth:`FieldProtector.open` reveals the values for an actor allowed to see them
  (``field_reveal_roles``) and masks them (FHIR ``data-absent-reason`` = ``masked``) for everyone else,
  e.g. a research export (purpose of use ``HRESCH``). Resources that hold no encrypted value — every
  resource of any other type — are returned as the very same bytes (the fast read path).

Rotation (:func:`rotate_stored`) re-encrypts stored rows in place under the active key in small write
transactions, so it runs while Huitong serves; blind indexes do not change, so the search index stays valid.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import sqlalchemy as sa

from huitong.db import Database
from huitong.db.schema import resource, resource_version
from huitong.fhir import jsonio
from huitong.identifiers import RESIDENT_ID_SYSTEMS
from huitong.security import fields
from huitong.security.actor import Actor
from huitong.security.crypto import PREFIX, CryptoError, FieldCipher
from huitong.settings import Environment, Settings

log = logging.getLogger(__name__)

DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
#: The v3 PurposeOfUse code of research: such actors never see the protected values.
RESEARCH_PURPOSES = frozenset({"HRESCH", "research"})
_SEALED_MARK = b'"' + PREFIX.encode()
_COMMA = re.compile(r"(?<!\\),")
_PIPE = re.compile(r"(?<!\\)\|")
_PROTECTED_PARAMS = {"identifier": "resident_id", "telecom": "phone", "phone": "phone"}


def _masked() -> dict[str, Any]:
    return {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]}


def is_sealed_content(content: bytes | str | None) -> bool:
    """Whether stored JSON holds at least one encrypted value (a cheap substring test)."""
    if content is None:
        return False
    data = content.encode() if isinstance(content, str) else content
    return _SEALED_MARK in data


def index_view(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (as stored) with each encrypted value replaced by its blind index, for the search indexer.

    Needs no key: the blind index travels beside the ciphertext (extension ``urn:huitong:blind-index``).
    Encrypted address text is dropped (address lines are not searchable while encrypted). Documents without
    encrypted values are returned unchanged (the same object).
    """
    if doc.get("resourceType") not in fields.PERSON_TYPES:
        return doc
    out: dict[str, Any] | None = None
    for key in ("identifier", "telecom", "address"):
        elements = doc.get(key)
        if not isinstance(elements, list) or not any(_element_sealed(e, key) for e in elements):
            continue
        out = out if out is not None else dict(doc)
        out[key] = [_indexed(e, key) for e in elements]
    return out if out is not None else doc


def _element_sealed(element: Any, key: str) -> bool:
    if not isinstance(element, dict):
        return False
    value = element.get("text" if key == "address" else "value")
    return isinstance(value, str) and value.startswith(PREFIX)


def _indexed(element: Any, key: str) -> Any:
    if not _element_sealed(element, key):
        return element
    out = {k: v for k, v in element.items() if k != "extension"}
    if key == "address":
        out.pop("text", None)
        return out
    blind = next(
        (
            e.get("valueString")
            for e in element.get("extension", [])
            if isinstance(e, dict) and e.get("url") == fields.BLIND_INDEX_URL
        ),
        None,
    )
    if isinstance(blind, str):
        out["value"] = blind
    else:
        out.pop("value", None)
    return out


@dataclass(frozen=True)
class _ReusingCipher(FieldCipher):
    """A cipher that hands back the earlier ciphertext of a value that did not change."""

    reuse: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def encrypt(self, field: str, plaintext: str) -> str:
        earlier = self.reuse.get((field, plaintext))
        return earlier if earlier is not None else super().encrypt(field, plaintext)


class FieldProtector:
    """Seals person resources before they are stored and opens them for the reader. See the module docstring."""

    def __init__(self, cipher: FieldCipher, *, enabled: bool, reveal_roles: Iterable[str]) -> None:
        self.cipher = cipher
        self.enabled = enabled
        self.reveal_roles = frozenset(reveal_roles)

    @classmethod
    def from_settings(cls, settings: Settings) -> FieldProtector:
        """The protector configured by ``HUITONG_SECURITY__FIELD_ENCRYPTION`` and the field keys."""
        mode = settings.security.field_encryption
        enabled = mode == "on" or (mode == "auto" and settings.env is not Environment.DEVELOPMENT)
        return cls(
            FieldCipher.from_settings(settings.security),
            enabled=enabled,
            reveal_roles=settings.security.field_reveal_roles,
        )

    # -- writes -------------------------------------------------------------------------------------

    def applies_to(self, rtype: str) -> bool:
        """Whether writes of ``rtype`` are sealed (only person types, only when encryption is on)."""
        return self.enabled and rtype in fields.PERSON_TYPES

    def seal(self, body: dict[str, Any], previous: bytes | str | None = None) -> dict[str, Any]:
        """``body`` with its protected values encrypted; values equal to those of ``previous`` (the stored
        JSON of the version being replaced) keep their earlier ciphertext."""
        if not self.applies_to(str(body.get("resourceType"))):
            return body
        self._refuse_foreign_ciphertext(body)
        cipher: FieldCipher = self.cipher
        if previous is not None and is_sealed_content(previous):
            reuse = self._plaintexts(jsonio.loads_fast(previous))
            if reuse:
                cipher = _ReusingCipher(self.cipher.keys, self.cipher.active, self.cipher.index_key, reuse)
        return fields.protect(body, cipher)

    def _plaintexts(self, doc: dict[str, Any]) -> dict[tuple[str, str], str]:
        out: dict[tuple[str, str], str] = {}
        for fname, token in _sealed_values(doc):
            try:
                out[(fname, self.cipher.decrypt(fname, token))] = token
            except CryptoError:
                continue
        return out

    def _refuse_foreign_ciphertext(self, body: dict[str, Any]) -> None:
        """An incoming value that looks encrypted must decrypt here, or it would be unreadable forever."""
        from huitong.fhir import errors  # the store's error type; imported late (fhir imports security)

        for fname, token in _sealed_values(body):
            try:
                self.cipher.decrypt(fname, token)
            except CryptoError as exc:
                raise errors.invalid(
                    f"a {fname} value starts with {PREFIX!r} but is not a value encrypted by this server ({exc}); "
                    "send the plain value"
                ) from exc

    # -- reads --------------------------------------------------------------------------------------

    def may_reveal(self, actor: Actor | None) -> bool:
        """Whether ``actor`` sees protected values in clear (``None``: a trusted internal job)."""
        if actor is None:
            return True
        if actor.purpose_of_use in RESEARCH_PURPOSES:
            return False
        return actor.role in self.reveal_roles

    def open(self, actor: Actor | None, rtype: str, content: bytes) -> bytes:
        """The JSON to hand to ``actor``: revealed or masked; the same bytes when nothing is encrypted."""
        if rtype not in fields.PERSON_TYPES or _SEALED_MARK not in content:
            return content
        doc = jsonio.loads(content)
        if self.may_reveal(actor):
            try:
                return jsonio.dumps(fields.reveal(doc, self.cipher))
            except CryptoError as exc:
                log.warning("%s/%s: a protected value does not decrypt (%s); served masked", rtype, doc.get("id"), exc)
        return jsonio.dumps(mask(doc))

    # -- search -------------------------------------------------------------------------------------

    def search_pairs(self, rtype: str, pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """Search parameters with, beside each identifier/telecom/phone value, its blind index.

        Both the plain value and its blind index are looked for (OR), so records stored before encryption
        was turned on are still found. Applies to the person types and to chained parameters
        (``subject:Patient.identifier=…``).
        """
        return self._protected_pairs(rtype, pairs, keep_plain=True)

    def audit_pairs(self, rtype: str, pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """Search parameters as the audit trail keeps them: a resident ID number or phone number searched for is
        replaced by its blind index (``bi:…``), so ``audit_event.query`` holds no plaintext identifier while an
        auditor can still check whether a given number was searched (compute its blind index)."""
        return self._protected_pairs(rtype, pairs, keep_plain=False)

    def _protected_pairs(
        self, rtype: str, pairs: Sequence[tuple[str, str]], *, keep_plain: bool
    ) -> list[tuple[str, str]]:
        """``pairs`` with each protected identifier/telecom value replaced by its blind index (and, with
        ``keep_plain``, the plain value beside it)."""
        out: list[tuple[str, str]] = []
        for key, value in pairs:
            name = key.split(".")[-1] if "." in key else key
            fname = _PROTECTED_PARAMS.get(name)
            if fname is None or ("." not in key and rtype not in fields.PERSON_TYPES):
                out.append((key, value))
                continue
            out.append((key, ",".join(self._alternatives(name, fname, value, keep_plain=keep_plain))))
        return out

    def _alternatives(self, param: str, fname: str, value: str, *, keep_plain: bool = True) -> list[str]:
        out: list[str] = []
        for alt in _COMMA.split(value):
            plain_kept = len(out)
            out.append(alt)
            parts = _PIPE.split(alt, maxsplit=1)
            system, code = (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
            if not code:
                continue
            if param == "identifier" and system not in (None, *RESIDENT_ID_SYSTEMS):
                continue
            if param != "identifier" and system not in (None, *fields.PHONE_SYSTEMS):
                continue
            plain = re.sub(r"\\(.)", r"\1", code)
            norm = fields.simple_resident_id(plain) if fname == "resident_id" else fields.simple_phone(plain)
            blind = self.cipher.blind_index(fname, norm)
            if not keep_plain:
                del out[plain_kept]
                blind = f"bi:{blind}"
            out.append(blind if system is None else f"{system}|{blind}")
        return out

    # -- rotation -----------------------------------------------------------------------------------

    def rewrite(self, rtype: str, content: str) -> str:
        """Stored JSON re-encrypted under the active key (and sealed, if encryption is on and it was not)."""
        if rtype not in fields.PERSON_TYPES:
            return content
        doc = jsonio.loads(content)
        out = fields.rotate(doc, self.cipher) if is_sealed_content(content) else doc
        if self.enabled:
            out = fields.protect(out, self.cipher)
        return content if out is doc else jsonio.dumps(out).decode()


def mask(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of a sealed ``doc`` without ciphertexts or blind indexes: each protected value is replaced by the
    FHIR data-absent-reason ``masked``."""
    out = dict(doc)
    for key in ("identifier", "telecom", "address"):
        elements = doc.get(key)
        if isinstance(elements, list):
            out[key] = [_masked_element(e, key) for e in elements]
    return out


def _masked_element(element: Any, key: str) -> Any:
    if not _element_sealed(element, key):
        return element
    out = {k: v for k, v in element.items() if k not in ("extension", "value", "text")}
    others = [e for e in element.get("extension", []) if isinstance(e, dict) and e.get("url") != fields.BLIND_INDEX_URL]
    if key == "address":
        if "text" in element and not str(element["text"]).startswith(PREFIX):
            out["text"] = element["text"]
        others.append({"url": DATA_ABSENT_REASON, "valueCode": "masked"})
    else:
        out["_value"] = _masked()
    if others:
        out["extension"] = others
    return out


def _sealed_values(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, token) of every encrypted value in ``doc``."""
    out: list[tuple[str, str]] = []
    for key, fname, attr in (("identifier", "resident_id", "value"), ("telecom", "phone", "value")):
        for element in doc.get(key) or []:
            if isinstance(element, dict) and isinstance(element.get(attr), str) and element[attr].startswith(PREFIX):
                out.append((fname, element[attr]))
    for element in doc.get("address") or []:
        if isinstance(element, dict) and isinstance(element.get("text"), str) and element["text"].startswith(PREFIX):
            out.append(("address", element["text"]))
    return out


@dataclass
class RotationReport:
    """What :func:`rotate_stored` changed."""

    current: int = 0
    versions: int = 0
    sealed_types: set[str] = field(default_factory=set)


def rotate_stored(
    db: Database, protector: FieldProtector, *, batch: int = 500, progress: Callable[[int], None] | None = None
) -> RotationReport:
    """Re-encrypt every stored person resource (current rows and history) under the active key, in place.

    Runs in batches of ``batch`` rows, each its own write transaction, so Huitong keeps serving. With
    encryption on, values still in clear are sealed too; ``sealed_types`` then names the types whose search
    index must be rebuilt (``huitong fhir reindex``; the security CLI does it).
    """
    report = RotationReport()
    for table, key_cols in ((resource, ("pk",)), (resource_version, ("resource_pk", "version_id"))):
        after: tuple[Any, ...] | None = None
        cols = [table.c[c] for c in key_cols]
        while True:
            query = sa.select(*cols, table.c.res_type, table.c.content).where(
                table.c.res_type.in_(sorted(fields.PERSON_TYPES)), table.c.content.is_not(None)
            )
            if after is not None:
                query = query.where(sa.tuple_(*cols) > sa.tuple_(*after))
            with db.read() as conn:
                rows = conn.execute(query.order_by(*cols).limit(batch)).all()
            if not rows:
                break
            changes: list[tuple[tuple[Any, ...], str, str]] = []
            for row in rows:
                new = protector.rewrite(row.res_type, row.content)
                if new != row.content:
                    changes.append((tuple(row[: len(cols)]), row.content, new))
                    if not is_sealed_content(row.content):
                        report.sealed_types.add(row.res_type)
            done = db.write(partial(_apply, table=table, cols=cols, changes=changes)) if changes else 0
            if table is resource:
                report.current += done
            else:
                report.versions += done
            after = tuple(rows[-1][: len(cols)])
            if progress is not None:
                progress(len(rows))
    return report


def _apply(
    conn: sa.Connection,
    *,
    table: sa.Table,
    cols: list[sa.Column[Any]],
    changes: list[tuple[tuple[Any, ...], str, str]],
) -> int:
    """Write the new contents; a row written meanwhile (its content no longer the one read) is left for the
    next run — it was sealed under the active key by its own write."""
    done = 0
    for key, old, new in changes:
        where = [*(c == v for c, v in zip(cols, key, strict=True)), table.c.content == old]
        done += conn.execute(table.update().where(*where).values(content=new)).rowcount
    return done
