"""Ordinal regression, mixed models, permutation tests, multiple-testing correction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from workbench.errors import WorkbenchError
from workbench.stats import (
    correct_pvalues,
    mixed_model,
    ordinal_regression,
    permutation_test_scores,
)


def test_ordinal_regression_recovers_known_effect():
    rng = np.random.default_rng(42)
    n = 3000
    model = rng.choice(["a", "b"], size=n)
    order = rng.choice(["original", "reversed"], size=n)
    beta_model, beta_order = 1.0, -0.5
    latent = beta_model * (model == "b") + beta_order * (order == "reversed")
    latent = latent + rng.logistic(size=n)
    cuts = np.array([-1.0, 0.0, 1.0, 2.0])
    code = 1 + (latent[:, None] > cuts[None, :]).sum(axis=1)
    answers = pd.DataFrame({"model": model, "order": order, "item_id": "i1",
                            "argmax_code": code, "status": "ok"})
    res = ordinal_regression(answers, ["model", "order"], reference={"order": "original"})
    got = res.set_index("term")
    assert list(got.index) == ["model[T.b]", "order[T.reversed]"]
    for term, truth in [("model[T.b]", beta_model), ("order[T.reversed]", beta_order)]:
        assert got.loc[term, "ci_low"] < truth < got.loc[term, "ci_high"]
        assert got.loc[term, "coef"] == pytest.approx(truth, abs=0.15)
        assert got.loc[term, "odds_ratio"] == pytest.approx(np.exp(got.loc[term, "coef"]))
    assert got["n_obs"].iloc[0] == n
    with pytest.raises(WorkbenchError, match="discrete codes"):
        ordinal_regression(answers, ["model"], value="expected")


def test_mixed_model_recovers_fixed_effect():
    rng = np.random.default_rng(7)
    rows = []
    for j in range(30):
        item_level = rng.normal(scale=0.8)
        for model in ("a", "b"):
            for r in range(10):
                y = 3 + item_level + 0.5 * (model == "b") + rng.normal(scale=0.6)
                rows.append({"model": model, "item_id": f"i{j}", "repeat": r, "expected": y})
    res = mixed_model(pd.DataFrame(rows), fixed="model", group="item_id").set_index("term")
    row = res.loc["model[T.b]"]
    assert row["ci_low"] < 0.5 < row["ci_high"]
    assert row["coef"] == pytest.approx(0.5, abs=0.1)
    assert row["effect_size_d"] == pytest.approx(row["coef"] / row["sd_total"])
    assert row["sd_total"] == pytest.approx(np.sqrt(0.8**2 + 0.6**2), abs=0.25)
    assert row["n_groups"] == 30 and bool(row["converged"])


def test_correct_pvalues_matches_statsmodels():
    p = np.array([0.001, 0.02, 0.03, 0.2, np.nan, 0.04])
    frame = pd.DataFrame({"score_id": list("abcdef"), "p_value": p,
                          "family": ["x", "x", "x", "y", "y", "y"]})
    for method in ("holm", "fdr_bh"):
        out = correct_pvalues(frame, method=method)
        ok = ~np.isnan(p)
        reject, adj, _, _ = multipletests(p[ok], alpha=0.05, method=method)
        np.testing.assert_allclose(out["p_adjusted"].to_numpy()[ok], adj)
        assert out["reject"].to_numpy()[ok].tolist() == reject.tolist()
        assert np.isnan(out["p_adjusted"].iloc[4])
    fam = correct_pvalues(frame, method="holm", by=["family"])
    _, adj_x, _, _ = multipletests(p[:3], method="holm")
    np.testing.assert_allclose(fam["p_adjusted"].to_numpy()[:3], adj_x)
    with pytest.raises(WorkbenchError):
        correct_pvalues(frame, method="nonsense")


def _two_models(synth, shift, n_personas=15, seed=0):
    rng = np.random.default_rng(seed)
    metas, probs = [], []
    for model, delta in (("A", 0.0), ("B", shift)):
        for p in range(n_personas):
            for j in range(1, 9):
                mu = 3 + delta + rng.normal(scale=0.4)
                w = np.exp(-((np.arange(1, 6) - mu) ** 2))
                metas.append({"model": model, "instrument": "likert", "persona": f"p{p}",
                              "item_id": f"i{j}"})
                probs.append(w / w.sum())
    return synth.dists_from_probs(pd.DataFrame(metas), np.array(probs))


def test_permutation_test_detects_difference(synth, likert):
    d = _two_models(synth, shift=1.0)
    res = permutation_test_scores(d, likert, a="B", b="A", n_perm=999).set_index("score_id")
    assert res.loc["a", "p_value"] < 0.01 and res.loc["a", "difference"] > 0.5
    assert res.loc["a", "effect_size"] > 2
    assert res.loc["a", "n_units_a"] == 15
    assert res.loc["a", "effect_size_kind"].startswith("d =")
    null = permutation_test_scores(_two_models(synth, 0.0, seed=1), likert, a="B", b="A",
                                   n_perm=999)
    assert (null["p_value"] > 0.01).all()
    with pytest.raises(WorkbenchError, match="does not occur"):
        permutation_test_scores(d, likert, a="B", b="Z")
