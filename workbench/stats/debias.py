"""Position-debiased answer distributions: permutation average, PriDe, contextual calibration.

Why: small models put much of their probability on an option because of *where* it is shown
("selection bias", Zheng et al. 2024, ICLR; Dominguez-Olmedo et al. 2024). Averaging the
original and the reversed order hides that bias instead of removing it: a position-driven
model lands at the scale midpoint and looks moderate. These estimators remove it, and the
raw numbers stay beside them (``method="raw"``).

Every estimator takes the tidy distributions of :meth:`workbench.store.ResultStore.
distributions` (one row per request x option: ``code``, the shown ``position``, ``prob``)
and returns a frame with the same columns, one row per request x option it keeps, so
scoring and statistics run on it unchanged: ``prob`` is the debiased distribution
(renormalised per request), ``logprob`` its log. The shown order of every request is read
from its ``position`` column, so each estimate is recomputed from the store, never stored.
Content-free pseudo items (``content_free: true`` in a design) are dropped from every
output. ``frame.attrs["debias"]`` records the method and its counts.

Notation: ``p_r(c)`` is the probability of code ``c`` in request ``r`` (renormalised over
its options), ``pos_r(c)`` the position it was shown at, ``k`` the number of options. A
*cell* is one condition but for the order: every factor of the store except ``order``
(plus ``given`` for follow-up rows as asked). Several requests of a cell with the same
shown order (``original`` and ``cyc0``) count as one order, their distributions averaged.

>>> debiased(store.distributions(), method="pride", calibration=0.25)  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.followups import marginalize_followup_distributions
from workbench.prompts import is_content_free, order_settings
from workbench.scoring import FACTORS, check_by, require_columns

METHODS = ("raw", "full_permutation", "pride", "calibration")
#: The prior of PriDe is shared by one model x instrument x prompt format x language
#: (and, always, the number of options).
PRIOR_BY = ("model", "instrument", "language", "answer_format", "instruction", "mode")
_CF_KEY = ("model", "instrument", "persona", "language", "order", "answer_format",
           "instruction", "mode", "repeat")
_ADD_CYCLIC = ("add `orders: [cyclic]` to the design (every option in every position; "
               "`orders: [all]` also works for scales of up to "
               "{limit} options)")


def _add_cyclic() -> str:
    return _ADD_CYCLIC.format(limit=order_settings().all_orders_max_options)


def drop_content_free(distributions: pd.DataFrame) -> pd.DataFrame:
    """The frame without content-free pseudo items (they calibrate, they are no answers)."""
    require_columns(distributions, ["item_id"], "distributions frame")
    return distributions[~distributions["item_id"].map(is_content_free)].copy()


def _prepared(distributions: pd.DataFrame, method: str, keep_content_free: bool = False,
              log_space: bool = False) -> pd.DataFrame:
    """Checked copy with helper columns: ``_p`` (renormalised prob), ``_cell`` (cell id),
    ``_sig`` (shown order as codes by position; ``order:NAME`` without positions),
    ``_k`` (options) and ``_pos`` (the request has positions)."""
    require_columns(distributions, ["request_id", "item_id", "code", "position", "prob"],
             "distributions frame")
    d = distributions.reset_index(drop=True).copy()
    if not keep_content_free:
        d = d[~d["item_id"].map(is_content_free)].reset_index(drop=True)
    if d.empty:
        raise WorkbenchError(f"{method}: the distributions frame has no answers to debias")
    if d["prob"].isna().any() or (d["prob"] < 0).any():
        raise WorkbenchError(f"{method}: the distributions frame has missing or negative "
                             "'prob' values: drop those rows (a refusal has no distribution)")
    if log_space and "mode" in d.columns and (d["mode"] != "logprob").any():
        raise WorkbenchError(
            f"{method} divides by a position prior estimated from log-probabilities, which "
            "sampled answers (one-hot) do not have: use mode: logprob for these requests, or "
            "method='full_permutation'")
    by_request = d.groupby("request_id", sort=False)
    total = by_request["prob"].transform("sum")
    if (total <= 0).any():
        raise WorkbenchError(f"{method}: some requests have probabilities summing to 0: "
                             "drop them")
    d["_p"] = d["prob"] / total
    d["_pos"] = d["position"].notna().groupby(d["request_id"], sort=False).transform("all")
    d["_k"] = by_request["code"].transform("size")
    cell = [c for c in FACTORS if c in d.columns and c != "order"]
    cell += ["given"] if "given" in d.columns else []
    d["_cell"] = d.groupby(cell, dropna=False, sort=False).ngroup()
    shown = d[d["_pos"]].sort_values(["request_id", "position"])
    sig = shown.groupby("request_id", sort=False)["code"].agg(
        lambda codes: "-".join(str(int(c)) for c in codes))
    d["_sig"] = d["request_id"].map(sig)
    if "order" in d.columns:
        d["_sig"] = d["_sig"].fillna("order:" + d["order"].astype(str))
    d["_sig"] = d["_sig"].fillna("")
    return d


def _balanced_cells(d: pd.DataFrame, require_balanced: bool) -> pd.Series:
    """Per cell with positions: True when its distinct shown orders put every code in every
    position equally often (cyclic, all), or, without ``require_balanced``, >= 2 orders."""
    u = d[d["_pos"]].drop_duplicates(["_cell", "_sig", "code"])
    n_sig = u.groupby("_cell")["_sig"].nunique()
    if not require_balanced:
        return n_sig >= 2
    counts = u.groupby(["_cell", "code", "position"]).size().groupby(level="_cell")
    k = u.groupby("_cell")["_k"].first()
    return (n_sig >= 2) & (counts.size() == k ** 2) & (counts.min() == counts.max())


def _rotation(sig: str) -> str:
    """The class of a shown order under cyclic rotation: its smallest rotation."""
    codes = sig.split("-")
    return min("-".join(codes[i:] + codes[:i]) for i in range(len(codes)))


def _prior_rows(d: pd.DataFrame, require_balanced: bool) -> pd.Series:
    """Per row: whether it enters a PriDe prior. Rows of balanced cells (see
    :func:`_balanced_cells`) and, in a cell that is not balanced as a whole, the rows of its
    complete rotation classes: the k rotations of one order put every code in every
    position once, so a cell asked in all cyclic orders *and* in others (``reversed`` from
    a second design) estimates its prior from the rotations alone."""
    ok = _balanced_cells(d, require_balanced)
    use = d["_cell"].isin(ok.index[ok]) & d["_pos"]
    rest = d[d["_pos"] & ~use]
    if not require_balanced or rest.empty:
        return use
    u = rest.drop_duplicates(["_cell", "_sig"])[["_cell", "_sig", "_k"]].copy()
    u["_rot"] = u["_sig"].map(_rotation)
    size = u.groupby(["_cell", "_rot"])["_sig"].transform("nunique")
    full = set(zip(u.loc[size == u["_k"], "_cell"], u.loc[size == u["_k"], "_sig"],
                   strict=True))
    if not full:
        return use
    in_full = pd.Series([key in full for key in zip(d["_cell"], d["_sig"], strict=True)],
                        index=d.index)
    return use | (in_full & d["_pos"])


def _not_permuted(d: pd.DataFrame, ok: pd.Series, method: str, require_balanced: bool) -> str:
    bad = d[d["_cell"].isin(ok.index[~ok])]
    first = bad.iloc[0]
    where = ", ".join(f"{c} '{first[c]}'" for c in ("item_id", "instrument", "model")
                      if c in bad.columns)
    orders = sorted(bad.loc[bad["_cell"] == first["_cell"], "order"].astype(str).unique()) \
        if "order" in bad.columns else []
    want = ("orders that show every option in every position equally often"
            if require_balanced else "at least two option orders")
    return (f"{method} needs each item asked in {want}; {bad['_cell'].nunique()} of "
            f"{d['_cell'].nunique()} cells were not ({where}: orders {orders}): "
            f"{_add_cyclic()}")


def _output(d: pd.DataFrame, p: pd.Series, columns: Sequence[str], info: dict) -> pd.DataFrame:
    """The kept rows with ``prob`` = ``p`` renormalised per request and ``logprob`` = log."""
    out = d.loc[p.index, list(columns)].copy()
    out["prob"] = p / p.groupby(d.loc[p.index, "request_id"], sort=False).transform("sum")
    with np.errstate(divide="ignore"):
        out["logprob"] = np.log(out["prob"].to_numpy(dtype=float))
    out = out.reset_index(drop=True)
    out.attrs["debias"] = {**info, "n_requests": int(out["request_id"].nunique())}
    return out


def full_permutation(distributions: pd.DataFrame, require_balanced: bool = True
                     ) -> pd.DataFrame:
    """The average over a cell's shown orders of each code's probability.

    ``P(c) = (1 / |O|) * sum over shown orders o of p_o(c)``: with all k cyclic rotations
    (or all k! orders) every option is shown in every position equally often, so a position
    prior weighs every option alike; with all k! orders this is the full-permutation
    debiasing that Zheng et al. (2024, ICLR, "Large Language Models Are Not Robust Multiple
    Choice Selectors") compare PriDe with. It leaves a residual bias: the normaliser of each
    order depends on which option sits where (see the hand-worked test). Every request of a
    cell gets the cell's average.

    ``require_balanced=False`` also averages unbalanced orders (``permutations: N``, or
    original + reversed of a 5-point scale, whose middle option never moves). Rows without
    positions (follow-ups combined over earlier answers) are averaged over their orders.
    """
    d = _prepared(distributions, "full_permutation")
    ok = _balanced_cells(d, require_balanced)
    plain = d[~d["_pos"]].groupby("_cell")["_sig"].nunique() >= 2
    ok = pd.concat([ok, plain[~plain.index.isin(ok.index)]])
    if not ok.all():
        raise WorkbenchError(_not_permuted(d, ok, "full_permutation", require_balanced))
    per_order = d.groupby(["_cell", "_sig", "code"])["_p"].mean()
    average = per_order.groupby(level=["_cell", "code"]).mean().rename("_avg")
    p = d[["_cell", "code"]].join(average, on=["_cell", "code"])["_avg"]
    return _output(d, p, distributions.columns,
                   {"method": "full_permutation", "n_cells": int(d["_cell"].nunique())})


def _cell_priors(d: pd.DataFrame, require_balanced: bool, method: str) -> pd.DataFrame:
    """Per permuted cell and position: ``softmax_j((1 / |O|) * sum_o log p_o(option at j))``
    (Zheng et al. 2024, PriDe's prior of one sample) over the cell's balanced orders
    (:func:`_prior_rows`), with ``item_id``, the cell's factors and ``_k``."""
    e = d[_prior_rows(d, require_balanced)]
    if e.empty:
        raise WorkbenchError(f"{method} needs items asked in every cyclic order, and none was: "
                             f"{_add_cyclic()}; a subset of items is enough (a second "
                             "design with `items: [...]`)")
    per_order = e.groupby(["_cell", "_sig", "position"])["_p"].mean()
    floor = order_settings().prob_floor
    mean_log = np.log(per_order.clip(lower=floor)).groupby(level=["_cell", "position"]).mean()
    shifted = np.exp(mean_log - mean_log.groupby(level="_cell").transform("max"))
    prior = (shifted / shifted.groupby(level="_cell").transform("sum")).rename("prior")
    meta = e.drop_duplicates("_cell").set_index("_cell").drop(
        columns=["request_id", "code", "position", "prob", "_p", "_sig"], errors="ignore")
    return prior.reset_index().join(meta, on="_cell")


def _prior_cols(d: pd.DataFrame, prior_by: Sequence[str]) -> list[str]:
    """The prior's grouping columns plus ``_k``: the default's columns that the frame has,
    or exactly the ones asked for."""
    if tuple(prior_by) == PRIOR_BY:
        cols = [c for c in PRIOR_BY if c in d.columns]
    else:
        cols = check_by(d, prior_by, "distributions frame")
    return [*cols, "_k"]


def _calibration_items(priors: pd.DataFrame, by: list[str],
                       calibration: int | float | Sequence[str] | None,
                       seed: int) -> pd.DataFrame:
    """``[*by, item_id]`` of the calibration items: all permuted items (None), ``n`` of them
    or a fraction (rounded up) per prior group drawn with ``seed``, or the listed ids."""
    eligible = priors[[*by, "item_id"]].drop_duplicates().sort_values([*by, "item_id"])
    if calibration is None:
        return eligible
    if isinstance(calibration, str) or (isinstance(calibration, Sequence)
                                        and not isinstance(calibration, str)):
        wanted = [calibration] if isinstance(calibration, str) else list(calibration)
        missing = sorted(set(wanted) - set(eligible["item_id"]))
        if missing:
            raise WorkbenchError(f"pride: calibration item(s) {missing} were not asked in "
                                 f"every cyclic order: {_add_cyclic()} for them")
        return eligible[eligible["item_id"].isin(wanted)]
    is_int = isinstance(calibration, int) and not isinstance(calibration, bool)
    if not (is_int and calibration >= 1) and not (
            isinstance(calibration, float) and 0 < calibration <= 1):
        raise WorkbenchError(f"pride: calibration must be None (all permuted items), a "
                             f"number of items >= 1, a fraction in (0, 1] or a list of item "
                             f"ids, got {calibration!r}")
    rng = np.random.default_rng(seed)
    chosen = []
    for _, group in eligible.groupby(by, sort=True, dropna=False):
        n = calibration if is_int else math.ceil(calibration * len(group))
        pick = rng.choice(len(group), size=min(n, len(group)), replace=False)
        chosen.append(group.iloc[np.sort(pick)])
    return pd.concat(chosen, ignore_index=True)


def pride_prior(distributions: pd.DataFrame,
                calibration: int | float | Sequence[str] | None = None,
                prior_by: Sequence[str] = PRIOR_BY, seed: int = 0,
                require_balanced: bool = True) -> pd.DataFrame:
    """PriDe's position prior per prior group, from the calibration items' permuted cells.

    Per cell (Zheng et al. 2024, eq. 3): ``prior(j) = softmax_j(mean over the cyclic
    orders o of log p_o(option shown at j))``; with ``p_o(c) = prior(pos_o(c)) * pref(c) / Z_o``
    the content term is the same at every position and cancels, leaving the prior. The
    group's prior is the mean of its cells' priors (their code: the average over the
    estimation samples). ``calibration`` picks the items (see :func:`pride`). A cell asked
    in all cyclic orders and in others as well (``original`` and ``reversed`` from a second
    design) estimates its prior from its k rotations only, which are balanced.

    Returns ``[*prior_by, n_options, position, prior, n_items, n_cells]``.
    """
    d = _prepared(distributions, "pride", log_space=True)
    by = _prior_cols(d, prior_by)
    priors = _cell_priors(d, require_balanced, "pride")
    chosen = _calibration_items(priors, by, calibration, seed)
    cal = priors.merge(chosen, on=[*by, "item_id"])
    out = cal.groupby([*by, "position"], dropna=False).agg(
        prior=("prior", "mean"), n_items=("item_id", "nunique"), n_cells=("_cell", "nunique"))
    out = out.reset_index().rename(columns={"_k": "n_options"})
    out["position"] = out["position"].astype(int)
    return out


def pride(distributions: pd.DataFrame,
          calibration: int | float | Sequence[str] | None = None,
          orders: Sequence[str] | None = None, prior_by: Sequence[str] = PRIOR_BY,
          seed: int = 0, require_balanced: bool = True) -> pd.DataFrame:
    """PriDe (Zheng et al. 2024, ICLR): divide out a position prior estimated on a few items.

    ``P(c | r) = p_r(c) / prior(pos_r(c))``, renormalised over the request's options, with
    the prior of :func:`pride_prior` for the request's model x instrument x prompt format
    x language x number of options (``prior_by``). Each request is debiased on its own, so
    items asked in one order only are debiased too: that is PriDe's saving. (Zheng et al.
    report the permutation average for the calibration samples; here every request, the
    calibration items' rotations included, is divided by the same prior, so all items are
    treated alike.)

    ``calibration``: None = every item asked in all cyclic orders; an int = that many of
    them per prior group, a float = that fraction (rounded up), drawn with ``seed``; or a
    list of item ids. ``orders``: keep only these orders of the other items (e.g.
    ``["cyc0"]``, to see what a design asking them once would give). ``attrs["debias"]``
    holds ``forward_passes`` (requests kept, one forward pass each in log-prob mode),
    ``forward_passes_all_cyclic`` (k per kept cell) and ``forward_passes_saved``.
    """
    d = _prepared(distributions, "pride", log_space=True)
    by = _prior_cols(d, prior_by)
    priors = _cell_priors(d, require_balanced, "pride")
    chosen = _calibration_items(priors, by, calibration, seed)
    prior = priors.merge(chosen, on=[*by, "item_id"]).groupby(
        [*by, "position"], dropna=False)["prior"].mean().rename("_prior")
    is_cal = d[[*by, "item_id"]].merge(chosen.assign(_cal=1), how="left",
                                        on=[*by, "item_id"])["_cal"].notna().to_numpy()
    if orders is not None:
        require_columns(d, ["order"], "distributions frame")
    keep = is_cal | (np.ones(len(d), bool) if orders is None
                     else d["order"].isin(list(orders)).to_numpy())
    d = d[keep]
    if d.empty:
        raise WorkbenchError(f"pride: no stored request of the non-calibration items has one "
                             f"of the orders {list(orders or [])}: pass orders that were asked")
    shown = d[d["_pos"]]
    joined = shown[[*by, "position"]].join(prior, on=[*by, "position"])["_prior"]
    if joined.isna().any():
        first = shown[joined.isna()].iloc[0]
        group = ", ".join(f"{c} '{first[c]}'" for c in by if c != "_k")
        raise WorkbenchError(
            f"pride: no calibration item has {int(first['_k'])} options for {group} (item "
            f"'{first['item_id']}'): {_add_cyclic()} for at least one such item")
    p = d["_p"].copy()
    p[shown.index] = shown["_p"] / joined
    used = int(d["request_id"].nunique())
    all_cyclic = int(d.groupby("_cell")["_k"].first().sum())
    return _output(d, p, distributions.columns, {
        "method": "pride", "calibration_items": int(chosen["item_id"].nunique()),
        "forward_passes": used, "forward_passes_all_cyclic": all_cyclic,
        "forward_passes_saved": all_cyclic - used,
        "requests_without_positions": int(d.loc[~d["_pos"], "request_id"].nunique())})


def _scale_key(d: pd.DataFrame) -> pd.Series:
    """Per row: the request's scale as its sorted ``code=label`` pairs (codes only without a
    ``label`` column), so a content-free item matches the items of its own scale."""
    label = d["label"].astype(str) if "label" in d.columns else ""
    pairs = (d["code"].astype(int).astype(str) + "=" + label).rename("_pair")
    frame = d[["request_id", "code"]].assign(_pair=pairs).sort_values(["request_id", "code"])
    key = frame.groupby("request_id", sort=False)["_pair"].agg("|".join)
    return d["request_id"].map(key)


def contextual_calibration(distributions: pd.DataFrame) -> pd.DataFrame:
    """Contextual calibration (Zhao et al. 2021, ICML, "Calibrate Before Use").

    ``P(c | r) = p_r(c) / p_cf(pos_r(c))``, renormalised: ``W = diag(p_cf)^-1``, ``b = 0``
    applied to the normalised option probabilities, where ``p_cf`` is the distribution over
    positions of the content-free pseudo item ("N/A" in place of the item text, mean over
    the template's content-free inputs, renormalised) asked in the same model x instrument
    x scale x persona x language x order x format x instruction x repeat. Needs
    ``content_free: true`` in the design. The match is by position, i.e. by answer key, as
    Zhao et al. calibrate per label; under ``permN`` orders the content-free item is shown
    in its own random order. Follow-up rows (combined, or asked with fewer options) keep
    their raw distribution (counted in ``attrs``).
    """
    d = _prepared(distributions, "calibration", keep_content_free=True, log_space=True)
    d["_scale"] = _scale_key(d)
    key = [c for c in _CF_KEY if c in d.columns] + ["_scale"]
    cf_rows = d["item_id"].map(is_content_free) & d["_pos"]
    if not cf_rows.any():
        raise WorkbenchError("calibration needs the content-free pseudo items, and none is "
                             "stored: add `content_free: true` to the design and run it")
    p_cf = d[cf_rows].groupby([*key, "position"], dropna=False)["_p"].mean()
    p_cf = (p_cf / p_cf.groupby(level=key, dropna=False).transform("sum")).rename("_cf")
    d = d[~d["item_id"].map(is_content_free)]
    shown = d[d["_pos"]]
    joined = shown[[*key, "position"]].join(p_cf, on=[*key, "position"])["_cf"]
    followup = (shown["given"].fillna("").astype(str) != "") if "given" in shown.columns \
        else pd.Series(False, index=shown.index)
    missing = joined.isna() & ~followup
    if missing.any():
        first = shown[missing].iloc[0]
        where = ", ".join(f"{c} '{first[c]}'" for c in _CF_KEY if c in shown.columns)
        raise WorkbenchError(
            f"calibration: no content-free answer matches item '{first['item_id']}' ({where}): "
            "add `content_free: true` to the design that asked it and rerun it (only the "
            "content-free requests are computed)")
    p = d["_p"].copy()
    ok = joined.notna()
    p[shown.index[ok]] = shown.loc[ok, "_p"] / joined[ok]
    raw = d.loc[~d["_pos"], "request_id"].nunique() + shown.loc[~ok, "request_id"].nunique()
    return _output(d, p, distributions.columns,
                   {"method": "calibration", "requests_left_raw": int(raw)})


def item_position_priors(distributions: pd.DataFrame, by: Sequence[str] = ("model",),
                         require_balanced: bool = True) -> pd.DataFrame:
    """Each item's PriDe prior over shown positions: the mean over its permuted cells of
    :func:`pride_prior`'s per-cell prior, ``softmax_j(mean_o log p_o(option at j))``.

    The per-item vectors that :func:`position_prior` averages and resamples, for statistics
    of the whole prior (e.g. its distance from uniform in :mod:`workbench.validity`).
    Returns ``[*by, n_options, item_id, position, prior, n_cells]``.
    """
    d = _prepared(distributions, "position_prior", log_space=True)
    cols = [*check_by(d, by, "distributions frame"), "_k"]
    priors = _cell_priors(d, require_balanced, "position_prior")
    per_item = priors.groupby([*cols, "item_id", "position"], dropna=False).agg(
        prior=("prior", "mean"), n_cells=("_cell", "nunique")).reset_index()
    per_item["position"] = per_item["position"].astype(int)
    return per_item.rename(columns={"_k": "n_options"})


def position_prior(distributions: pd.DataFrame, by: Sequence[str] = ("model",),
                   n_boot: int = 2000, ci: float = 0.95, seed: int = 0,
                   require_balanced: bool = True) -> pd.DataFrame:
    """The model's probability by shown position, with a bootstrap interval over items.

    Per permuted cell, the PriDe prior (see :func:`pride_prior`); per item, the mean over
    its cells; ``prior`` = the mean over items. The interval is the percentile bootstrap
    (Efron & Tibshirani 1993) resampling items with replacement ``n_boot`` times; NaN with
    a ``note`` for a single item. ``uniform`` = 1/k is what a model without position
    preference gives. Items of different k are separate rows (``n_options``).

    Returns ``[*by, n_options, position, prior, ci_low, ci_high, uniform, n_items, n_cells,
    interval, note]``.
    """
    if not 0 < ci < 1:
        raise WorkbenchError(f"position_prior: ci must be in (0, 1), got {ci}")
    per_item = item_position_priors(distributions, by, require_balanced).rename(
        columns={"n_options": "_k"})
    by = [*([by] if isinstance(by, str) else by), "_k"]
    rng = np.random.default_rng(seed)
    rows = []
    for keys, group in per_item.groupby(by, sort=True, dropna=False):
        wide = group.pivot(index="item_id", columns="position", values="prior")
        m = wide.to_numpy()
        n, k = m.shape
        lo = hi = np.full(k, np.nan)
        if n >= 2:
            boots = m[rng.integers(0, n, size=(n_boot, n))].mean(axis=1)
            lo, hi = np.quantile(boots, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
        n_cells = group.groupby("position")["n_cells"].sum()
        for j, position in enumerate(wide.columns):
            rows.append({**dict(zip(by, keys, strict=True)), "position": int(position),
                         "prior": m[:, j].mean(), "ci_low": lo[j], "ci_high": hi[j],
                         "uniform": 1 / k, "n_items": n, "n_cells": int(n_cells[position]),
                         "interval": f"percentile bootstrap over items ({n_boot}, {ci:.0%})",
                         "note": "" if n >= 2 else "one item: no interval"})
    return pd.DataFrame(rows).rename(columns={"_k": "n_options"})


def debiased(distributions: pd.DataFrame, method: str = "raw", **options: object
             ) -> pd.DataFrame:
    """One entry point for reports: ``method`` is ``raw`` (the stored distributions, content-
    free items dropped), ``full_permutation``, ``pride`` or ``calibration``; ``options``
    go to that estimator (see :func:`full_permutation`, :func:`pride`,
    :func:`contextual_calibration`).

    Pass ``store.distributions(followups="asked")`` to debias follow-up items too: each
    asked row is debiased in its own shown order, then the follow-ups are combined over the
    earlier item's *debiased* answers (:func:`workbench.followups.
    marginalize_followup_distributions`), as ``store.distributions()`` combines raw ones.
    With the default combined rows a follow-up has no single shown position and stays raw
    under ``pride`` and ``calibration``.

    Scores that pool over orders (every score of :mod:`workbench.scoring`) are the same
    for ``raw`` and ``full_permutation`` on a balanced design: the average over orders is
    what pooling computes. The estimators differ per request, and PriDe and calibration
    also on items asked in fewer orders.
    """
    estimators = {"full_permutation": full_permutation, "pride": pride,
                  "calibration": contextual_calibration}
    if method not in METHODS:
        raise WorkbenchError(f"unknown debiasing method '{method}': use one of {list(METHODS)}")
    if method == "raw":
        if options:
            raise WorkbenchError(f"method 'raw' takes no options, got {sorted(options)}")
        out = drop_content_free(distributions).reset_index(drop=True)
        out.attrs["debias"] = {"method": "raw",
                               "n_requests": int(out["request_id"].nunique())}
    else:
        estimator = estimators[method]
        known = set(list(inspect.signature(estimator).parameters)[1:])
        unknown = sorted(set(options) - known)
        if unknown:
            raise WorkbenchError(f"method '{method}' has no option(s) {unknown}: it takes "
                                 f"{sorted(known) or 'none'}")
        out = estimator(distributions, **options)
    if "given" in out.columns and out["given"].fillna("").astype(str).ne("").any():
        info = out.attrs["debias"]
        out = marginalize_followup_distributions(out).reset_index(drop=True)
        out.attrs["debias"] = {**info, "n_requests": int(out["request_id"].nunique()),
                               "followups": "combined after debiasing"}
    return out
