"""Cronbach's alpha, McDonald's omega and reliability per score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.stats import (
    cronbach_alpha,
    item_total_correlations,
    mcdonald_omega,
    reliability_by_score,
)


def _exact_corr_data(corr: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Data whose sample correlation matrix equals ``corr`` exactly."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, corr.shape[0]))
    x -= x.mean(axis=0)
    x = x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T
    return x @ np.linalg.cholesky(corr).T


def test_alpha_hand_worked_example():
    wide = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 2, 4, 4], "c": [1, 3, 3, 5]})
    # item variances 5/3, 4/3, 8/3 (sum 17/3); totals 4, 7, 10, 13 have variance 15
    # alpha = 3/2 * (1 - (17/3) / 15) = 14/15
    assert cronbach_alpha(wide) == pytest.approx(14 / 15, abs=1e-12)


def test_alpha_matches_pingouin():
    pg = pytest.importorskip("pingouin")
    rng = np.random.default_rng(11)
    trait = rng.normal(size=(60, 1))
    wide = pd.DataFrame(trait + rng.normal(scale=0.8, size=(60, 5)), columns=list("abcde"))
    assert cronbach_alpha(wide) == pytest.approx(pg.cronbach_alpha(wide)[0], abs=1e-9)
    wide.iloc[3, 1] = np.nan
    assert cronbach_alpha(wide, nan_policy="listwise") == pytest.approx(
        pg.cronbach_alpha(wide, nan_policy="listwise")[0], abs=1e-9
    )
    assert cronbach_alpha(wide, nan_policy="pairwise") == pytest.approx(
        pg.cronbach_alpha(wide, nan_policy="pairwise")[0], abs=1e-9
    )


def test_omega_equals_standardised_alpha_for_equal_loadings():
    k, rho = 6, 0.4
    corr = np.full((k, k), rho)
    np.fill_diagonal(corr, 1.0)
    x = _exact_corr_data(corr, 200)
    assert mcdonald_omega(x) == pytest.approx(k * rho / (1 + (k - 1) * rho), abs=1e-6)


def test_omega_one_factor_formula_and_edge_cases():
    lam = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    corr = np.outer(lam, lam)
    np.fill_diagonal(corr, 1.0)
    x = _exact_corr_data(corr, 300, seed=3)
    expected = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum())
    assert mcdonald_omega(x) == pytest.approx(expected, abs=1e-5)
    assert mcdonald_omega(x) > cronbach_alpha(x)  # alpha is a lower bound
    assert np.isnan(mcdonald_omega(x[:, :2]))  # two items do not identify a factor
    flat = x.copy()
    flat[:, 0] = 1.0
    assert np.isnan(mcdonald_omega(flat))


def test_omega_is_reproducible_on_small_tables():
    """The ML factor fit starts from seeded loadings: the same table gives the same omega in
    every call (statsmodels 0.15 would otherwise draw fresh random starts each time)."""
    rng = np.random.default_rng(3)
    for _ in range(5):
        table = pd.DataFrame(rng.integers(0, 6, size=(8, 6)).astype(float))
        values = {mcdonald_omega(table) for _ in range(6)}
        assert len(values) == 1, values


def _persona_answers(rng, n_personas=40, noise_items=()):
    rows = []
    trait = rng.normal(size=n_personas)
    for p in range(n_personas):
        for j in range(1, 9):
            signal = 0.0 if f"i{j}" in noise_items else trait[p]
            rows.append({"model": "m", "instrument": "likert", "persona": f"p{p}",
                         "item_id": f"i{j}", "repeat": 0,
                         "expected": 3 + signal + rng.normal(scale=0.5),
                         "status": "ok"})
    return pd.DataFrame(rows)


def test_reliability_by_score_flags_incoherent_scores(likert):
    rng = np.random.default_rng(5)
    answers = _persona_answers(rng, noise_items=("i5", "i6", "i7", "i8"))
    rel = reliability_by_score(answers, likert, respondent=("persona",), threshold=0.7)
    got = rel.set_index("score_id")
    assert list(rel.columns) == ["model", "score_id", "n_respondents", "n_items", "alpha",
                                 "omega", "threshold", "flag_low", "note"]
    assert got.loc["a", "alpha"] > 0.8 and not got.loc["a", "flag_low"]
    assert got.loc["b", "alpha"] < 0.5 and got.loc["b", "flag_low"]
    assert got.loc["a", "n_respondents"] == 40 and got.loc["a", "n_items"] == 4
    # linear index: negative-weight item reverse-scored, two items only -> no omega
    assert got.loc["lin", "n_items"] == 2 and np.isnan(got.loc["lin", "omega"])
    assert "reverse-scored" in got.loc["lin", "note"]
    strict = reliability_by_score(answers, likert, threshold=0.99).set_index("score_id")
    assert strict.loc["a", "flag_low"]


def test_item_total_correlations_find_bad_item(likert):
    answers = _persona_answers(np.random.default_rng(6), noise_items=("i4",))
    itc = item_total_correlations(answers, likert).query("score_id == 'a'").set_index("item_id")
    assert itc.loc["i4", "r_item_rest"] < 0.4
    assert (itc.drop(index="i4")["r_item_rest"] > 0.6).all()
    assert itc.loc["i4", "alpha_if_deleted"] > itc.loc["i1", "alpha_if_deleted"]


def _exact_cov_data(cov: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Data whose sample covariance matrix equals ``cov`` exactly."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, cov.shape[0]))
    x -= x.mean(axis=0)
    x = x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T
    return 3 + x @ np.linalg.cholesky(cov).T


def test_omega_is_the_reliability_of_the_raw_sum_score():
    # congeneric items on different spreads: raw loadings l and unique variances u
    lam = np.array([2.0, 1.5, 1.0, 0.5, 1.2])
    psi = np.array([1.0, 0.5, 2.0, 1.0, 0.8])
    cov = np.outer(lam, lam) + np.diag(psi)
    x = _exact_cov_data(cov, 400, seed=1)
    # reliability of the unit-weighted sum: var(true part) / var(sum)
    # = (sum l)^2 / ((sum l)^2 + sum u) = 6.2^2 / (6.2^2 + 5.3) = 38.44 / 43.74
    truth = lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum())
    assert truth == pytest.approx(38.44 / 43.74)
    assert mcdonald_omega(x) == pytest.approx(truth, abs=1e-5)
    # the omega of the standardised items (the old definition) is a different number
    sd = np.sqrt(np.diag(cov))
    std_l, std_u = lam / sd, psi / sd**2
    standardised = std_l.sum() ** 2 / (std_l.sum() ** 2 + std_u.sum())
    assert abs(standardised - truth) > 0.02
    # alpha on the same raw covariances is below it (a lower bound)
    assert cronbach_alpha(x) < mcdonald_omega(x)


def test_omega_equals_alpha_for_tau_equivalent_items():
    # equal raw loadings, unequal unique variances: alpha is the sum's reliability
    lam = np.full(4, 1.5)
    psi = np.array([0.5, 1.0, 2.0, 4.0])
    cov = np.outer(lam, lam) + np.diag(psi)
    x = _exact_cov_data(cov, 300, seed=2)
    truth = 6.0**2 / (6.0**2 + 7.5)
    assert cronbach_alpha(x) == pytest.approx(truth, abs=1e-9)
    assert mcdonald_omega(x) == pytest.approx(truth, abs=1e-5)


def test_omega_recovers_reliability_in_a_simulated_sample():
    rng = np.random.default_rng(3)
    lam = np.array([0.4, 0.8, 1.2, 1.6, 2.0])
    psi = np.array([0.3, 0.6, 0.9, 1.2, 1.5])
    n = 4000
    x = rng.normal(size=(n, 1)) * lam + rng.normal(size=(n, 5)) * np.sqrt(psi)
    truth = lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum())
    assert mcdonald_omega(x) == pytest.approx(truth, abs=0.01)
