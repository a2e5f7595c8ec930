"""Charge items (收费项目) with the financial income category each one books to, and the front-page cost column
it adds to. Prices are illustrative, of the order of public prices in eastern China.

Income categories follow the medical-income lines of the government accounting system for hospitals; indicator
31 counts registration, consultation, bed, treatment, surgery, nursing, pharmacy-service and other service income
as medical-service income, and excludes drugs, consumables, examinations and laboratory tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from huitong.synth.catalogues.drugs import DRUGS
from huitong.synth.catalogues.lab import EXAMS, PANELS
from huitong.synth.catalogues.procedures import DIAGNOSTIC, PROCEDURES, THERAPEUTIC

#: income category code → (Chinese, English, counts as medical-service income for indicator 31)
INCOME_CATEGORIES: dict[str, tuple[str, str, bool]] = {
    "REG": ("挂号收入", "Registration", True),
    "CONSULT": ("诊察收入", "Consultation", True),
    "BED": ("床位收入", "Bed", True),
    "EXAM": ("检查收入", "Examination", False),
    "LAB": ("化验收入", "Laboratory tests", False),
    "TREAT": ("治疗收入", "Treatment", True),
    "SURG": ("手术收入", "Surgery", True),
    "NURSE": ("护理收入", "Nursing", True),
    "MATERIAL": ("卫生材料收入", "Medical consumables", False),
    "DRUG_W": ("西药收入", "Western medicines", False),
    "DRUG_CPM": ("中成药收入", "Chinese patent medicines", False),
    "DRUG_HERB": ("中草药收入", "Chinese herbal medicines", False),
    "PHARM": ("药事服务收入", "Pharmacy service", True),
    "OTHER": ("其他收入", "Other", True),
}
SERVICE_CATEGORIES = frozenset(code for code, (_, _, service) in INCOME_CATEGORIES.items() if service)
DRUG_CATEGORIES = frozenset({"DRUG_W", "DRUG_CPM", "DRUG_HERB"})


@dataclass(frozen=True, slots=True)
class ChargeItem:
    """One item of the price list."""

    code: str
    name_zh: str
    unit: str
    price: float
    income: str
    frontpage: str  # front-page cost column it adds to


_STATIC: tuple[ChargeItem, ...] = (
    ChargeItem("C0001", "挂号费", "次", 1, "REG", "YLFUF"),
    ChargeItem("C0002", "普通门诊诊察费", "次", 15, "CONSULT", "YLFUF"),
    ChargeItem("C0003", "副主任医师门诊诊察费", "次", 25, "CONSULT", "YLFUF"),
    ChargeItem("C0004", "主任医师门诊诊察费", "次", 40, "CONSULT", "YLFUF"),
    ChargeItem("C0005", "急诊诊察费", "次", 20, "CONSULT", "YLFUF"),
    ChargeItem("C0101", "普通病房床位费(三人间)", "日", 60, "BED", "YLFUF"),
    ChargeItem("C0102", "重症监护病房床位费", "日", 200, "BED", "YLFUF"),
    ChargeItem("C0103", "加床费", "日", 30, "BED", "YLFUF"),
    ChargeItem("C0201", "一级护理", "日", 45, "NURSE", "HLF"),
    ChargeItem("C0202", "二级护理", "日", 30, "NURSE", "HLF"),
    ChargeItem("C0203", "特级护理", "日", 180, "NURSE", "HLF"),
    ChargeItem("C0301", "住院诊察费", "日", 35, "CONSULT", "YLFUF"),
    ChargeItem("C0401", "静脉输液", "日", 20, "TREAT", "ZLCZF"),
    ChargeItem("C0402", "皮下/肌肉注射", "次", 3, "TREAT", "ZLCZF"),
    ChargeItem("C0403", "氧气吸入", "日", 40, "TREAT", "ZLCZF"),
    ChargeItem("C0404", "心电监护", "日", 150, "TREAT", "ZLCZF"),
    ChargeItem("C0501", "全身麻醉", "次", 1800, "SURG", "MAF"),
    ChargeItem("C0502", "椎管内麻醉", "次", 900, "SURG", "MAF"),
    ChargeItem("C0503", "神经阻滞麻醉", "次", 400, "SURG", "MAF"),
    ChargeItem("C0504", "局部麻醉", "次", 50, "SURG", "MAF"),
    ChargeItem("C0601", "一次性医用材料", "日", 150, "MATERIAL", "ZLYYCLF"),
    ChargeItem("C0701", "药事服务费", "次", 8, "PHARM", "YLFUF"),
    ChargeItem("C0801", "常规心电图检查", "次", 25, "EXAM", "LCZDXMF"),
    ChargeItem("C0901", "病历工本费", "次", 1, "OTHER", "QTFY"),
)
ANAESTHESIA_ITEM = {"GA": "C0501", "SA": "C0502", "NB": "C0503", "LA": "C0504"}


def _drug_items() -> list[ChargeItem]:
    items = []
    for d in DRUGS:
        income = {"中成药": "DRUG_CPM", "中草药": "DRUG_HERB"}.get(d.category, "DRUG_W")
        column = {"中成药": "ZCYF", "中草药": "ZCYF1"}.get(d.category, "XYF")
        if d.code == "X0129":
            column = "BDBLZPF"
        items.append(ChargeItem(f"Y{d.code}", d.product_zh, d.pack_unit, d.price, income, column))
    return items


def _procedure_items() -> list[ChargeItem]:
    items = []
    for p in PROCEDURES:
        if p.category == DIAGNOSTIC:
            income, column = "EXAM", "LCZDXMF"
        elif p.category == THERAPEUTIC:
            income, column = "TREAT", {"93.39": "KFF", "99.92": "ZYZLF", "99.04": "XF"}.get(p.code, "FSSZLXMF")
        else:
            income, column = "SURG", "SSF"
        items.append(ChargeItem(f"S{p.code}", p.name_zh, "次", p.price, income, column))
        if p.consumables:
            material_column = "SSYYCLF" if income == "SURG" else ("JCYYCLF" if income == "EXAM" else "ZLYYCLF")
            items.append(
                ChargeItem(f"M{p.code}", f"{p.name_zh}用耗材", "套", p.consumables, "MATERIAL", material_column)
            )
    return items


CHARGE_ITEMS: tuple[ChargeItem, ...] = (
    *_STATIC,
    *_drug_items(),
    *_procedure_items(),
    *(ChargeItem(f"J{p.code}", p.name_zh, "项", p.price, "LAB", "SYSZDF") for p in PANELS),
    *(ChargeItem(f"J{e.code}", e.name_zh, "次", e.price, "EXAM", "YXXZDF") for e in EXAMS),
)
CHARGE_BY_CODE: dict[str, ChargeItem] = {c.code: c for c in CHARGE_ITEMS}
