"""Training, the model artefact and batch linking from the command line."""

from __future__ import annotations

import csv
import importlib.util
import itertools
import json
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from huitong.empi.batch import run_batch
from huitong.empi.cli import app
from huitong.empi.errors import ExitCode
from huitong.empi.model import load_model
from huitong.empi.normalise import SourceRecord, normalise_record
from huitong.empi.score import score_pair
from huitong.settings import EmpiSettings
from tests.empi.records import generate
from tests.empi.test_score import splink_predictions

runner = CliRunner()


def write_csv(path: Path, records: list[SourceRecord]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["record_id", "source_system", "name", "gender", "birth_date", "id_number", "phone", "address"])
        for r in records:
            writer.writerow([r.key, r.source_system, r.name, r.gender, r.birth_date, r.id_number, r.phone, r.address])


def pairs(assignment: dict[str, str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for key, person in assignment.items():
        groups[person].append(key)
    return {tuple(sorted(p)) for g in groups.values() for p in itertools.combinations(g, 2)}  # type: ignore[misc]


def f1(truth: dict[str, str], found: dict[str, str]) -> float:
    true_pairs, found_pairs = pairs(truth), pairs(found)
    hits = len(true_pairs & found_pairs)
    return 2 * hits / (len(true_pairs) + len(found_pairs))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[SourceRecord], dict[str, str]]:
    records, truth = generate(250, seed=3)
    path = tmp_path_factory.mktemp("empi") / "records.csv"
    write_csv(path, records)
    return path, records, truth


def test_batch_cli_links_records_into_persons(
    dataset: tuple[Path, list[SourceRecord], dict[str, str]], tmp_path: Path
) -> None:
    path, records, truth = dataset
    out = tmp_path / "links.csv"
    result = runner.invoke(app, ["batch", "--input", str(path), "--output", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["record_id"] for r in rows] == [r.key for r in records]
    assert set(rows[0]) == {"record_id", "person_id", "match_probability"}
    assert f1(truth, {r["record_id"]: r["person_id"] for r in rows}) >= 0.98


def test_train_writes_an_inspectable_versioned_artefact(
    dataset: tuple[Path, list[SourceRecord], dict[str, str]], tmp_path: Path
) -> None:
    path, records, _ = dataset
    artefact = tmp_path / "model.json"
    result = runner.invoke(app, ["train", "--input", str(path), "--output", str(artefact)])
    assert result.exit_code == 0, result.output
    data = json.loads(artefact.read_text(encoding="utf-8"))
    assert data["format"] == "huitong-empi-model" and data["model_version"]
    assert data["trained"]["records"] == len(records)
    names = [c["output_column_name"] for c in data["splink_settings"]["comparisons"]]
    assert names == ["name", "birth_date", "gender", "id_number", "phone", "address"]
    model = load_model(artefact)
    assert model.model_version == data["model_version"]
    # The trained weights score pairs exactly as Splink does with the same artefact.
    fields = [normalise_record(r) for r in records[:400]]
    by_id = {f.unique_id: f for f in fields}
    for row in splink_predictions(fields, model.splink_settings):
        ours = score_pair(model, by_id[str(row["unique_id_l"])], by_id[str(row["unique_id_r"])])
        assert ours.match_weight == pytest.approx(row["match_weight"], rel=0, abs=1e-9)


def test_a_changed_comparison_refuses_the_old_artefact(tmp_path: Path) -> None:
    from huitong.empi.errors import ModelError
    from huitong.empi.model import default_model

    artefact = tmp_path / "model.json"
    model = default_model()
    model.save(artefact)
    data = json.loads(artefact.read_text(encoding="utf-8"))
    data["splink_settings"]["comparisons"][0]["comparison_levels"][1]["sql_condition"] = "name_l = name_r OR TRUE"
    artefact.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelError, match="different SQL"):
        load_model(artefact)


def test_batch_refuses_a_file_without_the_columns(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("record_id,name\n1,张三\n", encoding="utf-8")
    result = runner.invoke(app, ["batch", "--input", str(bad), "--output", str(tmp_path / "out.csv")])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "lacks the column" in result.output


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("pyspark") is None, reason="pyspark is the optional extra 'spark'")
def test_spark_engine_finds_the_same_persons(dataset: tuple[Path, list[SourceRecord], dict[str, str]]) -> None:
    _, records, _ = dataset
    subset = records[:300]
    duck = run_batch(subset, EmpiSettings(), engine="duckdb")
    spark = run_batch(subset, EmpiSettings(), engine="spark", model=duck.model)
    assert pairs(spark.person_of) == pairs(duck.person_of)
    assert pa is not None


def test_clusters_never_hold_two_peoples_valid_ids() -> None:
    from huitong.empi.batch import cluster

    settings = EmpiSettings()
    # twin A (valid ID) — PACS record without ID — twin B (another valid ID): the chain must break.
    edges = [("A", "X", 0.9999, False), ("X", "B", 0.9995, False)]
    ids = {"A": "330106201005010111", "B": "33010620100501039X"}
    person_of, _, _ = cluster(["A", "B", "X"], edges, settings, ids)
    assert person_of["A"] == person_of["X"] != person_of["B"]
    # a valid ID built for another birth date (same division and sequence) is the same holder.
    ids["B"] = "330106201005020110"
    person_of, _, _ = cluster(["A", "B", "X"], edges, settings, ids)
    assert person_of["A"] == person_of["B"]
