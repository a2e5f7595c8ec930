"""CSV files match their documented schema: the documented column tables equal the writers' column lists, and
the written headers equal both."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from huitong.synth import SynthOutput
from huitong.synth.writers.frontpage import COLUMNS, HEADER
from huitong.synth.writers.tables import TABLE_COLUMNS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _documented_tables(text: str) -> dict[str, list[str]]:
    """``### `path` `` headings followed by a table whose first column lists `column` names."""
    tables: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        heading = re.fullmatch(r"### `([^`]+)`", line.strip())
        if heading:
            current = heading.group(1)
            tables[current] = []
            continue
        cell = re.match(r"\| `([^`]+)` \|", line)
        if current and cell:
            tables[current].append(cell.group(1))
        elif current and tables[current] and not line.startswith("|"):
            current = None
    return tables


def test_frontpage_doc_matches_the_writer() -> None:
    rows = [
        line
        for line in (DOCS / "formats" / "frontpage.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    ]
    documented = []
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        documented.append((cells[0].strip("`"), cells[1].removesuffix(" (extension)"), cells[2], cells[3], cells[5]))
    assert documented == [(c.code, c.name_zh, c.name_en, c.type, c.required) for c in COLUMNS]


def test_other_tables_are_documented() -> None:
    documented = _documented_tables((DOCS / "synth.md").read_text(encoding="utf-8"))
    assert documented == TABLE_COLUMNS


def test_written_headers_match_the_schema(tiny_clean: SynthOutput) -> None:
    with (tiny_clean.root / "frontpage/frontpage.csv").open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == HEADER
    for name, columns in TABLE_COLUMNS.items():
        with (tiny_clean.root / name).open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            assert next(reader) == columns, name
            widths = {len(row) for row in reader}
            assert widths <= {len(columns)}, name


def test_front_page_required_columns_are_filled_without_defects(tiny_clean: SynthOutput) -> None:
    required = [c.code for c in COLUMNS if c.required == "yes"]
    for row in tiny_clean.table("frontpage/frontpage.csv"):
        missing = [c for c in required if not row[c]]
        assert not missing, (row["ZYH"], missing)
