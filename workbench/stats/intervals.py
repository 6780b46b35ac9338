"""Bootstrap confidence intervals for instrument scores.

A model's score depends on which items the instrument happens to contain and on which
personas, prompt variants and repeats were sampled. :func:`bootstrap_scores` resamples
either or both and says in its output what was resampled, so an interval is never presented
without its source of uncertainty.

Resampling is delegated to :func:`scipy.stats.bootstrap` (percentile, basic or BCa
intervals); the statistic is vectorised over resamples by reweighting per-cluster sums, so
2,000 resamples take milliseconds per score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from workbench.errors import WorkbenchError
from workbench.scoring import DEFAULT_BY, InstrumentLike, score_terms
from workbench.stats._common import (
    _check_by,
    as_instrument,
    as_tuple,
    cluster_sums,
    counts,
    group_iter,
    per_request_values,
    score_from_means,
)

_METHODS = {"percentile": "percentile", "basic": "basic", "bca": "BCa"}
ITEMS = "items"


def bootstrap_scores(
    data: pd.DataFrame,
    instrument: InstrumentLike,
    by: Sequence[str] = DEFAULT_BY,
    resample: Sequence[str] = (ITEMS,),
    n_boot: int = 2000,
    ci: float = 0.95,
    seed: int = 0,
    method: str = "percentile",
    value: str = "expected",
    constants: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Bootstrap intervals for every score, one row per (group, score).

    Why: a score from one fixed item set and one set of personas/variants hides how much it
    would move with other items or other personas. ``resample`` names what is resampled:
    ``"items"`` resamples items with replacement within each ``mean`` score (linear indices
    keep their fixed items: their formula is the definition), and any other names are
    factor columns whose levels are resampled with replacement within each ``by`` group
    (e.g. ``"persona"``, ``"repeat"``, ``"paraphrase"``; several factors are resampled
    jointly as clusters of their level combinations). Items and clusters are resampled
    independently. ``value="expected"`` takes ``data`` = distributions; ``"sampled"`` takes
    ``data`` = answers and uses ``answer_code`` (one-hot per request).

    Returns ``[*by, score_id, estimate, ci_low, ci_high, se, n_boot, ci_method, resampled,
    value]``; ``estimate`` equals :func:`workbench.scoring.score_instrument`. When nothing
    can be resampled (one level, one item, or a linear index with ``resample=("items",)``)
    the interval is NaN and ``resampled`` says why.

    >>> bootstrap_scores(dists, "mfq30", resample=("items", "persona"), n_boot=2000)
    ... # doctest: +SKIP
    """
    inst = as_instrument(instrument)
    ci_method = _METHODS.get(method.lower())
    if ci_method is None:
        raise WorkbenchError(f"method must be one of {sorted(_METHODS)}, not '{method}'")
    if not 0 < ci < 1:
        raise WorkbenchError(f"ci must be between 0 and 1 (e.g. 0.95), not {ci}")
    if n_boot < 100:
        raise WorkbenchError(f"n_boot={n_boot} is too few for an interval: use at least 100")
    resample = as_tuple(resample)
    if not resample:
        raise WorkbenchError("resample is empty: name 'items' and/or factor columns")
    by = _check_by(data, by, "data")
    factors = [r for r in resample if r != ITEMS]
    _check_by(data, factors, "data")
    clash = sorted(set(factors) & set(by))
    if clash:
        raise WorkbenchError(f"cannot resample {clash} and also group by them: drop one")
    values = per_request_values(data, inst, value)
    key = score_terms(inst, constants)
    rng = np.random.default_rng(seed)
    rows = []
    for group, sub in group_iter(values, by):
        for score_id, terms in key.groupby("score_id", sort=False):
            method_ = terms["method"].iloc[0]
            comps = list(zip(terms["item_id"], terms["quantity"], strict=True))
            s, n, _ = cluster_sums(sub, comps, factors)
            res = _one(
                s, n, method_, terms["weight"].to_numpy(), float(terms["constant"].iloc[0]),
                resample_items=ITEMS in resample, factors=factors, n_boot=n_boot, ci=ci,
                ci_method=ci_method, rng=rng,
            )
            rows.append({**group, "score_id": score_id, **res})
    out = pd.DataFrame(rows)
    out["n_boot"] = n_boot
    out["ci_method"] = method.lower()
    out["value"] = value
    return out[
        [*by, "score_id", "estimate", "ci_low", "ci_high", "se", "n_boot", "ci_method",
         "resampled", "value"]
    ]


def _one(
    s: np.ndarray,
    n: np.ndarray,
    method: str,
    weights: np.ndarray,
    constant: float,
    *,
    resample_items: bool,
    factors: list[str],
    n_boot: int,
    ci: float,
    ci_method: str,
    rng: np.random.Generator,
) -> dict[str, object]:
    n_clusters, n_comp = s.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        full = s.sum(axis=0) / n.sum(axis=0)
    estimate = float(score_from_means(full, method, weights, constant))
    parts: list[str] = []
    notes: list[str] = []
    do_items = False
    if resample_items:
        if method != "mean":
            notes.append("items fixed: linear index")
        elif n_comp < 2:
            notes.append("items fixed: single item")
        else:
            do_items = True
            parts.append("items within score")
    do_clusters = False
    if factors:
        name = "×".join(factors)
        if n_clusters < 2:
            notes.append(f"{name} fixed: one level")
        else:
            do_clusters = True
            parts.append(name)
    resampled = " + ".join(parts) if parts else "none"
    if notes:
        resampled += f" ({'; '.join(notes)})"
    nan = {"estimate": estimate, "ci_low": np.nan, "ci_high": np.nan, "se": np.nan,
           "resampled": resampled}
    if not (do_items or do_clusters) or np.isnan(estimate):
        return nan

    def statistic(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        i = 0
        if do_clusters:
            w = counts(samples[i], n_clusters)
            i += 1
            with np.errstate(invalid="ignore", divide="ignore"):
                means = (w @ s) / (w @ n)
        else:
            means = full
        u = counts(samples[i], n_comp) if do_items else None
        return score_from_means(means, method, weights, constant, item_counts=u)

    data = []
    if do_clusters:
        data.append(np.arange(n_clusters))
    if do_items:
        data.append(np.arange(n_comp))
    res = stats.bootstrap(
        tuple(data), statistic, n_resamples=n_boot, vectorized=True, confidence_level=ci,
        method=ci_method, rng=rng,
    )
    return {
        "estimate": estimate,
        "ci_low": float(res.confidence_interval.low),
        "ci_high": float(res.confidence_interval.high),
        "se": float(res.standard_error),
        "resampled": resampled,
    }


__all__ = ["bootstrap_scores"]
