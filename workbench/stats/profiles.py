"""Where a model's score profile sits among published country and group scores.

* :func:`hofstede_distance` / :func:`nearest_countries`: Euclidean and correlation distance
  between a model's 6-D Hofstede profile and every country's published scores, ranked among
  countries with complete data; :func:`anchor_vsm_constants` fits the VSM constants on
  country personas so that the profile is on the countries' scale.
* :func:`mfq_zscores`: model foundation scores as z-scores within published norm groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.spatial import distance as ssd

from workbench.errors import WorkbenchError
from workbench.scoring import require_columns
from workbench.stats._common import as_instrument, as_tuple, check_by, group_iter

HOFSTEDE_DIMS: tuple[str, ...] = ("pdi", "idv", "mas", "uai", "lto", "ivr")


def _profile_groups(profile: pd.DataFrame, by: Sequence[str] | None) -> list[str]:
    require_columns(profile, ["score_id", "score"], "profile frame")
    if by is None:
        return [c for c in ("model", "persona", "language") if c in profile.columns]
    return check_by(profile, as_tuple(by), "profile frame")


def hofstede_distance(
    profile: pd.DataFrame,
    reference: pd.DataFrame,
    dims: Sequence[str] = HOFSTEDE_DIMS,
    by: Sequence[str] | None = None,
    kinds: Sequence[str] | None = ("country",),
    min_dims: int | None = None,
) -> pd.DataFrame:
    """Distance from a model's Hofstede profile to every country, nearest first.

    Why: "which country does the model resemble?" needs one number per country. ``profile``
    has ``score_id`` (PDI, IDV, ..., matched case-insensitively to ``dims``) and ``score``
    (e.g. from :func:`workbench.scoring.score_vsm2013`); ``reference`` is
    ``hofstede_6d.csv``. Distances use the dimensions both have (``n_dims``, out of the
    ``n_model_dims`` the profile has; 39 of the 101 countries lack some, often LTO/IVR):
    ``euclidean`` over them, ``rmsd`` = euclidean / sqrt(n_dims) (per shared dimension, so
    partial comparisons stay on one scale) and ``correlation_distance`` = 1 - Pearson r of
    the two profiles over the shared dimensions (NaN with fewer than 3). ``kinds`` filters
    the reference's ``kind`` column (None = all rows, including regions).

    A Euclidean distance over 2 dimensions is not comparable with one over 6 (fewer terms,
    smaller sums), so the ranks (``rank_euclidean``, ``rank_rmsd``, ``rank_correlation``
    = rank of ``correlation_distance``) are taken only among countries sharing at least
    ``min_dims`` dimensions with the profile (default: all the profile's dimensions, i.e.
    complete data) and are NaN for the others; rows are sorted by ``rank_euclidean``, then
    ``rmsd``.

    VSM indices are only on Hofstede's country scale with suitable constants ``C``. Each
    dimension has its own constant, so with the manual's default C = 0 both distances are
    affected: Euclidean by the offsets and the correlation distance too, because adding a
    different constant to each dimension changes the profile's shape, not only its level.
    See :func:`anchor_vsm_constants`.

    Returns ``[*by, hofstede_code, country, iso3, kind, n_model_dims, n_dims, euclidean,
    rmsd, correlation_distance, rank_euclidean, rank_rmsd, rank_correlation]``.

    >>> hofstede_distance(score_vsm2013(dists), pd.read_csv("data/reference/hofstede_6d.csv"))
    ... # doctest: +SKIP
    """
    by = _profile_groups(profile, by)
    dims = [d.lower() for d in dims]
    require_columns(reference, dims, "Hofstede reference frame")
    ref = reference
    if kinds is not None and "kind" in ref.columns:
        ref = ref[ref["kind"].isin(list(kinds))]
    ref = ref.reset_index(drop=True)
    ref_vals = ref[dims].to_numpy(dtype=float)
    id_cols = [c for c in ("hofstede_code", "country", "iso3", "kind") if c in ref.columns]
    out = []
    for group, sub in group_iter(profile, by):
        model = _model_dims(sub, dims)
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
        n_model = int((~np.isnan(model)).sum())
        frame["n_model_dims"] = n_model
        frame["n_dims"] = n_dims
        frame["euclidean"] = eucl
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["rmsd"] = eucl / np.sqrt(n_dims)
        frame["correlation_distance"] = corr
        comparable = frame["n_dims"] >= (n_model if min_dims is None else min_dims)
        for metric, rank in RANKS.items():
            frame[rank] = frame[metric].where(comparable).rank(method="min")
        out.append(frame.sort_values(["rank_euclidean", "rmsd"], na_position="last"))
    cols = [*by, *id_cols, "n_model_dims", "n_dims", "euclidean", "rmsd",
            "correlation_distance", *RANKS.values()]
    return pd.concat(out, ignore_index=True)[cols]


#: distance column -> the column ranking it
RANKS = {"euclidean": "rank_euclidean", "rmsd": "rank_rmsd",
         "correlation_distance": "rank_correlation"}


def _model_dims(sub: pd.DataFrame, dims: Sequence[str]) -> np.ndarray:
    scores = sub.assign(dim=sub["score_id"].str.lower()).groupby("dim")["score"].mean()
    model = scores.reindex(list(dims)).to_numpy(dtype=float)
    if np.isnan(model).all():
        raise WorkbenchError(
            f"the profile has none of the dimensions {list(dims)} (score_id values: "
            f"{sorted(sub['score_id'].unique())})"
        )
    return model


def nearest_countries(
    profile: pd.DataFrame,
    reference: pd.DataFrame,
    k: int = 10,
    metric: str = "euclidean",
    min_dims: int | None = None,
    **kwargs: object,
) -> pd.DataFrame:
    """The ``k`` countries closest to the model's Hofstede profile.

    Why: the short answer to "whose culture does this model's profile look like".
    By default only countries with every dimension the profile has are ranked
    (``min_dims=None``), by Euclidean distance. ``metric`` is ``"euclidean"``, ``"rmsd"``
    or ``"correlation_distance"``; with a smaller ``min_dims`` (partial comparisons) use
    ``"rmsd"``, the distance per shared dimension, since Euclidean distances over fewer
    dimensions are smaller by construction. ``ranked_by`` names the metric and
    ``rank_<metric>`` (``rank_correlation`` for the correlation distance) is the rank
    among the countries kept. Other arguments go to :func:`hofstede_distance`.

    Returns :func:`hofstede_distance`'s columns + ``ranked_by``, ``k`` rows per group.

    >>> nearest_countries(profile, hofstede, k=5)  # doctest: +SKIP
    """
    if metric not in RANKS:
        raise WorkbenchError(
            f"metric must be 'euclidean', 'rmsd' or 'correlation_distance', not '{metric}'"
        )
    dist = hofstede_distance(profile, reference, min_dims=min_dims, **kwargs)
    by = _profile_groups(profile, kwargs.get("by"))  # type: ignore[arg-type]
    dist = dist[dist[RANKS[metric]].notna()].sort_values(
        [*by, RANKS[metric], "rmsd"], na_position="last")
    dist = dist.assign(ranked_by=metric)
    if by:
        return dist.groupby(by, sort=False, dropna=False).head(k).reset_index(drop=True)
    return dist.head(k).reset_index(drop=True)


def anchor_vsm_constants(
    model_scores: pd.DataFrame,
    reference: pd.DataFrame,
    countries: Mapping[str, str] | Sequence[str],
    by: Sequence[str] = ("model",),
    persona_col: str = "persona",
    dims: Sequence[str] = HOFSTEDE_DIMS,
) -> pd.DataFrame:
    """VSM 2013 constants that anchor a model's indices on its country personas.

    Why: the VSM manual leaves the constants ``C`` free (default 0), so raw indices are not
    on Hofstede's 0-100 country scale and distances to countries depend on them. This fits
    one constant per dimension, ``C_d = mean over the given country personas of (published
    country score - model index)``. Anchoring on country personas makes the no-persona
    profile comparable to countries *relative to how the model represents those countries*:
    it removes the model's average offset on each dimension when it answers as those
    countries, not any error in how it represents them (their spread is ``residual_sd``,
    the SD over countries of published - index - C_d).

    ``model_scores`` is ``[*by, persona_col, score_id, score]`` from
    :func:`workbench.scoring.score_vsm2013` computed with C = 0 (the default; with other
    constants the result is the further shift to add). ``countries`` maps persona labels to
    ISO3 codes, or is a list of ISO3 codes for personas named ``country:<ISO3>``; personas
    whose country has no published score on a dimension are left out of that dimension
    (where ``reference`` has several rows per ISO3, the ``kind == "country"`` row is used).

    Returns ``[*by, score_id, constant_param, constant, n_countries, residual_sd]``; for one
    model, ``dict(zip(out.constant_param, out.constant))`` is the ``constants`` argument of
    :func:`workbench.scoring.score_vsm2013`.

    >>> c = anchor_vsm_constants(score_vsm2013(d, by=["model", "persona"]), hofstede,
    ...                          ["JPN", "USA", "DEU"])  # doctest: +SKIP
    """
    require_columns(model_scores, [persona_col, "score_id", "score"], "model scores")
    require_columns(reference, ["iso3", *[d.lower() for d in dims]], "Hofstede reference frame")
    by = check_by(model_scores, as_tuple(by), "model scores")
    if isinstance(countries, Mapping):
        persona_iso = {str(k): str(v).upper() for k, v in countries.items()}
    else:
        persona_iso = {f"country:{c.upper()}": c.upper() for c in countries}
        persona_iso.update({f"country:{c}": c.upper() for c in countries})
    scores = model_scores.assign(
        iso3=model_scores[persona_col].astype(str).map(persona_iso),
        dim=model_scores["score_id"].str.lower(),
    ).dropna(subset=["iso3"])
    scores = scores[scores["dim"].isin([d.lower() for d in dims])]
    if scores.empty:
        raise WorkbenchError(
            f"no scores for the anchor personas {sorted(persona_iso)[:5]} in column "
            f"'{persona_col}': pass scores by persona and the persona -> ISO3 mapping"
        )
    ref = reference.dropna(subset=["iso3"])
    if "kind" in ref.columns:  # a country's own row before sub-national groups (GEE -> DEU)
        ref = ref.iloc[np.argsort(ref["kind"].ne("country").to_numpy(), kind="stable")]
    ref = ref.groupby("iso3")[[d.lower() for d in dims]].first().reset_index().melt(
        id_vars="iso3", var_name="dim", value_name="published").dropna(subset=["published"])
    merged = scores.merge(ref, on=["iso3", "dim"], how="inner")
    merged["offset"] = merged["published"] - merged["score"]
    out = merged.groupby([*by, "score_id"], dropna=False, sort=False).agg(
        constant=("offset", "mean"), n_countries=("iso3", "nunique"),
        residual_sd=("offset", "std"),
    ).reset_index()
    params = {s.id.lower(): s.constant_param for s in as_instrument("vsm2013").scores}
    out["constant_param"] = out["score_id"].str.lower().map(params)
    return out[[*by, "score_id", "constant_param", "constant", "n_countries", "residual_sd"]]


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
    require_columns(foundation_scores, ["score_id", "score"], "foundation scores")
    require_columns(norms, [group_col, "foundation", "mean", "sd"], "norms frame")
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
    "anchor_vsm_constants",
    "hofstede_distance",
    "mfq_zscores",
    "nearest_countries",
]
