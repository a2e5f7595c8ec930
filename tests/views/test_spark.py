"""The same view on Spark (local mode) gives the same rows as the Python runner."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from huitong.views.bench import VIEW, synthetic_observations
from huitong.views.runner import run_view
from huitong.views.viewdef import parse_view

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore")]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pyspark_sql = pytest.importorskip("pyspark.sql")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        pyspark_sql.SparkSession.builder.master("local[1]")
        .appName("huitong-views-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_view_on_spark_matches_the_runner(spark: Any, tmp_path: Path) -> None:
    from huitong.views.spark import run_on_spark

    resources = synthetic_observations(50)
    source = tmp_path / "obs.ndjson"
    source.write_text("\n".join(json.dumps(r) for r in resources) + "\n")
    frame = run_on_spark(spark, VIEW, [str(source)])
    got = sorted(tuple(r) for r in frame.collect())
    expected = sorted(
        tuple(float(v) if k == "value" else v for k, v in row.items()) for row in run_view(parse_view(VIEW), resources)
    )
    assert got == expected
    assert [f.dataType.simpleString() for f in frame.schema.fields] == [
        "string",
        "string",
        "string",
        "string",
        "string",
        "double",
        "string",
    ]
