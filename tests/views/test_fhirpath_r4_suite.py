"""The official FHIRPath R4 test suite (937 cases), each as one test.

Cases whose input example is not in ``shared/testdata/fhir-r4-examples`` skip; cases known to fail are
listed in ``XFAIL`` with the reason (strict: a case that starts passing must be removed from the list).
The counts are in docs/views.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from huitong.views.errors import FhirPathError
from huitong.views.fhirpath import compile_path
from huitong.views.fhirpath.engine import make_variables
from huitong.views.fhirpath.values import wrap_resource
from tests.shared_data import require_shared, shared_dir
from tests.views.fhirpath_r4 import EXAMPLES, INPUTS, SUITE_FILE, Case, describe, load_cases, load_input, matches

_STRICT = "needs strict semantic checking against the model (mode=strict), which the engine does not do: it is lenient"
_LENIENT_CHOICE = "the engine accepts a choice element's JSON key (valueQuantity) instead of refusing it"
_MISSING_EXTENSION = (
    "the R4 JSON of observation-example has no patient-age extension (the suite's input is another version)"
)
_BOUNDARY = (
    "the suite expects 0.0 for a boundary below the value's first significant digit; we round the boundary "
    "outward (floor/ceiling), which gives ±0.1"
)
_HOUR_BOUNDARY = "the suite expects minute 00 in the high boundary of @2014-01-01T08; we give 59 (end of the hour)"
XFAIL: dict[str, str] = {
    "testSimpleFail": _STRICT,
    "testSimpleWithWrongContext": _STRICT,
    "testPolymorphismB": _STRICT,
    "testPolymorphismAsB": _STRICT,
    "testDollarOrderNotAllowed": _STRICT,
    "testIif6": _STRICT,
    "testPolymorphicsB": _LENIENT_CHOICE,
    "LowBoundaryDecimal15": _BOUNDARY,
    "HighBoundaryDecimal15": _BOUNDARY,
    "HighBoundaryDecimal16": _BOUNDARY,
    "HighBoundaryDateTimeMillisecond1": _HOUR_BOUNDARY,
    "HighBoundaryDateTimeMillisecond3": _HOUR_BOUNDARY,
    "testFHIRPathIsFunction8": _MISSING_EXTENSION,
    "testFHIRPathIsFunction9": _MISSING_EXTENSION,
    "testFHIRPathIsFunction10": _MISSING_EXTENSION,
}


def _cases() -> list[Any]:
    base = shared_dir()
    suite = base.joinpath(*SUITE_FILE) if base else None
    if suite is None or not suite.is_file():
        return [pytest.param(None, id="suite-not-present")]
    params = []
    for case in load_cases(suite):
        marks = [pytest.mark.xfail(strict=True, reason=XFAIL[case.name])] if case.name in XFAIL else []
        params.append(pytest.param(case, id=f"{case.group}/{case.name}", marks=marks))
    return params


@pytest.mark.parametrize("case", _cases())
def test_case(case: Case | None) -> None:
    if case is None:
        require_shared(*SUITE_FILE)
        return
    if case.input and case.input not in INPUTS:
        pytest.skip(f"input {case.input} is not among the R4 JSON examples in shared/")
    resource = load_input(require_shared(*EXAMPLES), case.input) if case.input else {}
    root = wrap_resource(resource)
    if case.invalid:
        with pytest.raises(FhirPathError):
            compile_path(case.expression).raw([root], make_variables(root))
        return
    result = compile_path(case.expression).raw([root], make_variables(root))
    if case.predicate == "true":
        result = [bool(result)]
    assert matches(result, case.outputs), [describe(item) for item in result]
