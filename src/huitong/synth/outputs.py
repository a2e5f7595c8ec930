"""Paths of everything a generated data set holds, relative to its output directory."""

from __future__ import annotations

ADT = "hl7/his/adt.hl7"
SIU = "hl7/his/siu.hl7"
ORDERS = "hl7/his/orders.hl7"
PHARMACY = "hl7/his/pharmacy.hl7"
LIS = "hl7/lis/results.hl7"
PACS = "hl7/pacs/reports.hl7"
#: Every HL7 v2 stream: path → (sending system, message types).
HL7_STREAMS: dict[str, tuple[str, str]] = {
    ADT: ("his", "ADT^A01 A02 A03 A04 A08 A11 A13 A40"),
    SIU: ("his", "SIU^S12"),
    ORDERS: ("his", "OML^O21 (lab), ORM^O01 (imaging)"),
    PHARMACY: ("his", "RDE^O11, RAS^O17"),
    LIS: ("lis", "ORU^R01"),
    PACS: ("pacs", "ORU^R01"),
}
EMR = "fhir/emr/encounters.ndjson"
FHIR_MASTER = "fhir/emr/master.json"
FRONTPAGE = "frontpage/frontpage.csv"
OUTPATIENT_VISITS = "his/outpatient_visits.csv"
CHARGES = "his/charges.csv"
PERSONS = "truth/persons.csv"
RECORDS = "truth/records.csv"
ENCOUNTERS = "truth/encounters.csv"
DEFECTS = "truth/defects.jsonl"
INDICATORS = "truth/indicators.csv"
MANIFEST = "manifest.json"
