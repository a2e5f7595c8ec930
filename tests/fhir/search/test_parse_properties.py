"""Property tests of the search parser: whatever the query, only SearchError escapes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from huitong.fhir.search.errors import SearchError
from huitong.fhir.search.parse import parse_search, split_escaped
from huitong.fhir.search.request import SearchRequest

KEYS = st.one_of(
    st.sampled_from(
        [
            "name",
            "name:exact",
            "name:contains",
            "name:missing",
            "birthdate",
            "gender:not",
            "identifier",
            "subject",
            "subject:Patient",
            "subject:Patient.name",
            "subject.identifier",
            "general-practitioner:Practitioner.name",
            "_has:Observation:patient:code",
            "_has:Observation:subject:value-quantity",
            "_id",
            "_lastUpdated",
            "_tag",
            "_profile:below",
            "_sort",
            "_count",
            "_offset",
            "_total",
            "_include",
            "_revinclude",
            "_summary",
            "_elements",
            "value-quantity",
            "code:text",
            "organization.name",
        ]
    ),
    st.text(max_size=30),
)
VALUES = st.one_of(
    st.sampled_from(
        ["ge2020", "2020-01-01T10:00:00Z", "lt5.4|http://unitsofmeasure.org|mg", "a\\,b,c", "|x", "x|", "-name", "*"]
    ),
    st.text(max_size=40),
)
TYPES = st.sampled_from(["Patient", "Observation", "Encounter", "Nope", ""])


@settings(max_examples=400, deadline=None)
@given(TYPES, st.lists(st.tuples(KEYS, VALUES), max_size=6), st.booleans())
def test_only_search_error_escapes(rtype: str, pairs: list[tuple[str, str]], lenient: bool) -> None:
    try:
        request = parse_search(rtype, pairs, lenient=lenient)
    except SearchError as exc:
        assert exc.status in (400, 404)
        return
    assert isinstance(request, SearchRequest) and request.rtype == rtype
    assert 0 <= request.count <= 1000


@given(st.lists(st.text(alphabet="ab,\\|$", max_size=8), min_size=1, max_size=5))
def test_escaped_commas_survive_splitting(parts: list[str]) -> None:
    escaped = ",".join(p.replace("\\", "\\\\").replace(",", "\\,") for p in parts)
    assert split_escaped(escaped, ",") == parts
