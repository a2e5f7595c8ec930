"""Each front-page row rule on a row that passes and one that fails, and the batch helper over rows."""

from __future__ import annotations

import pytest

from huitong.quality.registry import builtin_rules, rule
from huitong.quality.rule import Catalogues, Context, RowRule
from huitong.quality.run import Tally, check_rows
from huitong.settings import QualitySettings

GOOD: dict[str, str] = {
    "ZZJGDM": "HT000001",
    "YLFKFS": "1",
    "ZYCS": "1",
    "BAH": "000000010",
    "ZYH": "ZY000000007",
    "XM": "杨桂英",
    "XB": "2",
    "CSRQ": "1953-10-24",
    "RYTJ": "2",
    "RYSJ": "2024-08-03 10:08:00",
    "RYKB": "0206",
    "CYSJ": "2024-08-10 09:00:00",
    "CYKB": "0206",
    "SJZYTS": "7",
    "ZYZD": "肺炎",
    "JBDM": "J18.9",
    "RYBQ": "1",
    "JBDM1": "I10",
    "RYBQ1": "1",
    "SSJCZBM1": "36.07",
    "LYFS": "1",
    "ZFY": "9856.00",
    "ZFJE": "2000.00",
    "ZKRQ": "2024-08-13",
}
CATALOGUES = Catalogues(
    icd10=frozenset({"J18.9", "I10", "N40", "N83.2", "P07.3", "H25.9"}), icd9cm3=frozenset({"36.07"})
)

CASES: dict[str, dict[str, str]] = {
    "frontpage-required-fields": {**GOOD, "XB": ""},
    "frontpage-diagnosis-code": {**GOOD, "JBDM1": "E11.900"},
    "frontpage-procedure-code": {**GOOD, "SSJCZBM1": "51.2X"},
    "frontpage-discharge-after-admission": {**GOOD, "CYSJ": "2024-08-01 09:00:00"},
    "frontpage-diagnosis-sex": {**GOOD, "JBDM1": "N40"},
    "frontpage-diagnosis-age": {**GOOD, "JBDM1": "P07.3"},
    "frontpage-completed-in-time": {**GOOD, "ZKRQ": "2024-08-20"},
}


def context() -> Context:
    return Context(QualitySettings(), catalogues=CATALOGUES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_row_rule_passes_good_and_catches_bad(rule_id: str) -> None:
    r = rule(rule_id)
    assert isinstance(r, RowRule)
    assert list(r.check(GOOD, context())) == []
    details = list(r.check(CASES[rule_id], context()))
    assert details and all(isinstance(d, str) and d for d in details)


def test_every_row_rule_has_a_case() -> None:
    assert {r.id for r in builtin_rules() if isinstance(r, RowRule)} == set(CASES)


def test_codes_outside_the_dictionary_fail_only_when_one_is_loaded() -> None:
    r = rule("frontpage-diagnosis-code")
    assert isinstance(r, RowRule)
    row = {**GOOD, "JBDM": "K35.99"}  # ICD-10 shaped, not a code
    assert list(r.check(row, Context(QualitySettings()))) == []
    assert list(r.check(row, context())) == ["JBDM 'K35.99' is not in the diagnosis dictionary"]


def test_senile_cataract_in_a_baby_and_a_man_with_an_ovarian_cyst() -> None:
    baby = {**GOOD, "CSRQ": "2024-06-01", "XB": "1", "JBDM1": "H25.9"}
    assert list(rule("frontpage-diagnosis-age").check(baby, context()))  # type: ignore[union-attr]
    man = {**GOOD, "XB": "1", "JBDM1": "N83.2"}
    assert list(rule("frontpage-diagnosis-sex").check(man, context()))  # type: ignore[union-attr]


def test_check_rows_names_rows_by_inpatient_number_and_scores_them() -> None:
    tally = Tally()
    rows = [GOOD, {**GOOD, "ZYH": "ZY2", "XB": "", "JBDM1": "E11.900"}, {**GOOD, "ZYH": ""}]
    found = check_rows(rows, context(), tally=tally)
    assert {(f.res_id, f.rule_id) for f in found} == {
        ("ZY2", "frontpage-required-fields"),
        ("ZY2", "frontpage-diagnosis-code"),
    }
    assert all(f.source == "frontpage" and f.res_type == "frontpage" for f in found)
    assert tally.checked[("frontpage", "completeness")] == 3
    assert tally.failed[("frontpage", "validity")] == {"ZY2"}


def test_a_front_page_is_late_after_the_set_days_and_not_judged_without_its_check_date() -> None:
    late = rule("frontpage-completed-in-time")
    assert isinstance(late, RowRule)
    on_the_day = {**GOOD, "ZKRQ": "2024-08-17"}  # discharged 2024-08-10: seven days, the default limit
    assert list(late.check(on_the_day, context())) == []
    assert list(late.check({**GOOD, "ZKRQ": "2024-08-18"}, context())) == [
        "quality-checked (ZKRQ 2024-08-18) 8 days after discharge (CYSJ 2024-08-10); the limit is 7"
    ]
    assert list(late.check({**GOOD, "ZKRQ": ""}, context())) == []  # still in progress
    assert list(late.check({**GOOD, "ZKRQ": "unknown"}, context())) == []
    backwards = {**GOOD, "CYSJ": "2024-08-01 09:00:00", "ZKRQ": "2024-08-15"}  # the discharge time is wrong
    assert list(late.check(backwards, context())) == []
    same_day = {**GOOD, "RYSJ": "2024-08-03 10:08:00", "CYSJ": "2024-08-03 08:00:00", "ZKRQ": "2024-08-20"}
    assert list(late.check(same_day, context())) == []  # hours before admission, the same day
    stricter = Context(QualitySettings(frontpage_days=3), catalogues=CATALOGUES)
    assert list(late.check({**GOOD, "ZKRQ": "2024-08-14"}, stricter))
