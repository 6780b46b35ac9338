"""Statistics that need several option orders: do the answers follow the item or the slot?

* :func:`coverage`: the gate: at least ``min_orders`` orders and ``min_items`` items asked in
  both compared orders.
* :func:`order_agreement`: across items, Pearson (and Spearman) r of the item's mean answer
  under the two compared orders (0-1 rescaled canonical codes; see :mod:`.cells`).
  Content-driven answers keep the items' ranking (r near 1); position-driven ones lose it
  (r near 0) or flip it. A shift that is the same for every item (a slot preference on a
  common scale) leaves r unchanged: r measures whether item differences survive, the
  decomposition below how much of the answer the slot decides.
* :func:`position_decomposition`: per item, the option probabilities ``p`` (one per request x
  option) in a two-way model ``p ~ C(code) + C(position)`` with type-II sums of squares
  (Fox 2016, Applied Regression Analysis, ch. 8; statsmodels ``anova_lm(typ=2)``): the
  variation only the shown slot explains, ``SS_pos = RSS(code) - RSS(code + position)``,
  and only the content explains, ``SS_code = RSS(position) - RSS(code + position)``, pooled
  over items as shares of the total ``sum_i SS_pos,i / sum_i SS_tot,i``. A pure position
  model (``p`` a function of the slot) has ``SS_code = 0``, a pure content model
  ``SS_pos = 0``. The vote uses the position fraction ``SS_pos / (SS_pos + SS_code)``. With
  original and reversed orders the first and last slots always hold the two end codes (and
  on an odd-length scale the middle code never leaves the middle slot), so part of the
  variation belongs to both and is reported as ``shared``; the residual sums of squares are
  unique even where the design is rank-deficient, so the shares are well defined. More orders
  (random permutations, cyclic shifts) separate slot from code further. Counterbalancing
  orders to tell position from content follows Dominguez-Olmedo, Hardt & Mendler-Dunner
  (2024, NeurIPS, "Questioning the survey responses of large language models").
* :func:`first_position_excess`: :func:`workbench.stats.position_bias` (mass on the first
  shown option net of its content), averaged over items, reported beside the verdict.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from workbench.validity.cells import Cell
from workbench.validity.context import Context
from workbench.validity.reasons import Reason, basis, fmt, interval, pct_text, vote
from workbench.validity.resample import (
    draws,
    expanded,
    mean_interval,
    percentile,
    ratio_draws,
    rowwise_pearson,
    weights,
)

SS_COLUMNS = ["item_id", "n_rows", "ss_total", "ss_position", "ss_content", "ss_shared",
              "ss_residual"]


def items_in_orders(cell: Cell, orders: tuple[str, ...]) -> list[str]:
    """Items asked under every one of ``orders``."""
    req = cell.requests
    have = req[req["order"].isin(orders)].groupby("item_id")["order"].nunique()
    return sorted(have.index[have == len(orders)])


def coverage(cell: Cell, ctx: Context) -> list[Reason]:
    """The gate: enough orders and items to tell position from content."""
    th = ctx.thresholds
    min_orders, min_items = th.gate("min_orders"), th.gate("min_items")
    pair = cell.pair
    n_items = len(items_in_orders(cell, pair)) if pair else 0
    orders = ", ".join(cell.orders)
    if len(cell.orders) < min_orders or pair is None:
        ok, text = False, (f"only {len(cell.orders)} option order ({orders}) was asked, so "
                           "position and content cannot be told apart (at least "
                           f"{min_orders:g} needed)")
        why = th.gates["min_orders"]
    elif n_items < min_items:
        ok, text = False, (f"only {n_items} items were asked in both the {pair[0]} and the "
                           f"{pair[1]} order (at least {min_items:g} needed)")
        why = th.gates["min_items"]
    else:
        ok, text = True, (f"{n_items} items asked in both the {pair[0]} and the {pair[1]} "
                          f"order ({len(cell.orders)} orders in all: {orders})")
        why = th.gates["min_items"]
    return [Reason(statistic="coverage", rule="coverage", role="gate", estimate=float(n_items),
                   threshold=min_items, passes=ok, outcome="ok" if ok else "insufficient",
                   n_units=n_items, sentence=text,
                   basis=" ".join(filter(None, [why.reason.strip(), why.citation])))]


def item_order_means(cell: Cell, pair: tuple[str, str]) -> pd.DataFrame:
    """Mean 0-1 answer of each ordinal item under each order of ``pair`` (items in both)."""
    req = cell.requests.dropna(subset=["pomp"])
    req = req[req["order"].isin(pair)]
    wide = req.groupby(["item_id", "order"])["pomp"].mean().unstack("order")
    return wide.reindex(columns=list(pair)).dropna()


def order_agreement(cell: Cell, ctx: Context) -> list[Reason]:
    """Pearson r (votes) and Spearman rho (reported) of item means under the two orders."""
    name = "order_agreement"
    rule = ctx.thresholds.rule(name)
    pair = cell.pair
    rank_basis = "Spearman's rank correlation, reported beside Pearson's r"

    def without(text: str, n: int = 0, **fields) -> list[Reason]:
        fields = {"outcome": "n/a", "basis": basis(rule, rule.content), **fields}
        return [Reason(statistic=name, rule=name, role=rule.role, n_units=n, sentence=text,
                       **fields),
                Reason(statistic=f"{name}_spearman", rule=name, role="info", outcome="n/a",
                       n_units=n, sentence=text, basis=rank_basis)]

    if pair is None:
        return without("order agreement needs two option orders; only one was asked")
    means = item_order_means(cell, pair)
    x, y = means[pair[0]].to_numpy(), means[pair[1]].to_numpy()
    n = len(means)
    if n < 3:
        return without(f"order agreement needs at least 3 ordinal items in both orders ({n} "
                       "here)", n)
    flat = [o for o, v in zip(pair, (x, y), strict=True) if np.ptp(v) == 0]
    if flat:
        return without(f"item means do not vary under the {' and '.join(flat)} order: the "
                       "items carry no signal, so their order cannot be kept", n,
                       outcome="position", passes=False, threshold=rule.content.value,
                       basis=basis(rule, rule.position), detail=" vs ".join(pair))
    idx = draws(ctx.rng(cell.key, name), n, ctx.n_boot)
    xb, yb = x[idx], y[idx]
    r = float(stats.pearsonr(x, y).statistic)
    rho = float(stats.spearmanr(x, y).statistic)
    r_lo, r_hi = percentile(rowwise_pearson(xb, yb), ctx.ci)
    ranks = (stats.rankdata(xb, axis=1), stats.rankdata(yb, axis=1))
    s_lo, s_hi = percentile(rowwise_pearson(*ranks), ctx.ci)
    head = f"item means under the {pair[0]} and {pair[1]} order correlate"
    main = vote(name, name, rule, r, ci_low=r_lo, ci_high=r_hi, n_units=n,
                detail=" vs ".join(pair),
                sentence=f"{head} r = {fmt(r)}{interval(r_lo, r_hi)} over {n} items "
                         f"(content-driven answers keep the items' order: r "
                         f"{rule.content.describe()})")
    spearman = Reason(statistic=f"{name}_spearman", rule=name, role="info", estimate=rho,
                      ci_low=s_lo, ci_high=s_hi, n_units=n, basis=rank_basis,
                      sentence=f"{head} in rank, Spearman rho = {fmt(rho)}"
                               f"{interval(s_lo, s_hi)}")
    return [main, spearman]


def item_sums_of_squares(options: pd.DataFrame) -> pd.DataFrame:
    """Per item, the two-way decomposition of the option probabilities ``p``.

    Columns ``item_id, n_rows, ss_total, ss_position, ss_content, ss_shared, ss_residual``:
    ``ss_position`` / ``ss_content`` are the type-II sums of squares of ``C(position)`` /
    ``C(code)`` in ``p ~ C(code) + C(position)`` fitted by least squares to the item's option
    rows (``ss_total = ss_position + ss_content + ss_shared + ss_residual``). Rows without a
    shown position (combined follow-up items) are left out.
    """
    rows = []
    data = options.dropna(subset=["position"])
    for item_id, sub in data.groupby("item_id", sort=True):
        p = sub["p"].to_numpy(dtype=float)
        code = pd.factorize(sub["code"])[0]
        pos = pd.factorize(sub["position"])[0]
        ss_tot = float(((p - p.mean()) ** 2).sum())
        rss_code = _rss_groups(p, code)
        rss_pos = _rss_groups(p, pos)
        design = np.column_stack([np.ones(len(p)), _dummies(code), _dummies(pos)])
        coef, *_ = np.linalg.lstsq(design, p, rcond=None)
        rss_full = float(((p - design @ coef) ** 2).sum())
        u_pos = max(rss_code - rss_full, 0.0)
        u_code = max(rss_pos - rss_full, 0.0)
        rows.append((item_id, len(p), ss_tot, u_pos, u_code,
                     ss_tot - rss_full - u_pos - u_code, rss_full))
    return pd.DataFrame(rows, columns=SS_COLUMNS)


def _rss_groups(y: np.ndarray, groups: np.ndarray) -> float:
    sums = np.bincount(groups, weights=y)
    n = np.bincount(groups)
    return float(((y - (sums / n)[groups]) ** 2).sum())


def _dummies(groups: np.ndarray) -> np.ndarray:
    """Treatment dummies (first level dropped)."""
    levels = groups.max() + 1
    return (groups[:, None] == np.arange(1, levels)[None, :]).astype(float)


def position_decomposition(cell: Cell, ctx: Context) -> list[Reason]:
    """Position fraction (votes), position and content shares (reported), with intervals."""
    name = "position_vs_content"
    rule = ctx.thresholds.rule(name)
    ss = item_sums_of_squares(cell.options)
    n = len(ss)
    tot, u_pos, u_code = (ss[c].to_numpy() for c in ("ss_total", "ss_position", "ss_content"))
    if n == 0 or tot.sum() <= 0:
        text = "the option probabilities do not vary: there is nothing to attribute"
        return [Reason(statistic=name, rule=name, role=rule.role, outcome="neutral",
                       n_units=n, sentence=text, basis=basis(rule, rule.content))]
    if (u_pos + u_code).sum() <= 0:
        text = ("position and content explain no variation of their own here (with one "
                "order they are the same thing)")
        return [Reason(statistic=name, rule=name, role=rule.role, outcome="neutral",
                       n_units=n, sentence=text, basis=basis(rule, rule.content))]
    w = weights(draws(ctx.rng(cell.key, name), n, ctx.n_boot), n)
    tail = expanded(ctx.ci, n)
    fraction = float(u_pos.sum() / (u_pos + u_code).sum())
    f_lo, f_hi = percentile(ratio_draws(u_pos, u_pos + u_code, w), ctx.ci, tail)
    shares = {}
    for label, part in (("position", u_pos), ("content", u_code)):
        shares[label] = (float(part.sum() / tot.sum()),
                         *percentile(ratio_draws(part, tot, w), ctx.ci, tail))
    (sp, sp_lo, sp_hi), (sc, sc_lo, sc_hi) = shares["position"], shares["content"]
    shared = float(ss["ss_shared"].sum() / tot.sum())
    main = vote(name, name, rule, fraction, ci_low=f_lo, ci_high=f_hi, n_units=n,
                sentence=f"the shown position alone explains {pct_text(sp)}"
                         f"{interval(sp_lo, sp_hi, pct=True)} of the variation in option "
                         f"probabilities and the content alone {pct_text(sc)}"
                         f"{interval(sc_lo, sc_hi, pct=True)} ({pct_text(shared)} is shared "
                         f"by both with these orders), so position takes {pct_text(fraction)}"
                         f"{interval(f_lo, f_hi, pct=True)} of what either explains alone "
                         f"(content-driven: {rule.content.describe()})")
    info = [Reason(statistic=f"{label}_share", rule=name, role="info", estimate=est,
                   ci_low=lo, ci_high=hi, n_units=n,
                   sentence=f"the {label} alone explains {pct_text(est)}"
                            f"{interval(lo, hi, pct=True)} of the variation in option "
                            f"probabilities over {n} items ({pct_text(shared)} shared "
                            "by both)",
                   basis="type-II sum of squares of p ~ C(code) + C(position) per item, "
                         "pooled over items")
            for label, (est, lo, hi) in shares.items()]
    return [main, *info]


def first_position_excess(cell: Cell, ctx: Context) -> list[Reason]:
    """Mass on the first shown option net of content (``stats.position_bias``), per item."""
    name = "first_position_excess"
    rule = ctx.thresholds.rule(name)
    if len(cell.orders) < 2:
        return [Reason(statistic=name, rule=name, role=rule.role, outcome="n/a",
                       sentence="first-position bias net of content needs two orders",
                       basis=basis(rule))]
    per_item = cell.position_bias["first_excess_centred"].dropna()
    est, lo, hi = mean_interval(per_item.to_numpy(), ctx.rng(cell.key, name), ctx.n_boot,
                                ctx.ci)
    return [Reason(statistic=name, rule=name, role=rule.role, estimate=est, ci_low=lo,
                   ci_high=hi, n_units=len(per_item),
                   sentence=f"net of content, the first shown option gets {fmt(est, 3)}"
                            f"{interval(lo, hi, 3)} probability more than its answer gets "
                            "on average over orders",
                   basis=basis(rule))]


__all__ = ["coverage", "first_position_excess", "item_order_means", "item_sums_of_squares",
           "order_agreement", "position_decomposition"]
