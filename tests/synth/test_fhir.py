"""Every resource of every generated bundle validates as FHIR R4 (full model check)."""

from __future__ import annotations

from huitong.fhir.validate import check_full
from huitong.synth import SynthOutput


def test_every_bundle_and_resource_validates(tiny_defective: SynthOutput) -> None:
    bundles = resources = 0
    kinds = set()
    for bundle in tiny_defective.bundles():
        assert bundle["type"] == "transaction"
        check_full(bundle)
        bundles += 1
        ids = set()
        for entry in bundle["entry"]:
            resource = entry["resource"]
            check_full(resource)
            assert entry["request"] == {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
            assert resource["id"] not in ids
            ids.add(resource["id"])
            kinds.add(resource["resourceType"])
            resources += 1
    assert bundles > 200
    assert kinds == {"Patient", "Encounter", "Condition", "Procedure", "Organization", "Location", "Practitioner"}
    assert resources > bundles * 3


def test_references_point_into_the_bundle_or_master_data(tiny_defective: SynthOutput) -> None:
    bundles = list(tiny_defective.bundles())
    master = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundles[0]["entry"]}
    for bundle in bundles[1:]:
        local = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
        for entry in bundle["entry"]:
            for ref in _references(entry["resource"]):
                assert ref in local or ref in master, f"{bundle['id']}: dangling reference {ref}"


def _references(node: object) -> list[str]:
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                out.append(value)
            else:
                out.extend(_references(value))
    elif isinstance(node, list):
        for item in node:
            out.extend(_references(item))
    return out
