"""A small generator of Chinese patient records with ground truth, for the EMPI tests and benchmark.

Persons live in households (a couple, children, sometimes twins sharing surname, birth date, phone and
address); each person is registered in one to four systems with the noise real hospitals see: traditional
characters and homophones (LIS), pinyin-only names without ID (PACS), a mistyped ID digit, a moved address
(EMR), missing phones. Deterministic for a seed. A stand-in until the synthetic hospital
(``huitong.synth``) can hand its registrations and ground truth to ``huitong bench empi --input``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta

from huitong.empi import resident_id
from huitong.empi.names import char_pinyin, standardise_name
from huitong.empi.normalise import SourceRecord

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈欧阳单"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力斌宇浩凯鹏飞晨雪梅琳子涵轩怡博"
TRADITIONAL = {
    "张": "張",
    "刘": "劉",
    "陈": "陳",
    "杨": "楊",
    "黄": "黃",
    "赵": "趙",
    "伟": "偉",
    "华": "華",
    "丽": "麗",
}
HOMOPHONES = {"伟": "炜", "明": "铭", "丽": "莉", "军": "君", "静": "靜", "华": "骅", "杰": "捷", "涛": "韬"}
CITIES = [("浙江省", "杭州市", ["西湖区", "上城区", "拱墅区"]), ("江苏省", "南京市", ["玄武区", "鼓楼区"])]
STREETS = ["文三路", "解放路", "中山路", "人民路", "建国路", "延安路"]
DIVISIONS = ["330106", "330102", "320102", "320106"]


@dataclass(frozen=True)
class Person:
    person_id: str
    name: str
    gender: str
    born: date
    id_number: str
    phone: str | None
    address: str


def _address(rng: random.Random) -> str:
    province, city, districts = rng.choice(CITIES)
    return f"{province}{city}{rng.choice(districts)}{rng.choice(STREETS)}{rng.randint(1, 300)}号"


def _given(rng: random.Random) -> str:
    return "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def _person(rng: random.Random, pid: str, surname: str, born: date, phone: str | None, address: str) -> Person:
    gender = rng.choice(("male", "female"))
    number = resident_id.build(rng.choice(DIVISIONS), born, rng.randint(0, 499), gender)
    return Person(pid, surname + _given(rng), gender, born, number, phone, address)


def households(rng: random.Random, count: int) -> list[Person]:
    people: list[Person] = []
    for h in range(count):
        surname = rng.choice(SURNAMES[:-3]) if rng.random() < 0.9 else rng.choice(("欧阳", "单", "曾"))
        phone = f"1{rng.choice('3589')}{rng.randint(0, 999_999_999):09d}"
        address = _address(rng)
        parent_born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 40))
        people.append(_person(rng, f"P{h}a", surname, parent_born, phone, address))
        if rng.random() < 0.5:
            child_born = parent_born + timedelta(days=rng.randint(365 * 22, 365 * 35))
            first = _person(rng, f"P{h}b", surname, child_born, phone, address)
            people.append(first)
            if rng.random() < 0.3:  # a twin: same surname, birth date, phone, address; own name and ID
                twin = _person(rng, f"P{h}c", surname, child_born, phone, address)
                while standardise_name(twin.name) == standardise_name(first.name):
                    twin = _person(rng, f"P{h}c", surname, child_born, phone, address)
                people.append(twin)
    return people


def _typo(rng: random.Random, number: str) -> str:
    pos = rng.randint(0, 16)
    if rng.random() < 0.3 and number[pos] != number[pos + 1]:  # two adjacent characters swapped
        return number[:pos] + number[pos + 1] + number[pos] + number[pos + 2 :]
    return number[:pos] + str((int(number[pos]) + rng.randint(1, 9)) % 10) + number[pos + 1 :]


def _spell(rng: random.Random, name: str, table: dict[str, str]) -> str:
    return "".join(table.get(c, c) if rng.random() < 0.7 else c for c in name)


def _pinyin(name: str, rng: random.Random) -> str:
    parts = standardise_name(name)
    if parts is None:
        return name
    surname = parts.surname_py
    if parts.surname and len(parts.surname) == 1 and rng.random() < 0.5:
        surname = char_pinyin(parts.surname)  # PACS reads a polyphonic surname the common way: 曾 → CENG
    return f"{surname.upper()}^{parts.given_py.upper()}"


def registrations(rng: random.Random, person: Person) -> list[SourceRecord]:
    base = SourceRecord(
        record_id="",
        source_system="HIS",
        name=person.name,
        gender=person.gender,
        birth_date=person.born.isoformat(),
        id_number=person.id_number,
        phone=person.phone,
        address=person.address,
    )
    records = [replace(base, record_id=f"H-{person.person_id}")]
    if rng.random() < 0.7:
        lis_id = _typo(rng, person.id_number) if rng.random() < 0.15 else person.id_number
        lis_name = _spell(rng, person.name, TRADITIONAL | HOMOPHONES)
        records.append(replace(base, source_system="LIS", record_id=f"L-{person.person_id}", name=lis_name,
                               id_number=lis_id, address=None))  # fmt: skip
    if rng.random() < 0.5:
        records.append(replace(base, source_system="PACS", record_id=f"X-{person.person_id}",
                               name=_pinyin(person.name, rng), id_number=None, address=None,
                               gender="M" if person.gender == "male" else "F"))  # fmt: skip
    if rng.random() < 0.4:
        records.append(replace(base, source_system="EMR", record_id=f"E-{person.person_id}",
                               address=_address(rng), phone=None if rng.random() < 0.5 else person.phone))  # fmt: skip
    return records


def generate(households_count: int, seed: int = 7) -> tuple[list[SourceRecord], dict[str, str]]:
    """(records, truth: record key → person id)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic test data, not security
    records: list[SourceRecord] = []
    truth: dict[str, str] = {}
    for person in households(rng, households_count):
        for record in registrations(rng, person):
            records.append(record)
            truth[record.key] = person.person_id
    return records, truth
