"""Training the model with Splink: unsupervised, on the hospital's own records.

1. **Prior** (λ, the probability that two random records match): counted from deterministic rules — the
   same valid resident ID, or the same pinyin name, birth date and phone — with an assumed recall.
2. **u probabilities**: from random pairs (almost all non-matches), ``estimate_u_using_random_sampling``.
3. **m probabilities**: expectation maximisation on two blocked samples — pairs with the same ID number
   (estimates every comparison except the ID), then pairs with the same phone (estimates the ID too).

The result is the Splink settings dict (:func:`~huitong.empi.model.model_from_splink_settings` checks it
against our comparisons and fills any level the data never showed with its hand-set default).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from huitong import __version__
from huitong.empi.model import Model, model_from_splink_settings, new_model_version, splink_settings

log = logging.getLogger(__name__)

#: Deterministic rules for the prior; together they find about this share of true pairs.
PRIOR_RULES = (
    "l.id_number = r.id_number AND l.id_valid AND r.id_valid",
    "l.name_py = r.name_py AND l.birth_date = r.birth_date AND l.phone = r.phone",
)
PRIOR_RECALL = 0.8
EM_RULES = ("l.id_number = r.id_number", "l.name_py = r.name_py AND l.birth_date = r.birth_date")


def train_linker(linker: Any, *, u_max_pairs: float, seed: int, em_max_pairs: float | None) -> None:
    """Estimate λ, u and m on ``linker`` (a Splink ``Linker`` over the standardised records)."""
    training = linker.training
    training.estimate_probability_two_random_records_match(list(PRIOR_RULES), recall=PRIOR_RECALL)
    training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    for rule in EM_RULES:
        training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True, max_pairs=em_max_pairs
        )


def trained_model(linker: Any, *, records: int, seconds: float, engine: str) -> Model:
    """The :class:`Model` of a trained linker, with its provenance."""
    import splink

    settings: dict[str, Any] = linker.misc.save_model_to_json()
    trained = {
        "method": "splink unsupervised: deterministic-rule prior, random-sampling u, EM m",
        "records": records,
        "seconds": round(seconds, 2),
        "engine": engine,
        "splink": splink.__version__,
        "huitong": __version__,
        "prior_rules": list(PRIOR_RULES),
        "prior_recall": PRIOR_RECALL,
        "em_blocking_rules": list(EM_RULES),
    }
    model = model_from_splink_settings(settings, trained=trained)
    full = model.splink_settings
    return Model(model.probability_two_random_records_match, model.levels, new_model_version(full), trained, full)


def train_on_table(
    db_api: Any,
    table: Any,
    *,
    records: int,
    engine: str = "duckdb",
    u_max_pairs: float | None = None,
    seed: int = 42,
    em_max_pairs: float | None = 2e6,
) -> tuple[Model, Any]:
    """Train on an Arrow table (or a table already in ``db_api``); returns (model, linker) for prediction."""
    from splink import Linker

    started = time.perf_counter()
    frame = db_api.register(table)
    linker = Linker(frame, splink_settings(with_m_u=False), log_level=logging.ERROR)
    u_pairs = u_max_pairs if u_max_pairs is not None else min(2e6, max(1e5, 50.0 * records))
    train_linker(linker, u_max_pairs=u_pairs, seed=seed, em_max_pairs=em_max_pairs)
    model = trained_model(linker, records=records, seconds=time.perf_counter() - started, engine=engine)
    log.info("trained EMPI model %s on %d records", model.model_version, records)
    return model, frame
