"""Bootstrap intervals: estimates, what is resampled, coverage."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from workbench.errors import WorkbenchError
from workbench.scoring import score_instrument
from workbench.stats import bootstrap_scores


def _personas(synth, rng, n_personas=20, items=8, model="m"):
    meta = pd.DataFrame(
        [{"model": model, "instrument": "likert", "persona": f"p{p}", "item_id": f"i{j}"}
         for p in range(n_personas) for j in range(1, items + 1)]
    )
    probs = rng.dirichlet(np.ones(5), size=len(meta))
    return synth.dists_from_probs(meta, probs)


def test_estimate_equals_official_score_and_columns(synth, likert):
    d = _personas(synth, np.random.default_rng(1))
    boot = bootstrap_scores(d, likert, resample=("items", "persona"), n_boot=500)
    official = score_instrument(d, likert).set_index("score_id")["score"]
    got = boot.set_index("score_id")
    assert got["estimate"].to_dict() == pytest.approx(official.to_dict())
    assert list(boot.columns) == ["model", "score_id", "estimate", "ci_low", "ci_high", "se",
                                  "n_boot", "ci_method", "resampled", "value"]
    assert got.loc["a", "resampled"] == "items within score + persona"
    assert got.loc["lin", "resampled"] == "persona (items fixed: linear index)"
    assert (got["ci_low"] <= got["estimate"]).all() and (got["estimate"] <= got["ci_high"]).all()


def test_items_only_leaves_linear_index_without_interval(synth, likert):
    d = _personas(synth, np.random.default_rng(2))
    boot = bootstrap_scores(d, likert, resample=("items",), n_boot=200).set_index("score_id")
    assert np.isnan(boot.loc["lin", "ci_low"])
    assert boot.loc["lin", "resampled"] == "none (items fixed: linear index)"
    assert boot.loc["a", "ci_low"] < boot.loc["a", "ci_high"]


def test_seeded_and_methods(synth, likert):
    d = _personas(synth, np.random.default_rng(3))
    one = bootstrap_scores(d, likert, resample=("persona",), n_boot=300, seed=7)
    two = bootstrap_scores(d, likert, resample=("persona",), n_boot=300, seed=7)
    pd.testing.assert_frame_equal(one, two)
    for method in ("basic", "bca"):
        res = bootstrap_scores(d, likert, resample=("persona",), n_boot=300, method=method)
        assert res["ci_low"].notna().all()
    with pytest.raises(WorkbenchError, match="method"):
        bootstrap_scores(d, likert, method="normal")
    with pytest.raises(WorkbenchError, match="group by"):
        bootstrap_scores(d, likert, by=["model"], resample=("model",))


def test_sampled_answers_give_same_estimate_as_one_hot(synth, likert):
    rng = np.random.default_rng(4)
    meta = pd.DataFrame(
        [{"instrument": "likert", "repeat": r, "item_id": f"i{j}"}
         for r in range(10) for j in range(1, 9)]
    )
    drawn = rng.integers(1, 6, size=len(meta))
    onehot = synth.dists_from_probs(meta, synth.one_hot(drawn))
    answers = synth.answers_from_dists(onehot)
    a = bootstrap_scores(onehot, likert, resample=("repeat",), n_boot=200)
    b = bootstrap_scores(answers, likert, resample=("repeat",), n_boot=200, value="sampled")
    assert a["estimate"].tolist() == pytest.approx(b["estimate"].tolist())
    assert (b["value"] == "sampled").all()


def test_single_level_factor_is_reported_not_resampled(synth, likert):
    d = _personas(synth, np.random.default_rng(5), n_personas=1)
    boot = bootstrap_scores(d, likert, resample=("persona",), n_boot=200)
    assert boot["ci_low"].isna().all()
    assert boot["resampled"].str.contains("persona fixed: one level").all()


def test_coverage_of_persona_bootstrap(synth, tmp_path):
    """95% percentile intervals cover the true score in 90-99% of 200 simulated datasets."""
    path = synth.write_instrument(
        tmp_path, "one", [{"id": f"i{j}"} for j in range(4)],
        [{"id": "s", "label": "S", "method": "mean", "items": [f"i{j}" for j in range(4)]}],
    )
    rng = np.random.default_rng(2024)
    codes = np.arange(1, 6)
    pis = rng.dirichlet(np.ones(5) * 2, size=4)  # answer distribution of each item
    truth = float((pis @ codes).mean())
    n_personas = 40
    meta = pd.DataFrame(
        [{"instrument": "one", "persona": f"p{p}", "item_id": f"i{j}"}
         for p in range(n_personas) for j in range(4)]
    )
    item_idx = np.tile(np.arange(4), n_personas)
    cdf = np.cumsum(pis, axis=1)[item_idx]
    start = time.perf_counter()
    covered = 0
    n_sims = 200
    for _ in range(n_sims):
        u = rng.random(len(meta))[:, None]
        drawn = codes[(u > cdf).sum(axis=1)]
        d = synth.dists_from_probs(meta, synth.one_hot(drawn))
        res = bootstrap_scores(d, path, by=(), resample=("persona",), n_boot=1000,
                               seed=int(rng.integers(1 << 31)))
        covered += bool(res["ci_low"].iloc[0] <= truth <= res["ci_high"].iloc[0])
    assert 0.90 <= covered / n_sims <= 0.99
    assert time.perf_counter() - start < 20
