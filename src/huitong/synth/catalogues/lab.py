"""Laboratory catalogue: orderable panels, their analytes with local codes mapped to LOINC, UCUM units,
reference intervals and critical (panic) limits; and the imaging exam catalogue.

LOINC codes are public (as recalled; verify against the LOINC table before clinical use). Reference intervals
follow common Chinese adult intervals (e.g. WS/T 404 and WS/T 405); critical limits are typical hospital choices.
Both are illustrative. ``alt_unit``/``alt_factor`` give a second unit some analysers report in (value in the
alternative unit = value × factor); the ``unit_mismatch`` defect uses it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Analyte:
    """One reported result (an OBX)."""

    code: str
    name_zh: str
    name_en: str
    loinc: str
    unit: str
    decimals: int
    ref_male: tuple[float, float]
    ref_female: tuple[float, float]
    critical_low: float | None
    critical_high: float | None
    alt_unit: str = ""
    alt_factor: float = 0.0

    def reference(self, sex: str) -> tuple[float, float]:
        """Reference interval for a sex (``M``/``F``)."""
        return self.ref_male if sex == "M" else self.ref_female


@dataclass(frozen=True, slots=True)
class Panel:
    """An orderable lab test (an OBR): a panel of analytes."""

    code: str
    name_zh: str
    name_en: str
    specimen: str  # HL7 table 0487
    analytes: tuple[str, ...]
    price: float
    turnaround_min: int  # usual minutes from collection to report


@dataclass(frozen=True, slots=True)
class Exam:
    """An imaging exam (PACS)."""

    code: str
    name_zh: str
    name_en: str
    modality: str  # DICOM modality: CT, MR, DX, US, PT, XA
    large_equipment: bool  # CT, MR, PET (大型医用设备) for indicator 11
    price: float


def _a(
    code: str,
    zh: str,
    en: str,
    loinc: str,
    unit: str,
    dec: int,
    male: tuple[float, float],
    female: tuple[float, float] | None = None,
    crit: tuple[float | None, float | None] = (None, None),
    alt: tuple[str, float] = ("", 0.0),
) -> Analyte:
    return Analyte(code, zh, en, loinc, unit, dec, male, female or male, crit[0], crit[1], alt[0], alt[1])


ANALYTES: tuple[Analyte, ...] = (
    _a("L0101", "白细胞计数", "Leukocytes", "6690-2", "10*9/L", 2, (3.5, 9.5), crit=(2.0, 30.0)),
    _a("L0102", "红细胞计数", "Erythrocytes", "789-8", "10*12/L", 2, (4.3, 5.8), (3.8, 5.1)),
    _a("L0103", "血红蛋白", "Hemoglobin", "718-7", "g/L", 0, (130, 175), (115, 150), (50, 200), ("g/dL", 0.1)),
    _a("L0104", "血小板计数", "Platelets", "777-3", "10*9/L", 0, (125, 350), crit=(30, 1000)),
    _a("L0105", "中性粒细胞百分比", "Neutrophils/100 leukocytes", "770-8", "%", 1, (40, 75)),
    _a("L0106", "红细胞压积", "Hematocrit", "4544-3", "%", 1, (40, 50), (35, 45)),
    _a("L0201", "葡萄糖", "Glucose", "14749-6", "mmol/L", 2, (3.9, 6.1), crit=(2.8, 22.2), alt=("mg/dL", 18.016)),
    _a("L0202", "钾", "Potassium", "2823-3", "mmol/L", 2, (3.5, 5.3), crit=(2.8, 6.2)),
    _a("L0203", "钠", "Sodium", "2951-2", "mmol/L", 1, (137, 147), crit=(120, 160)),
    _a("L0204", "氯", "Chloride", "2075-0", "mmol/L", 1, (99, 110)),
    _a("L0205", "肌酐", "Creatinine", "14682-9", "umol/L", 0, (57, 111), (41, 81), (None, 707), ("mg/dL", 0.01131)),
    _a("L0206", "尿素", "Urea", "14937-7", "mmol/L", 2, (3.1, 8.0)),
    _a("L0301", "丙氨酸氨基转移酶", "Alanine aminotransferase", "1742-6", "U/L", 0, (9, 50), (7, 40)),
    _a("L0302", "天门冬氨酸氨基转移酶", "Aspartate aminotransferase", "1920-8", "U/L", 0, (15, 40), (13, 35)),
    _a("L0303", "总胆红素", "Bilirubin total", "14631-6", "umol/L", 1, (0, 23)),
    _a("L0304", "白蛋白", "Albumin", "1751-7", "g/L", 1, (40, 55)),
    _a("L0401", "凝血酶原时间", "Prothrombin time", "5902-2", "s", 1, (11, 14)),
    _a("L0402", "国际标准化比值", "INR", "6301-6", "{INR}", 2, (0.8, 1.2), crit=(None, 4.5)),
    _a("L0403", "活化部分凝血活酶时间", "aPTT", "3173-2", "s", 1, (25, 35), crit=(None, 100)),
    _a("L0404", "纤维蛋白原", "Fibrinogen", "3255-7", "g/L", 2, (2, 4), crit=(1.0, None)),
    _a("L0405", "D-二聚体", "Fibrin D-dimer FEU", "48065-7", "mg/L", 2, (0, 0.5)),
    _a("L0501", "肌钙蛋白I", "Troponin I cardiac", "10839-9", "ng/mL", 3, (0, 0.04)),
    _a("L0502", "B型钠尿肽", "Natriuretic peptide B", "30934-4", "pg/mL", 0, (0, 100)),
    _a("L0601", "C反应蛋白", "C reactive protein", "1988-5", "mg/L", 1, (0, 10)),
    _a("L0602", "降钙素原", "Procalcitonin", "33959-8", "ng/mL", 2, (0, 0.05)),
    _a("L0701", "酸碱度", "pH of arterial blood", "2744-1", "[pH]", 2, (7.35, 7.45), crit=(7.2, 7.6)),
    _a("L0702", "二氧化碳分压", "pCO2 arterial", "2019-8", "mm[Hg]", 0, (35, 45), crit=(20, 70)),
    _a("L0703", "氧分压", "pO2 arterial", "2703-7", "mm[Hg]", 0, (80, 100), crit=(40, None)),
    _a("L0704", "乳酸", "Lactate", "2524-7", "mmol/L", 1, (0.5, 2.2), crit=(None, 4.0)),
    _a("L0801", "糖化血红蛋白", "Hemoglobin A1c/Hemoglobin total", "4548-4", "%", 1, (4.0, 6.0)),
    _a("L0901", "胆碱酯酶", "Cholinesterase", "2098-2", "U/L", 0, (5000, 12000), crit=(1500, None)),
    _a("L0902", "血铅", "Lead in blood", "5671-3", "ug/L", 0, (0, 100), crit=(None, 600)),
    _a("L0903", "碳氧血红蛋白", "Carboxyhemoglobin/Hemoglobin total", "20563-3", "%", 1, (0, 2), crit=(None, 20)),
    _a("L1001", "淀粉酶", "Amylase", "1798-8", "U/L", 0, (35, 135)),
)
ANALYTE_BY_CODE: dict[str, Analyte] = {a.code: a for a in ANALYTES}

PANELS: tuple[Panel, ...] = (
    Panel(
        "LP01", "血常规", "Complete blood count", "BLD", ("L0101", "L0102", "L0103", "L0104", "L0105", "L0106"), 25, 60
    ),
    Panel(
        "LP02",
        "肾功能+电解质",
        "Renal function and electrolytes",
        "SER",
        ("L0201", "L0202", "L0203", "L0204", "L0205", "L0206"),
        70,
        120,
    ),
    Panel("LP03", "肝功能", "Liver function", "SER", ("L0301", "L0302", "L0303", "L0304"), 90, 120),
    Panel("LP04", "凝血功能", "Coagulation", "PLAS", ("L0401", "L0402", "L0403", "L0404", "L0405"), 80, 90),
    Panel("LP05", "心肌标志物", "Cardiac markers", "SER", ("L0501", "L0502"), 200, 60),
    Panel("LP06", "炎症指标", "Inflammation markers", "SER", ("L0601", "L0602"), 180, 90),
    Panel("LP07", "血气分析", "Arterial blood gas", "BLDA", ("L0701", "L0702", "L0703", "L0704"), 100, 20),
    Panel("LP08", "糖化血红蛋白", "Hemoglobin A1c", "BLD", ("L0801",), 70, 240),
    Panel("LP09", "胆碱酯酶", "Cholinesterase", "SER", ("L0901",), 40, 90),
    Panel("LP10", "血铅", "Blood lead", "BLD", ("L0902",), 80, 1440),
    Panel("LP11", "碳氧血红蛋白", "Carboxyhemoglobin", "BLD", ("L0903",), 50, 30),
    Panel("LP12", "血淀粉酶", "Amylase", "SER", ("L1001",), 40, 90),
)
PANEL_BY_CODE: dict[str, Panel] = {p.code: p for p in PANELS}

EXAMS: tuple[Exam, ...] = (
    Exam("RC01", "头颅CT平扫", "CT head without contrast", "CT", True, 220),
    Exam("RC02", "胸部CT平扫", "CT chest without contrast", "CT", True, 260),
    Exam("RC03", "腹部CT增强", "CT abdomen with contrast", "CT", True, 900),
    Exam("RM01", "头颅MR平扫", "MR brain without contrast", "MR", True, 700),
    Exam("RM02", "腰椎MR平扫", "MR lumbar spine without contrast", "MR", True, 700),
    Exam("RM03", "膝关节MR平扫", "MR knee without contrast", "MR", True, 700),
    Exam("RX01", "胸部正位片", "Chest X-ray, frontal", "DX", False, 100),
    Exam("RX02", "骨关节X线片", "Skeletal X-ray", "DX", False, 110),
    Exam("RU01", "腹部彩超", "Ultrasound abdomen", "US", False, 150),
    Exam("RU02", "心脏彩超", "Echocardiography", "US", False, 280),
    Exam("RU03", "妇科彩超", "Pelvic ultrasound", "US", False, 140),
    Exam("RP01", "PET-CT全身显像", "PET-CT whole body", "PT", True, 7000),
)
EXAM_BY_CODE: dict[str, Exam] = {e.code: e for e in EXAMS}
#: LOINC codes of the narrative parts of an imaging report.
REPORT_FINDINGS_LOINC = "18782-3"
REPORT_IMPRESSION_LOINC = "19005-8"
