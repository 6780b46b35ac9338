"""Where a model's WVS answers sit among countries.

* :func:`wvs_similarity`: distributional similarity to each country's WVS answers, as in
  GlobalOpinionQA (Durmus et al. 2023, "Towards measuring the representation of subjective
  global opinions in language models"): per item ``1 - JSdist(p_model, p_country)``, where
  ``JSdist`` is the Jensen-Shannon *distance* (square root of the JS divergence) from
  :func:`scipy.spatial.distance.jensenshannon`, then the mean over items.
* :func:`inglehart_welzel_position`: places a model on the Inglehart-Welzel cultural map, a
  regression approximation: each axis's country coordinates regressed on that axis's own
  indicators (statsmodels OLS), with leave-one-out R² and an extrapolation flag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.spatial import distance as ssd

from workbench.errors import WorkbenchError
from workbench.scoring import require_columns, score_instrument
from workbench.stats._common import as_instrument, as_tuple, check_by, group_iter

MAP_AXES: tuple[str, ...] = ("traditional_secular", "survival_self_expression")


def model_item_distributions(
    distributions: pd.DataFrame, by: Sequence[str] = ("model",)
) -> pd.DataFrame:
    """Average a model's answer distributions over requests: ``[*by, item_id, code, prob]``.

    Why: the model's answer distribution to an item is the mean of its per-request
    distributions (personas, variants, repeats), as a population's is the share of people.

    >>> model_item_distributions(dists, by=["model"])  # doctest: +SKIP
    """
    require_columns(distributions, ["request_id", "item_id", "code", "prob"], "distributions frame")
    by = check_by(distributions, as_tuple(by), "distributions frame")
    d = distributions
    p = d["prob"] / d.groupby("request_id")["prob"].transform("sum")
    d = d.assign(prob=p)
    n_req = d.groupby([*by, "item_id"], dropna=False)["request_id"].nunique().rename("n")
    s = d.groupby([*by, "item_id", "code"], dropna=False)["prob"].sum().reset_index()
    s = s.merge(n_req.reset_index(), on=[*by, "item_id"])
    s["prob"] = s["prob"] / s["n"]
    return s.drop(columns="n")


def wvs_similarity(
    model_dists: pd.DataFrame,
    country_dists: pd.DataFrame,
    by: Sequence[str] | None = None,
    base: float = 2.0,
    per_item: bool = False,
    min_items: int | None = None,
) -> pd.DataFrame:
    """GlobalOpinionQA-style similarity of a model's answer distributions to each country's.

    Why: compares whole answer distributions, not just means (Durmus et al. 2023).
    ``model_dists`` is ``[*by, item_id, code, prob]`` (raw distributions are averaged over
    requests first with :func:`model_item_distributions`); ``country_dists`` is
    ``wvs7_item_distributions.csv`` (``iso3, country, item_id, code, share``). Per item both
    distributions are put on the union of codes (missing = 0) and renormalised;
    ``similarity = 1 - jensenshannon(p, q, base)``, the JS *distance* (sqrt of divergence,
    not squared). ``base=2`` (default) bounds it in [0, 1]; GlobalOpinionQA's released code
    calls scipy with its default natural log (``base=np.e``, range [1 - sqrt(ln 2), 1]).
    Countries are scored on the mean over the items both have (``n_items``, out of the
    ``n_model_items`` the model answered that occur in the country data). By default
    (``min_items=None``) only countries with every one of those items are kept, so that all
    are compared on the same items (in WVS-7, one country has 1 of the 14 items and one has
    3; with a few items a country can top the ranking by chance); an integer keeps countries
    with at least that many shared items (means over different item sets are then less
    comparable).

    Returns ``[*by, iso3, country, similarity, n_items, n_model_items]`` sorted by
    similarity (best first), or with ``per_item=True`` one row per item (no item filter):
    ``[*by, iso3, country, item_id, similarity]``.

    >>> wvs_similarity(dists, pd.read_csv("data/reference/wvs7_item_distributions.csv"))
    ... # doctest: +SKIP
    """
    require_columns(country_dists, ["iso3", "item_id", "code", "share"], "country distributions")
    if "request_id" in model_dists.columns:
        by_ = [c for c in as_tuple(by or ("model",)) if c in model_dists.columns]
        model_dists = model_item_distributions(model_dists, by_)
    require_columns(model_dists, ["item_id", "code", "prob"], "model distributions")
    if by is None:
        by = [c for c in model_dists.columns if c not in ("item_id", "code", "prob", "label",
                                                        "logprob", "position")]
        by = [c for c in by if c in ("model", "persona", "language", "order", "instrument")]
    by = check_by(model_dists, as_tuple(by), "model distributions")
    cdist = country_dists.copy()
    if "country" not in cdist.columns:
        cdist["country"] = cdist["iso3"]
    cdist = cdist.groupby(["iso3", "country", "item_id", "code"], as_index=False)["share"].sum()
    cwide = cdist.pivot_table(
        index=["iso3", "country", "item_id"], columns="code", values="share", aggfunc="sum"
    )
    out = []
    for group, sub in group_iter(model_dists, by):
        mwide = sub.pivot_table(index="item_id", columns="code", values="prob", aggfunc="sum")
        items = sorted(set(mwide.index) & set(cwide.index.get_level_values("item_id")))
        if not items:
            raise WorkbenchError(
                "the model's items and the country distributions share no item_id: check "
                "that both use the WVS item ids (e.g. Q8, Q154)"
            )
        codes = sorted(set(mwide.columns) | set(cwide.columns))
        c = cwide[cwide.index.get_level_values("item_id").isin(items)].reindex(columns=codes)
        m = mwide.reindex(index=c.index.get_level_values("item_id"), columns=codes)
        p = np.nan_to_num(m.to_numpy(dtype=float))
        q = np.nan_to_num(c.to_numpy(dtype=float))
        ok = (p.sum(axis=1) > 0) & (q.sum(axis=1) > 0)
        sim = np.full(len(c), np.nan)
        sim[ok] = 1.0 - ssd.jensenshannon(p[ok], q[ok], axis=1, base=base)
        frame = c.index.to_frame(index=False)
        frame["similarity"] = sim
        for k, v in group.items():
            frame[k] = v
        out.append(frame.dropna(subset=["similarity"]))
    per = pd.concat(out, ignore_index=True)
    if per_item:
        return per[[*by, "iso3", "country", "item_id", "similarity"]]
    agg = per.groupby([*by, "iso3", "country"], dropna=False).agg(
        similarity=("similarity", "mean"), n_items=("item_id", "nunique")
    ).reset_index()
    n_model = per.groupby(by, dropna=False)["item_id"].nunique() if by else pd.Series(
        [per["item_id"].nunique()])
    agg["n_model_items"] = (agg.merge(n_model.rename("_n").reset_index(), on=by, how="left")[
        "_n"].to_numpy() if by else int(n_model.iloc[0]))
    need = agg["n_model_items"] if min_items is None else min_items
    agg = agg[agg["n_items"] >= need]
    return agg.sort_values([*by, "similarity"], ascending=[True] * len(by) + [False]).reset_index(
        drop=True
    )


#: Indicators of each Inglehart-Welzel map axis (Inglehart & Welzel 2005; WVS-7 score ids of
#: ``data/instruments/wvs7.yaml``): traditional/secular-rational = importance of God (Q164),
#: autonomy index (Q8, Q14, Q15, Q17), abortion justifiable (Q184), national pride (Q254),
#: respect for authority (Q45); survival/self-expression = happiness (Q46), homosexuality
#: justifiable (Q182), signing a petition (Q209), generalised trust (Q57), post-materialism
#: index (Q154, Q155).
MAP_PREDICTORS: dict[str, tuple[str, ...]] = {
    "traditional_secular": ("god_importance", "autonomy", "abortion_justifiable",
                            "national_pride_code", "authority_code"),
    "survival_self_expression": ("happiness_code", "homosexuality_justifiable",
                                 "petition_code", "trust_code", "postmaterialism"),
}
MAP_COLUMNS = [
    "axis", "estimate", "pi_low", "pi_high", "r_squared", "r_squared_loo", "n_countries",
    "n_predictors", "predictors", "n_items", "items", "leverage", "max_country_leverage",
    "mahalanobis", "extrapolation", "method", "note",
]


def map_indicators(
    data: pd.DataFrame, by: Sequence[str] | None = None, instrument: str = "wvs7"
) -> pd.DataFrame:
    """The Inglehart-Welzel indicators (WVS-7 scores) of a model or of countries.

    Why: both sides of the map regression must be scored the same way. ``data`` is either
    a model's distributions frame (``request_id, item_id, code, prob``; scored per ``by``
    group, default ``model``) or country answer shares (``wvs7_item_distributions.csv``:
    ``iso3, item_id, code, share``; scored per ``iso3``). Both go through
    :func:`workbench.scoring.score_instrument`: the autonomy and post-materialism indices
    are linear in answer probabilities, so a country's index computed from its answer
    shares is the index of its population, as a model's is of its answer probabilities.

    Returns ``[*by | iso3, score_id, score]``.

    >>> map_indicators(pd.read_csv("data/reference/wvs7_item_distributions.csv"))
    ... # doctest: +SKIP
    """
    if {"iso3", "code", "share"} <= set(data.columns):
        frame = data.assign(instrument=instrument, persona=data["iso3"].astype(str),
                            request_id=data["iso3"].astype(str) + "|" + data["item_id"],
                            prob=data["share"])
        frame = frame[["instrument", "persona", "item_id", "request_id", "code", "prob"]]
        out = score_instrument(frame, instrument, by=["persona"])
        return out.rename(columns={"persona": "iso3"})[["iso3", "score_id", "score"]]
    require_columns(data, ["request_id", "item_id", "code", "prob"], "distributions frame")
    if by is None:
        by = [c for c in ("model", "persona", "language") if c in data.columns]
    by = check_by(data, as_tuple(by), "distributions frame")
    return score_instrument(data, instrument, by=by)[[*by, "score_id", "score"]]


def inglehart_welzel_position(
    model: pd.DataFrame,
    countries: pd.DataFrame,
    country_positions: pd.DataFrame,
    by: Sequence[str] | None = None,
    axes: Sequence[str] = MAP_AXES,
    alpha: float = 0.05,
    predictors: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Place a model on the Inglehart-Welzel map: a regression approximation per axis.

    Why: the published map coordinates are factor scores from a country-level factor
    analysis of individual survey data, not a formula for one respondent. Each axis is
    approximated by an OLS regression (statsmodels), over the countries with complete data,
    of the countries' coordinate on that axis's own indicators only (``MAP_PREDICTORS``:
    five per axis, none shared); the fit is applied to the model's indicators, with a
    1 - ``alpha`` prediction interval for a new observation.

    * ``model``: the model's WVS-7 distributions, or its indicators ``[*by, score_id,
      score]`` (:func:`map_indicators`); ``by`` defaults to the model/persona/language
      columns present.
    * ``countries``: ``wvs7_item_distributions.csv`` (``iso3, item_id, code, share``), or
      country indicators ``[iso3, score_id, score]``.
    * ``country_positions``: ``wvs7_map.csv`` (``iso3`` + the axes).

    How good the approximation is: ``r_squared`` (in sample, optimistic) and
    ``r_squared_loo`` = 1 - PRESS / total SS (leave-one-country-out prediction, from the
    hat matrix). Whether the model lies inside the countries' predictor cloud:
    ``leverage`` h0 = x0' (X'X)^-1 x0 of its indicators, ``mahalanobis`` distance from the
    countries' mean (sample covariance; h0 = 1/n + D^2 / (n - 1)) and ``extrapolation`` =
    h0 above the largest country leverage (``max_country_leverage``; the "hidden
    extrapolation" rule of Montgomery, Peck & Vining, Introduction to Linear Regression
    Analysis, sec. 3.8): such a placement extrapolates the fit. A model lacking an indicator
    of an axis gets NaN there and a ``note``.

    Returns ``[*by, axis, estimate, pi_low, pi_high, r_squared, r_squared_loo, n_countries,
    n_predictors, predictors, n_items, items, leverage, max_country_leverage, mahalanobis,
    extrapolation, method, note]``.

    >>> inglehart_welzel_position(dists, reference.wvs_distributions(), reference.wvs_map())
    ... # doctest: +SKIP
    """
    predictors = dict(predictors or MAP_PREDICTORS)
    missing_axes = [a for a in axes if a not in predictors]
    if missing_axes:
        raise WorkbenchError(f"no predictors for map axis/axes {missing_axes}: pass predictors")
    require_columns(country_positions, ["iso3", *axes], "country positions")
    if {"request_id", "code", "prob"} <= set(model.columns):
        model = map_indicators(model, by)
    require_columns(model, ["score_id", "score"], "model indicators (or distributions)")
    if by is None:
        by = [c for c in ("model", "persona", "language") if c in model.columns]
    by = check_by(model, as_tuple(by), "model indicators")
    if {"iso3", "code", "share"} <= set(countries.columns):
        countries = map_indicators(countries)
    require_columns(countries, ["iso3", "score_id", "score"], "country indicators (or shares)")
    cw = countries.pivot_table(index="iso3", columns="score_id", values="score",
                               aggfunc="mean")
    pos = country_positions.groupby("iso3")[list(axes)].mean()
    cw = cw.join(pos, how="inner")
    index = by or ["_all"]
    mwide = model.assign(_all=0).pivot_table(index=index, columns="score_id", values="score",
                                             aggfunc="mean")
    item_names = _indicator_items()
    rows = []
    for axis in axes:
        preds = [str(p) for p in predictors[axis]]
        absent = [p for p in preds if p not in cw.columns]
        if absent:
            raise WorkbenchError(f"the country data lack indicator(s) {absent} of '{axis}'")
        data = cw[[*preds, axis]].dropna()
        n, k = data.shape[0], len(preds)
        if n < k + 3:
            raise WorkbenchError(
                f"cannot fit the map axis '{axis}': {n} countries with all of {preds} and a "
                f"position; need at least {k + 3}"
            )
        x = sm.add_constant(data[preds].to_numpy(dtype=float), has_constant="add")
        fit = sm.OLS(data[axis].to_numpy(dtype=float), x).fit()
        hat = fit.get_influence().hat_matrix_diag
        press = float(((fit.resid / (1 - hat)) ** 2).sum())
        sst = float(((data[axis] - data[axis].mean()) ** 2).sum())
        xtx_inv = np.linalg.inv(x.T @ x)
        centre = data[preds].mean().to_numpy(dtype=float)
        cov_inv = np.linalg.pinv(np.atleast_2d(np.cov(data[preds].to_numpy(dtype=float),
                                                      rowvar=False)))
        items = sorted({i for p in preds for i in item_names.get(p, [p])}, key=_qkey)
        common = {
            "axis": axis, "r_squared": float(fit.rsquared),
            "r_squared_loo": 1 - press / sst if sst > 0 else np.nan,
            "n_countries": int(n), "n_predictors": k, "predictors": ",".join(preds),
            "n_items": len(items), "items": ",".join(items),
            "max_country_leverage": float(hat.max()),
            "method": "regression approximation (OLS on the axis's own indicators)",
        }
        for idx, row in mwide.reindex(columns=preds).iterrows():
            key = idx if isinstance(idx, tuple) else (idx,)
            group = dict(zip(by, key, strict=True)) if by else {}
            x0 = row.to_numpy(dtype=float)
            out = {**group, **common, "estimate": np.nan, "pi_low": np.nan,
                   "pi_high": np.nan, "leverage": np.nan, "mahalanobis": np.nan,
                   "extrapolation": False, "note": ""}
            if np.isnan(x0).any():
                lacking = [p for p, v in zip(preds, x0, strict=True) if np.isnan(v)]
                out["note"] = f"model lacks indicator(s) {', '.join(lacking)}"
                rows.append(out)
                continue
            x0c = np.concatenate([[1.0], x0])
            pred = fit.get_prediction(x0c[None, :]).summary_frame(alpha=alpha).iloc[0]
            lev = float(x0c @ xtx_inv @ x0c)
            dev = x0 - centre
            out.update(
                estimate=float(pred["mean"]), pi_low=float(pred["obs_ci_lower"]),
                pi_high=float(pred["obs_ci_upper"]), leverage=lev,
                mahalanobis=float(np.sqrt(max(dev @ cov_inv @ dev, 0.0))),
                extrapolation=bool(lev > hat.max() + 1e-12),
            )
            if out["extrapolation"]:
                out["note"] = "outside the countries' indicator range: extrapolated"
            rows.append(out)
    return pd.DataFrame(rows, columns=[*by, *MAP_COLUMNS])


def _indicator_items(instrument: str = "wvs7") -> dict[str, list[str]]:
    """Score id -> the WVS items it is computed from."""
    try:
        inst = as_instrument(instrument)
    except WorkbenchError:
        return {}
    return {s.id: list(dict.fromkeys(s.items if s.method == "mean" else
                                     [t.item for t in s.terms])) for s in inst.scores}


def _qkey(item: str) -> tuple[int, str]:
    digits = "".join(ch for ch in item if ch.isdigit())
    return (int(digits) if digits else 0, item)


__all__ = [
    "MAP_AXES",
    "MAP_PREDICTORS",
    "inglehart_welzel_position",
    "map_indicators",
    "model_item_distributions",
    "wvs_similarity",
]
