"""Orders and their results: medication orders with administration times (inpatients) or dispensed packs
(outpatients), lab orders with results (reference and critical flags), imaging exams with reports."""

from __future__ import annotations

import math
import random

from huitong.synth.catalogues import Staffing
from huitong.synth.catalogues.drugs import Drug
from huitong.synth.catalogues.lab import ANALYTE_BY_CODE, Exam, Panel
from huitong.synth.catalogues.regimens import LAB_PROFILES
from huitong.synth.catalogues.staff import StaffMember
from huitong.synth.clock import DAY, HOUR, MINUTE
from huitong.synth.model import ImagingOrder, LabOrder, LabResult, MedOrder

#: Hours of the day at which a drug given n times a day is given.
SCHEDULE: dict[int, tuple[int, ...]] = {
    1: (9,),
    2: (8, 20),
    3: (8, 14, 20),
    4: (6, 12, 18, 23),
    6: (0, 4, 8, 12, 16, 20),
}
FREQUENCY = {1: "QD", 2: "BID", 3: "TID", 4: "QID", 6: "Q4H", 0: "ONCE"}

_REPORTS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    # exam prefix: ((positive findings, impression), (negative findings, impression))
    "RC01": (
        ("左侧基底节区见片状低密度影，边界欠清，中线结构居中。", "左侧基底节区腔隙性脑梗死可能。"),
        ("脑实质内未见异常密度影，脑室系统未见扩大，中线结构居中。", "颅脑CT平扫未见明显异常。"),
    ),
    "RC02": (
        ("右肺上叶见多发结节影，大小约3~8mm，双肺散在斑片状高密度影。", "双肺炎症；右肺上叶多发小结节，建议随访。"),
        ("双肺纹理清晰，未见明显实质性病变，纵隔未见肿大淋巴结。", "胸部CT平扫未见明显异常。"),
    ),
    "RC03": (
        ("肝右叶见类圆形低密度影，增强后边缘强化，大小约25mm×30mm。", "肝右叶占位，请结合临床。"),
        ("肝、胆、胰、脾及双肾形态密度未见异常。", "腹部CT增强未见明显异常。"),
    ),
    "RM01": (
        ("右侧额叶见斑片状长T1长T2信号，DWI呈高信号。", "右侧额叶急性脑梗死。"),
        ("脑实质信号均匀，未见异常信号灶。", "头颅MR平扫未见明显异常。"),
    ),
    "RM02": (
        ("L4/5椎间盘向后突出，硬膜囊受压。", "L4/5椎间盘突出。"),
        ("腰椎序列规整，椎间盘未见突出。", "腰椎MR平扫未见明显异常。"),
    ),
    "RM03": (
        ("内侧半月板后角见线样高信号达关节面。", "内侧半月板后角撕裂(Ⅲ度)。"),
        ("膝关节诸骨信号未见异常。", "膝关节MR平扫未见明显异常。"),
    ),
    "RX01": (("右下肺野见片状模糊影。", "右下肺炎症。"), ("两肺纹理清晰，心影大小正常。", "胸部正位片未见明显异常。")),
    "RX02": (
        ("骨皮质连续性中断，断端轻度移位。", "骨折。"),
        ("诸骨骨质未见异常，关节间隙正常。", "骨关节X线片未见明显异常。"),
    ),
    "RU01": (
        ("胆囊内见数个强回声团，后伴声影，最大约12mm。", "胆囊结石。"),
        ("肝、胆、胰、脾未见明显异常。", "腹部彩超未见明显异常。"),
    ),
    "RU02": (
        ("左室壁节段性运动减弱，LVEF约45%。", "节段性室壁运动异常，左室收缩功能减低。"),
        ("各房室大小正常，室壁运动协调。", "心脏结构及功能未见明显异常。"),
    ),
    "RU03": (
        ("子宫肌层见低回声结节，大小约35mm×28mm。", "子宫肌瘤。"),
        ("子宫及双附件未见明显异常。", "妇科彩超未见明显异常。"),
    ),
    "RP01": (
        ("右肺上叶结节FDG代谢增高，SUVmax约6.5。", "右肺上叶高代谢结节，考虑恶性。"),
        ("全身未见FDG代谢异常增高灶。", "PET-CT未见明显异常。"),
    ),
}


class OrderFactory:
    """Makes orders with numbers unique across shards."""

    def __init__(self, rng: random.Random, shard: int, staffing: Staffing) -> None:
        self.rng = rng
        self.shard = shard
        self.staffing = staffing
        self._n = {"M": 0, "L": 0, "I": 0}

    def _number(self, kind: str) -> str:
        self._n[kind] += 1
        return f"{kind}{self.shard:03d}{self._n[kind]:08d}"

    def inpatient_med(
        self,
        drug: Drug,
        dose: float,
        per_day: int,
        start: int,
        stop: int,
        prescriber: StaffMember,
        purpose: str = "",
        *,
        once: bool = False,
    ) -> MedOrder:
        """An inpatient order with its administration times between ``start`` and ``stop``."""
        rng = self.rng
        order = MedOrder(self._number("M"), drug, dose, per_day, start, stop, prescriber, purpose, once=once)
        if once or per_day == 0:
            order.administrations.append(start + rng.randint(5, 40) * MINUTE)
            order.stop = order.administrations[0]
        else:
            hours = SCHEDULE[per_day]
            for day in range(start // DAY, stop // DAY + 1):
                base = day * DAY
                for hour in hours:
                    t = base + hour * HOUR + rng.randint(-20, 20) * MINUTE
                    if start <= t < stop:
                        order.administrations.append(t)
            if not order.administrations:
                order.administrations.append(start + rng.randint(5, 40) * MINUTE)
        order.packs = len(order.administrations) * max(1, math.ceil(dose / drug.strength - 1e-9))
        return order

    def outpatient_med(
        self, drug: Drug, dose: float, per_day: int, days: int, when: int, prescriber: StaffMember, purpose: str = ""
    ) -> MedOrder:
        """An outpatient prescription item (dispensed, not administered)."""
        doses = max(1, per_day) * max(1, days)
        order = MedOrder(self._number("M"), drug, dose, per_day, when, when + days * DAY, prescriber, purpose)
        order.packs = max(1, math.ceil(dose * doses / drug.strength - 1e-9))
        return order

    def lab(self, panel: Panel, ordered: int, orderer: StaffMember, sex: str, diagnoses: tuple[str, ...]) -> LabOrder:
        """A lab order collected and reported after the usual delays, with results."""
        rng = self.rng
        collected = ordered + rng.randint(10, 60) * MINUTE
        reported = collected + int(panel.turnaround_min * rng.uniform(0.5, 1.6)) * MINUTE
        order = LabOrder(self._number("L"), panel, ordered, collected, reported, orderer)
        profile: dict[str, tuple[float, float]] = {}
        for dx in diagnoses:
            profile.update(LAB_PROFILES.get(dx, {}))
        for code in panel.analytes:
            order.results.append(self._result(code, sex, profile.get(code)))
        return order

    def _result(self, code: str, sex: str, shift: tuple[float, float] | None) -> LabResult:
        rng = self.rng
        a = ANALYTE_BY_CODE[code]
        lo, hi = a.reference(sex)
        if shift is not None:
            value = shift[0] * math.exp(rng.gauss(0.0, shift[1]))
        elif lo == 0:
            value = hi * 0.3 * math.exp(rng.gauss(0.0, 0.6))
        else:
            spread = (hi - lo) / 4
            value = rng.gauss((lo + hi) / 2, spread * (2.2 if rng.random() < 0.1 else 1.0))
        value = round(max(value, 0.0), a.decimals)
        if a.critical_low is not None and value < a.critical_low:
            flag = "LL"
        elif a.critical_high is not None and value > a.critical_high:
            flag = "HH"
        elif value < lo:
            flag = "L"
        elif value > hi:
            flag = "H"
        else:
            flag = "N"
        return LabResult(code, value, flag)

    def imaging(self, exam: Exam, ordered: int, orderer: StaffMember, positive_rate: float) -> ImagingOrder:
        """An imaging exam, performed and reported after the usual delays."""
        rng = self.rng
        performed = ordered + rng.randint(20, 60 * (6 if exam.modality in ("MR", "PT") else 2)) * MINUTE
        reported = performed + rng.randint(30, 300) * MINUTE
        positive = rng.random() < positive_rate
        (pos_f, pos_i), (neg_f, neg_i) = _REPORTS[exam.code]
        findings, impression = (pos_f, pos_i) if positive else (neg_f, neg_i)
        radiologist = rng.choice(self.staffing.radiologists)
        return ImagingOrder(
            self._number("I"), exam, ordered, performed, reported, orderer, radiologist, positive, findings, impression
        )
