"""The inpatient front page (住院病案首页) as CSV: one row per discharge.

Field names and code values follow the national front page (卫医政发〔2011〕84号 and the 2016 住院病案首页数据
填写质量规范); column codes follow the pinyin-initial convention of the national front-page upload interfaces
(as recalled; see docs/formats/frontpage.md). Columns marked as extensions are not on the national page: ZYH
(the inpatient number that HL7 PV1-19 carries) and, per operation, the elective and day-surgery flags that
indicators 3 and 8 need.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from huitong.synth.catalogues.charges import CHARGE_BY_CODE
from huitong.synth.catalogues.departments import HOSPITAL_CODE, HOSPITAL_NAME_ZH
from huitong.synth.catalogues.diagnoses import DIAGNOSIS_BY_CODE
from huitong.synth.catalogues.drugs import DRUG_BY_CODE
from huitong.synth.catalogues.procedures import ANAESTHESIA
from huitong.synth.clock import Clock, bed_days
from huitong.synth.model import Stay
from huitong.synth.registration import Registration

OTHER_DIAGNOSES = 10
OPERATIONS = 5


@dataclass(frozen=True, slots=True)
class Column:
    """One front-page column as documented."""

    code: str
    name_zh: str
    name_en: str
    type: str  # string | integer | decimal | date | datetime | code
    codes: str  # the code system or value set, "" for free values
    required: str  # yes | no | conditional
    extension: bool = False


def _c(
    code: str, zh: str, en: str, typ: str = "string", codes: str = "", required: str = "no", extension: bool = False
) -> Column:
    return Column(code, zh, en, typ, codes, required, extension)


_SEX = "GB/T 2261.1: 1 男, 2 女, 0 未知, 9 未说明"
_POA = "入院病情: 1 有, 2 临床未确定, 3 情况不明, 4 无"
_YESNO = "1 是, 2 否"
_COST = "decimal"

_HEAD: tuple[Column, ...] = (
    _c("ZZJGDM", "组织机构代码", "Organisation code", required="yes"),
    _c("JGMC", "医疗机构名称", "Institution name", required="yes"),
    _c(
        "YLFKFS",
        "医疗付费方式",
        "Payment method",
        "code",
        "1 城镇职工基本医疗保险, 2 城乡居民基本医疗保险, 3 新型农村合作医疗, 4 贫困救助, 5 商业医疗保险, "
        "6 全公费, 7 全自费, 8 其他社会保险, 9 其他",
        "yes",
    ),
    _c("JKKH", "健康卡号", "Health card number"),
    _c("ZYCS", "住院次数", "Admission count (nth admission)", "integer", required="yes"),
    _c("BAH", "病案号", "Medical record number", required="yes"),
    _c("ZYH", "住院号", "Inpatient number (HL7 PV1-19)", required="yes", extension=True),
    _c("XM", "姓名", "Name", required="yes"),
    _c("XB", "性别", "Sex", "code", _SEX, "yes"),
    _c("CSRQ", "出生日期", "Date of birth", "date", required="yes"),
    _c("NL", "年龄", "Age (years)", "integer", required="conditional"),
    _c("GJ", "国籍", "Nationality", "code", "GB/T 2659 alpha-3", "yes"),
    _c("BZYZSNL", "年龄不足1周岁的年龄(月)", "Age in months under one year", "integer", required="conditional"),
    _c("XSECSTZ", "新生儿出生体重(克)", "Newborn birth weight (g)", "integer", required="conditional"),
    _c("XSERYTZ", "新生儿入院体重(克)", "Newborn admission weight (g)", "integer", required="conditional"),
    _c("CSD", "出生地", "Place of birth"),
    _c("MZ", "民族", "Ethnicity", "code", "GB 3304 (01 汉族 …)", "yes"),
    _c("SFZH", "身份证号", "Resident ID number", "string", "GB 11643", "conditional"),
    _c("ZY", "职业", "Occupation", "code", "GB/T 2261.4", "yes"),
    _c("HY", "婚姻", "Marital status", "code", "GB/T 2261.2: 10 未婚, 20 已婚, 30 丧偶, 40 离婚, 90 未说明", "yes"),
    _c("XZZ", "现住址", "Current address", required="yes"),
    _c("DH", "电话", "Telephone"),
    _c("YB1", "现住址邮编", "Postcode (current address)"),
    _c("HKDZ", "户口地址", "Household registration address"),
    _c("YB2", "户口地址邮编", "Postcode (registration address)"),
    _c("GZDWJDZ", "工作单位及地址", "Employer and address"),
    _c("LXRXM", "联系人姓名", "Contact person"),
    _c("GX", "关系", "Relationship to patient", "code", "GB/T 4761: 1 配偶, 2 子, 3 女, 9 其他"),
    _c("LXRDH", "联系人电话", "Contact telephone"),
    _c("RYTJ", "入院途径", "Admission route", "code", "1 急诊, 2 门诊, 3 其他医疗机构转入, 9 其他", "yes"),
    _c("RYSJ", "入院时间", "Admission time", "datetime", required="yes"),
    _c("RYKB", "入院科别", "Admitting department (local code)", required="yes"),
    _c("RYBF", "入院病房", "Admitting ward"),
    _c("ZKKB", "转科科别", "Transfer departments (comma-separated)"),
    _c("CYSJ", "出院时间", "Discharge time", "datetime", required="yes"),
    _c("CYKB", "出院科别", "Discharge department (local code)", required="yes"),
    _c("CYBF", "出院病房", "Discharge ward"),
    _c("SJZYTS", "实际住院(天)", "Length of stay (days)", "integer", required="yes"),
    _c("MZZD", "门(急)诊诊断", "Outpatient/emergency diagnosis", required="conditional"),
    _c("JBBM", "门(急)诊诊断疾病编码", "Outpatient/emergency diagnosis code", "code", "ICD-10", "conditional"),
    _c("ZYZD", "主要诊断", "Principal diagnosis", required="yes"),
    _c("JBDM", "主要诊断疾病编码", "Principal diagnosis code", "code", "ICD-10", "yes"),
    _c("RYBQ", "主要诊断入院病情", "Principal diagnosis present on admission", "code", _POA, "yes"),
)


def _other_diagnoses() -> tuple[Column, ...]:
    cols = []
    for i in range(1, OTHER_DIAGNOSES + 1):
        cols += [
            _c(f"QTZD{i}", f"其他诊断{i}", f"Other diagnosis {i}"),
            _c(f"JBDM{i}", f"其他诊断疾病编码{i}", f"Other diagnosis code {i}", "code", "ICD-10"),
            _c(f"RYBQ{i}", f"其他诊断入院病情{i}", f"Other diagnosis {i} present on admission", "code", _POA),
        ]
    return tuple(cols)


_MIDDLE: tuple[Column, ...] = (
    _c("WBYY", "损伤、中毒的外部原因", "External cause of injury or poisoning", required="conditional"),
    _c("H23", "外部原因疾病编码", "External cause code", "code", "ICD-10 V01–Y98", "conditional"),
    _c("BLZD", "病理诊断", "Pathology diagnosis"),
    _c("JBMM", "病理诊断疾病编码", "Pathology morphology code", "code", "ICD-O-3 morphology"),
    _c("BLH", "病理号", "Pathology number"),
    _c("YWGM", "药物过敏", "Drug allergy", "code", "1 无, 2 有", "yes"),
    _c("GMYW", "过敏药物", "Allergenic drug", required="conditional"),
    _c("SWHZSJ", "死亡患者尸检", "Autopsy of deceased patient", "code", _YESNO, "conditional"),
    _c("XX", "血型", "ABO blood group", "code", "1 A, 2 B, 3 O, 4 AB, 5 不详, 6 未查"),
    _c("RH", "Rh", "Rh(D) type", "code", "1 阴, 2 阳, 3 不详, 4 未查"),
    _c("KZR", "科主任", "Head of department", required="yes"),
    _c("ZRYS", "主任(副主任)医师", "Chief (associate chief) physician", required="yes"),
    _c("ZZYS", "主治医师", "Attending physician", required="yes"),
    _c("ZYYS", "住院医师", "Resident physician", required="yes"),
    _c("ZRHS", "责任护士", "Responsible nurse", required="yes"),
    _c("JXYS", "进修医师", "Visiting physician"),
    _c("SXYS", "实习医师", "Intern"),
    _c("BMY", "编码员", "Coder", required="yes"),
    _c("BAZL", "病案质量", "Record quality", "code", "1 甲, 2 乙, 3 丙", "yes"),
    _c("ZKYS", "质控医师", "Quality-control physician"),
    _c("ZKHS", "质控护士", "Quality-control nurse"),
    _c("ZKRQ", "质控日期", "Quality-control date", "date"),
)


def _operations() -> tuple[Column, ...]:
    cols = []
    for i in range(1, OPERATIONS + 1):
        cols += [
            _c(f"SSJCZBM{i}", f"手术及操作编码{i}", f"Operation {i} code", "code", "ICD-9-CM-3"),
            _c(f"SSJCZRQ{i}", f"手术及操作日期{i}", f"Operation {i} start", "datetime"),
            _c(f"SSJB{i}", f"手术级别{i}", f"Operation {i} level", "code", "1 一级, 2 二级, 3 三级, 4 四级"),
            _c(f"SSJCZMC{i}", f"手术及操作名称{i}", f"Operation {i} name"),
            _c(f"SZ{i}", f"术者{i}", f"Operation {i} surgeon"),
            _c(f"YZ{i}", f"Ⅰ助{i}", f"Operation {i} first assistant"),
            _c(f"EZ{i}", f"Ⅱ助{i}", f"Operation {i} second assistant"),
            _c(f"QKDJ{i}", f"切口等级{i}", f"Operation {i} incision class", "code", "0 0类, 1 Ⅰ类, 2 Ⅱ类, 3 Ⅲ类"),
            _c(f"QKYHLB{i}", f"切口愈合类别{i}", f"Operation {i} healing grade", "code", "1 甲, 2 乙, 3 丙, 9 其他"),
            _c(f"MZFS{i}", f"麻醉方式{i}", f"Operation {i} anaesthesia"),
            _c(f"MZYS{i}", f"麻醉医师{i}", f"Operation {i} anaesthetist"),
            _c(f"ZQSS{i}", f"择期手术{i}", f"Operation {i} elective", "code", _YESNO, extension=True),
            _c(f"RJSS{i}", f"日间手术{i}", f"Operation {i} day surgery", "code", _YESNO, extension=True),
        ]
    return tuple(cols)


#: Cost columns: (code, Chinese, English).
COSTS: tuple[tuple[str, str, str], ...] = (
    ("ZFY", "住院费用：总费用", "Total cost"),
    ("ZFJE", "自付金额", "Self-paid amount"),
    ("YLFUF", "一般医疗服务费", "General medical services"),
    ("ZLCZF", "一般治疗操作费", "General treatment procedures"),
    ("HLF", "护理费", "Nursing"),
    ("QTFY", "综合医疗服务类其他费用", "Other general services"),
    ("BLZDF", "病理诊断费", "Pathology"),
    ("SYSZDF", "实验室诊断费", "Laboratory"),
    ("YXXZDF", "影像学诊断费", "Imaging"),
    ("LCZDXMF", "临床诊断项目费", "Clinical diagnostic items"),
    ("FSSZLXMF", "非手术治疗项目费", "Non-surgical treatment"),
    ("SSZLF", "手术治疗费", "Surgical treatment (incl. anaesthesia and operation fees)"),
    ("MAF", "麻醉费", "Anaesthesia"),
    ("SSF", "手术费", "Operation fee"),
    ("KFF", "康复费", "Rehabilitation"),
    ("ZYZLF", "中医治疗费", "TCM treatment"),
    ("XYF", "西药费", "Western medicines"),
    ("KJYWF", "抗菌药物费用", "of which antimicrobials"),
    ("ZCYF", "中成药费", "Chinese patent medicines"),
    ("ZCYF1", "中草药费", "Chinese herbal medicines"),
    ("XF", "血费", "Blood"),
    ("BDBLZPF", "白蛋白类制品费", "Albumin products"),
    ("JCYYCLF", "检查用一次性医用材料费", "Disposables for examinations"),
    ("ZLYYCLF", "治疗用一次性医用材料费", "Disposables for treatment"),
    ("SSYYCLF", "手术用一次性医用材料费", "Disposables for surgery"),
    ("QTF", "其他费", "Other"),
)

_TAIL: tuple[Column, ...] = (
    _c(
        "LYFS",
        "离院方式",
        "Discharge disposition",
        "code",
        "1 医嘱离院, 2 医嘱转院, 3 医嘱转社区卫生服务机构/乡镇卫生院, 4 非医嘱离院, 5 死亡, 9 其他",
        "yes",
    ),
    _c("YZZY_JGMC", "拟接收医疗机构名称", "Receiving institution", required="conditional"),
    _c("SFZZYJH", "是否有出院31天内再住院计划", "Readmission planned within 31 days", "code", "1 无, 2 有", "yes"),
    _c("MD", "再住院目的", "Purpose of planned readmission", required="conditional"),
    *(_c(code, zh, en, _COST, required="yes" if code in ("ZFY", "ZFJE") else "no") for code, zh, en in COSTS),
)

COLUMNS: tuple[Column, ...] = (*_HEAD, *_other_diagnoses(), *_MIDDLE, *_operations(), *_TAIL)
HEADER: list[str] = [c.code for c in COLUMNS]
REQUIRED: tuple[str, ...] = tuple(c.code for c in COLUMNS if c.required == "yes")
_INDEX = {code: i for i, code in enumerate(HEADER)}
_PATHOLOGY = {
    "C": ("腺癌", "M81400/3"),
    "D32": ("脑膜瘤", "M95300/0"),
    "D25": ("平滑肌瘤", "M88900/0"),
    "D34": ("滤泡性腺瘤", "M83300/0"),
    "D24": ("纤维腺瘤", "M90100/0"),
}


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f}"


def costs(stay: Stay) -> dict[str, int]:
    """The stay's charges summed into front-page cost columns, in fen."""
    out = dict.fromkeys((code for code, _, _ in COSTS), 0)
    for item, (_, amount, _, _) in stay.charges.items.items():
        column = CHARGE_BY_CODE[item].frontpage
        out[column] += amount
        if item.startswith("Y") and DRUG_BY_CODE[item[1:]].is_antimicrobial:
            out["KJYWF"] += amount
    out["SSZLF"] = out["MAF"] + out["SSF"]
    out["ZFY"] = stay.charges.total_fen
    out["ZFJE"] = out["ZFY"] - stay.fund_paid_fen
    return out


def row(stay: Stay, reg: Registration, clock: Clock, rng: random.Random) -> dict[str, str]:
    """The front-page row of a discharge (as a column → text mapping)."""
    person = stay.person
    admitted = clock.date(stay.admit)
    age_years = person.age_on(admitted)
    r: dict[str, str] = dict.fromkeys(HEADER, "")
    a = person.address
    r.update(
        {
            "ZZJGDM": HOSPITAL_CODE,
            "JGMC": HOSPITAL_NAME_ZH,
            "YLFKFS": person.payer,
            "ZYCS": str(stay.admission_count),
            "BAH": person.mrn,
            "ZYH": stay.stay_no,
            "XM": reg.family + reg.given,
            "XB": "1" if person.sex == "M" else "2",
            "CSRQ": person.birth.isoformat(),
            "GJ": "CHN",
            "MZ": "01",
            "SFZH": person.resident_id,
            "ZY": person.occupation,
            "HY": person.marital,
            "XZZ": a.text,
            "DH": person.phone,
            "YB1": a.postcode,
            "HKDZ": a.text,
            "YB2": a.postcode,
            "GZDWJDZ": person.employer,
            "RYTJ": stay.route,
            "RYSJ": clock.iso(stay.admit),
            "RYKB": stay.admit_department,
            "RYBF": stay.segments[0].ward,
            "ZKKB": ",".join(s.department for s in stay.segments[1:]),
            "CYSJ": clock.iso(stay.discharge),
            "CYKB": stay.department,
            "CYBF": stay.segments[-1].ward,
            "SJZYTS": str(bed_days(stay.admit, stay.discharge)),
            "LYFS": stay.disposition,
            "SFZZYJH": "1",
            "YWGM": "1",
            "XX": rng.choice("1233346"),
            "RH": "2",
            "BAZL": "1",
        }
    )
    if age_years >= 1:
        r["NL"] = str(age_years)
    else:
        months = (admitted.year - person.birth.year) * 12 + admitted.month - person.birth.month
        r["NL"], r["BZYZSNL"] = "0", str(max(0, months))
        if stay.case.department == "0402":
            weight = rng.randint(1300, 2400) if stay.case.diagnosis == "P07.3" else rng.randint(2500, 4000)
            r["XSECSTZ"], r["XSERYTZ"] = str(weight), str(weight + rng.randint(-150, 100))
    if stay.principal is not None:
        dx = stay.principal
        r["ZYZD"], r["JBDM"], r["RYBQ"] = DIAGNOSIS_BY_CODE[dx.code].name_zh, dx.code, dx.poa
        if stay.route in ("1", "2"):
            r["MZZD"], r["JBBM"] = r["ZYZD"], dx.code
    for i, dx in enumerate(stay.others[:OTHER_DIAGNOSES], 1):
        r[f"QTZD{i}"], r[f"JBDM{i}"], r[f"RYBQ{i}"] = DIAGNOSIS_BY_CODE[dx.code].name_zh, dx.code, dx.poa
    if stay.external_cause:
        r["WBYY"], r["H23"] = DIAGNOSIS_BY_CODE[stay.external_cause].name_zh, stay.external_cause
    principal = stay.principal.code if stay.principal else ""
    if stay.operations and principal[:1] in ("C", "D") and stay.operations[0].procedure.is_operation:
        name, morphology = _PATHOLOGY.get(principal[:3], _PATHOLOGY.get(principal[:1], ("", "")))
        if name:
            r["BLZD"], r["JBMM"], r["BLH"] = name, morphology, f"BL{stay.stay_no[2:]}"
    if rng.random() < 0.08:
        r["YWGM"], r["GMYW"] = "2", rng.choice(("青霉素", "头孢类", "磺胺类"))
    if stay.died:
        r["SWHZSJ"] = "1" if rng.random() < 0.05 else "2"
    if stay.disposition in ("2", "3"):
        r["YZZY_JGMC"] = "市第二人民医院" if stay.disposition == "2" else "社区卫生服务中心"
    team = stay.team
    for column in ("KZR", "ZRYS", "ZZYS", "ZYYS", "ZRHS", "BMY", "ZKYS", "ZKHS"):
        member = team.get(column)
        r[column] = member.name if member else ""
    r["ZKRQ"] = clock.iso_date(stay.discharge + rng.randint(1, 5) * 86_400)
    for i, op in enumerate(stay.operations[:OPERATIONS], 1):
        p = op.procedure
        r[f"SSJCZBM{i}"], r[f"SSJCZRQ{i}"], r[f"SSJCZMC{i}"] = p.code, clock.iso(op.start), p.name_zh
        r[f"SSJB{i}"] = str(p.level) if p.level else ""
        r[f"SZ{i}"] = op.surgeon.name if op.surgeon else ""
        r[f"YZ{i}"] = op.assistant1.name if op.assistant1 else ""
        r[f"EZ{i}"] = op.assistant2.name if op.assistant2 else ""
        r[f"QKDJ{i}"] = p.incision if p.incision != "-" else ""
        r[f"QKYHLB{i}"] = {"甲": "1", "乙": "2", "丙": "3"}.get(op.healing, "")
        r[f"MZFS{i}"] = ANAESTHESIA[p.anaesthesia]
        r[f"MZYS{i}"] = op.anaesthetist.name if op.anaesthetist else ""
        r[f"ZQSS{i}"] = "1" if op.elective else "2"
        r[f"RJSS{i}"] = "1" if op.day_surgery else "2"
    for code, fen in costs(stay).items():
        r[code] = _yuan(fen)
    return r


def as_list(values: dict[str, str]) -> list[str]:
    """A row mapping in column order."""
    return [values[c] for c in HEADER]


def column_index(code: str) -> int:
    """Position of a column."""
    return _INDEX[code]
