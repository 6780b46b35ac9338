"""Vectorised bootstrap over items (or respondent units) for the validity statistics.

Every interval here resamples the cell's units (items, or respondent units for catch items)
with replacement, ``n_boot`` times at once: a resample is a row of counts ``w`` (how often
each unit was drawn), so a mean is ``w @ x / n``, a ratio of sums ``(w @ a) / (w @ b)`` and a
correlation is computed row-wise on the drawn values.

Intervals: means and ratios use Hesterberg's expanded percentile interval, the default of
:func:`workbench.stats.bootstrap_scores` (Hesterberg 2015, The American Statistician 69(4),
sec. 4.6; tail from :func:`workbench.stats.intervals.expanded_tail`), which corrects the
too-narrow plain percentile interval for few units; correlations and standard deviations,
whose sampling distributions that correction does not describe, use the plain percentile
interval (Efron & Tibshirani 1993, ch. 13).
"""

from __future__ import annotations

import zlib

import numpy as np

from workbench.stats._common import counts
from workbench.stats.intervals import expanded_tail


def generator(seed: int, *labels: object) -> np.random.Generator:
    """A generator seeded by ``seed`` and stable labels (cell key, statistic name), so a
    cell's numbers do not depend on which other cells or statistics were computed."""
    words = [zlib.crc32(repr(label).encode("utf-8")) for label in labels]
    return np.random.default_rng([int(seed), *words])


def draws(rng: np.random.Generator, n: int, n_boot: int) -> np.ndarray:
    """``(n_boot, n)`` indices of units drawn with replacement."""
    return rng.integers(0, n, size=(n_boot, n))


def weights(idx: np.ndarray, n: int) -> np.ndarray:
    """Counts of each unit per resample: ``(n_boot, n)``."""
    return counts(idx, n)


def percentile(dist: np.ndarray, ci: float, tail: float | None = None) -> tuple[float, float]:
    """The ``[tail, 1 - tail]`` quantiles of a bootstrap distribution (NaNs dropped);
    ``tail`` defaults to the plain ``(1 - ci) / 2``."""
    dist = np.asarray(dist, dtype=float)
    dist = dist[np.isfinite(dist)]
    if dist.size < 2:
        return float("nan"), float("nan")
    tail = (1 - ci) / 2 if tail is None else tail
    lo, hi = np.quantile(dist, [tail, 1 - tail])
    return float(lo), float(hi)


def expanded(ci: float, n: int) -> float:
    """Tail probability of the expanded percentile interval for a mean over ``n`` units."""
    return expanded_tail(ci, [(n, 1.0)])[0] if n >= 2 else (1 - ci) / 2


def mean_interval(x: np.ndarray, rng: np.random.Generator, n_boot: int,
                  ci: float) -> tuple[float, float, float]:
    """Mean of ``x`` over units and its expanded percentile interval."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    if n < 2:
        return float(x.mean()), float("nan"), float("nan")
    w = weights(draws(rng, n, n_boot), n)
    return (float(x.mean()), *percentile(w @ x / n, ci, expanded(ci, n)))


def ratio_draws(num: np.ndarray, den: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Ratio of sums ``sum(num) / sum(den)`` for every resample (NaN where ``den`` sums to 0)."""
    top, bottom = w @ np.asarray(num, float), w @ np.asarray(den, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)


def rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair of ``x`` and ``y`` (NaN for a constant row)."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean(axis=1, keepdims=True)
    sxy = (xc * yc).sum(axis=1)
    sxx, syy = (xc**2).sum(axis=1), (yc**2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        den = np.sqrt(sxx * syy)
        r = np.where(den > 1e-300, sxy / np.where(den > 1e-300, den, 1.0), np.nan)
    return np.clip(r, -1.0, 1.0)


def weighted_sd(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Sample SD (ddof = 1) of ``x`` under each row of resampling counts ``w``."""
    n = w.sum(axis=1)
    mean = (w @ x) / n
    ss = w @ (x**2) - n * mean**2
    return np.sqrt(np.clip(ss, 0, None) / (n - 1))


__all__ = ["draws", "expanded", "generator", "mean_interval", "percentile", "ratio_draws",
           "rowwise_pearson", "weighted_sd", "weights"]
