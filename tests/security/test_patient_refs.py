"""Which patients a resource refers to (``security.access.patient_refs``): what the access links are made from.

Every write records the patients its resource names (``sec_resource_patient``); a reader must be allowed to see
all of them. A reference the walk misses would make a resource visible to someone who may not see its patient,
so the walk is checked against a plain recursive reading of the rule on generated documents.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from huitong.security.access import named_patients, patient_refs

_IDS = st.sampled_from(["p1", "p2", "p-3", "a.b", "x" * 64])
_REFERENCES = st.one_of(
    _IDS.map(lambda i: f"Patient/{i}"),
    _IDS.map(lambda i: f"https://other.example/fhir/Patient/{i}"),
    _IDS.map(lambda i: f"Practitioner/{i}"),
    _IDS.map(lambda i: f"Patient/{i}/_history/2"),  # a reference to one version names the patient too
    st.sampled_from(["Patient/", "Patient", "#contained-1", "urn:uuid:1234", ""]),
)
_KEYS = st.sampled_from(["subject", "patient", "performer", "focus", "extension", "valueReference", "entry", "item"])


def _documents() -> st.SearchStrategy[Any]:
    leaves = st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.none())
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(_KEYS, children, max_size=4),
            st.fixed_dictionaries({"reference": _REFERENCES}, optional={"display": st.text(max_size=3)}),
            st.fixed_dictionaries({"contained": st.lists(children, max_size=2)}, optional={"subject": children}),
        ),
        max_leaves=30,
    )


def _oracle(value: Any) -> set[str]:
    """The rule, read plainly: any ``reference`` string ``[base/]Patient/id[/_history/v]``, outside ``contained``."""
    found: set[str] = set()
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str):
            kind, _, pid = ref.split("/_history/")[0].rpartition("/")
            if pid and (kind == "Patient" or kind.endswith("/Patient")):
                found.add(pid)
        for key, item in value.items():
            if key != "contained":
                found |= _oracle(item)
    elif isinstance(value, list):
        for item in value:
            found |= _oracle(item)
    return found


@given(_documents())
def test_the_walk_finds_exactly_what_the_rule_names(body: Any) -> None:
    document = {"resourceType": "Observation", "id": "o1", "body": body}
    assert patient_refs("Observation", "o1", document) == _oracle(document)


def test_references_anywhere_count_and_contained_ones_do_not() -> None:
    body = {
        "resourceType": "Observation",
        "subject": {"reference": "Patient/p1"},
        "performer": [{"reference": "https://hospital.example/fhir/Patient/p2"}],
        "extension": [{"url": "x", "valueReference": {"reference": "Patient/p3"}}],
        "contained": [{"resourceType": "Patient", "id": "c", "link": [{"other": {"reference": "Patient/p9"}}]}],
        "focus": [{"reference": "Practitioner/d1"}, {"reference": "Patient/p1/_history/2"}],
        "note": [{"text": '{"reference": "Patient/p8"}'}],  # text that looks like a reference is not one
    }
    assert patient_refs("Observation", "o1", body) == {"p1", "p2", "p3"}
    versioned = {"resourceType": "Observation", "subject": {"reference": "Patient/p4/_history/3"}}
    assert patient_refs("Observation", "o2", versioned) == {"p4"}


def test_a_patient_is_its_own_and_names_its_links() -> None:
    body = {"resourceType": "Patient", "id": "p1", "link": [{"other": {"reference": "Patient/gold-1"}}]}
    assert patient_refs("Patient", "p1", body) == {"p1"}
    assert named_patients("p1", body) == {"p1", "gold-1"}
