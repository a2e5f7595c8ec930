"""How each source system registered a person: its own local ID and its own (noisy) copy of the demographics.

Noise kinds (recorded per record in ``truth/records.csv``): ``homophone`` (a same-sounding character),
``traditional`` (traditional characters), ``pinyin`` (PACS stores names in capital pinyin), ``polyphone_misread``
(PACS reads a polyphonic surname the common way: 曾 → CENG), ``missing_id``, ``missing_birth_date``,
``missing_phone``, ``old_address`` (registered before the person moved), ``id_typo`` and ``id_transposition``
(also recorded as ``invalid_resident_id`` defects), ``id_birthdate_mismatch`` (a valid number built for another
birth date; also a defect), ``duplicate`` (a second HIS registration of the same person; also a defect),
``newborn_name`` (a baby registered as 某某之子/之女).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache

import opencc
from pypinyin import lazy_pinyin

from huitong.empi.resident_id import check_character
from huitong.synth.config import NoiseRates
from huitong.synth.names import HOMOPHONES, POLYPHONIC_SURNAMES, surname_pinyin
from huitong.synth.people import Person
from huitong.synth.places import Address

SYSTEMS = ("his", "lis", "pacs", "emr")
_PREFIX = {"his": "H", "lis": "L", "pacs": "R", "emr": "E"}


@dataclass(slots=True)
class Registration:
    """One source system's record of a person."""

    system: str
    local_id: str
    person: Person
    family: str
    given: str
    sex: str
    birth: str  # YYYYMMDD or ""
    resident_id: str
    phone: str
    address: Address | None
    noise: list[str] = field(default_factory=list)
    is_duplicate: bool = False
    #: HL7 PID segment text cached by the writer (the registration never changes after creation).
    pid_cache: dict[str, str] = field(default_factory=dict)


@cache
def _s2t() -> opencc.OpenCC:
    return opencc.OpenCC("s2t.json")


@cache
def traditional(text: str) -> str:
    """Traditional-character form of a name."""
    return str(_s2t().convert(text))


@cache
def pinyin_of(text: str) -> str:
    """Capital pinyin of a given name, syllables run together (建国 → JIANGUO)."""
    return "".join(lazy_pinyin(text)).upper()


def pinyin_surname(family: str, *, misread: bool) -> str:
    """Capital pinyin of a surname; ``misread`` uses the common reading of a polyphonic surname."""
    if misread and family in POLYPHONIC_SURNAMES:
        return POLYPHONIC_SURNAMES[family].upper()
    return (surname_pinyin(family) or pinyin_of(family)).upper()


def homophone(text: str, rng: random.Random) -> str:
    """``text`` with one character replaced by a same-sounding one (unchanged if none is known)."""
    spots = [i for i, ch in enumerate(text) if ch in HOMOPHONES]
    if not spots:
        return text
    i = rng.choice(spots)
    return text[:i] + rng.choice(HOMOPHONES[text[i]]) + text[i + 1 :]


def id_typo(number: str, rng: random.Random) -> str:
    """One digit of the first 17 replaced by another (the check character then no longer matches)."""
    i = rng.randrange(17)
    digit = str((int(number[i]) + rng.randint(1, 9)) % 10)
    return number[:i] + digit + number[i + 1 :]


def id_transposition(number: str, rng: random.Random) -> str:
    """Two adjacent unequal characters swapped (the check character then no longer matches)."""
    spots = [i for i in range(17) if number[i] != number[i + 1]]
    i = rng.choice(spots)
    return number[:i] + number[i + 1] + number[i] + number[i + 2 :]


def id_for_other_birth(number: str, rng: random.Random) -> str:
    """A valid number whose birth date is a few days or years off the person's — ten years only back: ten years on
    from a child's birth date is a date to come, a number no checker would take for a valid one."""
    from datetime import date

    born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    shifted = born + timedelta(days=rng.choice((1, -1, 10, 31, 365, -365, -3650)))
    first17 = f"{number[:6]}{shifted:%Y%m%d}{number[14:17]}"
    return first17 + check_character(first17)


class Registrar:
    """Creates registrations for one shard; local IDs are unique per system across shards."""

    def __init__(self, rng: random.Random, shard: int, noise: NoiseRates) -> None:
        self.rng = rng
        self.shard = shard
        self.noise = noise
        self._counters = dict.fromkeys(SYSTEMS, 0)

    def _local_id(self, system: str) -> str:
        self._counters[system] += 1
        return f"{_PREFIX[system]}{self.shard:03d}{self._counters[system]:06d}"

    def register(self, person: Person, system: str, when: int, *, duplicate: bool = False) -> Registration:
        """A new registration of ``person`` in ``system`` made at ``when`` (generator seconds)."""
        rng = self.rng
        n = self.noise
        noise: list[str] = []
        family, given = person.family, person.given
        if not person.resident_id and person.meta.get("mother"):
            family, given = person.meta["mother"], "之子" if person.sex == "M" else "之女"
            noise.append("newborn_name")
        if rng.random() < n.homophone.get(system, 0.0):
            changed = homophone(given, rng)
            if changed == given:
                changed_family = homophone(family, rng)
                if changed_family != family:
                    family = changed_family
                    noise.append("homophone")
            else:
                given = changed
                noise.append("homophone")
        if rng.random() < n.traditional.get(system, 0.0) and traditional(family + given) != family + given:
            family, given = traditional(family), traditional(given)
            noise.append("traditional")
        if system == "pacs":
            misread = family in POLYPHONIC_SURNAMES and rng.random() < n.polyphone_misread
            family, given = pinyin_surname(family, misread=misread), pinyin_of(given)
            noise.append("pinyin")
            if misread:
                noise.append("polyphone_misread")
        resident_id = person.resident_id
        if resident_id and rng.random() < n.missing_id.get(system, 0.0):
            resident_id = ""
            noise.append("missing_id")
        birth = person.birth.strftime("%Y%m%d")
        if rng.random() < n.missing_birth_date.get(system, 0.0):
            birth = ""
            noise.append("missing_birth_date")
        phone = person.phone
        if rng.random() < n.missing_phone.get(system, 0.0):
            phone = ""
            noise.append("missing_phone")
        address: Address | None = person.address
        if person.old_address is not None and when < person.moved_at:
            address = person.old_address  # HIS later updates it with an ADT^A08; the others keep it
            noise.append("address_updated" if system == "his" else "old_address")
        if duplicate:
            noise.append("duplicate")
        return Registration(
            system,
            self._local_id(system),
            person,
            family,
            given,
            person.sex,
            birth,
            resident_id,
            phone,
            address,
            noise,
            is_duplicate=duplicate,
        )


__all__ = ["SYSTEMS", "Registrar", "Registration", "homophone", "pinyin_of", "pinyin_surname", "traditional"]
