"""Synthetic people: names with realistic surname frequencies, birth dates, resident ID numbers, phones and
addresses, grouped in households (who share an address and often a phone) with some twins.

Every person here is the *truth*; how each source system registered them (with noise) is in
:mod:`huitong.synth.registration`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate

from huitong.empi.resident_id import build
from huitong.synth.names import GIVEN_NAMES, SURNAMES, TWIN_SECOND
from huitong.synth.places import EMPLOYERS, Address, random_address, random_birth_division

_SURNAME_CUM = list(accumulate(w for _, w, _ in SURNAMES))
#: GB/T 2261.4 occupation codes used on the front page, with weights for working-age adults.
OCCUPATIONS: tuple[tuple[str, float], ...] = (
    ("11", 3.0),
    ("13", 12.0),
    ("17", 14.0),
    ("21", 4.0),
    ("24", 20.0),
    ("27", 12.0),
    ("51", 6.0),
    ("54", 8.0),
    ("70", 6.0),
    ("90", 5.0),
)
_OCC_CUM = list(accumulate(w for _, w in OCCUPATIONS))
#: Front-page payment methods (医疗付费方式): 1 urban employee insurance, 2 urban-rural resident insurance,
#: 3 new rural cooperative scheme, 5 commercial insurance, 6 fully public, 7 self-pay, 9 other.
PAYERS: tuple[tuple[str, float], ...] = (
    ("1", 45.0),
    ("2", 38.0),
    ("3", 4.0),
    ("5", 1.0),
    ("6", 1.0),
    ("7", 10.0),
    ("9", 1.0),
)
_PAYER_CUM = list(accumulate(w for _, w in PAYERS))
_MOBILE_PREFIXES = (
    "138",
    "139",
    "137",
    "136",
    "135",
    "158",
    "159",
    "150",
    "151",
    "187",
    "188",
    "182",
    "183",
    "130",
    "131",
    "132",
    "155",
    "156",
    "186",
    "185",
    "133",
    "153",
    "180",
    "189",
    "177",
    "199",
)


@dataclass(slots=True)
class Person:
    """One real (synthetic) person: the truth every registration is compared with."""

    key: str
    family: str
    given: str
    sex: str  # "M" or "F"
    birth: date
    resident_id: str  # "" for newborns without one yet
    phone: str
    address: Address
    household: str
    occupation: str
    marital: str
    payer: str
    employer: str = ""
    twin_of: str = ""
    old_address: Address | None = None  # the address before a move during the year
    moved_at: int = 0  # when the person moved (generator seconds), if old_address is set
    mrn: str = ""  # 病案号 (medical record number), assigned by the hospital on first admission
    admissions_before: int = 0  # admissions before the generated year (for 住院次数)
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Full name, surname first."""
        return self.family + self.given

    @property
    def gender(self) -> str:
        """FHIR administrative gender."""
        return "male" if self.sex == "M" else "female"

    def age_on(self, when: date) -> int:
        """Age in completed years on a date."""
        years = when.year - self.birth.year
        return years - ((when.month, when.day) < (self.birth.month, self.birth.day))


def random_surname(rng: random.Random) -> str:
    """A surname drawn with its population share."""
    return rng.choices(SURNAMES, cum_weights=_SURNAME_CUM)[0][0]


def random_given(rng: random.Random, sex: str, birth_year: int) -> str:
    """A given name typical of the birth cohort and sex."""
    for before, male, female in GIVEN_NAMES:
        if birth_year < before:
            return rng.choice(male if sex == "M" else female)
    raise AssertionError("GIVEN_NAMES ends with an open cohort")  # pragma: no cover


def random_phone(rng: random.Random) -> str:
    """An 11-digit mainland mobile number (random; not checked against real allocations)."""
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


class IdAllocator:
    """Gives out resident ID numbers that are unique across shards: each shard draws sequence numbers from its
    own slice of 0–499, so two shards never build the same number."""

    def __init__(self, shard: int, shards: int) -> None:
        width = max(4, 500 // max(shards, 1))
        self._lo = (shard * width) % 496
        self._width = min(width, 500 - self._lo)
        self._used: set[str] = set()

    def allocate(self, rng: random.Random, division: str, birth: date, sex: str) -> str:
        """A new valid number for the division, birth date and sex."""
        gender = "male" if sex == "M" else "female"
        for _ in range(64):
            number = build(division, birth, self._lo + rng.randrange(self._width), gender)
            if number not in self._used:
                self._used.add(number)
                return number
        division = random_birth_division(rng)  # pragma: no cover - a full slice for one day and division
        return self.allocate(rng, division, birth, sex)  # pragma: no cover


class PopulationBuilder:
    """Builds the persons of one shard as households."""

    def __init__(
        self, rng: random.Random, shard: int, shards: int, year: int, twins_rate: float, shared_phone_rate: float
    ) -> None:
        self.rng = rng
        self.shard = shard
        self.year = year
        self.ids = IdAllocator(shard, shards)
        self.twins_rate = twins_rate
        self.shared_phone_rate = shared_phone_rate
        self.persons: list[Person] = []
        self._households = 0

    def _key(self) -> str:
        return f"P{self.shard:03d}{len(self.persons):06d}"

    def person(
        self,
        sex: str,
        birth: date,
        household: str,
        address: Address,
        phone: str,
        family: str,
        given: str = "",
        *,
        with_id: bool = True,
    ) -> Person:
        """Add one person."""
        rng = self.rng
        age = self.year - birth.year
        occupation = (
            ("31" if age >= 6 else "90")
            if age < 18
            else ("80" if age >= 60 else rng.choices(OCCUPATIONS, cum_weights=_OCC_CUM)[0][0])
        )
        marital = "10" if age < 23 else ("20" if rng.random() < 0.85 else rng.choice(("30", "40", "10")))
        person = Person(
            key=self._key(),
            family=family,
            given=given or random_given(rng, sex, birth.year),
            sex=sex,
            birth=birth,
            resident_id=self.ids.allocate(rng, random_birth_division(rng), birth, sex) if with_id else "",
            phone=phone,
            address=address,
            household=household,
            occupation=occupation,
            marital=marital,
            payer=rng.choices(PAYERS, cum_weights=_PAYER_CUM)[0][0],
            employer=rng.choice(EMPLOYERS) if occupation in ("17", "21", "24") and rng.random() < 0.5 else "",
        )
        self.persons.append(person)
        return person

    def _birth(self, age: int) -> date:
        first = date(self.year - age - 1, 1, 1)
        return first + timedelta(days=self.rng.randrange(365))

    def household(self) -> list[Person]:
        """One household: a head, often a spouse, children (sometimes twins) and sometimes an elderly parent."""
        rng = self.rng
        self._households += 1
        hh = f"H{self.shard:03d}{self._households:06d}"
        address = random_address(rng)
        shared = rng.random() < self.shared_phone_rate
        family_phone = random_phone(rng)

        def phone() -> str:
            return family_phone if shared else random_phone(rng)

        head_age = int(rng.triangular(20, 90, 52))
        head_sex = "M" if rng.random() < 0.55 else "F"
        family = random_surname(rng)
        members = [self.person(head_sex, self._birth(head_age), hh, address, phone(), family)]
        if head_age >= 24 and rng.random() < 0.75:
            spouse_age = max(20, head_age + rng.randint(-5, 5))
            members.append(
                self.person(
                    "F" if head_sex == "M" else "M", self._birth(spouse_age), hh, address, phone(), random_surname(rng)
                )
            )
        if 24 <= head_age <= 60:
            for _ in range(rng.choices((0, 1, 2), (25, 55, 20))[0]):
                child_age = head_age - rng.randint(22, 36)
                if child_age < 0:
                    continue
                sex = "M" if rng.random() < 0.52 else "F"
                birth = self._birth(child_age)
                child = self.person(sex, birth, hh, address, phone() if child_age >= 12 else family_phone, family)
                members.append(child)
                if rng.random() < self.twins_rate:
                    twin_sex = sex if rng.random() < 0.6 else ("F" if sex == "M" else "M")
                    given = child.given[:-1] + TWIN_SECOND.get(child.given[-1], "")
                    if twin_sex != sex or given == child.given:
                        given = ""
                    twin = self.person(twin_sex, birth, hh, address, family_phone, family, given)
                    twin.twin_of, child.twin_of = child.key, twin.key
                    members.append(twin)
        if head_age < 50 and rng.random() < 0.15:
            members.append(
                self.person(
                    "F" if rng.random() < 0.6 else "M",
                    self._birth(head_age + rng.randint(25, 32)),
                    hh,
                    address,
                    family_phone,
                    random_surname(rng),
                )
            )
        return members

    def newborn(self, mother: Person | None, birth: date) -> Person:
        """A baby (for neonatal admissions): the mother's household and surname when known, no ID number yet."""
        rng = self.rng
        if mother is None:
            self._households += 1
            hh, address, phone, family = (
                f"H{self.shard:03d}{self._households:06d}",
                random_address(rng),
                random_phone(rng),
                random_surname(rng),
            )
        else:
            hh, address, phone, family = mother.household, mother.address, mother.phone, mother.family
        sex = "M" if rng.random() < 0.52 else "F"
        return self.person(sex, birth, hh, address, phone, family, with_id=False)
