"""How much a model's answers depend on how the question is asked.

* :func:`consistency_across`: per item and level of a factor (order, paraphrase, language,
  persona...), how far answers move from the reference level and how often they cross the
  scale midpoint.
* :func:`consistency_summary`: per level, the same averaged over items plus the Spearman
  rank correlation of item means with the reference level (do the items keep their order?).
* :func:`position_bias`: probability mass on the first and last *presented* option, net of
  the mass each answer gets in every order (Dominguez-Olmedo, Hardt & Mendler-Dünner 2024,
  "Questioning the survey responses of large language models", NeurIPS: models' answers are
  dominated by ordering and labelling biases).
* :func:`acquiescence`: agreement with both regular and reverse-keyed items of a score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from workbench.errors import WorkbenchError
from workbench.instruments import Instrument
from workbench.scoring import DEFAULT_BY, FACTORS, InstrumentLike, require_columns
from workbench.stats._common import (
    answer_values,
    as_instrument,
    as_tuple,
    check_by,
    group_iter,
)

ACROSS_COLUMNS = [
    "item_id", "factor", "reference_level", "level", "n_pairs", "mean_shift",
    "mean_abs_shift", "flip_share",
]
SUMMARY_COLUMNS = [
    "factor", "reference_level", "level", "n_items", "n_pairs", "mean_abs_shift",
    "flip_share", "spearman_rho", "spearman_p",
]
ACQUIESCENCE_COLUMNS = [
    "score_id", "n_regular", "n_reversed", "mean_regular", "mean_reversed", "midpoint",
    "acquiescence",
]


def _instruments(frame: pd.DataFrame, instrument: InstrumentLike | None) -> list[Instrument]:
    if instrument is not None:
        return [as_instrument(instrument)]
    if "instrument" not in frame.columns:
        raise WorkbenchError(
            "the answers frame has no 'instrument' column: pass instrument=... explicitly"
        )
    return [as_instrument(str(i)) for i in pd.unique(frame["instrument"])]


def _centers(frame: pd.DataFrame, instrument: InstrumentLike | None) -> pd.Series:
    """Scale midpoint per item (NaN for nominal items, which have no sides)."""
    centers: dict[str, float] = {}
    for inst in _instruments(frame, instrument):
        for it in inst.items:
            scale = inst.scales[it.scale]
            centers[it.id] = scale.center if scale.type == "ordinal" else np.nan
    return frame["item_id"].map(centers).astype(float)


def _paired(
    answers: pd.DataFrame,
    factor: str,
    reference_level: object,
    instrument: InstrumentLike | None,
    value: str,
    by: Sequence[str] = (),
) -> tuple[pd.DataFrame, list[str]]:
    """Cells (condition means over repeats) at each level, paired with the reference cell.

    Repeats are exchangeable draws of one condition, so repeat r of one level has no
    counterpart "repeat r" at another: values are averaged over ``repeat`` within each
    cell first (unless ``repeat`` is the factor or a ``by`` column), then cells are paired
    on every other factor.
    """
    frame = answer_values(answers, value)
    check_by(frame, [factor], "answers frame")
    frame = frame.assign(center=_centers(frame, instrument)).dropna(subset=["center"])
    if not (frame[factor] == reference_level).any():
        levels = sorted(map(str, pd.unique(answers[factor])))
        raise WorkbenchError(
            f"reference level {reference_level!r} of '{factor}' does not occur; levels: {levels}"
        )
    match = [c for c in FACTORS if c in frame.columns and c != factor
             and (c != "repeat" or c in by)]
    cell = frame.groupby([*match, factor], dropna=False).agg(
        value=("value", "mean"), center=("center", "first")
    ).reset_index()
    ref = cell[cell[factor] == reference_level].drop(columns=[factor, "center"])
    other = cell[cell[factor] != reference_level]
    pairs = other.merge(ref.rename(columns={"value": "ref_value"}), on=match, how="inner")
    pairs = pairs.rename(columns={factor: "level"})
    pairs["shift"] = pairs["value"] - pairs["ref_value"]
    side = np.sign(pairs["value"] - pairs["center"])
    ref_side = np.sign(pairs["ref_value"] - pairs["center"])
    pairs["flip"] = (side * ref_side) < 0
    return pairs, match


def consistency_across(
    answers: pd.DataFrame,
    factor: str = "order",
    reference_level: object = "original",
    instrument: InstrumentLike | None = None,
    by: Sequence[str] = DEFAULT_BY,
    value: str = "expected",
) -> pd.DataFrame:
    """Per item and level of ``factor``: shift from the reference level and midpoint flips.

    Why: a stable attitude should not move when options are reversed, the question is
    paraphrased or translated. Answers are first averaged over repeats within each cell
    (one condition: model, persona, language, ... at one level; sampled repeats are
    exchangeable, so repeat r at one level is not the counterpart of repeat r at another),
    then each cell is paired with the reference-level cell that matches it on every other
    factor; ``n_pairs`` counts cell pairs. ``mean_shift`` = mean(level - reference),
    ``mean_abs_shift`` = mean |level - reference|, ``flip_share`` = share of pairs on
    opposite sides of the scale midpoint (a cell mean exactly on the midpoint has no side
    and never flips). Nominal items are skipped. ``value``: ``"expected"`` (default),
    ``"sampled"`` (``answer_code``) or ``"argmax"``.

    Returns ``[*by, item_id, factor, reference_level, level, n_pairs, mean_shift,
    mean_abs_shift, flip_share]``.

    >>> consistency_across(answers, factor="order", reference_level="original")
    ... # doctest: +SKIP
    """
    pairs, _ = _paired(answers, factor, reference_level, instrument, value, as_tuple(by))
    by = [c for c in check_by(pairs, as_tuple(by), "answers frame") if c != factor]
    keys = [*by, "item_id", "level"]
    out = pairs.groupby(keys, dropna=False).agg(
        n_pairs=("shift", "size"),
        mean_shift=("shift", "mean"),
        mean_abs_shift=("shift", lambda s: s.abs().mean()),
        flip_share=("flip", "mean"),
    ).reset_index()
    out["factor"] = factor
    out["reference_level"] = reference_level
    return out[[*by, *ACROSS_COLUMNS]]


def consistency_summary(
    answers: pd.DataFrame,
    factor: str = "order",
    reference_level: object = "original",
    instrument: InstrumentLike | None = None,
    by: Sequence[str] = DEFAULT_BY,
    value: str = "expected",
) -> pd.DataFrame:
    """Per level of ``factor``: mean shift over items and Spearman rho of item means.

    Why: summarises :func:`consistency_across` in one row per level; ``spearman_rho`` (scipy
    ``spearmanr`` over items of the item means at the level vs the reference level, from
    the matched pairs) says whether the model keeps the same ranking of items (NaN when an
    item set is constant or has fewer than 3 items).

    Returns ``[*by, factor, reference_level, level, n_items, n_pairs, mean_abs_shift,
    flip_share, spearman_rho, spearman_p]``.

    >>> consistency_summary(answers, factor="paraphrase", reference_level=0)  # doctest: +SKIP
    """
    pairs, _ = _paired(answers, factor, reference_level, instrument, value, as_tuple(by))
    by = [c for c in check_by(pairs, as_tuple(by), "answers frame") if c != factor]
    item_keys = ["instrument", "item_id"] if "instrument" in pairs.columns else ["item_id"]
    rows = []
    for group, sub in group_iter(pairs, [*by, "level"]):
        items = sub.groupby(item_keys, dropna=False)[["value", "ref_value"]].mean()
        rho, p = np.nan, np.nan
        x, y = items["value"].to_numpy(), items["ref_value"].to_numpy()
        if len(items) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0:
            res = stats.spearmanr(x, y)
            rho, p = float(res.statistic), float(res.pvalue)
        rows.append({
            **group, "factor": factor, "reference_level": reference_level,
            "n_items": len(items), "n_pairs": len(sub),
            "mean_abs_shift": float(sub["shift"].abs().mean()),
            "flip_share": float(sub["flip"].mean()), "spearman_rho": rho, "spearman_p": p,
        })
    return pd.DataFrame(rows, columns=[*by, *SUMMARY_COLUMNS])


def position_bias(
    distributions: pd.DataFrame,
    by: Sequence[str] = DEFAULT_BY,
    per_item: bool = False,
) -> pd.DataFrame:
    """Probability mass on the first and last presented option: raw, and net of label content.

    Why: Dominguez-Olmedo, Hardt & Mendler-Dünner (2024, "Questioning the Survey Responses
    of Large Language Models") show LLM survey answers are driven by where an option
    appears. Raw position mass confounds position with content: with the original and the
    reversed order, a model that puts 0.8 on one *answer* puts it first in one order and
    last in the other, so its raw first-position mass is 0.425 against 1/k = 0.2.

    * ``first_mass`` / ``last_mass`` (raw): mass (``prob`` renormalised per request) on
      ``position`` 0 / the last position, averaged over requests within each ``order``
      and then over order levels; ``uniform`` is the same average of 1/k and
      ``first_excess`` / ``last_excess`` = raw mass - uniform. Reported for reference: they
      mix position and label preference unless orders are balanced.
    * ``first_excess_centred`` / ``last_excess_centred`` (the bias measure): every option's
      mass minus the mean mass of the same canonical ``code`` over the option orders of its
      cell (same model, instrument, item, persona, language, paraphrase, answer format,
      instruction, mode; orders weigh equally, repeats are averaged), summed at the first /
      last position and averaged like the raw mass. Only position-dependent mass survives
      the centring (the counterbalancing logic of Dominguez-Olmedo et al.): a model whose
      answer depends only on content gives 0; a model that puts ``p`` on the first option
      and ``(1 - p) / (k - 1)`` on each other gives ``(p - (1 - p) / (k - 1)) / 2`` first and
      minus that last with the original and reversed orders (0.3125 for p = 0.7, k = 5).
      NaN with a ``note`` when fewer than 2 orders are available (cells with a single order
      are left out of the centred measure).

    ``n_orders`` counts the order levels in the group (1 when ``by`` includes ``order``).

    Returns ``[*by, (item_id,) n_requests, n_orders, first_mass, last_mass, uniform,
    first_excess, last_excess, first_excess_centred, last_excess_centred, note]``.

    >>> position_bias(dists, by=["model"], per_item=True)  # doctest: +SKIP
    """
    require_columns(distributions, ["request_id", "code", "position", "prob"],
                    "distributions frame")
    by = check_by(distributions, as_tuple(by), "distributions frame")
    keys = [*by, "item_id"] if per_item else list(by)
    d = distributions.reset_index(drop=True)
    order_col = "order" if "order" in d.columns else None
    grp = d.groupby("request_id", sort=False)
    p = d["prob"] / grp["prob"].transform("sum")
    is_first = d["position"] == grp["position"].transform("min")
    is_last = d["position"] == grp["position"].transform("max")
    resid = _centred_mass(d, p, order_col, keys)
    ok = resid.notna().groupby(d["request_id"], sort=False).transform("all")
    resid = resid.fillna(0.0)
    req = pd.DataFrame({
        "request_id": d["request_id"],
        "first": p.where(is_first, 0.0),
        "last": p.where(is_last, 0.0),
        "first_c": resid.where(is_first, 0.0),
        "last_c": resid.where(is_last, 0.0),
        "k": 1.0,
    }).groupby("request_id", sort=False).sum()
    req["ok"] = ok.groupby(d["request_id"], sort=False).first()
    req.loc[~req["ok"], ["first_c", "last_c"]] = np.nan
    extra = [order_col] if order_col and order_col not in keys else []
    meta = d.drop_duplicates("request_id").set_index("request_id")[[*keys, *extra]]
    req = req.join(meta).assign(uniform=lambda f: 1.0 / f["k"], _all=0)
    gkeys = keys or ["_all"]
    per_order = req.groupby([*gkeys, *extra], dropna=False).agg(
        first=("first", "mean"), last=("last", "mean"), uniform=("uniform", "mean"),
        first_c=("first_c", "mean"), last_c=("last_c", "mean"), n=("k", "size"),
    ).reset_index()
    out = per_order.groupby(gkeys, dropna=False).agg(
        n_requests=("n", "sum"),
        n_orders=(extra[0], "nunique") if extra else ("n", lambda s: 1),
        first_mass=("first", "mean"), last_mass=("last", "mean"),
        uniform=("uniform", "mean"),
        first_excess_centred=("first_c", "mean"), last_excess_centred=("last_c", "mean"),
    ).reset_index()
    out["first_excess"] = out["first_mass"] - out["uniform"]
    out["last_excess"] = out["last_mass"] - out["uniform"]
    n_ok = req.groupby(gkeys, dropna=False)["ok"].sum().rename("_ok").reset_index()
    out = out.merge(n_ok, on=gkeys, how="left")
    out["note"] = np.select(
        [out["_ok"] == 0, out["_ok"] < out["n_requests"]],
        ["one option order: position and label preference cannot be separated",
         "centred over the requests whose cell was asked in >= 2 orders"],
        "",
    )
    return out[[*keys, "n_requests", "n_orders", "first_mass", "last_mass", "uniform",
                "first_excess", "last_excess", "first_excess_centred",
                "last_excess_centred", "note"]]


def _centred_mass(
    d: pd.DataFrame, p: pd.Series, order_col: str | None, keys: Sequence[str]
) -> pd.Series:
    """Each option's mass minus the mean mass of its code over the orders of its cell.

    A cell is one condition except for the option order (and repeat, averaged): every
    factor column present, plus any grouping column. Orders weigh equally. NaN where the
    cell was asked in fewer than 2 orders.
    """
    if order_col is None:
        return pd.Series(np.nan, index=d.index)
    cell = [c for c in FACTORS if c in d.columns and c not in (order_col, "repeat")]
    cell += [c for c in keys if c not in cell and c not in (order_col, "repeat")]
    frame = d[[*cell, order_col, "code"]].assign(_p=p)
    n_rows = frame.groupby([*cell, order_col, "code"], dropna=False)["_p"].transform("size")
    frame["_w"] = frame["_p"] / n_rows  # sums to the per-order mean of each code's mass
    by_code = frame.groupby([*cell, "code"], dropna=False)
    n_orders = by_code[order_col].transform("nunique")
    centre = by_code["_w"].transform("sum") / n_orders
    return (p - centre).where(n_orders >= 2)


def acquiescence(
    answers: pd.DataFrame,
    instrument: InstrumentLike,
    by: Sequence[str] = DEFAULT_BY,
    value: str = "expected",
) -> pd.DataFrame:
    """Yea-saying on scores that mix regular and reverse-keyed items.

    Why: a respondent who agrees with a statement and with its reversal is acquiescing, not
    expressing a value. For each ``mean`` score with both kinds of items:
    ``acquiescence = (mean raw code of regular items + mean raw code of reversed items) / 2
    - scale midpoint``; 0 for a consistent respondent, > 0 for agreeing with both (assumes
    higher codes = more agreement). Instruments without reverse-keyed items (MFQ-30, MFQ-2,
    VSM 2013) give an empty frame with these columns.

    Returns ``[*by, score_id, n_regular, n_reversed, mean_regular, mean_reversed, midpoint,
    acquiescence]``.

    >>> acquiescence(answers, "my_balanced_scale")  # doctest: +SKIP
    """
    inst = as_instrument(instrument)
    by = list(as_tuple(by))
    cols = [*by, *ACQUIESCENCE_COLUMNS]
    mixed = []
    for s in inst.scores:
        if s.method != "mean":
            continue
        rev = [i for i in s.items if inst.item(i).reverse]
        reg = [i for i in s.items if not inst.item(i).reverse]
        if rev and reg:
            mixed.append((s, reg, rev))
    if not mixed:
        return pd.DataFrame(columns=cols)
    frame = answer_values(answers, value)
    if "instrument" in frame.columns:
        frame = frame[frame["instrument"] == inst.id]
    by = check_by(frame, by, "answers frame")
    item_means = frame.groupby([*by, "item_id"], dropna=False)["value"].mean()
    rows = []
    for group, sub in group_iter(item_means.reset_index(), by):
        means = sub.set_index("item_id")["value"]
        for s, reg, rev in mixed:
            m_reg = means.reindex(reg).dropna()
            m_rev = means.reindex(rev).dropna()
            centers = {inst.scale_of(i).center for i in s.items}
            center = centers.pop() if len(centers) == 1 else np.nan
            a, b = float(m_reg.mean()), float(m_rev.mean())
            rows.append({
                **group, "score_id": s.id, "n_regular": len(m_reg), "n_reversed": len(m_rev),
                "mean_regular": a, "mean_reversed": b, "midpoint": center,
                "acquiescence": (a + b) / 2 - center,
            })
    return pd.DataFrame(rows, columns=cols)


__all__ = [
    "acquiescence",
    "consistency_across",
    "consistency_summary",
    "position_bias",
]
