"""The indicator report of one year from the stored values: every indicator with its year value, previous
year, target, direction, monthly trend and department ranking; exported to Excel and PDF (Chinese first)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from huitong.db import Database
from huitong.indicators import values
from huitong.indicators.definition import Definition, by_id, sort_key
from huitong.indicators.engine import HOSPITAL
from huitong.indicators.reference import load_table

DIRECTION_ZH = {"higher": "逐步提高 ↑", "lower": "逐步降低 ↓", "monitor": "监测比较 →"}
DIRECTION_EN = {"higher": "higher is better ↑", "lower": "lower is better ↓", "monitor": "monitor →"}


@dataclass(slots=True)
class ReportLine:
    """One indicator (or sub-measure) in the report."""

    id: str
    name_zh: str
    name_en: str
    national: bool
    direction: str
    unit: str
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    previous: float | None = None
    target: float | None = None
    months: list[tuple[str, float | None]] = field(default_factory=list)
    departments: list[tuple[str, float | None, float | None]] = field(default_factory=list)

    @property
    def meets_target(self) -> bool | None:
        """Whether the value is on the right side of the target (None without both or for ``monitor``)."""
        if self.value is None or self.target is None or self.direction == "monitor":
            return None
        return self.value >= self.target if self.direction == "higher" else self.value <= self.target

    def ranked_departments(self) -> list[tuple[str, float | None, float | None]]:
        """Departments best first by the indicator's direction (highest first for ``monitor``)."""
        known = [d for d in self.departments if d[1] is not None]
        reverse = self.direction != "lower"
        return sorted(known, key=lambda d: d[1] or 0.0, reverse=reverse) + [d for d in self.departments if d[1] is None]


def definition_of(indicator_id: str, defs: Mapping[str, Definition]) -> tuple[Definition | None, str]:
    """The definition of an id and its sub-measure (``10.ami.cases`` → definition 10, ``ami.cases``)."""
    if indicator_id in defs:
        return defs[indicator_id], ""
    for candidate, definition in defs.items():
        if indicator_id.startswith(candidate + "."):
            return definition, indicator_id[len(candidate) + 1 :]
    return None, ""


def build(
    db: Database,
    year: int,
    targets: Mapping[str, float] | None = None,
    *,
    departments: bool = True,
    indicator_id: str | None = None,
) -> list[ReportLine]:
    """The report of ``year``: ▲ indicators first, then the others, then the companion measures.

    ``departments=False`` reads only the hospital-wide values (year, months, previous year: what the cockpit's
    overview shows; one range of the ``(department, period)`` index) and leaves each line's ``departments``
    empty; ``indicator_id`` reads only that indicator's values."""
    defs = by_id()
    lines: dict[str, ReportLine] = {}
    previous = {
        v.indicator_id: v.value
        for v in values.load(db, indicator_id=indicator_id, period_prefix=str(year - 1), department=HOSPITAL)
        if v.period == str(year - 1)
    }
    department = None if departments else HOSPITAL
    for stored in values.load(db, indicator_id=indicator_id, period_prefix=str(year), department=department):
        definition, sub = definition_of(stored.indicator_id, defs)
        if definition is None:
            continue
        line = lines.get(stored.indicator_id)
        if line is None:
            measure = definition.sub_measure(sub) if sub else None
            line = lines[stored.indicator_id] = ReportLine(
                stored.indicator_id,
                f"{definition.name_zh}·{definition.sub_name(sub)}" if sub else definition.name_zh,
                f"{definition.name_en}: {sub}" if sub else definition.name_en,
                definition.national,
                definition.direction,
                measure.unit if measure else definition.unit,
                previous=previous.get(stored.indicator_id),
                target=(targets or {}).get(stored.indicator_id),
            )
        if stored.period == str(year) and stored.department == HOSPITAL:
            line.value, line.numerator, line.denominator = stored.value, stored.numerator, stored.denominator
        elif stored.period == str(year):
            line.departments.append((stored.department, stored.value, stored.numerator))
        elif len(stored.period) == 7 and "Q" not in stored.period and stored.department == HOSPITAL:
            line.months.append((stored.period, stored.value))
    for line in lines.values():
        line.months.sort()

    def order(line: ReportLine) -> tuple[int, tuple[int, int, str]]:
        return (0 if line.national else 1, sort_key(line.id))

    return sorted(lines.values(), key=order)


def department_names(db: Database, lang: str) -> dict[str, str]:
    """Department code → name in ``lang`` (``zh`` or ``en``), from the imported master data (empty without it)."""
    key = "name_en" if lang == "en" else "name_zh"
    return {
        str(row["code"]): str(row.get(key) or row.get("name_zh") or row["code"])
        for row in load_table(db, "department")
        if row.get("code")
    }


def fmt(value: float | None) -> str:
    """A value for display: four significant digits, ``—`` when there is none."""
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


HEADERS_ZH = ["编号", "指标", "▲", "导向", "单位", "本年", "上年", "目标", "分子", "分母"]
HEADERS_EN = [
    "Id",
    "Indicator",
    "▲",
    "Direction",
    "Unit",
    "Year",
    "Previous year",
    "Target",
    "Numerator",
    "Denominator",
]


def _row(line: ReportLine, lang: str) -> list[object]:
    return [
        line.id,
        line.name_zh if lang == "zh" else line.name_en,
        "▲" if line.national else "",
        (DIRECTION_ZH if lang == "zh" else DIRECTION_EN)[line.direction],
        line.unit,
        line.value,
        line.previous,
        line.target,
        line.numerator,
        line.denominator,
    ]


def to_xlsx(lines: list[ReportLine], year: int, lang: str = "zh") -> bytes:
    """The report as an Excel workbook: the year's values, and the monthly values of every indicator."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    for default in list(book.worksheets):
        book.remove(default)
    sheet = book.create_sheet(str(year))
    sheet.append(HEADERS_ZH if lang == "zh" else HEADERS_EN)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for line in lines:
        sheet.append(_row(line, lang))
    sheet.column_dimensions["B"].width = 48
    months = sorted({m for line in lines for m, _ in line.months})
    monthly = book.create_sheet("月度" if lang == "zh" else "Monthly")
    monthly.append(["编号" if lang == "zh" else "Id", "指标" if lang == "zh" else "Indicator", *months])
    for line in lines:
        by_month = dict(line.months)
        monthly.append([line.id, line.name_zh if lang == "zh" else line.name_en, *(by_month.get(m) for m in months)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _pdf_cell(cell: object, index: int) -> str:
    if index >= 5:
        return fmt(cell if isinstance(cell, (int, float)) else None)
    return str(cell or "")


def to_pdf(lines: list[ReportLine], year: int, font: Path, lang: str = "zh") -> bytes:
    """The report as a PDF table, with a CJK font (a .ttc collection or a .ttf/.otf file)."""
    from fpdf import FPDF

    pdf = FPDF(orientation="landscape", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font("cjk", fname=str(font), collection_font_number=2 if font.suffix == ".ttc" else 0)
    pdf.add_page()
    pdf.set_font("cjk", size=14)
    title = (
        f"{year} 年三级公立医院绩效考核指标" if lang == "zh" else f"Tertiary hospital performance indicators, {year}"
    )
    pdf.cell(text=title, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("cjk", size=8)
    headers = (HEADERS_ZH if lang == "zh" else HEADERS_EN)[:8]
    widths = (22, 110, 8, 30, 22, 28, 28, 24)
    align = ("LEFT", "LEFT", "CENTER", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT")
    from fpdf.fonts import FontFace

    with pdf.table(col_widths=widths, text_align=align, headings_style=FontFace(emphasis="")) as table:
        table.row(headers)
        for line in lines:
            cells = _row(line, lang)[:8]
            table.row([_pdf_cell(c, i) for i, c in enumerate(cells)])
    return bytes(pdf.output())
