"""Completeness: the front page's mandatory fields are filled (住院病案首页数据填写质量规范)."""

from collections.abc import Iterator

from huitong.quality.rule import Context, Dimension, RowRule, Severity

#: Always-filled columns of the national front page (docs/formats/frontpage.md, "Required: yes").
REQUIRED = (
    "ZZJGDM",
    "YLFKFS",
    "ZYCS",
    "BAH",
    "XM",
    "XB",
    "CSRQ",
    "RYTJ",
    "RYSJ",
    "RYKB",
    "CYSJ",
    "CYKB",
    "SJZYTS",
    "ZYZD",
    "JBDM",
    "RYBQ",
    "LYFS",
    "ZFY",
    "ZFJE",
)


def check(row: dict[str, str], _ctx: Context) -> Iterator[str]:
    for column in REQUIRED:
        if not (row.get(column) or "").strip():
            yield f"{column} is empty"


RULE = RowRule(
    "frontpage-required-fields",
    Dimension.COMPLETENESS,
    Severity.ERROR,
    "病案首页必填项 Front-page mandatory fields",
    "Organisation, payment method, admission count, record number, name, sex, birth date, admission route and "
    "time, departments, discharge time, length of stay, principal diagnosis and code, its present-on-admission, "
    "discharge disposition and costs are filled.",
    ("frontpage",),
    check,
)
