"""How much a model's answers depend on how the question is asked.

* :func:`consistency_across`: per item and level of a factor (order, paraphrase, language,
  persona...), how far answers move from the reference level and how often they cross the
  scale midpoint.
* :func:`consistency_summary`: per level, the same averaged over items plus the Spearman
  rank correlation of item means with the reference level (do the items keep their order?).
* :func:`position_bias`: probability mass on the first and last *presented* option, averaged
  over option orders and compared with 1/k (Dominguez-Olmedo, Hardt & Mendler-Dünner 2024,
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
from workbench.scoring import DEFAULT_BY, FACTORS, InstrumentLike, _require
from workbench.stats._common import (
    _check_by,
    answer_values,
    as_instrument,
    as_tuple,
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
) -> tuple[pd.DataFrame, list[str]]:
    frame = answer_values(answers, value)
    _check_by(frame, [factor], "answers frame")
    frame = frame.assign(center=_centers(frame, instrument)).dropna(subset=["center"])
    if not (frame[factor] == reference_level).any():
        levels = sorted(map(str, pd.unique(answers[factor])))
        raise WorkbenchError(
            f"reference level {reference_level!r} of '{factor}' does not occur; levels: {levels}"
        )
    match = [c for c in FACTORS if c in frame.columns and c != factor]
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
    paraphrased or translated. Each answer is paired with the reference-level answer that
    matches it on every other factor (model, persona, language, repeat, ...);
    ``mean_shift`` = mean(level - reference), ``mean_abs_shift`` = mean |level - reference|,
    ``flip_share`` = share of pairs on opposite sides of the scale midpoint (an answer exactly
    on the midpoint has no side and never flips). Nominal items are skipped. ``value``:
    ``"expected"`` (default), ``"sampled"`` (``answer_code``) or ``"argmax"``.

    Returns ``[*by, item_id, factor, reference_level, level, n_pairs, mean_shift,
    mean_abs_shift, flip_share]``.

    >>> consistency_across(answers, factor="order", reference_level="original")
    ... # doctest: +SKIP
    """
    pairs, _ = _paired(answers, factor, reference_level, instrument, value)
    by = [c for c in _check_by(pairs, as_tuple(by), "answers frame") if c != factor]
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
    pairs, _ = _paired(answers, factor, reference_level, instrument, value)
    by = [c for c in _check_by(pairs, as_tuple(by), "answers frame") if c != factor]
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
    """Probability mass on the first and last presented option, against uniform 1/k.

    Why: Dominguez-Olmedo et al. (2024) show LLM survey answers are driven by where an
    option appears. Mass is computed per request from ``position`` (0-based presented
    position) and ``prob`` (renormalised), averaged over requests within each ``order``
    level and then over order levels, so every permutation weighs equally. ``uniform`` is
    the same average of 1/k (k = options shown); ``*_excess`` = mass - uniform.

    Returns ``[*by, (item_id,) n_requests, n_orders, first_mass, last_mass, uniform,
    first_excess, last_excess]``.

    >>> position_bias(dists, by=["model"], per_item=True)  # doctest: +SKIP
    """
    _require(distributions, ["request_id", "position", "prob"], "distributions frame")
    by = _check_by(distributions, as_tuple(by), "distributions frame")
    keys = [*by, "item_id"] if per_item else list(by)
    order_col = "order" if "order" in distributions.columns else None
    d = distributions
    grp = d.groupby("request_id", sort=False)
    total = grp["prob"].transform("sum")
    last_pos = grp["position"].transform("max")
    p = d["prob"] / total
    req = pd.DataFrame({
        "request_id": d["request_id"],
        "first": p.where(d["position"] == 0, 0.0),
        "last": p.where(d["position"] == last_pos, 0.0),
        "k": 1.0,
    }).groupby("request_id", sort=False).sum()
    meta_cols = [*keys, *([order_col] if order_col and order_col not in keys else [])]
    meta = d.drop_duplicates("request_id").set_index("request_id")[meta_cols]
    req = req.join(meta)
    req["uniform"] = 1.0 / req["k"]
    if order_col and order_col not in keys:
        per_order = req.groupby([*keys, order_col], dropna=False).agg(
            first=("first", "mean"), last=("last", "mean"), uniform=("uniform", "mean"),
            n=("k", "size"),
        ).reset_index()
        grouped = per_order.groupby(keys, dropna=False) if keys else per_order.groupby(
            lambda _: 0
        )
        out = grouped.agg(
            n_requests=("n", "sum"), n_orders=(order_col, "nunique"),
            first_mass=("first", "mean"), last_mass=("last", "mean"),
            uniform=("uniform", "mean"),
        )
    else:
        grouped = req.groupby(keys, dropna=False) if keys else req.groupby(lambda _: 0)
        out = grouped.agg(
            n_requests=("k", "size"), first_mass=("first", "mean"),
            last_mass=("last", "mean"), uniform=("uniform", "mean"),
        )
        out.insert(1, "n_orders", 1)
    out = out.reset_index(drop=not keys)
    out["first_excess"] = out["first_mass"] - out["uniform"]
    out["last_excess"] = out["last_mass"] - out["uniform"]
    return out[[*keys, "n_requests", "n_orders", "first_mass", "last_mass", "uniform",
                "first_excess", "last_excess"]]


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
    by = _check_by(frame, by, "answers frame")
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
