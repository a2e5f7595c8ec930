"""Property tests: whatever the text, the FHIRPath front end raises nothing but its own error."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from huitong.views.errors import FhirPathError
from huitong.views.fhirpath import compile_path
from huitong.views.fhirpath.engine import make_variables
from huitong.views.fhirpath.values import wrap_resource

RESOURCE = {"resourceType": "Patient", "id": "p", "name": [{"given": ["a", "b"], "family": "c"}], "birthDate": "2001"}
_TOKENS = st.sampled_from(
    [
        "name",
        "given",
        "Patient",
        ".",
        "(",
        ")",
        "[",
        "]",
        "0",
        "1.5",
        "'x'",
        "@2020",
        "@T10:00",
        "+",
        "-",
        "*",
        "/",
        "|",
        "and",
        "or",
        "implies",
        "=",
        "!=",
        "~",
        "<",
        ">=",
        "where",
        "select",
        "exists",
        "first()",
        "is",
        "as",
        "ofType(",
        "string",
        "$this",
        "%resource",
        ",",
        "{}",
        "1 'mg'",
        "div",
        "mod",
        "&",
        "`x`",
        "count()",
        "iif(",
        "lowBoundary()",
        "not()",
        "join(",
        "repeat(",
        "sort(",
        "today()",
    ]
)


def _compile_and_run(text: str) -> None:
    try:
        path = compile_path(text)
    except FhirPathError:
        return
    root = wrap_resource(RESOURCE)
    try:
        path.raw([root], make_variables(root))
    except FhirPathError:
        return


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_random_text(text: str) -> None:
    _compile_and_run(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(_TOKENS, max_size=14))
def test_random_token_soup(tokens: list[str]) -> None:
    _compile_and_run(" ".join(tokens))
