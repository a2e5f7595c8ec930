"""Writers of the generated data: HL7 v2.5 streams, FHIR R4 transaction bundles, the inpatient front page and
other CSV tables. Each writer owns its column or segment layout; docs/formats/frontpage.md and docs/synth.md
describe them and tests check that they agree."""
