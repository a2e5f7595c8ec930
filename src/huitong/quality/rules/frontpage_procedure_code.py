"""Validity: the front page's operation codes are ICD-9-CM-3 codes of the hospital's dictionary."""

import re
from collections.abc import Iterator

from huitong.quality.rule import Context, Dimension, RowRule, Severity

OPERATIONS = 5
SHAPE = re.compile(r"\d{2}(\.\d{1,2})?(x\d{3})?")


def check(row: dict[str, str], ctx: Context) -> Iterator[str]:
    known = ctx.catalogues.icd9cm3
    for i in range(1, OPERATIONS + 1):
        column = f"SSJCZBM{i}"
        code = (row.get(column) or "").strip()
        if not code:
            continue
        if not SHAPE.fullmatch(code):
            yield f"{column} {code!r} is not an ICD-9-CM-3 code"
        elif known and code not in known:
            yield f"{column} {code!r} is not in the procedure dictionary"


RULE = RowRule(
    "frontpage-procedure-code",
    Dimension.VALIDITY,
    Severity.ERROR,
    "病案首页手术操作编码 Front-page operation codes",
    "Operation codes (SSJCZBM1–5) have the ICD-9-CM-3 shape (00.00, national edition suffix x000 allowed) "
    "and, when a dictionary is loaded, are in it.",
    ("frontpage",),
    check,
)
