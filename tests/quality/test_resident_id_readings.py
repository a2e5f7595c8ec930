"""The rules about resident IDs read each patient's numbers through one shared reading (``readings``: the
numbers found by system or type code, each parsed once): on random patients and numbers they give exactly what
the earlier code gave — which built the set of each identifier's type codes and looked every number up anew in
each rule."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from huitong.empi.resident_id import ResidentIdError, build, current_date, parse
from huitong.quality.rule import Context
from huitong.quality.rules import patient_registered_once, resident_id_check_character, resident_id_matches_patient
from huitong.quality.rules.resident_id_check_character import RESIDENT_ID_SYSTEMS, RESIDENT_ID_TYPES, readings
from huitong.settings import QualitySettings

# -- the earlier code, kept here as the reference -------------------------------------------------------------


def _old_type_codes(ident: dict[str, Any]) -> set[Any]:
    return {c.get("code") for c in ((ident.get("type") or {}).get("coding") or ()) if isinstance(c, dict)}


def _old_resident_ids(patient: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for ident in patient.get("identifier") or ():
        if not isinstance(ident, dict):
            continue
        value = ident.get("value")
        if isinstance(value, str) and (
            ident.get("system") in RESIDENT_ID_SYSTEMS or not RESIDENT_ID_TYPES.isdisjoint(_old_type_codes(ident))
        ):
            found.append(value)
    return found


def _old_parsed(number: str) -> Any:
    try:
        return parse(number, today=current_date())
    except ResidentIdError as exc:
        return str(exc)


def _old_check_character(patient: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for number in _old_resident_ids(patient):
        rid = _old_parsed(number)
        if isinstance(rid, str):
            out.append(f"resident ID {number[:6]}…{number[-2:]}: {rid}")
    return out


def _old_matches_patient(patient: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for number in _old_resident_ids(patient):
        rid = _old_parsed(number)
        if isinstance(rid, str):
            continue
        born = patient.get("birthDate")
        if isinstance(born, str) and len(born) >= 10 and born[:10] != rid.birth_date.isoformat():
            out.append(f"birthDate {born[:10]} but the resident ID says {rid.birth_date.isoformat()}")
        if patient.get("gender") in ("male", "female") and patient["gender"] != rid.gender:
            out.append(f"gender {patient['gender']} but the resident ID says {rid.gender}")
    return out


# -- random patients (ASCII digits: the EMPI's parse lets other Unicode digits through its shape check and then
# fails encoding them as ASCII, in the earlier code as in this one)

_valid = st.builds(
    lambda division, born, seq, gender: build(division, born, seq, gender),
    st.from_regex(r"[1-6][0-9]{5}", fullmatch=True),
    st.dates(date(1880, 1, 1), date(2025, 12, 31)),
    st.integers(0, 499),
    st.sampled_from(["male", "female"]),
)
_number = st.one_of(
    _valid,
    _valid.map(lambda n: n[:17] + ("0" if n[17] != "0" else "1")),  # wrong check character
    _valid.map(lambda n: n[:6] + n[8:17]),  # the 15-digit form
    _valid.map(lambda n: n.lower()[:17] + "ｘ"),  # full-width x
    st.from_regex(r"[0-9]{17}[0-9X]", fullmatch=True),
    st.text(max_size=20),
)
_coding = st.fixed_dictionaries({}, optional={"code": st.sampled_from(["NNCHN", "RI", "01", "PI", "MR", "PPN", ""])})
_identifier = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "system": st.sampled_from([*RESIDENT_ID_SYSTEMS, "urn:oid:2.16.156.10011.0.99999.1", ""]),
            "value": st.one_of(_number, st.integers()),
            "type": st.one_of(
                st.just({}),
                st.fixed_dictionaries({}, optional={"coding": st.lists(_coding | st.just("x"), max_size=3)}),
            ),
        },
    ),
    st.just("not an identifier"),
)
_patient = st.fixed_dictionaries(
    {"resourceType": st.just("Patient"), "id": st.from_regex(r"p[0-9]{1,4}", fullmatch=True)},
    optional={
        "identifier": st.lists(_identifier, max_size=4),
        "birthDate": st.one_of(st.dates().map(date.isoformat), st.text(max_size=12)),
        "gender": st.sampled_from(["male", "female", "other", "unknown"]),
        "name": st.just([{"text": "张三"}]),
        "meta": st.just({"source": "HIS"}),
    },
)


@settings(max_examples=400, deadline=None)
@given(_patient)
def test_one_reading_gives_the_findings_of_the_earlier_code(patient: dict[str, Any]) -> None:
    ctx = Context(QualitySettings())
    assert [n for n, _ in readings(patient)] == _old_resident_ids(patient)
    assert list(resident_id_check_character.check(patient, ctx)) == _old_check_character(patient)
    assert list(resident_id_matches_patient.check(patient, ctx)) == _old_matches_patient(patient)
    state = patient_registered_once.start(ctx)
    patient_registered_once.observe(state, patient)
    ids = [key[2] for key in state.groups if key[1] == "id"]
    assert sorted(ids) == sorted(set(_old_resident_ids(patient)))
