"""Operations and procedures in ICD-9-CM-3 style, with the attributes China's front page and indicators need.

Codes and English titles are ICD-9-CM Volume 3 (public). The national clinical edition (手术操作分类代码国家
临床版) extends the codes and assigns each a category — 手术 (surgery), 介入治疗 (interventional treatment),
治疗性操作 (therapeutic procedure), 诊断性操作 (diagnostic procedure) — and the national catalogues assign
levels 1–4 and the minimally-invasive flag. The categories, levels, minimally-invasive flags, incision classes
and prices below are illustrative assignments, not the official catalogue.
Incision classes: 0 (natural orifice or percutaneous), 1 (Ⅰ clean), 2 (Ⅱ clean-contaminated), 3 (Ⅲ
contaminated); ``-`` for procedures without an incision.
"""

from __future__ import annotations

from dataclasses import dataclass

SURGERY = "surgery"
INTERVENTION = "intervention"
THERAPEUTIC = "therapeutic"
DIAGNOSTIC = "diagnostic"
CATEGORY_ZH = {SURGERY: "手术", INTERVENTION: "介入治疗", THERAPEUTIC: "治疗性操作", DIAGNOSTIC: "诊断性操作"}
#: Anaesthesia methods (front-page 麻醉方式, text as written on the page).
ANAESTHESIA = {"GA": "全身麻醉", "SA": "椎管内麻醉", "NB": "神经阻滞麻醉", "LA": "局部麻醉", "": ""}


@dataclass(frozen=True, slots=True)
class Procedure:
    """One ICD-9-CM-3 code with its national attributes."""

    code: str
    name_zh: str
    name_en: str
    category: str
    level: int  # 1–4; 0 for procedures without a level
    minimally_invasive: bool
    incision: str  # "0", "1", "2", "3" or "-"
    anaesthesia: str  # key of ANAESTHESIA
    price: float  # operation fee in yuan
    consumables: float  # typical consumables in yuan

    @property
    def is_operation(self) -> bool:
        """Whether the procedure counts as an operation for indicators 4–6 (surgery or intervention)."""
        return self.category in (SURGERY, INTERVENTION)


_ROWS = """
36.07|经皮冠状动脉药物洗脱支架置入术|Insertion of drug-eluting coronary artery stent(s)|intervention|3|1|0|LA\
|13500|2250
00.66|经皮冠状动脉腔内成形术|Percutaneous transluminal coronary angioplasty|intervention|3|1|0|LA|9000|1800
37.34|心脏病损导管消融术|Catheter ablation of lesion or tissue of heart|intervention|4|1|0|LA|18000|22500
37.83|双腔永久起搏器置入术|Initial insertion of dual-chamber device|intervention|3|0|1|LA|7500|45000
88.56|冠状动脉造影术|Coronary arteriography using two catheters|diagnostic|0|0|-|LA|2250|900
33.24|支气管镜下肺活检|Closed (endoscopic) biopsy of bronchus|diagnostic|0|0|-|LA|900|300
33.22|纤维支气管镜检查|Fiber-optic bronchoscopy|diagnostic|0|0|-|LA|600|150
96.72|有创机械通气≥96小时|Continuous invasive mechanical ventilation for 96 consecutive hours or more\
|therapeutic|0|0|-||4500|750
96.04|气管内插管|Insertion of endotracheal tube|therapeutic|0|0|-||450|150
34.04|胸腔闭式引流术|Insertion of intercostal catheter for drainage|therapeutic|0|0|-|LA|750|300
45.42|内镜下结肠息肉切除术|Endoscopic polypectomy of large intestine|surgery|2|1|0||1800|1200
44.43|内镜下胃出血控制术|Endoscopic control of gastric or duodenal bleeding|surgery|3|1|0||3750|2250
51.88|内镜下胆管取石术|Endoscopic removal of stone(s) from biliary tract|surgery|4|1|0|GA|7500|6000
45.23|结肠镜检查|Colonoscopy|diagnostic|0|0|-||450|75
45.13|胃镜检查|Other endoscopy of small intestine|diagnostic|0|0|-||300|75
99.10|溶栓治疗|Injection or infusion of thrombolytic agent|therapeutic|0|0|-||1200|0
39.74|颅内血管内取栓术|Endovascular removal of obstruction from head and neck vessel(s)|intervention|4|1|0|GA\
|18000|37500
03.31|腰椎穿刺|Spinal tap|diagnostic|0|0|-|LA|225|45
39.95|血液透析|Hemodialysis|therapeutic|0|0|-||675|150
38.95|透析用静脉导管置入术|Venous catheterization for renal dialysis|therapeutic|0|0|-|LA|1200|600
55.23|经皮肾穿刺活检|Closed (percutaneous) biopsy of kidney|diagnostic|0|0|-|LA|1200|450
41.31|骨髓活检|Biopsy of bone marrow|diagnostic|0|0|-|LA|450|150
99.25|化学治疗|Injection or infusion of cancer chemotherapeutic substance|therapeutic|0|0|-||300|0
86.07|完全植入式输液港植入术|Insertion of totally implantable vascular access device|surgery|2|1|1|LA|2250|4500
33.99|大容量全肺灌洗术|Other operations on lung (whole lung lavage)|therapeutic|0|0|-|GA|9000|2250
96.33|洗胃|Gastric lavage|therapeutic|0|0|-||225|45
99.71|治疗性血浆置换|Therapeutic plasmapheresis|therapeutic|0|0|-||3750|2250
93.95|高压氧治疗|Hyperbaric oxygenation|therapeutic|0|0|-||300|0
51.23|腹腔镜下胆囊切除术|Laparoscopic cholecystectomy|surgery|3|1|2|GA|5250|2250
47.01|腹腔镜下阑尾切除术|Laparoscopic appendectomy|surgery|3|1|2|GA|4500|1800
47.09|阑尾切除术|Other appendectomy|surgery|2|0|2|SA|2250|450
53.02|腹股沟斜疝修补术|Repair of indirect inguinal hernia|surgery|2|0|1|SA|2700|1800
17.12|腹腔镜下腹股沟斜疝修补术|Laparoscopic repair of indirect inguinal hernia with graft or prosthesis\
|surgery|3|1|1|GA|4500|3750
45.73|右半结肠切除术|Open and other right hemicolectomy|surgery|4|0|2|GA|10500|3750
17.33|腹腔镜下右半结肠切除术|Laparoscopic right hemicolectomy|surgery|4|1|2|GA|13500|7500
43.7|胃部分切除术伴胃空肠吻合术|Partial gastrectomy with anastomosis to jejunum|surgery|4|0|2|GA|12000|4500
06.2|单侧甲状腺叶切除术|Unilateral thyroid lobectomy|surgery|3|0|1|GA|4500|1200
85.21|乳房病损局部切除术|Local excision of lesion of breast|surgery|2|0|1|LA|1500|300
49.46|痔切除术|Excision of hemorrhoids|surgery|2|0|3|SA|1800|450
49.01|肛周脓肿切开引流术|Incision of perianal abscess|surgery|1|0|3|LA|750|150
86.22|伤口清创术|Excisional debridement of wound, infection, or burn|surgery|1|0|3|LA|600|150
81.51|全髋关节置换术|Total hip replacement|surgery|4|0|1|GA|12000|13500
81.52|部分髋关节置换术|Partial hip replacement|surgery|3|0|1|GA|9000|9000
81.54|全膝关节置换术|Total knee replacement|surgery|4|0|1|GA|12000|12000
79.35|股骨骨折切开复位内固定术|Open reduction of fracture with internal fixation, femur|surgery|3|0|1|GA|6750|7500
79.32|桡骨骨折切开复位内固定术|Open reduction of fracture with internal fixation, radius and ulna|surgery|2|0\
|1|NB|3750|4500
79.36|胫骨骨折切开复位内固定术|Open reduction of fracture with internal fixation, tibia and fibula|surgery|3|0\
|1|SA|6000|6750
80.6|关节镜下膝关节半月板切除术|Excision of semilunar cartilage of knee|surgery|3|1|1|SA|5250|3000
80.51|腰椎间盘切除术|Excision of intervertebral disc|surgery|3|0|1|GA|7500|3000
81.08|腰椎后路融合术|Lumbar and lumbosacral fusion, posterior technique|surgery|4|0|1|GA|13500|30000
81.66|经皮椎体后凸成形术|Percutaneous vertebral augmentation|surgery|3|1|0|LA|6000|12000
01.59|脑病损切除术|Other excision or destruction of lesion or tissue of brain|surgery|4|0|1|GA|18000|6000
01.31|硬脑膜下血肿清除术|Incision of cerebral meninges|surgery|3|0|1|GA|9000|2250
39.72|颅内动脉瘤血管内栓塞术|Endovascular (total) embolization or occlusion of head and neck vessels\
|intervention|4|1|0|GA|18000|60000
02.34|脑室腹腔分流术|Ventricular shunt to abdominal cavity and organs|surgery|3|0|1|GA|7500|7500
32.41|胸腔镜下肺叶切除术|Thoracoscopic lobectomy of lung|surgery|4|1|2|GA|15000|12000
32.49|肺叶切除术|Other lobectomy of lung|surgery|4|0|2|GA|12000|4500
32.20|胸腔镜下肺病损切除术|Thoracoscopic excision of lesion or tissue of lung|surgery|3|1|2|GA|9000|7500
42.41|部分食管切除术|Partial esophagectomy|surgery|4|0|2|GA|15000|6000
36.13|冠状动脉旁路移植术(三支)|(Aorto)coronary bypass of three coronary arteries|surgery|4|0|1|GA|27000|15000
35.22|主动脉瓣置换术|Other replacement of aortic valve|surgery|4|0|1|GA|27000|37500
35.24|二尖瓣置换术|Other replacement of mitral valve|surgery|4|0|1|GA|27000|37500
60.29|经尿道前列腺电切术|Other transurethral prostatectomy|surgery|3|1|0|SA|5250|2250
56.0|经尿道输尿管取石术|Transurethral removal of obstruction from ureter and renal pelvis|surgery|3|1|0|SA|4500|3750
55.04|经皮肾镜取石术|Percutaneous nephrostomy with fragmentation|surgery|3|1|2|GA|9000|6000
57.49|经尿道膀胱病损电切术|Other transurethral excision or destruction of lesion or tissue of bladder|surgery\
|3|1|0|SA|5250|2250
60.5|根治性前列腺切除术|Radical prostatectomy|surgery|4|0|2|GA|15000|4500
98.51|体外冲击波碎石术|Extracorporeal shockwave lithotripsy of the kidney, ureter and/or bladder|therapeutic|0\
|0|-||2250|0
68.41|腹腔镜全子宫切除术|Laparoscopic total abdominal hysterectomy|surgery|3|1|2|GA|9000|3750
68.49|经腹全子宫切除术|Other and unspecified total abdominal hysterectomy|surgery|3|0|2|GA|6750|1200
65.25|腹腔镜下卵巢病损切除术|Other laparoscopic local excision or destruction of ovary|surgery|3|1|2|GA|6000|3000
68.29|子宫病损切除术|Other excision or destruction of lesion of uterus|surgery|3|0|2|GA|5250|900
69.09|诊断性刮宫术|Other dilation and curettage|surgery|1|0|0|LA|750|150
66.62|输卵管切除术伴输卵管妊娠物去除|Salpingectomy with removal of tubal pregnancy|surgery|3|1|2|GA|5250|2250
74.1|子宫下段剖宫产术|Low cervical cesarean section|surgery|3|0|2|SA|4500|750
73.59|手法助产|Other manually assisted delivery|therapeutic|0|0|-||1200|150
13.41|白内障超声乳化抽吸术|Phacoemulsification and aspiration of cataract|surgery|3|0|1|LA|4500|3750
14.74|玻璃体切割术|Other mechanical vitrectomy|surgery|4|0|1|LA|9000|4500
12.64|小梁切除术|Trabeculectomy ab externo|surgery|3|0|1|LA|4500|750
28.2|扁桃体切除术|Tonsillectomy without adenoidectomy|surgery|2|0|2|GA|2250|450
21.5|鼻中隔黏膜下切除术|Submucous resection of nasal septum|surgery|2|1|2|GA|3000|750
22.63|鼻内镜下筛窦切除术|Ethmoidectomy|surgery|3|1|2|GA|5250|1500
30.09|支撑喉镜下声带病损切除术|Other excision or destruction of lesion or tissue of larynx|surgery|2|1|2|GA|3000|900
31.1|暂时性气管切开术|Temporary tracheostomy|surgery|2|0|2|LA|1800|600
38.93|静脉导管置入术|Venous catheterization, not elsewhere classified|therapeutic|0|0|-|LA|450|450
96.71|有创机械通气<96小时|Continuous invasive mechanical ventilation for less than 96 consecutive hours\
|therapeutic|0|0|-||2250|300
99.83|光疗|Other phototherapy|therapeutic|0|0|-||450|0
99.92|针刺治疗|Other acupuncture|therapeutic|0|0|-||90|0
93.39|物理治疗|Other physical therapy|therapeutic|0|0|-||120|0
99.04|输注浓缩红细胞|Transfusion of packed cells|therapeutic|0|0|-||300|0
88.41|脑动脉造影术|Arteriography of cerebral arteries|diagnostic|0|0|-|LA|2250|1200
"""


def _parse() -> tuple[Procedure, ...]:
    rows = []
    for line in _ROWS.strip().splitlines():
        code, zh, en, category, level, mi, incision, anaes, price, consumables = line.split("|")
        rows.append(
            Procedure(code, zh, en, category, int(level), mi == "1", incision, anaes, float(price), float(consumables))
        )
    return tuple(rows)


PROCEDURES: tuple[Procedure, ...] = _parse()
PROCEDURE_BY_CODE: dict[str, Procedure] = {p.code: p for p in PROCEDURES}
