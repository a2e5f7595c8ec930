"""The indicators the generator computes ground truth for, and how it computes them from its own events.

Ids are those of ``performance-indicators.csv`` (the 2019 national list); ``10.<disease>.<measure>`` are the
single-disease measures of indicator 10; ``45.<specialty>`` the five ratios of indicator 45; ``aux.*`` are
building blocks and common companions (average length of stay, mortality, per-visit costs that indicators
38–41 compare across years). Every value is numerator / denominator × factor; count indicators have no
denominator. docs/synth.md lists the rules (which records count, which month and department they belong to).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator: id, English name, unit, factor, and where its numbers come from."""

    id: str
    name_en: str
    unit: str
    factor: float
    source: str
    by_department: bool = True
    by_month: bool = True


SINGLE_DISEASES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # key: (name, principal-diagnosis prefixes, procedure codes)
    "ami": ("acute myocardial infarction", ("I21",), ()),
    "heart_failure": ("heart failure", ("I50",), ()),
    "pneumonia": ("pneumonia (adults, 18+)", ("J18", "J13", "J14", "J15"), ()),
    "stroke": ("ischaemic stroke", ("I63",), ()),
    "hip_replacement": ("hip replacement", (), ("81.51", "81.52")),
    "knee_replacement": ("knee replacement", (), ("81.54",)),
    "caesarean": ("caesarean section", (), ("74.1",)),
    "cabg": ("coronary artery bypass graft", (), ("36.13",)),
}
_MEASURES = (
    ("cases", "cases", "cases", 1.0),
    ("alos", "average length of stay", "days", 1.0),
    ("cost", "average cost per case", "yuan", 1.0),
    ("mortality", "in-hospital mortality", "%", 100.0),
)

INDICATORS: tuple[Indicator, ...] = (
    Indicator("1", "Ratio of outpatient visits to discharges", "ratio", 1.0, "visits + front page"),
    Indicator("3", "Day surgery as share of elective surgery", "%", 100.0, "front page"),
    Indicator("4", "Share of discharged patients who had surgery", "%", 100.0, "front page"),
    Indicator("5", "Share of minimally invasive surgery among surgical patients", "%", 100.0, "front page + catalogue"),
    Indicator("6", "Share of level-4 surgery among surgical patients", "%", 100.0, "front page"),
    Indicator("8", "Surgical complication rate (elective surgery)", "%", 100.0, "front page + catalogue"),
    Indicator("9", "Surgical site infection rate, class I incisions", "%", 100.0, "front page"),
    *(
        Indicator(f"10.{key}.{m}", f"Single disease {name}: {label}", unit, factor, "front page")
        for key, (name, _, _) in SINGLE_DISEASES.items()
        for m, label, unit, factor in _MEASURES
    ),
    Indicator("11", "Positive rate of large-equipment examinations (CT, MR, PET)", "%", 100.0, "PACS reports"),
    Indicator("17", "Antimicrobial use density", "DDDs/100 patient-days", 100.0, "administrations + front page"),
    Indicator("18", "Outpatient visits with essential-medicine prescriptions", "%", 100.0, "outpatient orders"),
    Indicator("19", "Discharged patients who used essential medicines", "%", 100.0, "administrations"),
    Indicator("21", "Use share of volume-based-procurement products (DDDs, same generic names)", "%", 100.0, "orders"),
    Indicator("22", "Outpatient appointment rate", "%", 100.0, "outpatient visits"),
    Indicator("23", "Average waiting time after appointment", "minutes", 1.0, "outpatient visits"),
    Indicator("25", "Daily inpatient workload per physician", "bed-days", 1.0, "front page + staff"),
    Indicator("26", "Pharmacists per 100 beds", "persons", 100.0, "staff + beds", False, False),
    Indicator("27", "Outpatient income as share of medical income", "%", 100.0, "charges"),
    Indicator("28", "Share of outpatient income paid by insurance funds", "%", 100.0, "outpatient visits"),
    Indicator("29", "Inpatient income as share of medical income", "%", 100.0, "charges"),
    Indicator("30", "Share of inpatient income paid by insurance funds", "%", 100.0, "front page"),
    Indicator("31", "Medical service income as share of medical income", "%", 100.0, "charges"),
    Indicator("44", "Share of health technical staff with senior titles", "%", 100.0, "staff", False, False),
    *(
        Indicator(f"45.{key}", f"Share of {label} physicians", "%", 100.0, "staff", False, False)
        for key, label in (
            ("anaesthesia", "anaesthesia"),
            ("paediatrics", "paediatric"),
            ("critical_care", "critical-care"),
            ("pathology", "pathology"),
            ("tcm", "TCM"),
        )
    ),
    Indicator("46", "Physician-to-nurse ratio (physicians per nurse)", "ratio", 1.0, "staff", False, False),
    Indicator("aux.discharges", "Discharges", "discharges", 1.0, "front page"),
    Indicator("aux.bed_days", "Bed-days of discharged patients", "days", 1.0, "front page"),
    Indicator("aux.alos", "Average length of stay", "days", 1.0, "front page"),
    Indicator("aux.mortality", "In-hospital mortality", "%", 100.0, "front page"),
    Indicator("aux.outpatient_visits", "Outpatient and emergency visits", "visits", 1.0, "outpatient visits"),
    Indicator("aux.emergency_visits", "Emergency visits", "visits", 1.0, "outpatient visits"),
    Indicator("aux.antimicrobial_use_rate", "Discharged patients given antimicrobials", "%", 100.0, "administrations"),
    Indicator(
        "aux.outpatient_cost_per_visit", "Average cost per outpatient visit (basis of 38)", "yuan", 1.0, "charges"
    ),
    Indicator(
        "aux.outpatient_drug_cost_per_visit",
        "Average drug cost per outpatient visit (basis of 39)",
        "yuan",
        1.0,
        "charges",
    ),
    Indicator("aux.inpatient_cost_per_stay", "Average cost per discharge (basis of 40)", "yuan", 1.0, "front page"),
    Indicator(
        "aux.inpatient_drug_cost_per_stay", "Average drug cost per discharge (basis of 41)", "yuan", 1.0, "front page"
    ),
    Indicator("aux.critical_values", "Critical lab results reported", "results", 1.0, "lab results"),
)
INDICATOR_BY_ID: dict[str, Indicator] = {i.id: i for i in INDICATORS}
#: Indicators that are plain counts (no denominator).
COUNTS: frozenset[str] = frozenset(
    {
        "aux.discharges",
        "aux.bed_days",
        "aux.outpatient_visits",
        "aux.emergency_visits",
        "aux.critical_values",
        *(f"10.{k}.cases" for k in SINGLE_DISEASES),
    }
)
#: Indicators of the 2019 list that the data cannot compute, and why.
NOT_COVERED: dict[str, str] = {
    "2": "needs referral records to lower-level institutions",
    "7": "no premium-service flag",
    "12": "qualitative",
    "13": "external quality assessment results",
    "14": "needs the national DRG grouper",
    "15": "administrative ward designation",
    "16": "no prescription-review system",
    "20": "no procurement data",
    "24": "result of the national EMR grading",
    "32": "no adjuvant-drug list",
    "33": "financial report",
    "34": "financial report",
    "35": "financial report",
    "36": "financial report",
    "37": "needs the previous year",
    "38": "growth needs the previous year (aux.outpatient_cost_per_visit is its basis)",
    "39": "growth needs the previous year (aux.outpatient_drug_cost_per_visit)",
    "40": "growth needs the previous year (aux.inpatient_cost_per_stay)",
    "41": "growth needs the previous year (aux.inpatient_drug_cost_per_stay)",
    "42": "qualitative",
    "43": "qualitative",
    "47": "no trainee registry",
    "48": "exam results",
    "49": "composite, unconfirmed",
    "50": "research data",
    "51": "research data",
    "52": "external rating",
    "53": "survey",
    "54": "survey",
    "55": "survey",
    "new-1": "no key-monitored consumables list",
}
