"""ICD-10 diagnoses used by the generator, with the flags the indicators and the quality rules need.

Codes and chapter ranges are WHO ICD-10 (public); China's national clinical edition (国家临床版) extends the
codes with suffixes, which this small list does not use. Which codes count as surgical complications for
indicator 8 is an illustrative subset of the list in the performance-assessment manual's appendix.
Flags: ``C`` surgical complication, ``M`` male only, ``F`` female only, ``N`` neonatal (age ≤ 28 days),
``P`` pregnancy/childbirth (female 12–55), ``X`` external cause of injury or poisoning.
"""

from __future__ import annotations

from dataclasses import dataclass

#: ICD-10 chapters: (chapter, first code, last code, title).
CHAPTERS: tuple[tuple[str, str, str, str], ...] = (
    ("I", "A00", "B99", "Certain infectious and parasitic diseases"),
    ("II", "C00", "D48", "Neoplasms"),
    (
        "III",
        "D50",
        "D89",
        "Diseases of the blood and blood-forming organs and certain disorders involving the immune mechanism",
    ),
    ("IV", "E00", "E90", "Endocrine, nutritional and metabolic diseases"),
    ("V", "F00", "F99", "Mental and behavioural disorders"),
    ("VI", "G00", "G99", "Diseases of the nervous system"),
    ("VII", "H00", "H59", "Diseases of the eye and adnexa"),
    ("VIII", "H60", "H95", "Diseases of the ear and mastoid process"),
    ("IX", "I00", "I99", "Diseases of the circulatory system"),
    ("X", "J00", "J99", "Diseases of the respiratory system"),
    ("XI", "K00", "K93", "Diseases of the digestive system"),
    ("XII", "L00", "L99", "Diseases of the skin and subcutaneous tissue"),
    ("XIII", "M00", "M99", "Diseases of the musculoskeletal system and connective tissue"),
    ("XIV", "N00", "N99", "Diseases of the genitourinary system"),
    ("XV", "O00", "O99", "Pregnancy, childbirth and the puerperium"),
    ("XVI", "P00", "P96", "Certain conditions originating in the perinatal period"),
    ("XVII", "Q00", "Q99", "Congenital malformations, deformations and chromosomal abnormalities"),
    ("XVIII", "R00", "R99", "Symptoms, signs and abnormal clinical and laboratory findings, not elsewhere classified"),
    ("XIX", "S00", "T98", "Injury, poisoning and certain other consequences of external causes"),
    ("XX", "V01", "Y98", "External causes of morbidity and mortality"),
    ("XXI", "Z00", "Z99", "Factors influencing health status and contact with health services"),
    ("XXII", "U00", "U99", "Codes for special purposes"),
)


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One ICD-10 code."""

    code: str
    name_zh: str
    name_en: str
    flags: str = ""

    @property
    def chapter(self) -> str:
        """The ICD-10 chapter (Roman numeral) of the code."""
        return chapter_of(self.code)

    @property
    def is_complication(self) -> bool:
        """Whether the code is in the surgical-complication list (indicator 8)."""
        return "C" in self.flags


def chapter_of(code: str) -> str:
    """The chapter of an ICD-10 code (``""`` if it fits none)."""
    head = code[:3]
    for chapter, first, last, _ in CHAPTERS:
        if first <= head <= last:
            return chapter
    return ""


_ROWS = """
I10|特发性(原发性)高血压|Essential (primary) hypertension|
I20.0|不稳定性心绞痛|Unstable angina|
I21.9|急性心肌梗死|Acute myocardial infarction, unspecified|
I25.1|动脉硬化性心脏病|Atherosclerotic heart disease|
I44.2|三度房室传导阻滞|Atrioventricular block, complete|
I48|心房颤动和扑动|Atrial fibrillation and flutter|
I50.0|充血性心力衰竭|Congestive heart failure|
I63.9|脑梗死|Cerebral infarction, unspecified|
I61.9|脑内出血|Intracerebral haemorrhage, unspecified|
I67.1|脑动脉瘤,未破裂|Cerebral aneurysm, nonruptured|
I69.3|脑梗死后遗症|Sequelae of cerebral infarction|
I35.0|主动脉瓣狭窄|Aortic (valve) stenosis|
I34.0|二尖瓣关闭不全|Mitral (valve) insufficiency|
I84.2|内痔|Internal haemorrhoids without complication|
G45.9|短暂性脑缺血发作|Transient cerebral ischaemic attack, unspecified|
G40.9|癫痫|Epilepsy, unspecified|
G20|帕金森病|Parkinson disease|
G47.0|失眠|Disorders of initiating and maintaining sleep|
J06.9|急性上呼吸道感染|Acute upper respiratory infection, unspecified|
J02.9|急性咽炎|Acute pharyngitis, unspecified|
J18.0|支气管肺炎|Bronchopneumonia, unspecified|
J18.9|肺炎|Pneumonia, unspecified|
J21.9|急性细支气管炎|Acute bronchiolitis, unspecified|
J44.1|慢性阻塞性肺病伴急性加重|Chronic obstructive pulmonary disease with acute exacerbation|
J45.9|哮喘|Asthma, unspecified|
J96.0|急性呼吸衰竭|Acute respiratory failure|
J93.1|自发性气胸|Other spontaneous pneumothorax|
J35.0|慢性扁桃体炎|Chronic tonsillitis|
J34.2|鼻中隔偏曲|Deviated nasal septum|
J32.9|慢性鼻窦炎|Chronic sinusitis, unspecified|
J38.1|声带息肉|Polyp of vocal cord and larynx|
J62.8|矽肺|Pneumoconiosis due to other dust containing silica|
J60|煤工尘肺|Coalworker's pneumoconiosis|
K29.7|胃炎|Gastritis, unspecified|
K25.4|慢性胃溃疡伴出血|Gastric ulcer, chronic or unspecified with haemorrhage|
K92.2|胃肠出血|Gastrointestinal haemorrhage, unspecified|
K85.9|急性胰腺炎|Acute pancreatitis, unspecified|
K74.6|肝硬化|Other and unspecified cirrhosis of liver|
K80.1|胆囊结石伴胆囊炎|Calculus of gallbladder with other cholecystitis|
K80.5|胆管结石|Calculus of bile duct without cholangitis or cholecystitis|
K35.8|急性阑尾炎|Acute appendicitis, other and unspecified|
K40.9|腹股沟疝|Unilateral or unspecified inguinal hernia, without obstruction or gangrene|
K56.6|肠梗阻|Other and unspecified intestinal obstruction|
K63.5|结肠息肉|Polyp of colon|
K61.0|肛周脓肿|Anal abscess|
K02.9|龋病|Dental caries, unspecified|
K76.0|脂肪肝|Fatty (change of) liver, not elsewhere classified|
E11.9|2型糖尿病|Type 2 diabetes mellitus without complications|
E11.3|2型糖尿病伴眼并发症|Type 2 diabetes mellitus with ophthalmic complications|
E10.1|1型糖尿病伴酮症酸中毒|Type 1 diabetes mellitus with ketoacidosis|
E05.0|毒性弥漫性甲状腺肿|Thyrotoxicosis with diffuse goitre|
E78.5|高脂血症|Hyperlipidaemia, unspecified|
E87.1|低钠血症|Hypo-osmolality and hyponatraemia|
E87.6|低钾血症|Hypokalaemia|
N18.5|慢性肾脏病5期|Chronic kidney disease, stage 5|
N04.9|肾病综合征|Nephrotic syndrome, unspecified|
N17.9|急性肾衰竭|Acute renal failure, unspecified|
N39.0|尿路感染|Urinary tract infection, site not specified|
N20.0|肾结石|Calculus of kidney|
N20.1|输尿管结石|Calculus of ureter|
N40|前列腺增生|Hyperplasia of prostate|M
N83.2|卵巢囊肿|Other and unspecified ovarian cysts|F
N80.0|子宫腺肌病|Endometriosis of uterus|F
N84.0|子宫内膜息肉|Polyp of corpus uteri|F
N76.0|急性阴道炎|Acute vaginitis|F
D25.9|子宫平滑肌瘤|Leiomyoma of uterus, unspecified|F
D61.9|再生障碍性贫血|Aplastic anaemia, unspecified|
D69.3|特发性血小板减少性紫癜|Idiopathic thrombocytopenic purpura|
D50.9|缺铁性贫血|Iron deficiency anaemia, unspecified|
D64.9|贫血|Anaemia, unspecified|
D32.9|脑膜良性肿瘤|Benign neoplasm of meninges, unspecified|
D34|甲状腺良性肿瘤|Benign neoplasm of thyroid gland|
D24|乳房良性肿瘤|Benign neoplasm of breast|
C92.0|急性髓样白血病|Acute myeloid leukaemia|
C91.0|急性淋巴细胞白血病|Acute lymphoblastic leukaemia|
C34.1|上叶支气管或肺恶性肿瘤|Malignant neoplasm: upper lobe, bronchus or lung|
C34.9|支气管或肺恶性肿瘤|Malignant neoplasm: bronchus or lung, unspecified|
C16.9|胃恶性肿瘤|Malignant neoplasm: stomach, unspecified|
C18.2|升结肠恶性肿瘤|Malignant neoplasm: ascending colon|
C22.0|肝细胞癌|Liver cell carcinoma|
C50.9|乳房恶性肿瘤|Malignant neoplasm: breast, unspecified|
C53.9|子宫颈恶性肿瘤|Malignant neoplasm: cervix uteri, unspecified|F
C61|前列腺恶性肿瘤|Malignant neoplasm of prostate|M
C67.9|膀胱恶性肿瘤|Malignant neoplasm: bladder, unspecified|
C71.9|脑恶性肿瘤|Malignant neoplasm: brain, unspecified|
C73|甲状腺恶性肿瘤|Malignant neoplasm of thyroid gland|
C15.9|食管恶性肿瘤|Malignant neoplasm: oesophagus, unspecified|
Z51.1|为肿瘤化学治疗疗程|Chemotherapy session for neoplasm|
Z50.9|康复医疗|Care involving use of rehabilitation procedure, unspecified|
Z95.5|冠状动脉支架植入状态|Presence of coronary angioplasty implant and graft|
Z37.0|单胎活产|Single live birth|P
Z34.9|正常妊娠监督|Supervision of normal pregnancy, unspecified|P
S72.0|股骨颈骨折|Fracture of neck of femur|
S82.2|胫骨骨干骨折|Fracture of shaft of tibia|
S52.5|桡骨下端骨折|Fracture of lower end of radius|
S32.0|腰椎骨折|Fracture of lumbar vertebra|
S06.5|创伤性硬脑膜下出血|Traumatic subdural haemorrhage|
S06.6|创伤性蛛网膜下腔出血|Traumatic subarachnoid haemorrhage|
M17.9|膝关节病|Gonarthrosis, unspecified|
M16.9|髋关节病|Coxarthrosis, unspecified|
M51.2|腰椎间盘突出|Other specified intervertebral disc displacement|
M54.5|下背痛|Low back pain|
M23.2|半月板损伤|Derangement of meniscus due to old tear or injury|
H25.9|老年性白内障|Senile cataract, unspecified|
H40.1|原发性开角型青光眼|Primary open-angle glaucoma|
H33.0|视网膜脱离伴视网膜裂孔|Retinal detachment with retinal break|
H10.9|结膜炎|Conjunctivitis, unspecified|
H91.2|特发性突发性听力丧失|Sudden idiopathic hearing loss|
H83.3|噪声性耳聋|Noise effects on inner ear|
L30.9|皮炎|Dermatitis, unspecified|
L24.9|刺激性接触性皮炎|Irritant contact dermatitis, unspecified cause|
A41.9|脓毒症|Sepsis, unspecified|C
A08.4|病毒性肠炎|Viral intestinal infection, unspecified|
A09|感染性腹泻|Diarrhoea and gastroenteritis of presumed infectious origin|
R56.0|热性惊厥|Febrile convulsions|
R07.4|胸痛|Chest pain, unspecified|
R10.4|腹痛|Other and unspecified abdominal pain|
R50.9|发热|Fever, unspecified|
R51|头痛|Headache|
R57.0|心源性休克|Cardiogenic shock|
I46.9|心脏停搏|Cardiac arrest, unspecified|
T60.0|有机磷和氨基甲酸酯类杀虫剂的毒性效应|Toxic effect: organophosphate and carbamate insecticides|
T60.3|除草剂和杀真菌剂的毒性效应|Toxic effect: herbicides and fungicides|
T58|一氧化碳的毒性效应|Toxic effect of carbon monoxide|
T42.4|苯二氮䓬类中毒|Poisoning: benzodiazepines|
T51.0|乙醇的毒性效应|Toxic effect: ethanol|
T62.0|食入蘑菇的毒性效应|Toxic effect: ingested mushrooms|
T56.0|铅及其化合物的毒性效应|Toxic effect: lead and its compounds|
T56.1|汞及其化合物的毒性效应|Toxic effect: mercury and its compounds|
T52.1|苯的毒性效应|Toxic effect: benzene|
T81.0|操作中的出血和血肿|Haemorrhage and haematoma complicating a procedure, not elsewhere classified|C
T81.3|手术伤口裂开|Disruption of operation wound, not elsewhere classified|C
T81.4|操作后感染|Infection following a procedure, not elsewhere classified|C
T84.5|内部关节假体引起的感染|Infection and inflammatory reaction due to internal joint prosthesis|C
I26.9|肺栓塞|Pulmonary embolism without mention of acute cor pulmonale|C
I80.2|下肢深静脉血栓形成|Phlebitis and thrombophlebitis of other deep vessels of lower extremities|C
J95.8|操作后呼吸系统疾患|Other postprocedural respiratory disorders|C
K91.8|操作后消化系统疾患|Other postprocedural disorders of digestive system|C
O80.0|自然头位分娩|Spontaneous vertex delivery|P
O82.0|择期剖宫产|Delivery by elective caesarean section|P
O34.2|瘢痕子宫|Maternal care due to uterine scar from previous surgery|P
O14.1|重度子痫前期|Severe pre-eclampsia|P
O24.4|妊娠期糖尿病|Diabetes mellitus arising in pregnancy|P
O42.0|胎膜早破|Premature rupture of membranes, onset of labour within 24 hours|P
O00.1|输卵管妊娠|Tubal pregnancy|P
P07.3|早产儿|Other preterm infants|N
P59.9|新生儿黄疸|Neonatal jaundice, unspecified|N
P22.1|新生儿暂时性呼吸急促|Transient tachypnoea of newborn|N
P36.9|新生儿败血症|Bacterial sepsis of newborn, unspecified|N
P05.1|小于胎龄儿|Small for gestational age|N
X68|故意自毒及暴露于农药|Intentional self-poisoning by and exposure to pesticides|X
X61|故意自毒及暴露于抗癫痫药、镇静催眠药\
|Intentional self-poisoning by and exposure to antiepileptic, sedative-hypnotic, antiparkinsonism \
and psychotropic drugs\
|X
X45|意外中毒及暴露于酒精|Accidental poisoning by and exposure to alcohol|X
X47|意外中毒及暴露于其他气体和蒸气|Accidental poisoning by and exposure to other gases and vapours|X
X49|意外中毒及暴露于其他化学物质|Accidental poisoning by and exposure to other and unspecified chemicals|X
W19|跌倒|Unspecified fall|X
V89.2|机动车交通事故|Person injured in unspecified motor-vehicle accident, traffic|X
"""


def _parse() -> tuple[Diagnosis, ...]:
    rows = []
    for line in _ROWS.strip().splitlines():
        code, zh, en, flags = line.split("|")
        rows.append(Diagnosis(code, zh, en, flags))
    return tuple(rows)


DIAGNOSES: tuple[Diagnosis, ...] = _parse()
DIAGNOSIS_BY_CODE: dict[str, Diagnosis] = {d.code: d for d in DIAGNOSES}
COMPLICATIONS: frozenset[str] = frozenset(d.code for d in DIAGNOSES if d.is_complication)


def is_excluded_from_complications(code: str) -> bool:
    """Whether a principal diagnosis puts the stay outside indicator 8 (pregnancy, childbirth, perinatal)."""
    return code[:1] in ("O", "P") or code.startswith("Z37")
