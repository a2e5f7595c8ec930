"""Postal addresses: simplified characters and the province / city / district tokens.

Chinese addresses run from large to small: 浙江省 杭州市 西湖区 文三路 90 号. The same address is written
with or without the province, with or without the suffixes 省/市/区, in traditional characters, with
full-width digits and with spaces. :func:`normalise_address` keeps one compact string and the three
administrative tokens without their suffixes, so that records can agree on the district when the street
part differs (a moved patient usually moves within the district or the city).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from huitong.empi.names import to_simplified

#: Provincial-level divisions: full name → short token.
PROVINCES: dict[str, str] = {
    "北京市": "北京",
    "天津市": "天津",
    "上海市": "上海",
    "重庆市": "重庆",
    "河北省": "河北",
    "山西省": "山西",
    "辽宁省": "辽宁",
    "吉林省": "吉林",
    "黑龙江省": "黑龙江",
    "江苏省": "江苏",
    "浙江省": "浙江",
    "安徽省": "安徽",
    "福建省": "福建",
    "江西省": "江西",
    "山东省": "山东",
    "河南省": "河南",
    "湖北省": "湖北",
    "湖南省": "湖南",
    "广东省": "广东",
    "海南省": "海南",
    "四川省": "四川",
    "贵州省": "贵州",
    "云南省": "云南",
    "陕西省": "陕西",
    "甘肃省": "甘肃",
    "青海省": "青海",
    "台湾省": "台湾",
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏",
    "新疆维吾尔自治区": "新疆",
    "香港特别行政区": "香港",
    "澳门特别行政区": "澳门",
}
_MUNICIPALITIES = frozenset({"北京", "天津", "上海", "重庆"})
_PROVINCE_PREFIXES = sorted([*PROVINCES, *PROVINCES.values()], key=len, reverse=True)
_SHORT = {**PROVINCES, **{v: v for v in PROVINCES.values()}}
_CITY = re.compile(r"(.{2,8}?(?:自治州|地区|盟|市))")
_DISTRICT = re.compile(r"(.{1,8}?(?:新区|区|自治县|县|旗|市))(?!场|委|政府|中心|路|街|镇)")
_DROP = re.compile(r"[\s,，、。.·\-－—()（）#]+")
_SUFFIX = re.compile(r"(自治州|地区|盟|市|新区|区|自治县|县|旗)$")


@dataclass(frozen=True, slots=True)
class AddressParts:
    """A standardised address: the whole of it compacted, and its administrative tokens (or ``None``)."""

    text: str
    province: str | None
    city: str | None
    district: str | None


def _strip_suffix(token: str) -> str:
    stripped = _SUFFIX.sub("", token)
    return stripped if len(stripped) >= 2 else token


@lru_cache(maxsize=262_144)
def normalise_address(text: str | None) -> AddressParts | None:
    """Simplified, compact address with province, city and district tokens; ``None`` when empty."""
    if not text:
        return None
    compact = _DROP.sub("", to_simplified(unicodedata.normalize("NFKC", text)))
    if not compact:
        return None
    rest = compact
    province = None
    for prefix in _PROVINCE_PREFIXES:
        if rest.startswith(prefix):
            province = _SHORT[prefix]
            rest = rest[len(prefix) :]
            break
    city: str | None = None
    if province in _MUNICIPALITIES:
        city = province
        rest = rest.removeprefix("市辖区")
    else:
        found = _CITY.match(rest)
        if found:
            city = _strip_suffix(found.group(1))
            rest = rest[found.end() :]
    district = None
    found = _DISTRICT.match(rest)
    if found:
        district = _strip_suffix(found.group(1))
        rest = rest[found.end() :]
    text_key = (city or province or "") + (district or "") + rest  # the city implies the province
    return AddressParts(text_key, province, city, district)
