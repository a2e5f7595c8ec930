"""Real-time scores are Splink's scores: the same pairs get the same weight and probability."""

from __future__ import annotations

import logging

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from splink import DuckDBAPI, Linker

from huitong.empi.compare import levenshtein, within_edits
from huitong.empi.model import Model, default_model, model_from_splink_settings, splink_settings
from huitong.empi.normalise import NormalisedRecord, SourceRecord, normalise_record
from huitong.empi.score import score_pair
from tests.empi.records import generate


def splink_predictions(records: list[NormalisedRecord], settings: dict[str, object]) -> list[dict[str, object]]:
    db_api = DuckDBAPI()
    table = db_api.register(pa.Table.from_pylist([r.as_row() for r in records]))
    linker = Linker(table, settings, log_level=logging.WARNING)
    return linker.inference.predict(warning_mode="never").as_record_list()


@pytest.fixture(scope="module")
def records() -> list[NormalisedRecord]:
    source, _truth = generate(60, seed=11)
    return [normalise_record(r) for r in source]


@pytest.mark.parametrize("prior", [1e-6, 3e-4])
def test_python_scores_equal_splink_scores(records: list[NormalisedRecord], prior: float) -> None:
    settings = splink_settings(prior=prior)
    model: Model = model_from_splink_settings(settings)
    by_id = {r.unique_id: r for r in records}
    predictions = splink_predictions(records, settings)
    assert len(predictions) > 50
    for row in predictions:
        ours = score_pair(model, by_id[str(row["unique_id_l"])], by_id[str(row["unique_id_r"])])
        assert ours.match_weight == pytest.approx(row["match_weight"], rel=0, abs=1e-9)
        assert ours.match_probability == pytest.approx(row["match_probability"], rel=0, abs=1e-12)


def test_twins_are_a_household_conflict() -> None:
    common = {"gender": "male", "birth_date": "2010-05-01", "phone": "13812345678", "address": "杭州市西湖区文三路1号"}
    a = normalise_record(SourceRecord("1", "HIS", name="王子涵", id_number="330106201005010111", **common))
    b = normalise_record(SourceRecord("2", "PACS", name="WANG^ZIXUAN", **common))
    score = score_pair(default_model(), a, b)
    assert score.household_conflict
    same = normalise_record(SourceRecord("3", "PACS", name="WANG^ZIHAN", **common))
    assert not score_pair(default_model(), a, same).household_conflict


def test_evidence_names_each_field_and_weight() -> None:
    a = normalise_record(SourceRecord("1", "HIS", name="张三", gender="M", birth_date="1980-01-02"))
    b = normalise_record(SourceRecord("2", "LIS", name="張三", gender="F", birth_date="1980-01-02"))
    evidence = {e.comparison: e for e in score_pair(default_model(), a, b).evidence}
    assert evidence["name"].level == "exact characters" and evidence["name"].weight > 0
    assert evidence["gender"].level == "else" and evidence["gender"].weight < 0
    assert evidence["phone"].level == "null" and evidence["phone"].weight == 0


def test_batch_household_rule_equals_the_real_time_rule(records: list[NormalisedRecord]) -> None:
    from splink import DuckDBAPI

    from huitong.empi.batch import predict_edges

    model = default_model()
    db_api = DuckDBAPI()
    frame = db_api.register(pa.Table.from_pylist([r.as_row() for r in records]))
    edges, _ = predict_edges(db_api, frame, model, threshold=0.0)
    by_id = {r.unique_id: r for r in records}
    flags = [
        score_pair(model, by_id[left], by_id[right]).household_conflict == household
        for left, right, _, household in edges
    ]
    assert all(flags)
    assert any(household for *_, household in edges)


@given(st.text(alphabet="abc12", max_size=8), st.text(alphabet="abc12", max_size=8), st.integers(0, 3))
def test_bounded_edit_distance_agrees_with_levenshtein(a: str, b: str, edits: int) -> None:
    assert within_edits(a, b, edits) == (levenshtein(a, b) <= edits)
