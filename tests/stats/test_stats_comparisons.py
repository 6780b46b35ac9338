"""Ordinal regression, mixed models, permutation tests, multiple-testing correction."""

from __future__ import annotations

import itertools

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


def _ordinal_codes(latent: np.ndarray) -> np.ndarray:
    return 1 + (latent[:, None] > np.array([-1.0, 0.0, 1.0, 2.0])[None, :]).sum(axis=1)


def test_ordinal_regression_item_fixed_effects():
    """Model b answered mostly the high item: pooling items confounds item level with model."""
    rng = np.random.default_rng(3)
    n = 4000
    model = rng.choice(["a", "b"], size=n)
    high = rng.random(n) < np.where(model == "b", 0.8, 0.2)
    item = np.where(high, "i2", "i1")
    latent = 0.5 * (model == "b") + np.where(high, 1.5, -1.5) + rng.logistic(size=n)
    answers = pd.DataFrame({"model": model, "item_id": item,
                            "argmax_code": _ordinal_codes(latent), "status": "ok"})
    res = ordinal_regression(answers, ["model"]).set_index("term")
    assert list(res.index) == ["model[T.b]"]  # item terms absorbed, not reported
    row = res.loc["model[T.b]"]
    assert row["ci_low"] < 0.5 < row["ci_high"]
    assert bool(row["item_effects"]) and row["n_items"] == 2
    assert row["se_type"] == "model-based" and np.isnan(row["n_clusters"])
    pooled = ordinal_regression(answers, ["model"], item_effects=False).iloc[0]
    assert pooled["coef"] > 1.2 and not pooled["item_effects"]  # confounded with item level


def test_ordinal_regression_cluster_robust_se():
    """Answers of one persona share its level: cluster-robust SEs track the sampling SD."""
    rng = np.random.default_rng(8)
    n_personas, n_answers, n_sims = 40, 10, 30
    persona = np.repeat(np.arange(n_personas), n_answers)
    group_b = persona % 2 == 1  # the model differs between personas (a cluster-level term)
    coefs, se_model, se_cluster = [], [], []
    for _ in range(n_sims):
        level = rng.normal(size=n_personas)[persona]
        latent = 0.5 * group_b + level + rng.logistic(size=len(persona))
        answers = pd.DataFrame({"model": np.where(group_b, "b", "a"),
                                "persona": [f"p{p}" for p in persona], "item_id": "i1",
                                "argmax_code": _ordinal_codes(latent), "status": "ok"})
        plain = ordinal_regression(answers, ["model"]).iloc[0]
        robust = ordinal_regression(answers, ["model"], cluster="persona").iloc[0]
        assert robust["coef"] == pytest.approx(plain["coef"], abs=1e-4)
        coefs.append(plain["coef"])
        se_model.append(plain["se"])
        se_cluster.append(robust["se"])
    assert robust["se_type"] == "cluster-robust by persona" and robust["n_clusters"] == 40
    sd = np.std(coefs, ddof=1)  # sampling SD of the estimate over simulated datasets
    # (over 200 simulations: SD 0.35, model-based SE 0.18, cluster-robust SE 0.31)
    assert np.mean(se_model) < 0.7 * sd
    assert 0.75 * sd < np.mean(se_cluster) < 1.25 * sd
    with pytest.raises(WorkbenchError, match="single level"):
        ordinal_regression(answers.assign(persona="p"), ["model"], cluster="persona")


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


def _paired_orders(synth, n_sets, n_personas, shift, persona_sd, seed, n_items=4):
    """``n_sets`` datasets (one per "model"): personas answer 4 items in two orders.

    A persona's level (SD ``persona_sd``) is shared by both orders; the reversed order adds
    ``shift``; item-level noise SD 0.3. P(code) ~ exp(-(code - level)^2 / 2).
    """
    rng = np.random.default_rng(seed)
    persona = rng.normal(scale=persona_sd, size=(n_sets, 1, n_personas, 1))
    delta = np.array([0.0, shift]).reshape(1, 2, 1, 1)
    noise = rng.normal(scale=0.3, size=(n_sets, 2, n_personas, n_items))
    level = (3 + persona + delta + noise).reshape(-1)
    meta = pd.DataFrame([{"model": f"d{s:03d}", "instrument": "one", "order": o,
                          "persona": f"p{p}", "item_id": f"i{j}"}
                         for s in range(n_sets) for o in ("original", "reversed")
                         for p in range(n_personas) for j in range(n_items)])
    w = np.exp(-((np.arange(1, 6)[None, :] - level[:, None]) ** 2) / 2)
    return synth.dists_from_probs(meta, w / w.sum(axis=1, keepdims=True))


def _one_score(synth, tmp_path):
    return synth.write_instrument(
        tmp_path, "one", [{"id": f"i{j}"} for j in range(4)],
        [{"id": "s", "label": "S", "method": "mean", "items": [f"i{j}" for j in range(4)]}])


def test_paired_permutation_test_type_one_error(synth, tmp_path):
    """Under the null (no order effect), p < 0.05 in 2-9% of 200 simulated datasets."""
    path = _one_score(synth, tmp_path)
    d = _paired_orders(synth, 200, 10, shift=0.0, persona_sd=1.0, seed=0)
    # factor != "model" and by=None: one test per model (here: per simulated dataset);
    # 10 matched personas -> 2^10 = 1024 sign flips, enumerated exactly
    res = permutation_test_scores(d, path, a="reversed", b="original", factor="order",
                                  n_perm=2000)
    assert len(res) == 200 and (res["model"].nunique() == 200)
    assert (res["test"] == "paired sign-flip").all() and (res["n_pairs"] == 10).all()
    rate = float((res["p_value"] < 0.05).mean())
    assert 0.02 <= rate <= 0.09, rate


def test_paired_test_uses_matched_units(synth, tmp_path):
    path = _one_score(synth, tmp_path)
    # a small order shift (0.3) hidden by large persona differences (SD 1.5), 12 personas
    d = _paired_orders(synth, 1, 12, shift=0.3, persona_sd=1.5, seed=5)
    paired = permutation_test_scores(d, path, a="reversed", b="original", factor="order",
                                     n_perm=4096).iloc[0]
    indep = permutation_test_scores(d, path, a="reversed", b="original", factor="order",
                                    n_perm=4096, paired=False).iloc[0]
    assert paired["test"] == "paired sign-flip" and indep["test"] == "independent permutation"
    assert paired["difference"] == pytest.approx(indep["difference"])
    assert paired["p_value"] < 0.01 < 0.2 < indep["p_value"]
    # the paired p equals an exact sign-flip test on the per-persona differences (the
    # score is a mean over personas with the same items, so it is the mean difference)
    unit = d.assign(e=d["code"] * d["prob"]).groupby(["order", "persona"])["e"].sum() / 4
    diffs = (unit["reversed"] - unit["original"]).to_numpy()
    flips = np.array(list(itertools.product([-1, 1], repeat=len(diffs))))
    null = (flips * diffs).mean(axis=1)
    obs = diffs.mean()
    p_exact = min(1.0, 2 * min((null >= obs - 1e-12).mean(), (null <= obs + 1e-12).mean()))
    assert paired["p_value"] == pytest.approx(p_exact)
    # units that do not match: independent test, with paired=True refused
    half = d[~((d["order"] == "original") & (d["persona"] == "p0"))]
    res = permutation_test_scores(half, path, a="reversed", b="original", factor="order")
    assert res["test"].iloc[0] == "independent permutation"
    assert "partly matched" in res["note"].iloc[0]
    with pytest.raises(WorkbenchError, match="paired=True"):
        permutation_test_scores(half, path, a="reversed", b="original", factor="order",
                                paired=True)


def test_permutation_test_one_unit_per_side_and_per_model(synth, tmp_path):
    path = _one_score(synth, tmp_path)
    d = _paired_orders(synth, 2, 1, shift=1.0, persona_sd=1.0, seed=1)
    res = permutation_test_scores(d, path, a="reversed", b="original", factor="order")
    assert len(res) == 2 and set(res["model"]) == {"d000", "d001"}  # not pooled
    assert res["p_value"].isna().all()
    assert res["note"].str.contains("one unit per side").all()
    assert (res["difference"] > 0.5).all()
    few = permutation_test_scores(_paired_orders(synth, 1, 4, 1.0, 1.0, seed=2), path,
                                  a="reversed", b="original", factor="order")
    # 4 pairs: 16 sign patterns, smallest two-sided p = 2/16
    assert few["p_value"].iloc[0] >= 0.125 - 1e-12
    assert "smallest attainable p is 0.125" in few["note"].iloc[0]
