"""Standardisation: names, resident IDs, phones, addresses and whole records."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitong.empi import resident_id
from huitong.empi.address import normalise_address
from huitong.empi.names import split_syllables, standardise_name, to_simplified
from huitong.empi.normalise import (
    SourceRecord,
    normalise_gender,
    normalise_id_number,
    normalise_record,
    parse_birth_date,
)
from huitong.empi.phone import normalise_phone

# Traditional → simplified pairs that occur in names.
TRAD_SIMP = {"張": "张", "劉": "刘", "陳": "陈", "楊": "杨", "黃": "黄", "趙": "赵", "偉": "伟", "華": "华", "麗": "丽"}
GIVEN_CHARS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


@pytest.mark.parametrize(
    ("name", "surname_py"),
    [
        ("曾志伟", "zeng"),
        ("单田芳", "shan"),
        ("仇英", "qiu"),
        ("解缙", "xie"),
        ("区志强", "ou"),
        ("查良镛", "zha"),
        ("朴树", "piao"),
        ("盖聂", "ge"),
        ("缪力", "miao"),
        ("尉迟恭", "yuchi"),
        ("万俟卨", "moqi"),
        ("长孙无忌", "zhangsun"),
        ("乐毅", "yue"),
        ("覃小兰", "qin"),
    ],
)
def test_polyphonic_surnames_take_their_surname_reading(name: str, surname_py: str) -> None:
    parts = standardise_name(name)
    assert parts is not None
    assert parts.surname_py == surname_py


def test_compound_surname_is_kept_whole() -> None:
    parts = standardise_name("欧阳锋")
    assert parts is not None
    assert (parts.surname, parts.surname_py, parts.given_py, parts.initials) == ("欧阳", "ouyang", "feng", "oyf")


@pytest.mark.parametrize("text", ["ZHANG SAN", "Zhang^San", "zhang,san", "SAN ZHANG", "ZHANGSAN", "Zhang San"])
def test_pinyin_only_names_are_recognised(text: str) -> None:
    parts = standardise_name(text)
    assert parts is not None
    assert parts.is_pinyin_only
    assert (parts.surname_py, parts.given_py, parts.initials) == ("zhang", "san", "zs")


def test_traditional_name_becomes_simplified() -> None:
    parts = standardise_name("張偉華")
    assert parts is not None
    assert parts.name == "张伟华"
    assert parts.full_py == "zhangweihua"


def test_lv_is_written_with_v() -> None:
    assert standardise_name("吕布") == standardise_name("吕布")
    pinyin = standardise_name("LYU BU")
    hanzi = standardise_name("吕布")
    assert pinyin is not None and hanzi is not None
    assert pinyin.full_py == hanzi.full_py == "lvbu"


@given(st.text(alphabet=SURNAMES, min_size=1, max_size=1), st.text(alphabet=GIVEN_CHARS, min_size=1, max_size=2))
def test_pinyin_spelling_of_a_name_gives_the_same_pinyin(surname: str, given_name: str) -> None:
    hanzi = standardise_name(surname + given_name)
    assert hanzi is not None
    for spelt in (
        f"{hanzi.surname_py.upper()} {hanzi.given_py.upper()}",
        f"{hanzi.surname_py.title()}^{hanzi.given_py.title()}",
        f"{hanzi.surname_py}{hanzi.given_py}",
    ):
        latin = standardise_name(spelt)
        assert latin is not None
        assert latin.full_py == hanzi.full_py


@given(st.text(alphabet="".join(TRAD_SIMP), min_size=1, max_size=4))
def test_traditional_and_simplified_spellings_agree(trad: str) -> None:
    simp = "".join(TRAD_SIMP[c] for c in trad)
    assert to_simplified(trad) == simp
    assert standardise_name(trad) == standardise_name(simp)


@given(st.text(max_size=30))
def test_name_standardisation_never_fails(text: str) -> None:
    parts = standardise_name(text)
    if parts is not None:
        assert parts.full_py == parts.full_py.lower()


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", max_size=20))
def test_syllable_split_keeps_every_letter(text: str) -> None:
    assert "".join(split_syllables(text)) == text


# -- resident IDs ---------------------------------------------------------------------------------

divisions = st.sampled_from(["110101", "310104", "330106", "440106", "510107"])
births = st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31))
genders = st.sampled_from(["male", "female"])


@given(divisions, births, st.integers(0, 499), genders)
def test_valid_id_gives_birth_date_and_sex(division: str, born: date, seq: int, gender: str) -> None:
    number = resident_id.build(division, born, seq, gender)
    record = normalise_record(SourceRecord("1", "HIS", id_number=number))
    assert record.id_valid
    assert record.birth_date == born.isoformat()
    assert record.gender == gender


@given(divisions, births, st.integers(0, 499), genders, st.integers(0, 16), st.integers(1, 9))
def test_one_mistyped_digit_is_caught(division: str, born: date, seq: int, gender: str, pos: int, add: int) -> None:
    number = resident_id.build(division, born, seq, gender)
    typo = number[:pos] + str((int(number[pos]) + add) % 10) + number[pos + 1 :]
    standard, parsed = normalise_id_number(typo)
    assert parsed is None
    assert standard == typo


def test_fifteen_digit_id_is_upgraded() -> None:
    standard, parsed = normalise_id_number("110101800101001")
    assert parsed is not None
    assert standard is not None and len(standard) == 18
    assert parsed.birth_date == date(1980, 1, 1)


def test_garbage_id_is_dropped() -> None:
    assert normalise_id_number("unknown") == (None, None)


# -- phones -----------------------------------------------------------------------------------------

mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True).filter(lambda m: len(set(m[3:])) > 1)


@given(mobiles, st.sampled_from(["{m}", "+86 {a}-{b}-{c}", "0086{m}", "86{m}", "{a} {b} {c}", "+86{m}", "({a}){b}{c}"]))
def test_mobile_spellings_agree(mobile: str, shape: str) -> None:
    text = shape.format(m=mobile, a=mobile[:3], b=mobile[3:7], c=mobile[7:])
    assert normalise_phone(text) == mobile


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(010) 6552-9988", "01065529988"),
        ("010-65529988转123", "01065529988"),
        ("+86 10 6552 9988", "01065529988"),
        ("0571-8888 6666", "057188886666"),
        ("021 5555 1234", "02155551234"),
        ("88886666", "88886666"),
        ("00000000", None),
        ("12345678901", None),
        ("", None),
        ("无", None),
    ],
)
def test_landlines_and_placeholders(text: str, expected: str | None) -> None:
    assert normalise_phone(text) == expected


@given(st.text(max_size=25))
def test_phone_normalisation_never_fails(text: str) -> None:
    result = normalise_phone(text)
    assert result is None or result.isdigit()


# -- addresses ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "浙江省杭州市西湖区文三路90号",
        "浙江杭州市西湖区文三路 90 号",
        "杭州市西湖区文三路９０号",
        "浙江省 杭州市 西湖區 文三路 90號",
    ],
)
def test_address_spellings_agree(text: str) -> None:
    parts = normalise_address(text)
    assert parts is not None
    assert (parts.text, parts.city, parts.district) == ("杭州西湖文三路90号", "杭州", "西湖")


def test_municipality_is_its_own_city() -> None:
    parts = normalise_address("北京市朝阳区建国路88号")
    assert parts is not None
    assert (parts.province, parts.city, parts.district) == ("北京", "北京", "朝阳")


@given(st.text(max_size=40))
def test_address_normalisation_never_fails(text: str) -> None:
    normalise_address(text)


# -- whole records -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1980-01-02", date(1980, 1, 2)), ("19800102", date(1980, 1, 2)), ("1980/1/2", date(1980, 1, 2))],
)
def test_birth_date_formats(text: str, expected: date) -> None:
    assert parse_birth_date(text) == expected
    assert parse_birth_date("1980年1月2日") == date(1980, 1, 2)
    assert parse_birth_date("1980-02-30") is None


@pytest.mark.parametrize(("code", "gender"), [("M", "male"), ("女", "female"), ("2", "female"), ("U", None)])
def test_gender_codes(code: str, gender: str | None) -> None:
    assert normalise_gender(code) == gender


@given(
    st.fixed_dictionaries(
        {k: st.one_of(st.none(), st.text(max_size=20)) for k in ("name", "gender", "birth_date", "id_number", "phone")}
        | {"address": st.one_of(st.none(), st.text(max_size=40))}
    )
)
def test_record_normalisation_never_fails(fields: dict[str, str | None]) -> None:
    record = normalise_record(SourceRecord("r1", "HIS", **fields))
    assert record.unique_id == "HIS|r1"


@pytest.mark.parametrize("text", ["王芳之子", "李娜之女", "張麗之女", "刘洋婴儿"])
def test_newborn_placeholders_are_no_name(text: str) -> None:
    assert standardise_name(text) is None
    assert standardise_name("王子涵") is not None


@given(st.text(alphabet=st.characters(categories=["Nd"]), min_size=15, max_size=18), st.sampled_from(["", "X"]))
def test_resident_id_parser_refuses_anything_but_ascii_digits_with_its_own_error(digits: str, tail: str) -> None:
    """Digits of any script (Arabic-Indic, full-width, Devanagari …) are either folded to ASCII or refused with
    ``ResidentIdError`` — never another exception (the quality rules and the EMPI call this on every ID)."""
    try:
        parsed = resident_id.parse(digits + tail, today=date(2026, 11, 27))
    except resident_id.ResidentIdError:
        return
    assert parsed.number.isascii()


def test_resident_id_with_arabic_indic_digits_is_refused() -> None:
    with pytest.raises(resident_id.ResidentIdError):
        resident_id.parse("١١٠١٠٥١٩٤٩٠٢٢٣١٢٣٤", today=date(2026, 11, 27))
    with pytest.raises(resident_id.ResidentIdError):
        resident_id.check_character("١١٠١٠٥١٩٤٩٠٢٢٣١٢٣")
