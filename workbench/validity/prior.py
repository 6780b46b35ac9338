"""The estimated position prior as a validity reason: how far is it from uniform?

The prior is PriDe's (Zheng et al. 2024, ICLR, "Large Language Models Are Not Robust Multiple
Choice Selectors"): per item asked in every cyclic rotation, ``prior(j) = softmax_j(mean over
the rotations of log p(option shown at j))``, in which the content term cancels
(:func:`workbench.stats.debias.item_position_priors`). For the items of one number of options
k, ``m`` = the mean prior over items and its total-variation distance from uniform

    TV_k = 1/2 * sum_j |m_j - 1/k|,

the share of probability that the shown position alone moves (Levin, Peres & Wilmer,
*Markov Chains and Mixing Times*, ch. 4). The cell's statistic is the item-weighted mean of
TV_k over its k; the interval is the plain percentile bootstrap over items (Efron & Tibshirani
1993, ch. 13), as for the other statistics that are not means. Only cells with items asked in
all rotations have it: with original and reversed orders alone, the "prior" would mix the
slot with content preferences that are symmetric under reversal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.stats.debias import item_position_priors
from workbench.validity.cells import Cell
from workbench.validity.context import Context
from workbench.validity.reasons import Reason, basis, fmt, interval
from workbench.validity.resample import draws, percentile, weights

NAME = "position_prior"


def prior_groups(per_item: pd.DataFrame) -> list[tuple[int, np.ndarray]]:
    """Per number of options k: the ``(n_items, k)`` matrix of item priors."""
    out = []
    for k, group in per_item.groupby("n_options", sort=True):
        wide = group.pivot(index="item_id", columns="position", values="prior")
        out.append((int(k), wide.to_numpy(dtype=float)))
    return out


def prior_tv(groups: list[tuple[int, np.ndarray]], w: np.ndarray) -> np.ndarray:
    """Item-weighted mean over k of ``TV_k`` under each row of resampling counts ``w``
    (columns: the items of ``groups`` in order)."""
    num = np.zeros(w.shape[0])
    den = np.zeros(w.shape[0])
    start = 0
    for k, m in groups:
        wk = w[:, start:start + len(m)]
        start += len(m)
        n_k = wk.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (wk @ m) / n_k[:, None]
        tv = 0.5 * np.abs(mean - 1 / k).sum(axis=1)
        num += np.where(n_k > 0, n_k * np.nan_to_num(tv), 0.0)
        den += n_k
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def position_prior(cell: Cell, ctx: Context) -> list[Reason]:
    """Distance of the estimated position prior from uniform (caution when large)."""
    rule = ctx.thresholds.rule(NAME)
    assert rule.caution is not None

    def missing(text: str) -> list[Reason]:
        return [Reason(statistic=NAME, rule=NAME, role=rule.role, outcome="n/a",
                       sentence=text, basis=basis(rule, rule.caution))]

    if len(cell.orders) < 2:
        return missing("the position prior needs items asked in several orders")
    opts = cell.options
    if "mode" in opts.columns:
        opts = opts[opts["mode"] == "logprob"]
    if opts.empty:
        return missing("the position prior needs log-probabilities (mode: logprob)")
    try:
        per_item = item_position_priors(opts, by=[])
    except WorkbenchError:
        return missing("the position prior needs items asked with every option in every "
                       "position: add `orders: [cyclic]` for a few items (a design with "
                       "`items: [...]`)")
    groups = prior_groups(per_item)
    n = sum(len(m) for _, m in groups)
    est = float(prior_tv(groups, np.ones((1, n)))[0])
    boot = prior_tv(groups, weights(draws(ctx.rng(cell.key, NAME), n, ctx.n_boot), n))
    lo, hi = percentile(boot, ctx.ci) if n >= 2 else (float("nan"), float("nan"))
    favoured = []
    for k, m in groups:
        mean = m.mean(axis=0)
        j = int(np.argmax(mean))
        favoured.append(f"k = {k}: position {j + 1} gets {fmt(mean[j] * k)} times its "
                        f"uniform share over {len(m)} item{'s' if len(m) > 1 else ''}")
    caution = rule.caution.holds(est)
    return [Reason(
        statistic=NAME, rule=NAME, role=rule.role, estimate=est, ci_low=lo, ci_high=hi,
        threshold=rule.caution.value, passes=not caution,
        outcome="caution" if caution else "ok", n_units=n, basis=basis(rule, rule.caution),
        detail="; ".join(favoured),
        sentence=f"the estimated position prior is {fmt(est)}{interval(lo, hi)} from uniform "
                 f"(total variation over {n} items asked in every rotation; "
                 f"{'; '.join(favoured)}; caution at {rule.caution.describe()})")]


__all__ = ["position_prior", "prior_groups", "prior_tv"]
