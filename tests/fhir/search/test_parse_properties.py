"""Property tests of the search parser: whatever the query, only SearchError escapes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from huitong.fhir.search.cursor import Cursor, decode_cursor, encode_cursor
from huitong.fhir.search.errors import SearchError
from huitong.fhir.search.fulltext import query_terms, terms
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
            "code:in",
            "code:not-in",
            "code:below",
            "code:above",
            "identifier:of-type",
            "identifier:text",
            "subject:Patient.identifier:of-type",
            "_text",
            "_content",
            "_text:exact",
            "_cursor",
            "_profile:above",
            "_filter",
        ]
    ),
    st.text(max_size=30),
)
VALUES = st.one_of(
    st.sampled_from(
        [
            "ge2020",
            "2020-01-01T10:00:00Z",
            "lt5.4|http://unitsofmeasure.org|mg",
            "a\\,b,c",
            "|x",
            "x|",
            "-name",
            "*",
            "http://x.org/cs|A1",
            "http://terminology.hl7.org/CodeSystem/v2-0203|MR|123",
            "ValueSet/abc",
            "高血压 头痛",
            "eyJvIjozLCJzIjoiIiwiayI6WyJhIiwxXX0",
            "eyJvIjotMX0",
            "e30",
            'name co "张" and (birthdate ge 2000 or not (gender eq male))',
            "subject.name sw li",
            "code in http://x.org/vs or code sb http://x.org/cs|A",
            "((((",
            'name eq "\\"',
        ]
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


@given(st.text(max_size=80))
def test_cursor_decoding_raises_only_search_error(text: str) -> None:
    try:
        cursor = decode_cursor(text)
    except SearchError as exc:
        assert exc.status == 400
        return
    assert cursor.offset >= 0


@given(
    st.integers(min_value=0, max_value=10**9),
    st.one_of(st.none(), st.lists(st.one_of(st.integers(0, 2**62), st.text(max_size=40)), min_size=1, max_size=4)),
    st.booleans(),
    st.text(max_size=30),
)
def test_cursors_round_trip(offset: int, key: list[object] | None, before: bool, sort: str) -> None:
    cursor = Cursor(offset, tuple(key) if key is not None else None, before and key is not None, sort)
    assert decode_cursor(encode_cursor(cursor)) == cursor


@given(st.text(max_size=200))
def test_every_query_term_of_a_text_finds_that_text(text: str) -> None:
    """What the indexer stores for a text always answers the full-text query made of that same text."""
    stored = terms(text)
    for term, prefix in query_terms(text):
        assert any(t.startswith(term) for t in stored) if prefix else term in stored


_PATHS = ["name", "gender", "birthdate", "code", "subject.name", "subject:Patient.gender", "_id", "value-quantity"]
_OPS = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "pr", "in", "ni", "sb", "ss", "po", "re", "zz"]
_OTHER = ["and", "or", "not", "(", ")", '"a b"', '"\\u00e9"', '"', "2000", "true", "5.4", "x|y", "[", "]"]
FILTER_WORDS = st.sampled_from([*_PATHS, *_OPS, *_OTHER])


@settings(max_examples=300, deadline=None)
@given(TYPES, st.lists(st.one_of(FILTER_WORDS, st.text(max_size=8)), max_size=14))
def test_filter_parsing_raises_only_search_error(rtype: str, words: list[str]) -> None:
    try:
        request = parse_search(rtype, [("_filter", " ".join(words))])
    except SearchError as exc:
        assert exc.status in (400, 404)
        return
    assert len(request.filters) == 1
