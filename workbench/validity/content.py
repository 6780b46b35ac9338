"""Statistics on what the answers say: do items differ, is there a preference, do the
screening items pass, do the scales cohere?

* :func:`item_discrimination`: SD over items of the items' mean answers (0-1 rescaled
  canonical codes) against a permutation null that shuffles item identity among the requests
  of each respondent unit (same order, paraphrase, persona, ...), so the null keeps every
  order and variant effect and removes only the item. p-value ``(1 + #{SD_null >= SD}) /
  (1 + n_perm)`` (Phipson & Smyth 2010, SAGMB 9(1), art. 39); the SD's interval resamples
  items.
* :func:`answer_entropy`: normalised entropy ``H / log k`` of each request's answer
  distribution, averaged per item and over items; near 1 = no preference (the check of
  Dominguez-Olmedo, Hardt & Mendler-Dunner 2024, NeurIPS).
* :func:`catch_items`: the instrument's exclusion rules (e.g. the MFQ-30 item key, July 2008:
  cut respondents rating 'good at math' above 2 or 'better to do good' below 3), applied with
  :func:`workbench.scoring.exclusion_flags` to each respondent unit and to the cell's mean.
* :func:`reliability`: Cronbach's alpha and McDonald's omega per score from
  :func:`workbench.stats.reliability_by_score`, respondents = the cell's varied prompt
  factors except the order (answers averaged over orders first), with Feldt's interval for
  alpha, ``1 - (1 - alpha) F_{1-g/2}(n-1, (n-1)(k-1))`` to ``1 - (1 - alpha) F_{g/2}(...)``
  (Feldt, Woodruff & Salih 1987, Applied Psychological Measurement 11(1); as pingouin), beside
  the published human values of ``data/reference/reliability_norms.csv``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from workbench.exclusion import exclusion_flags
from workbench.instruments import RULE_OPS
from workbench.stats.reliability import reliability_by_score
from workbench.validity.cells import Cell
from workbench.validity.context import Context
from workbench.validity.norms import human_reliability_text
from workbench.validity.reasons import NAN, Reason, basis, fmt, interval, p_text, vote
from workbench.validity.resample import (
    draws,
    mean_interval,
    percentile,
    weighted_sd,
    weights,
)


def permutation_sd(values: np.ndarray, items: np.ndarray, strata: np.ndarray,
                   n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """SD over items of item means after shuffling item labels within each stratum,
    ``n_perm`` times (vectorised); ``items`` and ``strata`` are integer codes."""
    n_items = int(items.max()) + 1
    labels = np.empty((n_perm, len(values)), dtype=np.intp)
    for s in np.unique(strata):
        cols = np.flatnonzero(strata == s)
        order = np.argsort(rng.random((n_perm, len(cols))), axis=1)
        labels[:, cols] = items[cols][order]
    offset = labels + (np.arange(n_perm) * n_items)[:, None]
    sums = np.bincount(offset.ravel(), weights=np.tile(values, n_perm),
                       minlength=n_perm * n_items).reshape(n_perm, n_items)
    means = sums / np.bincount(items, minlength=n_items)
    return means.std(axis=1, ddof=1)


def item_discrimination(cell: Cell, ctx: Context) -> list[Reason]:
    """Do the items differ more than chance once order and variants are held fixed?

    The vote is on the p-value; ``threshold`` holds the matching cut-off on the SD itself
    (the null's ``1 - level`` quantile), so ``estimate > threshold`` reads as significant."""
    name = "item_discrimination"
    rule = ctx.thresholds.rule(name)
    req = cell.requests.dropna(subset=["pomp"])
    if req["item_id"].nunique() < 3:
        return [Reason(statistic=name, rule=name, role=rule.role, outcome="n/a",
                       n_units=int(req["item_id"].nunique()), basis=basis(rule, rule.content),
                       sentence="item discrimination needs at least 3 ordinal items")]
    items = pd.factorize(req["item_id"], sort=True)[0]
    strata = req.groupby(cell.units(), dropna=False, sort=False).ngroup().to_numpy()
    values = req["pomp"].to_numpy(dtype=float)
    means = np.bincount(items, weights=values) / np.bincount(items)
    sd = float(means.std(ddof=1))
    null = permutation_sd(values, items, strata, ctx.n_perm, ctx.rng(cell.key, name + "/null"))
    p = float((1 + np.sum(null >= sd - 1e-12)) / (1 + ctx.n_perm))
    n = len(means)
    w = weights(draws(ctx.rng(cell.key, name), n, ctx.n_boot), n)
    lo, hi = percentile(weighted_sd(means, w), ctx.ci)
    cut = float(np.quantile(null, 1 - rule.content.value))
    reason = vote(name, name, rule, p, ci_low=lo, ci_high=hi, n_units=n, p_value=p,
                  threshold=cut, sentence="")
    more = "more than" if reason.outcome == "content" else "no more than"
    text = (f"the {n} items' mean answers spread SD = {fmt(sd, 3)}{interval(lo, hi, 3)} of "
            f"the scale, {more} when item labels are shuffled within each order and variant "
            f"({p_text(p)}, {ctx.n_perm} shuffles; null {100 * (1 - rule.content.value):g}th "
            f"percentile {fmt(cut, 3)})")
    return [replace(reason, estimate=sd, sentence=text)]


def answer_entropy(cell: Cell, ctx: Context) -> list[Reason]:
    """Mean normalised entropy of the answer distributions (near 1 = no preference)."""
    name = "answer_entropy"
    rule = ctx.thresholds.rule(name)
    per_item = cell.requests.dropna(subset=["entropy"]).groupby("item_id")["entropy"].mean()
    est, lo, hi = mean_interval(per_item.to_numpy(), ctx.rng(cell.key, name), ctx.n_boot,
                                ctx.ci)
    cut = rule.caution
    flagged = cut.holds(est)
    what = ("near uniform: the answers express no preference" if flagged
            else "far enough from uniform to express a preference")
    text = (f"answer distributions are {what} (normalised entropy H/log k = {fmt(est)}"
            f"{interval(lo, hi)} over {len(per_item)} items; near-uniform {cut.describe()})")
    return [Reason(statistic=name, rule=name, role=rule.role, estimate=est, ci_low=lo,
                   ci_high=hi, threshold=cut.value, passes=not flagged,
                   outcome="caution" if flagged else "ok", n_units=len(per_item),
                   sentence=text, basis=basis(rule, cut))]


def catch_items(cell: Cell, ctx: Context) -> list[Reason]:
    """The instrument's catch-item rules on the cell's expected answers."""
    name = "catch_items"
    rule = ctx.thresholds.rule(name)
    inst = cell.instrument
    if not inst.exclusions:
        return [Reason(statistic=name, rule=name, role=rule.role, outcome="n/a",
                       basis=basis(rule),
                       sentence=f"{cell.label} has no catch items: not applicable")]
    units = cell.units()
    opts = cell.options
    asked = opts.loc[opts["item_id"].isin([ex.item for ex in inst.exclusions]),
                     list(dict.fromkeys(["request_id", "instrument", "item_id", "code",
                                         "prob", *units]))]
    flags = (exclusion_flags(asked, inst, by=units) if not asked.empty
             else pd.DataFrame(columns=["item_id", "value"]))
    out = []
    for ex in inst.exclusions:
        sub = flags[(flags["item_id"] == ex.item) & flags["value"].notna()]
        stat = f"catch:{ex.item}"
        texts = inst.item(ex.item).text
        text_en = texts.get("en") or next(iter(texts.values()))
        if sub.empty:
            out.append(Reason(statistic=stat, rule=name, role=rule.role, outcome="n/a",
                              basis=basis(rule),
                              sentence=f"catch item {ex.item} ('{text_en}') was not asked"))
            continue
        est, lo, hi = mean_interval(sub["value"].to_numpy(float), ctx.rng(cell.key, stat),
                                    ctx.n_boot, ctx.ci)
        fails = bool(RULE_OPS[ex.op](est, ex.value))
        p_fail = float(sub["p_fail"].mean())
        share = float(sub["flagged"].mean())
        verb = "fails" if fails else "passes"
        text = (f"catch item {ex.item} ('{text_en}'): mean expected answer {fmt(est)}"
                f"{interval(lo, hi)} {verb} the rule (exclude if {ex.op} {ex.value:g}); "
                f"{share:.0%} of {len(sub)} respondent units would be cut, and one sampled "
                f"answer fails with probability {p_fail:.2f}")
        out.append(Reason(statistic=stat, rule=name, role=rule.role, estimate=est,
                          ci_low=lo, ci_high=hi, threshold=ex.value, passes=not fails,
                          outcome="caution" if fails else "ok", n_units=len(sub),
                          sentence=text, basis=" ".join(ex.reason.split())))
    return out


def feldt_interval(alpha: float, n: int, k: int, ci: float) -> tuple[float, float]:
    """Feldt's F-based interval for Cronbach's alpha (n respondents, k items)."""
    if n < 2 or k < 2 or not math.isfinite(alpha):
        return NAN, NAN
    df1, df2 = n - 1, (n - 1) * (k - 1)
    g = 1 - ci
    return (float(1 - (1 - alpha) * stats.f.isf(g / 2, df1, df2)),
            float(1 - (1 - alpha) * stats.f.isf(1 - g / 2, df1, df2)))


def reliability(cell: Cell, ctx: Context) -> list[Reason]:
    """Alpha (and omega) per score over the cell's respondents, beside human values."""
    name = "reliability"
    rule = ctx.thresholds.rule(name)
    cut = rule.pass_
    inst = cell.instrument
    respondents = cell.respondents()
    if not inst.scores:
        return []
    if not respondents:
        return [Reason(statistic=name, rule=name, role=rule.role, outcome="n/a",
                       basis=basis(rule, cut),
                       sentence="reliability needs several respondents (personas, "
                                "paraphrases, ...); the cell has one per item and order")]
    answers = cell.requests.dropna(subset=["expected"])
    n_resp = int(answers.groupby(respondents, dropna=False).ngroups)
    least = rule.min_units.value if rule.min_units is not None else 2
    if n_resp < least:
        return [Reason(statistic=name, rule=name, role=rule.role, outcome="n/a",
                       n_units=n_resp, basis=" ".join(rule.min_units.reason.split())
                       if rule.min_units is not None else basis(rule, cut),
                       sentence=f"reliability needs at least {least:g} respondents; the cell "
                                f"has {n_resp} ({' x '.join(respondents)})")]
    rel = reliability_by_score(answers, inst, respondent=tuple(respondents), by=(),
                               threshold=cut.value if cut else 0.7)
    who = " x ".join(respondents)
    out = []
    for row in rel.itertuples():
        lo, hi = feldt_interval(row.alpha, row.n_respondents, row.n_items, ctx.ci)
        people = human_reliability_text(ctx.norms, inst.id, row.score_id)
        omega = "" if math.isnan(row.omega) else f", omega = {fmt(row.omega)}"
        text = (f"{row.score_id}: alpha = {fmt(row.alpha)}{interval(lo, hi)}{omega} over "
                f"{row.n_respondents} respondents ({who}, orders averaged); people: {people}")
        passes = None if math.isnan(row.alpha) or cut is None else bool(cut.holds(row.alpha))
        out.append(Reason(statistic=f"reliability:{row.score_id}", rule=name, role=rule.role,
                          estimate=float(row.alpha), ci_low=lo, ci_high=hi,
                          threshold=cut.value if cut else NAN, passes=passes,
                          n_units=int(row.n_respondents), sentence=text,
                          basis=basis(rule, cut)))
    return out


__all__ = ["answer_entropy", "catch_items", "feldt_interval", "item_discrimination",
           "permutation_sd", "reliability"]
