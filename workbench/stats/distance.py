"""Where a model's answers sit among countries.

* :func:`hofstede_distance` / :func:`nearest_countries`: Euclidean and correlation distance
  between a model's 6-D Hofstede profile and every country's published scores.
* :func:`wvs_similarity`: distributional similarity to each country's WVS answers, as in
  GlobalOpinionQA (Durmus et al. 2023, "Towards measuring the representation of subjective
  global opinions in language models"): per item ``1 - JSdist(p_model, p_country)``, where
  ``JSdist`` is the Jensen-Shannon *distance* (square root of the JS divergence) from
  :func:`scipy.spatial.distance.jensenshannon`, then the mean over items.
* :func:`inglehart_welzel_position`: places a model on the Inglehart-Welzel cultural map by
  regressing countries' map coordinates on their item means (statsmodels OLS).
* :func:`mfq_zscores`: model foundation scores as z-scores within published norm groups.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.spatial import distance as ssd

from workbench.errors import WorkbenchError
from workbench.scoring import _require
from workbench.stats._common import _check_by, as_tuple, group_iter

HOFSTEDE_DIMS: tuple[str, ...] = ("pdi", "idv", "mas", "uai", "lto", "ivr")
MAP_AXES: tuple[str, ...] = ("traditional_secular", "survival_self_expression")


def _profile_groups(profile: pd.DataFrame, by: Sequence[str] | None) -> list[str]:
    _require(profile, ["score_id", "score"], "profile frame")
    if by is None:
        return [c for c in ("model", "persona", "language") if c in profile.columns]
    return _check_by(profile, as_tuple(by), "profile frame")


def hofstede_distance(
    profile: pd.DataFrame,
    reference: pd.DataFrame,
    dims: Sequence[str] = HOFSTEDE_DIMS,
    by: Sequence[str] | None = None,
    kinds: Sequence[str] | None = ("country",),
) -> pd.DataFrame:
    """Distance from a model's Hofstede profile to every country, nearest first.

    Why: "which country does the model resemble?" needs one number per country. ``profile``
    has ``score_id`` (PDI, IDV, ..., matched case-insensitively to ``dims``) and ``score``
    (e.g. from :func:`workbench.scoring.score_vsm2013`); ``reference`` is
    ``hofstede_6d.csv``. Distances use the dimensions both have (``n_dims``; countries
    often lack LTO/IVR): ``euclidean`` over them, ``rmsd`` = euclidean / sqrt(n_dims)
    (comparable across different ``n_dims``) and ``correlation_distance`` = 1 - Pearson r
    of the profiles (shape, ignoring level; NaN with fewer than 3 dims). ``kinds`` filters
    the reference's ``kind`` column (None = all rows, including regions).

    Returns ``[*by, hofstede_code, country, iso3, kind, n_dims, euclidean, rmsd,
    correlation_distance, rank_euclidean, rank_correlation]`` sorted by ``euclidean``.

    >>> hofstede_distance(score_vsm2013(dists), pd.read_csv("data/reference/hofstede_6d.csv"))
    ... # doctest: +SKIP
    """
    by = _profile_groups(profile, by)
    dims = [d.lower() for d in dims]
    _require(reference, dims, "Hofstede reference frame")
    ref = reference
    if kinds is not None and "kind" in ref.columns:
        ref = ref[ref["kind"].isin(list(kinds))]
    ref = ref.reset_index(drop=True)
    ref_vals = ref[dims].to_numpy(dtype=float)
    id_cols = [c for c in ("hofstede_code", "country", "iso3", "kind") if c in ref.columns]
    out = []
    for group, sub in group_iter(profile, by):
        scores = sub.assign(dim=sub["score_id"].str.lower()).groupby("dim")["score"].mean()
        model = scores.reindex(dims).to_numpy(dtype=float)
        if np.isnan(model).all():
            raise WorkbenchError(
                f"the profile has none of the dimensions {dims} (score_id values: "
                f"{sorted(sub['score_id'].unique())})"
            )
        both = ~np.isnan(ref_vals) & ~np.isnan(model)
        diff = np.where(both, ref_vals - model, 0.0)
        n_dims = both.sum(axis=1)
        eucl = np.sqrt((diff**2).sum(axis=1))
        eucl = np.where(n_dims > 0, eucl, np.nan)
        corr = np.array([
            ssd.correlation(model[m], ref_vals[i, m])
            if m.sum() >= 3 and np.ptp(model[m]) > 0 and np.ptp(ref_vals[i, m]) > 0
            else np.nan
            for i, m in enumerate(both)
        ])
        frame = ref[id_cols].copy()
        for k, v in group.items():
            frame[k] = v
        frame["n_dims"] = n_dims
        frame["euclidean"] = eucl
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["rmsd"] = eucl / np.sqrt(n_dims)
        frame["correlation_distance"] = corr
        frame["rank_euclidean"] = frame["euclidean"].rank(method="min")
        frame["rank_correlation"] = frame["correlation_distance"].rank(method="min")
        out.append(frame.sort_values("euclidean", na_position="last"))
    cols = [*by, *id_cols, "n_dims", "euclidean", "rmsd", "correlation_distance",
            "rank_euclidean", "rank_correlation"]
    return pd.concat(out, ignore_index=True)[cols]


def nearest_countries(
    profile: pd.DataFrame,
    reference: pd.DataFrame,
    k: int = 10,
    metric: str = "euclidean",
    min_dims: int = 4,
    **kwargs: object,
) -> pd.DataFrame:
    """The ``k`` countries closest to the model's Hofstede profile.

    Why: the short answer to "whose culture does this model's profile look like".
    ``metric`` is ``"euclidean"``, ``"rmsd"`` or ``"correlation_distance"``; countries with
    fewer than ``min_dims`` shared dimensions are left out. Other arguments go to
    :func:`hofstede_distance`.

    >>> nearest_countries(profile, hofstede, k=5)  # doctest: +SKIP
    """
    if metric not in ("euclidean", "rmsd", "correlation_distance"):
        raise WorkbenchError(
            f"metric must be 'euclidean', 'rmsd' or 'correlation_distance', not '{metric}'"
        )
    dist = hofstede_distance(profile, reference, **kwargs)
    by = _profile_groups(profile, kwargs.get("by"))  # type: ignore[arg-type]
    dist = dist[dist["n_dims"] >= min_dims].sort_values([*by, metric], na_position="last")
    if by:
        return dist.groupby(by, sort=False, dropna=False).head(k).reset_index(drop=True)
    return dist.head(k).reset_index(drop=True)


def model_item_distributions(
    distributions: pd.DataFrame, by: Sequence[str] = ("model",)
) -> pd.DataFrame:
    """Average a model's answer distributions over requests: ``[*by, item_id, code, prob]``.

    Why: the model's answer distribution to an item is the mean of its per-request
    distributions (personas, variants, repeats), as a population's is the share of people.

    >>> model_item_distributions(dists, by=["model"])  # doctest: +SKIP
    """
    _require(distributions, ["request_id", "item_id", "code", "prob"], "distributions frame")
    by = _check_by(distributions, as_tuple(by), "distributions frame")
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
    min_items: int = 1,
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
    Countries are scored on the mean over the items both have (``n_items``); countries with
    fewer than ``min_items`` such items are dropped (raise it so that a country surveyed on a
    few items cannot top the ranking by chance).

    Returns ``[*by, iso3, country, similarity, n_items]`` sorted by similarity (best first),
    or with ``per_item=True`` one row per item: ``[*by, iso3, country, item_id,
    similarity]``.

    >>> wvs_similarity(dists, pd.read_csv("data/reference/wvs7_item_distributions.csv"))
    ... # doctest: +SKIP
    """
    _require(country_dists, ["iso3", "item_id", "code", "share"], "country distributions")
    if "request_id" in model_dists.columns:
        by_ = [c for c in as_tuple(by or ("model",)) if c in model_dists.columns]
        model_dists = model_item_distributions(model_dists, by_)
    _require(model_dists, ["item_id", "code", "prob"], "model distributions")
    if by is None:
        by = [c for c in model_dists.columns if c not in ("item_id", "code", "prob", "label",
                                                        "logprob", "position")]
        by = [c for c in by if c in ("model", "persona", "language", "order", "instrument")]
    by = _check_by(model_dists, as_tuple(by), "model distributions")
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
    agg = agg[agg["n_items"] >= min_items]
    return agg.sort_values([*by, "similarity"], ascending=[True] * len(by) + [False]).reset_index(
        drop=True
    )


def inglehart_welzel_position(
    model_item_values: pd.DataFrame,
    country_item_means: pd.DataFrame,
    country_positions: pd.DataFrame,
    by: Sequence[str] | None = None,
    axes: Sequence[str] = MAP_AXES,
    alpha: float = 0.05,
    items: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Place a model on the Inglehart-Welzel map from its item means.

    Why: the map's axes are factor scores of country item means; regressing each axis on the
    items over countries (statsmodels OLS, one model per axis) gives a rule that places any
    respondent with the same item means, with a 1 - ``alpha`` prediction interval for a new
    observation. ``model_item_values`` is ``[*by, item_id, value]`` and must use the same
    coding as ``country_item_means`` (``[iso3, item_id, value]``, e.g.
    ``wvs7_item_means.csv``); ``country_positions`` is ``wvs7_map.csv`` (``iso3`` + axes).
    Regressors are the items (or ``items``) that the model has and that every country with
    a position has; countries lacking any of them are dropped.

    Returns ``[*by, axis, estimate, pi_low, pi_high, r_squared, n_countries, n_items,
    items]``.

    >>> inglehart_welzel_position(item_values(d, "wvs7", by=["model"]), means, positions)
    ... # doctest: +SKIP
    """
    _require(model_item_values, ["item_id", "value"], "model item values")
    _require(country_item_means, ["iso3", "item_id", "value"], "country item means")
    _require(country_positions, ["iso3", *axes], "country positions")
    mv = model_item_values
    if "quantity" in mv.columns:
        mv = mv[mv["quantity"] == "mean"]
    if by is None:
        by = [c for c in ("model", "persona", "language") if c in mv.columns]
    by = _check_by(mv, as_tuple(by), "model item values")
    cw = country_item_means.pivot_table(index="iso3", columns="item_id", values="value",
                                        aggfunc="mean")
    pos = country_positions.groupby("iso3")[list(axes)].mean()
    cw = cw.join(pos, how="inner")
    index = by or ["_all"]
    mwide = mv.assign(_all=0).pivot_table(index=index, columns="item_id", values="value",
                                          aggfunc="mean")
    candidates = [str(i) for i in (items or mwide.columns)]
    candidates = [i for i in candidates if i in cw.columns and i in mwide.columns]
    if items is None:
        # keep items observed in (nearly) all countries, then drop incomplete countries
        coverage = cw[candidates].notna().mean()
        candidates = [i for i in candidates if coverage[i] >= 0.9]
    mwide = mwide[candidates].dropna(axis=1, how="any") if candidates else mwide
    candidates = [i for i in candidates if i in mwide.columns]
    rows = []
    for axis in axes:
        data = cw[[*candidates, axis]].dropna()
        n, k = data.shape[0], len(candidates)
        if k == 0 or n < k + 3:
            raise WorkbenchError(
                f"cannot fit the map axis '{axis}': {k} usable item(s) and {n} complete "
                f"countries; need items shared by the model and the countries and more "
                f"countries than items + 2"
            )
        fit = sm.OLS(data[axis], sm.add_constant(data[candidates], has_constant="add")).fit()
        x_new = sm.add_constant(mwide[candidates], has_constant="add")
        pred = fit.get_prediction(x_new).summary_frame(alpha=alpha)
        for idx, (_, row) in zip(mwide.index, pred.iterrows(), strict=True):
            key = idx if isinstance(idx, tuple) else (idx,)
            group = dict(zip(by, key, strict=True)) if by else {}
            rows.append({
                **group, "axis": axis, "estimate": float(row["mean"]),
                "pi_low": float(row["obs_ci_lower"]), "pi_high": float(row["obs_ci_upper"]),
                "r_squared": float(fit.rsquared), "n_countries": int(n), "n_items": k,
                "items": ",".join(candidates),
            })
    cols = [*by, "axis", "estimate", "pi_low", "pi_high", "r_squared", "n_countries",
            "n_items", "items"]
    return pd.DataFrame(rows, columns=cols)


def mfq_zscores(
    foundation_scores: pd.DataFrame,
    norms: pd.DataFrame,
    group_col: str = "group",
) -> pd.DataFrame:
    """Model foundation scores as z-scores against each norm group (or country).

    Why: puts a model's Care/Fairness/... next to human samples in their own units:
    ``z = (score - norm mean) / norm sd`` per (group, foundation). ``foundation_scores``
    is ``[..., score_id, score]`` (e.g. :func:`workbench.scoring.score_mfq`); ``norms`` is
    ``mfq30_norms.csv`` (``group_col="group"``) or ``mfq2_country_norms.csv``
    (``group_col="iso3"``). Both must be on the same scale (MFQ-30 0-5, MFQ-2 1-5). Norm rows
    with missing mean or sd give NaN z with a ``note``.

    Returns the score frame's columns + ``[group_col, foundation, norm_mean, norm_sd,
    norm_n, z, note]``, one row per (score row, group).

    >>> mfq_zscores(score_mfq(d), pd.read_csv("data/reference/mfq2_country_norms.csv"),
    ...             group_col="iso3")  # doctest: +SKIP
    """
    _require(foundation_scores, ["score_id", "score"], "foundation scores")
    _require(norms, [group_col, "foundation", "mean", "sd"], "norms frame")
    keep = [group_col, "foundation", "mean", "sd"] + (["n"] if "n" in norms.columns else [])
    extra = [c for c in ("country",) if c in norms.columns and c != group_col]
    nm = norms[[*keep[:1], *extra, *keep[1:]]].rename(
        columns={"mean": "norm_mean", "sd": "norm_sd", "n": "norm_n"}
    )
    scores = foundation_scores.assign(foundation=foundation_scores["score_id"].str.lower())
    nm = nm.assign(foundation=nm["foundation"].str.lower())
    unknown = sorted(set(scores["foundation"]) - set(nm["foundation"]))
    merged = scores.merge(nm, on="foundation", how="inner")
    if merged.empty:
        raise WorkbenchError(
            f"no foundation in the scores ({sorted(set(scores['foundation']))}) occurs in the "
            f"norms ({sorted(set(nm['foundation']))}): check the instrument and norms file"
        )
    sd = merged["norm_sd"].astype(float)
    merged["z"] = (merged["score"] - merged["norm_mean"].astype(float)) / sd.where(sd > 0)
    missing = merged["norm_mean"].isna() | merged["norm_sd"].isna()
    merged["note"] = np.where(missing, "norm missing", "")
    if unknown:
        merged.attrs["foundations_without_norms"] = unknown
    if "norm_n" not in merged.columns:
        merged["norm_n"] = np.nan
    return merged.reset_index(drop=True)


__all__ = [
    "HOFSTEDE_DIMS",
    "MAP_AXES",
    "hofstede_distance",
    "inglehart_welzel_position",
    "mfq_zscores",
    "model_item_distributions",
    "nearest_countries",
    "wvs_similarity",
]
