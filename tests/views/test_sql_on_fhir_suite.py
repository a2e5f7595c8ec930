"""The official SQL-on-FHIR v2 test suite, every case, through the Python runner and through DuckDB.

Goal and state: 118 of 118 cases pass (docs/views.md). A failing case would be listed in ``XFAIL``
with its reason; there are none.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from huitong.views.duckdb_sink import materialise_rows
from huitong.views.errors import ViewsError
from huitong.views.runner import run_view
from huitong.views.viewdef import parse_view
from tests.shared_data import require_shared, shared_dir

SUITE = ("testdata", "fhir-test-suites", "sql-on-fhir")
#: Cases known to fail, "file/title" → reason. Empty: the whole suite passes.
XFAIL: dict[str, str] = {}


def _cases() -> list[Any]:
    base = shared_dir()
    folder = base.joinpath(*SUITE) if base else None
    if folder is None or not folder.is_dir():
        return [pytest.param(None, None, id="suite-not-present")]
    params = []
    for file in json.loads((folder / "manifest.json").read_text()):
        suite = json.loads((folder / file).read_text())
        for test in suite["tests"]:
            case_id = f"{file}/{test['title']}"
            marks = [pytest.mark.xfail(strict=True, reason=XFAIL[case_id])] if case_id in XFAIL else []
            params.append(pytest.param(file, test["title"], id=case_id, marks=marks))
    return params


def _load(file: str, title: str) -> tuple[dict[str, Any], dict[str, Any]]:
    folder = require_shared(*SUITE)
    suite = json.loads((folder / file).read_text(), parse_float=Decimal)
    test = next(t for t in suite["tests"] if t["title"] == title)
    return suite, test


def _normal(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _canonical(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps({k: _normal(v) for k, v in row.items()}, sort_keys=True, default=str) for row in rows)


@pytest.mark.parametrize(("file", "title"), _cases())
def test_case(file: str | None, title: str | None) -> None:
    if file is None or title is None:
        require_shared(*SUITE)
        return
    suite, test = _load(file, title)
    if "expectError" in test:
        with pytest.raises(ViewsError):
            list(run_view(parse_view(test["view"]), suite["resources"]))
        return
    view = parse_view(test["view"])
    rows = list(run_view(view, suite["resources"]))
    assert _canonical(rows) == _canonical(test["expect"])
    if "expectColumns" in test:
        assert view.column_names == test["expectColumns"]


@pytest.mark.parametrize(("file", "title"), _cases())
def test_case_in_duckdb(file: str | None, title: str | None) -> None:
    """The same rows come back out of a DuckDB table (typed columns, lists for collections)."""
    if file is None or title is None:
        require_shared(*SUITE)
        return
    suite, test = _load(file, title)
    if "expectError" in test:
        return
    view = parse_view(test["view"])
    with duckdb.connect() as con:
        materialise_rows(con, view, suite["resources"], table="t")
        names = view.column_names
        got = [
            dict(zip(names, row, strict=True))
            for row in con.execute("SELECT * EXCLUDE (_resource_key) FROM t").fetchall()
        ]
    assert _canonical(got) == _canonical(test["expect"])
