"""Where people live and were born: administrative divisions (GB/T 2260 codes, public), streets and postcodes.

The hospital is fictional; its catchment uses the real districts of Nanjing (320100) so that addresses and
resident ID division codes look right. Street names are common street names; house numbers are random.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import accumulate

PROVINCE = "江苏省"
CITY = "南京市"

#: Catchment districts: (division code, district name, postcode, weight).
DISTRICTS: tuple[tuple[str, str, str, float], ...] = (
    ("320102", "玄武区", "210018", 9.0),
    ("320104", "秦淮区", "210001", 11.0),
    ("320105", "建邺区", "210019", 8.0),
    ("320106", "鼓楼区", "210009", 12.0),
    ("320111", "浦口区", "211800", 8.0),
    ("320113", "栖霞区", "210046", 9.0),
    ("320114", "雨花台区", "210012", 6.0),
    ("320115", "江宁区", "211100", 16.0),
    ("320116", "六合区", "211500", 7.0),
    ("320117", "溧水区", "211200", 4.0),
    ("320118", "高淳区", "211300", 3.0),
)

#: Divisions where people in the catchment were born (resident ID prefixes): (code, province, weight).
BIRTH_DIVISIONS: tuple[tuple[str, str, float], ...] = (
    *((code, PROVINCE, w) for code, _, _, w in DISTRICTS),
    ("320211", "江苏省", 2.0),
    ("320311", "江苏省", 2.0),
    ("320402", "江苏省", 1.5),
    ("320508", "江苏省", 1.5),
    ("320802", "江苏省", 1.5),
    ("321002", "江苏省", 1.5),
    ("340102", "安徽省", 2.0),
    ("340104", "安徽省", 1.5),
    ("341802", "安徽省", 1.0),
    ("370102", "山东省", 1.0),
    ("410105", "河南省", 1.2),
    ("420106", "湖北省", 0.8),
    ("330106", "浙江省", 0.6),
    ("310104", "上海市", 0.5),
    ("110105", "北京市", 0.3),
    ("510107", "四川省", 0.6),
    ("360102", "江西省", 0.5),
)

STREETS: tuple[str, ...] = (
    "中山路",
    "中山北路",
    "中山南路",
    "北京东路",
    "汉中路",
    "珠江路",
    "龙蟠路",
    "江东北路",
    "应天大街",
    "草场门大街",
    "集庆路",
    "长江路",
    "建宁路",
    "天元东路",
    "双龙大道",
    "秣陵路",
    "建设路",
    "人民路",
    "解放路",
    "和平路",
    "文化路",
    "新华路",
    "育才路",
    "光明路",
    "幸福路",
    "友谊路",
    "胜利路",
    "太平南路",
    "龙江路",
    "宁六路",
)
ESTATES: tuple[str, ...] = (
    "阳光花园",
    "金陵小区",
    "翠屏山庄",
    "梅园新村",
    "锦绣华庭",
    "龙江小区",
    "月苑",
    "怡景花园",
    "东方城",
    "华侨城",
)

EMPLOYERS: tuple[str, ...] = (
    "金陵石化有限公司",
    "南方蓄电池厂",
    "宁锋矿业有限公司",
    "江南水泥有限公司",
    "新港化工有限公司",
    "长江造船厂",
    "市第三建筑公司",
    "城东纺织厂",
    "宏达机械制造有限公司",
    "市公交集团",
    "某区实验小学",
    "A&B电子科技有限公司",
)


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address in the catchment."""

    province: str
    city: str
    district: str
    division: str
    street: str
    postcode: str

    @property
    def text(self) -> str:
        """The address as one line, the way Chinese forms write it."""
        return f"{self.province}{self.city}{self.district}{self.street}"


def random_address(rng: random.Random) -> Address:
    """A random address in the catchment, weighted by district population."""
    code, district, postcode, _ = rng.choices(DISTRICTS, cum_weights=_DISTRICT_CUM)[0]
    if rng.random() < 0.6:
        building, unit = rng.randint(1, 40), rng.randint(1, 3)
        street = f"{rng.choice(ESTATES)}{building}幢{unit}单元{rng.randint(1, 30)}0{rng.randint(1, 4)}室"
    else:
        street = f"{rng.choice(STREETS)}{rng.randint(1, 400)}号"
    return Address(PROVINCE, CITY, district, code, street, postcode)


def random_birth_division(rng: random.Random) -> str:
    """A division code for a resident ID number."""
    return rng.choices(BIRTH_DIVISIONS, cum_weights=_BIRTH_CUM)[0][0]


_DISTRICT_CUM = list(accumulate(w for *_, w in DISTRICTS))
_BIRTH_CUM = list(accumulate(w for *_, w in BIRTH_DIVISIONS))
