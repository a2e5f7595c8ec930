"""De-identified export for research and decision support (PIPL Art. 4, 51, 73: minimum necessity).

Per resource:

- **Pseudonyms**: every resource id and every reference becomes ``HMAC(pseudonym_key, type/id)`` (keyed, so
  nobody without the key can re-compute them from a hospital number); a patient keeps one pseudonym across
  the whole export, so records still link.
- **Date shifting**: every date and dateTime of a patient's records moves by the same number of days
  (±1..180, from the key and the patient), so intervals stay true and calendar dates are hidden.
- **Generalisation**: birth date → 5-year age band; address → province/city level (``state``/``city``);
  identifiers, names, telecom, photos, contacts and free text are removed.
- **k-anonymity**: before release, every combination of quasi-identifiers (age band, gender, region) must
  occur at least ``k`` times (``HUITONG_SECURITY__DEID_K``); rarer patients are suppressed or the
  export refused (:class:`KAnonymityError`).

The export is read through the resource store (so the actor's access rules apply and every read is
audited) and the export itself is recorded as an audit event with its counts.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from huitong.security.crypto import derive_key
from huitong.settings import SecuritySettings

#: Elements removed from every resource (direct identifiers and free text).
DROP = frozenset({"identifier", "name", "telecom", "photo", "contact", "text", "note", "communication", "link"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
QUASI = ("age_band", "gender", "region")


class KAnonymityError(Exception):
    """The export would release a quasi-identifier combination shared by fewer than k patients."""


def pseudonym_key(settings: SecuritySettings) -> bytes:
    key = settings.pseudonym_key.get_secret_value()
    return key.encode() if key else derive_key(settings.secret_key.get_secret_value(), "pseudonym")


@dataclass
class Deidentifier:
    """De-identifies resources with one key; ``reference_date`` anchors age bands."""

    key: bytes
    reference_date: date
    band_years: int = 5
    shifts: dict[str, int] = field(default_factory=dict)

    def pseudonym(self, rtype: str, res_id: str) -> str:
        return hmac.new(self.key, f"{rtype}/{res_id}".encode(), hashlib.sha256).hexdigest()[:32]

    def shift_days(self, patient_id: str) -> int:
        """The patient's date shift: the same for all of their records, never 0."""
        if patient_id not in self.shifts:
            digest = hmac.new(self.key, f"shift/{patient_id}".encode(), hashlib.sha256).digest()
            magnitude = int.from_bytes(digest[:4], "big") % 180 + 1
            self.shifts[patient_id] = magnitude if digest[4] % 2 else -magnitude
        return self.shifts[patient_id]

    def age_band(self, birth_date: str | None) -> str:
        if not birth_date or not _DATE.match(birth_date):
            return "unknown"
        born = date.fromisoformat(birth_date[:10])
        years = (
            self.reference_date.year
            - born.year
            - ((self.reference_date.month, self.reference_date.day) < (born.month, born.day))
        )
        low = max(years, 0) // self.band_years * self.band_years
        return f"{low}-{low + self.band_years - 1}" if low < 90 else "90+"

    def resource(self, body: dict[str, Any], patient_id: str | None) -> dict[str, Any]:
        """A de-identified copy of ``body`` (``patient_id``: whose dates to shift)."""
        shift = self.shift_days(patient_id) if patient_id else 0
        out: dict[str, Any] = self._walk(body, shift)
        out["id"] = self.pseudonym(body["resourceType"], str(body.get("id", "")))
        out.pop("meta", None)
        if body["resourceType"] == "Patient":
            out.pop("birthDate", None)
            out["extension"] = [
                {"url": "urn:huitong:deid:age-band", "valueString": self.age_band(body.get("birthDate"))}
            ]
            out["address"] = [self._region(a) for a in body.get("address", [])[:1] if isinstance(a, dict)]
            if "deceasedDateTime" in out:
                out["deceasedBoolean"] = True
                out.pop("deceasedDateTime")
        return out

    def _walk(self, value: Any, shift: int) -> Any:
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for k, v in value.items():
                if k in DROP or k == "address":
                    continue
                if k == "reference" and isinstance(v, str) and "/" in v:
                    rtype, _, rid = v.rpartition("/")
                    out[k] = f"{rtype.rpartition('/')[2]}/{self.pseudonym(rtype.rpartition('/')[2], rid)}"
                elif k == "display":
                    continue
                else:
                    out[k] = self._walk(v, shift)
            return out
        if isinstance(value, list):
            return [self._walk(v, shift) for v in value]
        if isinstance(value, str) and shift and _DATE.match(value) and len(value) >= 10:
            return _shift(value, shift)
        return value

    @staticmethod
    def _region(address: dict[str, Any]) -> dict[str, Any]:
        return {k: address[k] for k in ("state", "city", "country") if k in address}

    def quasi_identifiers(self, patient: dict[str, Any]) -> tuple[str, str, str]:
        address = next((a for a in patient.get("address", []) if isinstance(a, dict)), {})
        region = "/".join(str(address[k]) for k in ("state", "city") if k in address) or "unknown"
        return (self.age_band(patient.get("birthDate")), str(patient.get("gender", "unknown")), region)


def _shift(text: str, days: int) -> str:
    try:
        if len(text) == 10:
            return (date.fromisoformat(text) + timedelta(days=days)).isoformat()
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (moment + timedelta(days=days)).isoformat()
    except ValueError:
        return text


def k_anonymity(groups: Iterable[tuple[str, ...]], k: int) -> tuple[int, list[tuple[str, ...]]]:
    """The smallest equivalence class and the quasi-identifier combinations shared by fewer than ``k``."""
    counts = Counter(groups)
    if not counts:
        return 0, []
    return min(counts.values()), sorted(g for g, n in counts.items() if n < k)


@dataclass
class DeidExport:
    """The result of :func:`deidentify`: resources ready to release, and what was suppressed."""

    resources: list[dict[str, Any]]
    patients: int
    suppressed_patients: int
    smallest_class: int


def deidentify(
    patients: list[dict[str, Any]],
    records: list[tuple[str, dict[str, Any]]],
    deid: Deidentifier,
    *,
    k: int,
    suppress: bool = True,
) -> DeidExport:
    """De-identify ``patients`` and their ``records`` ((patient id, resource) pairs) under k-anonymity.

    Patients in classes smaller than ``k`` are dropped with their records when ``suppress`` is set;
    otherwise :class:`KAnonymityError` is raised and nothing is released.
    """
    qi = {p["id"]: deid.quasi_identifiers(p) for p in patients}
    _, small = k_anonymity(qi.values(), k)
    small_set = set(small)
    if small_set and not suppress:
        raise KAnonymityError(f"{len(small_set)} quasi-identifier combination(s) occur fewer than {k} times")
    keep = {pid for pid, g in qi.items() if g not in small_set}
    smallest, _ = k_anonymity([qi[p] for p in keep], k)
    out = [deid.resource(p, p["id"]) for p in patients if p["id"] in keep]
    out += [deid.resource(body, pid) for pid, body in records if pid in keep]
    return DeidExport(out, len(keep), len(patients) - len(keep), smallest)
