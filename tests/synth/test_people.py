"""Names, pinyin, traditional characters, resident IDs, households and twins."""

from __future__ import annotations

import random
from datetime import date

from huitong.empi.resident_id import parse
from huitong.synth.people import PopulationBuilder
from huitong.synth.registration import homophone, id_transposition, id_typo, pinyin_surname, traditional


def test_polyphonic_surnames_use_the_surname_reading() -> None:
    readings = {s: pinyin_surname(s, misread=False) for s in "曾单仇解区"}
    assert readings == {"曾": "ZENG", "单": "SHAN", "仇": "QIU", "解": "XIE", "区": "OU"}
    assert pinyin_surname("曾", misread=True) == "CENG"
    assert pinyin_surname("王", misread=True) == "WANG"


def test_traditional_and_homophone_variants() -> None:
    assert traditional("陈丽华") == "陳麗華"
    changed = homophone("丽华", random.Random(1))
    assert changed != "丽华"
    assert len(changed) == 2


def test_population_ids_are_valid_and_match_birth_and_sex() -> None:
    builder = PopulationBuilder(random.Random(3), shard=0, shards=1, year=2024, twins_rate=0.3, shared_phone_rate=0.5)
    while len(builder.persons) < 400:
        builder.household()
    numbers = [p.resident_id for p in builder.persons]
    assert len(set(numbers)) == len(numbers)
    for person in builder.persons:
        rid = parse(person.resident_id, today=date(2030, 1, 1))
        assert rid.birth_date == person.birth
        assert rid.gender == person.gender
        assert len(person.phone) == 11


def test_households_share_an_address_and_twins_a_birthday() -> None:
    builder = PopulationBuilder(random.Random(5), shard=0, shards=1, year=2024, twins_rate=1.0, shared_phone_rate=1.0)
    while len(builder.persons) < 300:
        builder.household()
    by_household: dict[str, list[object]] = {}
    for person in builder.persons:
        by_household.setdefault(person.household, []).append(person)
    shared = [members for members in by_household.values() if len(members) > 1]
    assert shared
    for members in shared:
        assert len({m.address for m in members}) == 1  # type: ignore[attr-defined]
    twins = {p.key: p for p in builder.persons if p.twin_of}
    assert twins
    for person in twins.values():
        other = twins[person.twin_of]
        assert other.birth == person.birth and other.household == person.household
        assert other.resident_id != person.resident_id


def test_id_typos_and_transpositions_break_the_check_character() -> None:
    rng = random.Random(2)
    number = "11010519491231002X"
    for _ in range(50):
        for broken in (id_typo(number, rng), id_transposition(number, rng)):
            assert broken != number
            try:
                parse(broken, today=date(2030, 1, 1))
            except ValueError:
                continue
            raise AssertionError(f"{broken} should not be valid")
