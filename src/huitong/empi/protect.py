"""Field encryption in the EMPI's tables: resident ID numbers, phones and addresses never stored in clear.

With field encryption on (``HUITONG_SECURITY__FIELD_ENCRYPTION``, the store's
:class:`~huitong.security.protection.FieldProtector`), the EMPI keeps in its tables:

* **blocking keys** ``k_id`` and ``k_phone`` — the keyed blind index (HMAC, ``bi:…``) of the standardised ID
  number and phone, so candidate search stays one indexed equality look-up;
* **standardised fields** (``empi_record.fields``) — ``id_number``, ``phone`` and ``address`` encrypted
  (AES-GCM, as in the resource store), each beside its blind index (``id_number_bi`` …) for exact comparison;
* **source records** (``empi_record.source``) and the **evidence** of review items (``empi_review.evidence``)
  — the same three values encrypted.

What stays in clear, and why: name and pinyin, sex, birth date and the validity flag of the ID number (the
resource store keeps these in clear too; the name and birth-date blocking keys need them), and the city and
district of the address (a region, not an address: the ``same district`` / ``same city`` levels and the two
district blocking keys compare them).

Scoring is unchanged (the same levels and weights): a candidate's value whose blind index equals the query's
is taken from the query, with no decryption. Only a value that differs is decrypted, in memory, when a level
needs it — the ID number (the *check fails, two characters off* and *same division and sequence* levels) and
the phone (*one digit*) — and the address never (a different address only needs to be *not equal*; the
district levels read the clear district). Nothing is decrypted for a field the query lacks (null level).
Golden records, review items and ``Empi.person_records`` decrypt the source values they show. Rows written
before encryption was turned on are still read (their values are in clear), but their ``k_id``/``k_phone``
are not blind indexes: re-link them (``huitong empi batch``) after turning encryption on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from huitong.empi.block import blocking_values
from huitong.empi.errors import SealedValueError
from huitong.empi.normalise import NormalisedRecord
from huitong.security.crypto import PREFIX, CryptoError, FieldCipher

if TYPE_CHECKING:
    from huitong.security.protection import FieldProtector

#: EMPI field → the field name of the cipher (the associated data and the blind-index namespace).
PROTECTED: dict[str, str] = {"id_number": "resident_id", "phone": "phone", "address": "address"}
#: Blocking-key column → the protected field it is made of.
BLIND_KEYS: dict[str, str] = {"k_id": "id_number", "k_phone": "phone"}
BLIND_PREFIX = "bi:"
#: Stands for a value known to differ from the query's (not decrypted): equal to no real value, never shown.
UNEQUAL = "\x00unequal"


@dataclass(frozen=True)
class Sealer:
    """Seals (when ``sealing``) and opens the EMPI's protected values; without a cipher, values stay as they are.

    Opening needs only the keys: values sealed while encryption was on are still read after it is turned off.
    """

    cipher: FieldCipher | None = None
    sealing: bool = False

    @classmethod
    def of(cls, protector: FieldProtector | None) -> Sealer:
        if protector is None:
            return PLAIN
        return cls(protector.cipher, protector.enabled)

    def blind(self, field: str, value: str) -> str:
        if self.cipher is None or not self.sealing:
            return value
        return BLIND_PREFIX + self.cipher.blind_index(PROTECTED[field], value)

    def _decrypt(self, field: str, token: str) -> str:
        if self.cipher is None:
            raise SealedValueError(
                f"the EMPI index holds an encrypted {field}, but this process has no field keys: run it with the "
                "server's HUITONG_SECURITY__* settings (secret key or field keys)"
            )
        try:
            return self.cipher.decrypt(field, token)
        except CryptoError as exc:
            raise SealedValueError(
                f"an encrypted {field} in the EMPI index does not decrypt ({exc}): run with the server's "
                "HUITONG_SECURITY__FIELD_KEYS (every key still in use) and HUITONG_SECURITY__SECRET_KEY"
            ) from exc

    # -- blocking keys -------------------------------------------------------------------------------

    def keys(self, record: NormalisedRecord) -> dict[str, str | None]:
        """The blocking-key columns of ``record`` as stored (and searched for)."""
        values = blocking_values(record)
        if self.cipher is not None and self.sealing:
            for column, field in BLIND_KEYS.items():
                value = values.get(column)
                if value:
                    values[column] = self.blind(field, value)
        return values

    # -- standardised fields -------------------------------------------------------------------------

    def seal_fields(self, record: NormalisedRecord) -> dict[str, Any]:
        row = record.as_row()
        if self.cipher is None or not self.sealing:
            return row
        for field, cfield in PROTECTED.items():
            value = row.get(field)
            if value:
                row[field + "_bi"] = self.blind(field, value)
                row[field] = self.cipher.encrypt(cfield, value)
        return row

    def open_fields(self, row: dict[str, Any], query: NormalisedRecord | None = None) -> NormalisedRecord:
        """A stored ``fields`` row as a record to score against ``query`` (see the module docstring).

        Without a query every protected value is decrypted (for display).
        """
        for field, cfield in PROTECTED.items():
            blind = row.pop(field + "_bi", None)
            value = row.get(field)
            if not isinstance(value, str) or not value.startswith(PREFIX):
                continue
            if query is None:
                row[field] = self._decrypt(cfield, value)
                continue
            mine = getattr(query, field)
            if mine and self.cipher is not None and blind == BLIND_PREFIX + self.cipher.blind_index(cfield, mine):
                row[field] = mine  # equal: no decryption
            elif mine and field != "address":
                row[field] = self._decrypt(cfield, value)  # the typo and same-sequence levels need the digits
            else:
                row[field] = UNEQUAL  # only "not equal" (or nothing: the query has none) matters
        return NormalisedRecord(**row)

    # -- source records and evidence -----------------------------------------------------------------

    def seal_source(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.cipher is None or not self.sealing:
            return data
        for field, cfield in PROTECTED.items():
            value = data.get(field)
            if isinstance(value, str) and value and not value.startswith(PREFIX):
                data[field] = self.cipher.encrypt(cfield, value)
        return data

    def open_source(self, data: dict[str, Any]) -> dict[str, Any]:
        for field, cfield in PROTECTED.items():
            value = data.get(field)
            if isinstance(value, str) and value.startswith(PREFIX):
                data[field] = self._decrypt(cfield, value)
        return data

    def seal_evidence(self, evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.cipher is None or not self.sealing:
            return evidence
        for item in evidence:
            cfield = PROTECTED.get(str(item.get("comparison")))
            for side in ("left", "right") if cfield else ():
                value = item.get(side)
                if isinstance(value, str) and value and not value.startswith(PREFIX):
                    item[side] = self.cipher.encrypt(cfield, value)  # type: ignore[arg-type]
        return evidence

    def open_evidence(self, evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for item in evidence:
            cfield = PROTECTED.get(str(item.get("comparison")))
            for side in ("left", "right") if cfield else ():
                value = item.get(side)
                if isinstance(value, str) and value.startswith(PREFIX):
                    item[side] = self._decrypt(cfield, value)  # type: ignore[arg-type]
        return evidence


PLAIN = Sealer()


def sealer_of(tx: Any) -> Sealer:
    """The sealer of a store transaction (its ``protector``; none on a bare connection)."""
    return Sealer.of(getattr(tx, "protector", None))
