"""Personal names: simplified characters, surname, toneless pinyin and initials.

Two records of one person rarely spell the name the same way: a traditional character here (張 for 张), a
homophone there (王小明 / 王晓明), and PACS systems that only take Latin letters (``ZHANG SAN``,
``Zhang^San``, ``SAN ZHANG``). Every form is brought to the same shape:

* ``name`` — the name in simplified characters (``None`` when only pinyin was given);
* ``surname`` — the surname in characters, compound surnames (欧阳, 尉迟) kept whole;
* ``surname_py`` / ``given_py`` — toneless pinyin, ü written ``v`` (吕 → ``lv``), no spaces;
* ``initials`` — the first letter of each syllable (张晓明 → ``zxm``).

Surnames are read with the surname reading (曾 ``zeng``, 单 ``shan``, 仇 ``qiu``, 解 ``xie``, 区 ``ou``,
尉迟 ``yuchi``, 万俟 ``moqi``); the given name with pypinyin's phrase-aware reading (长生 ``changsheng``),
which is how other systems spell it in pinyin.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

from huitong.empi._surnames import COMMON_SURNAMES, COMPOUND_SURNAMES, SURNAME_READINGS

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NOT_CJK = re.compile(r"[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_TOKENS = re.compile(r"[a-z]+")

#: Every toneless Mandarin syllable (ü as v), for splitting run-together pinyin such as ``ZHANGXIAOMING``.
_SYLLABLE_TEXT = """
    a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao ce cen
    ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui chun chuo ci
    cong cou cu cuan cui cun cuo da dai dan dang dao de dei den deng di dia dian diao die ding diu dong dou du
    duan dui dun duo e ei en eng er fa fan fang fei fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong
    gou gu gua guai guan guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang
    hui hun huo ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke kei ken
    keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei leng li lia lian liang liao lie
    lin ling liu lo long lou lu luan lun luo lv lve ma mai man mang mao me mei men meng mi mian miao mie min
    ming miu mo mou mu na nai nan nang nao ne nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan
    nun nuo nv nve o ou pa pai pan pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang
    qiao qie qin qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa
    sai san sang sao se sen seng sha shai shan shang shao she shei shen sheng shi shou shu shua shuai shuan
    shuang shui shun shuo si song sou su suan sui sun suo ta tai tan tang tao te teng ti tian tiao tie ting tong
    tou tu tuan tui tun tuo wa wai wan wang wei wen weng wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu
    xuan xue xun ya yan yang yao ye yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng
    zha zhai zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi
    zong zou zu zuan zui zun zuo
"""
_SYLLABLES = frozenset(_SYLLABLE_TEXT.split())
_MAX_SYLLABLE = max(map(len, _SYLLABLES))
_COMPOUND_PINYIN = frozenset(COMPOUND_SURNAMES.values())


@dataclass(frozen=True, slots=True)
class NameParts:
    """A standardised personal name (see the module docstring)."""

    name: str | None
    surname: str | None
    surname_py: str
    given_py: str
    initials: str

    @property
    def full_py(self) -> str:
        """Surname and given name in toneless pinyin, run together (``zhangxiaoming``)."""
        return self.surname_py + self.given_py

    @property
    def is_pinyin_only(self) -> bool:
        """Whether the source gave the name in Latin letters only."""
        return self.name is None


@cache
def _converter() -> object:
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=65_536)
def to_simplified(text: str) -> str:
    """Traditional → simplified characters (OpenCC ``t2s``); other text is left as it is."""
    if not _CJK.search(text):
        return text
    return str(_converter().convert(text))  # type: ignore[attr-defined]


@lru_cache(maxsize=32_768)
def char_pinyin(char: str) -> str:
    """The toneless default reading of one character (ü as ``v``), or ``""`` for a non-character."""
    from pypinyin import Style, lazy_pinyin

    reading = lazy_pinyin(char, style=Style.NORMAL, v_to_u=False, errors="ignore")
    return reading[0].lower() if reading else ""


@lru_cache(maxsize=131_072)
def given_pinyin(given: str) -> tuple[str, ...]:
    """Toneless syllables of a given name, read as a phrase (长生 → ``chang sheng``, as most systems do)."""
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(given, style=Style.NORMAL, v_to_u=False, errors="ignore")
    return tuple(s.lower() for s in syllables if s.isalpha())


@cache
def surname_pinyins() -> frozenset[str]:
    """Pinyin of common and compound surnames, to find the surname in a pinyin-only name."""
    singles = {SURNAME_READINGS.get(c) or char_pinyin(c) for c in COMMON_SURNAMES}
    return frozenset(singles | _COMPOUND_PINYIN)


def split_syllables(text: str) -> list[str]:
    """Split run-together toneless pinyin into syllables (fewest syllables; unknown letters stand alone)."""
    return list(_split_syllables(text))


@lru_cache(maxsize=65_536)
def _split_syllables(text: str) -> tuple[str, ...]:
    n = len(text)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        done = best[i]
        if done is None:
            continue
        for j in range(min(n, i + _MAX_SYLLABLE), i, -1):
            piece = text[i:j]
            if (piece in _SYLLABLES or j == i + 1) and (best[j] is None or len(best[j] or ()) > len(done) + 1):
                best[j] = [*done, piece]
    return tuple(best[n] or [text])


def _initials(syllables: list[str]) -> str:
    return "".join(s[0] for s in syllables if s)


def split_surname(name: str) -> tuple[str, str]:
    """(surname, given name) of a name in characters; a compound surname is kept whole."""
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    return name[:1], name[1:]


def surname_pinyin(surname: str) -> str:
    """The surname reading of a surname in characters (曾 → ``zeng``, 尉迟 → ``yuchi``)."""
    if surname in COMPOUND_SURNAMES:
        return COMPOUND_SURNAMES[surname]
    if surname in SURNAME_READINGS:
        return SURNAME_READINGS[surname]
    return "".join(char_pinyin(c) for c in surname)


def _from_characters(text: str) -> NameParts | None:
    name = _NOT_CJK.sub("", to_simplified(text))
    if not name:
        return None
    surname, given = split_surname(name)
    sur_py = surname_pinyin(surname)
    given_syllables = list(given_pinyin(given))
    sur_syllables = split_syllables(sur_py) if surname in COMPOUND_SURNAMES else [sur_py]
    initials = _initials(sur_syllables) + _initials(given_syllables)
    return NameParts(name, surname, sur_py, "".join(given_syllables), initials)


def _latin_tokens(text: str) -> list[str]:
    folded = text.lower().replace("ü", "v").replace("u:", "v")
    return _LATIN_TOKENS.findall(folded)


def _fold_romanisation(token: str) -> str:
    # ``LYU``/``NYU`` is the passport spelling of lü/nü; pinyin writes ü as v here.
    if token in ("lyu", "nyu"):
        return token[0] + "v"
    return token


def _from_pinyin(text: str) -> NameParts | None:
    surnames = surname_pinyins()
    if "^" in text or "," in text:
        family, given_text = re.split(r"[\^,]", text, maxsplit=1)
        family_tokens = [_fold_romanisation(t) for t in _latin_tokens(family)]
        given_tokens = [_fold_romanisation(t) for t in _latin_tokens(given_text)]
        if not family_tokens:
            family_tokens, given_tokens = given_tokens[:1], given_tokens[1:]
    else:
        tokens = [_fold_romanisation(t) for t in _latin_tokens(text)]
        if not tokens:
            return None
        if len(tokens) == 1:
            family_tokens, given_tokens = _split_run_together(tokens[0], surnames)
        elif len(tokens) >= 3 and tokens[0] + tokens[1] in _COMPOUND_PINYIN:
            family_tokens, given_tokens = [tokens[0] + tokens[1]], tokens[2:]
        elif tokens[0] not in surnames and tokens[-1] in surnames:
            family_tokens, given_tokens = tokens[-1:], tokens[:-1]  # Western order: SAN ZHANG
        else:
            family_tokens, given_tokens = tokens[:1], tokens[1:]
    sur_py = "".join(family_tokens)
    given_py = "".join(given_tokens)
    if (not sur_py and not given_py) or given_py in _NEWBORN_PINYIN:
        return None
    syllables = [s for t in family_tokens + given_tokens for s in split_syllables(t)]
    return NameParts(None, None, sur_py, given_py, _initials(syllables))


def _split_run_together(token: str, surnames: frozenset[str]) -> tuple[list[str], list[str]]:
    for size in range(min(len(token) - 1, 9), 0, -1):
        head = token[:size]
        if head in surnames:
            return [head], [token[size:]]
    return [token], []


#: Placeholders for a newborn without a name yet: 王芳之子 ("son of Wang Fang"), 李娜之女, 张婴儿.
_NEWBORN = re.compile(r"(之子|之女|之婴|之儿|婴儿)\d?$")


_NEWBORN_PINYIN = frozenset({"zhizi", "zhinv", "zhinu", "zhiying", "zhier", "yinger"})


def is_newborn_placeholder(text: str) -> bool:
    """Whether ``text`` is a newborn placeholder such as 王芳之子 or 李娜之女 rather than a name."""
    return bool(_NEWBORN.search(to_simplified(text)))


@lru_cache(maxsize=262_144)
def standardise_name(text: str | None) -> NameParts | None:
    """The standard parts of a name in characters or pinyin; ``None`` for an empty or unusable name.

    A newborn placeholder (王芳之子, 李娜之女, 张婴儿) is no name: it describes the mother, so comparing it
    would make the baby look like a different person from its later, named records.
    """
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text).strip()
    if not text or is_newborn_placeholder(text):
        return None
    if _CJK.search(text):
        return _from_characters(text)
    return _from_pinyin(text)
