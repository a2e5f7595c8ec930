"""The drug catalogue: generic names, WHO ATC codes and DDDs, antimicrobial grades, essential-medicine and
volume-based-procurement (集采) flags, prices.

ATC codes and DDD values are public facts of the WHO ATC/DDD Index (as recalled; DDDs changed in 2019 for some
antimicrobials and the newer values are used). Essential-medicine and VBP flags, product names and prices are
illustrative. Antimicrobial grades follow China's three-tier management (非限制使用级 / 限制使用级 /
特殊使用级) with illustrative assignments.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Milligrams per unit for the DDD arithmetic (``U``/``mL`` stay in their own unit).
MASS_MG = {"g": 1000.0, "mg": 1.0, "ug": 0.001}


@dataclass(frozen=True, slots=True)
class Drug:
    """One product in the formulary. ``dose_unit`` is the unit doses are ordered and administered in."""

    code: str
    generic_zh: str
    generic_en: str
    product_zh: str
    atc: str
    form: str
    strength: float
    dose_unit: str
    pack_unit: str
    ddd: float  # in ddd_unit; 0 when WHO assigns none or it is not mass/unit based
    ddd_unit: str
    route: str  # HL7 table 0162: IV, PO, IM, SC, IH
    antimicrobial_grade: str  # "" when not an antimicrobial
    essential: bool
    vbp: bool
    price: float  # yuan per pack unit
    category: str  # 西药 | 中成药 | 中草药

    @property
    def is_antimicrobial(self) -> bool:
        """Whether the drug counts in antimicrobial indicators (ATC J01, J02 and P01AB)."""
        return bool(self.antimicrobial_grade)

    def ddds(self, dose: float) -> float:
        """Defined daily doses in one administered dose of ``dose`` ``dose_unit``."""
        if not self.ddd:
            return 0.0
        if self.dose_unit in MASS_MG and self.ddd_unit in MASS_MG:
            return dose * MASS_MG[self.dose_unit] / (self.ddd * MASS_MG[self.ddd_unit])
        return dose / self.ddd if self.dose_unit == self.ddd_unit else 0.0


_GRADES = {"N": "非限制使用级", "R": "限制使用级", "S": "特殊使用级", "": ""}
# code|generic (zh)|generic (en)|product|ATC|form|strength|dose unit|pack unit|DDD|DDD unit|route|antimicrobial grade
# (N unrestricted, R restricted, S special)|essential|VBP|price|category
_ROWS = """
X0001|头孢唑林|cefazolin|注射用头孢唑林钠 1g|J01DB04|粉针|1|g|支|3|g|IV|N|1|0|6|西药
X0002|头孢呋辛|cefuroxime|注射用头孢呋辛钠 1.5g|J01DC02|粉针|1.5|g|支|3|g|IV|N|1|0|18|西药
X0003|头孢曲松|ceftriaxone|注射用头孢曲松钠 1g|J01DD04|粉针|1|g|支|2|g|IV|N|1|0|15|西药
X0004|头孢他啶|ceftazidime|注射用头孢他啶 1g|J01DD02|粉针|1|g|支|4|g|IV|R|1|0|15|西药
X0005|头孢哌酮舒巴坦|cefoperazone and sulbactam|注射用头孢哌酮钠舒巴坦钠 1.5g|J01DD62|粉针|1.5|g|支|4|g|IV|R|0\
|0|60|西药
X0006|哌拉西林他唑巴坦|piperacillin and tazobactam|注射用哌拉西林钠他唑巴坦钠 4.5g|J01CR05|粉针|4.5|g|支|14|g\
|IV|R|0|0|90|西药
X0007|左氧氟沙星|levofloxacin|左氧氟沙星氯化钠注射液 0.5g|J01MA12|注射液|0.5|g|袋|0.5|g|IV|N|1|0|20|西药
X0008|左氧氟沙星|levofloxacin|左氧氟沙星片 0.5g|J01MA12|片剂|0.5|g|片|0.5|g|PO|N|1|1|0.8|西药
X0009|莫西沙星|moxifloxacin|盐酸莫西沙星氯化钠注射液 0.4g|J01MA14|注射液|0.4|g|袋|0.4|g|IV|R|0|0|70|西药
X0010|阿奇霉素|azithromycin|注射用阿奇霉素 0.5g|J01FA10|粉针|0.5|g|支|0.5|g|IV|N|1|0|25|西药
X0011|阿莫西林|amoxicillin|阿莫西林胶囊 0.25g|J01CA04|胶囊|0.25|g|粒|1.5|g|PO|N|1|1|0.15|西药
X0012|阿莫西林克拉维酸钾|amoxicillin and clavulanic acid|阿莫西林克拉维酸钾片 0.625g|J01CR02|片剂|0.625|g|片\
|1.5|g|PO|N|1|0|1.5|西药
X0013|美罗培南|meropenem|注射用美罗培南 0.5g|J01DH02|粉针|0.5|g|支|3|g|IV|S|0|0|120|西药
X0014|亚胺培南西司他丁|imipenem and cilastatin|注射用亚胺培南西司他丁钠 1g|J01DH51|粉针|1|g|支|2|g|IV|S|0|0|180|西药
X0015|万古霉素|vancomycin|注射用盐酸万古霉素 0.5g|J01XA01|粉针|0.5|g|支|2|g|IV|S|0|0|100|西药
X0016|利奈唑胺|linezolid|利奈唑胺葡萄糖注射液 0.6g|J01XX08|注射液|0.6|g|袋|1.2|g|IV|S|0|0|300|西药
X0017|甲硝唑|metronidazole|甲硝唑氯化钠注射液 0.5g|J01XD01|注射液|0.5|g|瓶|1.5|g|IV|N|1|0|3|西药
X0018|氟康唑|fluconazole|氟康唑氯化钠注射液 0.2g|J02AC01|注射液|0.2|g|瓶|0.2|g|IV|R|1|0|30|西药
X0019|头孢呋辛酯|cefuroxime axetil|头孢呋辛酯片 0.25g|J01DC02|片剂|0.25|g|片|0.5|g|PO|N|1|0|1.2|西药
X0020|克林霉素|clindamycin|克林霉素磷酸酯注射液 0.6g|J01FF01|注射液|0.6|g|支|1.8|g|IV|N|1|0|6|西药
X0101|阿司匹林|acetylsalicylic acid|阿司匹林肠溶片 100mg|B01AC06|片剂|100|mg|片|1|TD|PO||1|0|0.15|西药
X0102|氯吡格雷|clopidogrel|硫酸氢氯吡格雷片 75mg (集采)|B01AC04|片剂|75|mg|片|75|mg|PO||1|1|0.3|西药
X0103|氯吡格雷|clopidogrel|硫酸氢氯吡格雷片 75mg (原研)|B01AC04|片剂|75|mg|片|75|mg|PO||1|0|15|西药
X0104|阿托伐他汀|atorvastatin|阿托伐他汀钙片 20mg (集采)|C10AA05|片剂|20|mg|片|20|mg|PO||1|1|0.2|西药
X0105|阿托伐他汀|atorvastatin|阿托伐他汀钙片 20mg (原研)|C10AA05|片剂|20|mg|片|20|mg|PO||1|0|6|西药
X0106|氨氯地平|amlodipine|苯磺酸氨氯地平片 5mg (集采)|C08CA01|片剂|5|mg|片|5|mg|PO||1|1|0.1|西药
X0107|氨氯地平|amlodipine|苯磺酸氨氯地平片 5mg (原研)|C08CA01|片剂|5|mg|片|5|mg|PO||1|0|4.5|西药
X0108|美托洛尔|metoprolol|酒石酸美托洛尔片 25mg|C07AB02|片剂|25|mg|片|150|mg|PO||1|0|0.2|西药
X0109|缬沙坦|valsartan|缬沙坦胶囊 80mg|C09CA03|胶囊|80|mg|粒|80|mg|PO||1|1|0.5|西药
X0110|二甲双胍|metformin|盐酸二甲双胍片 0.5g|A10BA02|片剂|0.5|g|片|2|g|PO||1|1|0.1|西药
X0111|门冬胰岛素|insulin aspart|门冬胰岛素注射液 300U|A10AB05|注射液|300|U|支|40|U|SC||0|0|60|西药
X0112|奥美拉唑|omeprazole|奥美拉唑肠溶胶囊 20mg|A02BC01|胶囊|20|mg|粒|20|mg|PO||1|1|0.3|西药
X0113|泮托拉唑|pantoprazole|注射用泮托拉唑钠 40mg|A02BC02|粉针|40|mg|支|40|mg|IV||0|0|35|西药
X0114|呋塞米|furosemide|呋塞米注射液 20mg|C03CA01|注射液|20|mg|支|40|mg|IV||1|0|0.5|西药
X0115|依诺肝素|enoxaparin|依诺肝素钠注射液 4000IU|B01AB05|注射液|4000|U|支|2000|U|SC||0|0|40|西药
X0116|吗啡|morphine|盐酸吗啡注射液 10mg|N02AA01|注射液|10|mg|支|30|mg|IV||1|0|5|西药
X0117|对乙酰氨基酚|paracetamol|对乙酰氨基酚片 0.5g|N02BE01|片剂|0.5|g|片|3|g|PO||1|0|0.1|西药
X0118|布洛芬|ibuprofen|布洛芬缓释胶囊 0.3g|M01AE01|胶囊|0.3|g|粒|1.2|g|PO||1|0|0.3|西药
X0119|地塞米松|dexamethasone|地塞米松磷酸钠注射液 5mg|H02AB02|注射液|5|mg|支|1.5|mg|IV||1|0|0.5|西药
X0120|甲泼尼龙|methylprednisolone|注射用甲泼尼龙琥珀酸钠 40mg|H02AB04|粉针|40|mg|支|7.5|mg|IV||0|0|35|西药
X0121|阿托品|atropine|硫酸阿托品注射液 0.5mg|A03BA01|注射液|0.5|mg|支|1.5|mg|IV||1|0|0.5|西药
X0122|碘解磷定|pralidoxime|碘解磷定注射液 0.5g|V03AB04|注射液|0.5|g|支|||IV||1|0|3|西药
X0123|纳洛酮|naloxone|盐酸纳洛酮注射液 0.4mg|V03AB15|注射液|0.4|mg|支|||IV||1|0|8|西药
X0124|依地酸钙钠|sodium calcium edetate|依地酸钙钠注射液 1g|V03AB03|注射液|1|g|支|||IV||1|0|10|西药
X0125|乙酰半胱氨酸|acetylcysteine|乙酰半胱氨酸注射液 4g|V03AB23|注射液|4|g|支|||IV||0|0|60|西药
X0126|氯化钠|sodium chloride|0.9%氯化钠注射液 250mL|B05BB01|注射液|250|mL|袋|||IV||1|0|5|西药
X0127|葡萄糖|glucose|5%葡萄糖注射液 250mL|B05BA03|注射液|250|mL|袋|||IV||1|0|5|西药
X0128|氯化钾|potassium chloride|氯化钾注射液 10mL:1.5g|B05XA01|注射液|1.5|g|支|||IV||1|0|1|西药
X0129|人血白蛋白|human albumin|人血白蛋白 10g|B05AA01|注射液|10|g|瓶|||IV||0|0|450|西药
X0130|丙泊酚|propofol|丙泊酚乳状注射液 0.2g|N01AX10|注射液|200|mg|支|||IV||1|0|45|西药
X0131|舒芬太尼|sufentanil|枸橼酸舒芬太尼注射液 50ug|N01AH03|注射液|50|ug|支|||IV||0|0|80|西药
X0132|甘露醇|mannitol|20%甘露醇注射液 250mL|B05BC01|注射液|250|mL|袋|||IV||1|0|6|西药
X0133|缩宫素|oxytocin|缩宫素注射液 10U|H01BB02|注射液|10|U|支|15|U|IM||1|0|2|西药
X0134|硫酸镁|magnesium sulfate|硫酸镁注射液 2.5g|B05XA05|注射液|2.5|g|支|||IV||1|0|1|西药
X0135|顺铂|cisplatin|注射用顺铂 20mg|L01XA01|粉针|20|mg|支|||IV||1|0|50|西药
X0136|紫杉醇|paclitaxel|紫杉醇注射液 30mg|L01CD01|注射液|30|mg|支|||IV||1|0|300|西药
X0137|重组人促红素|epoetin|重组人促红素注射液 3000IU|B03XA01|注射液|3000|U|支|1000|U|SC||1|0|90|西药
X0138|氨溴索|ambroxol|盐酸氨溴索注射液 15mg|R05CB06|注射液|15|mg|支|0.12|g|IV||0|0|10|西药
X0139|布地奈德|budesonide|吸入用布地奈德混悬液 1mg|R03BA02|吸入剂|1|mg|支|1.5|mg|IH||1|0|8|西药
X0140|胺碘酮|amiodarone|盐酸胺碘酮片 0.2g|C01BD01|片剂|0.2|g|片|0.2|g|PO||1|0|1.2|西药
X0141|利多卡因|lidocaine|盐酸利多卡因注射液 0.1g|N01BB02|注射液|100|mg|支|||SC||1|0|1|西药
X0142|昂丹司琼|ondansetron|盐酸昂丹司琼注射液 8mg|A04AA01|注射液|8|mg|支|16|mg|IV||1|0|15|西药
X0143|维生素C|ascorbic acid|维生素C注射液 1g|A11GA01|注射液|1|g|支|0.2|g|IV||1|0|3|西药
X0144|复方氨基酸|amino acids|复方氨基酸注射液(18AA) 250mL|B05BA01|注射液|250|mL|瓶|||IV||1|0|45|西药
X0145|乳果糖|lactulose|乳果糖口服溶液 15mL|A06AD11|口服液|15|mL|袋|67|mL|PO||1|0|3|西药
X0146|艾司唑仑|estazolam|艾司唑仑片 1mg|N05CD04|片剂|1|mg|片|3|mg|PO||1|0|0.1|西药
X0147|氯化钠|sodium chloride|0.9%氯化钠注射液 100mL|B05BB01|注射液|100|mL|袋|||IV||1|0|4|西药
Z0001|丹参注射液|Danshen injection|丹参注射液 10mL||注射液|10|mL|支|||IV||0|0|20|中成药
Z0002|复方丹参滴丸|compound Danshen dripping pills|复方丹参滴丸 27mg||滴丸|1|丸|丸|||PO||1|0|0.2|中成药
Z0003|中药饮片|herbal decoction pieces|中药饮片(剂)||饮片|1|剂|剂|||PO||0|0|60|中草药
"""


def _parse() -> tuple[Drug, ...]:
    rows = []
    for line in _ROWS.strip().splitlines():
        f = line.split("|")
        rows.append(
            Drug(
                f[0],
                f[1],
                f[2],
                f[3],
                f[4],
                f[5],
                float(f[6]),
                f[7],
                f[8],
                float(f[9] or 0),
                f[10],
                f[11],
                _GRADES[f[12]],
                f[13] == "1",
                f[14] == "1",
                float(f[15]),
                f[16],
            )
        )
    return tuple(rows)


DRUGS: tuple[Drug, ...] = _parse()
DRUG_BY_CODE: dict[str, Drug] = {d.code: d for d in DRUGS}
