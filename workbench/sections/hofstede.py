"""Hofstede section: VSM 2013 indices per model with intervals, next to selected countries,
and the countries nearest to each model's profile.

Distances: :func:`workbench.stats.hofstede_distance` (Euclidean, RMSD per shared dimension,
correlation distance) ranked among comparable countries (:func:`rank_comparable`).
Reference: Hofstede & Minkov (2013), *VSM 2013 Manual*; Hofstede et al. (2010).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from workbench import reference
from workbench.scoring import score_instrument
from workbench.sections.base import (
    ReportData,
    Section,
    absent_note,
    attempt,
    bootstrap_or_note,
    with_intervals,
)
from workbench.sections.registry import section
from workbench.sections.render import interval_bars, safe_frame, style_figure
from workbench.sections.settings import Settings
from workbench.stats import hofstede_distance, nearest_countries

DIMENSIONS = ("PDI", "IDV", "MAS", "UAI", "LTO", "IVR")


def profile_bars(profile: pd.DataFrame, title: str = "Hofstede profile") -> go.Figure:
    """Grouped bars per dimension: models (with intervals) and countries (hatched)."""
    p = safe_frame(profile)
    fig = go.Figure()
    for (subject, kind), sub in p.groupby(["subject", "kind"], sort=False):
        fig.add_bar(x=sub["dimension"], y=sub["score"], name=subject,
                    error_y=interval_bars(sub),
                    marker_pattern_shape="/" if kind == "country" else "",
                    opacity=0.65 if kind == "country" else 1.0,
                    hovertemplate=f"{subject}<br>%{{x}}: %{{y:.1f}}<extra></extra>")
    return style_figure(fig, title, barmode="group", yaxis_title="index / score")


def hofstede_figures(s: Section) -> list[go.Figure]:
    return [profile_bars(s.data["profile"], "Hofstede profile: models and selected countries")]


@section("hofstede", title="Hofstede dimensions (VSM 2013)", reports={"compare": 20},
         figures=hofstede_figures,
         description="VSM 2013 indices per model (expanded-percentile bootstrap intervals over "
                     "personas/variants where there are several), next to the selected "
                     "countries' published scores, and the countries nearest to each model's "
                     "six-dimensional profile (RMSD per shared dimension and correlation "
                     "distance, with ranks).")
def hofstede_section(data: ReportData, settings: Settings) -> Section:
    """VSM 2013 profile per model, next to selected countries, and the nearest countries.

    ``data["profile"]`` is long (``subject, kind, dimension, score, ci_low, ci_high``);
    tables hold the wide profile, the ``k_nearest`` countries per model (Euclidean distance
    among countries with every dimension the model has, or with at least
    ``hofstede_min_dims`` dimensions; RMSD and correlation distance alongside) and the
    distances to the selected countries.
    """
    sec = Section()
    d = data.dists("vsm2013")
    if d.empty:
        sec.notes.append(absent_note("vsm2013", data))
        return sec
    constants = dict(settings.vsm_constants)
    scores = attempt(sec, "VSM 2013 scores", score_instrument, d, "vsm2013", by=["model"],
                     constants=constants)
    if scores is None:
        return sec
    if not any(constants.values()):
        sec.notes.append(
            "VSM constants are all 0 (the default): indices keep the manual's formulas but are "
            "not anchored to Hofstede's 0-100 country scale. Each dimension has its own "
            "constant, so both distances depend on them: Euclidean through the offsets and "
            "the correlation distance because different shifts per dimension change the "
            "profile's shape. workbench.stats.anchor_vsm_constants fits constants on country "
            "personas")
    boot = bootstrap_or_note(sec, d, "vsm2013", ["model"], settings, items=False,
                             constants=constants)
    prof = with_intervals(scores, boot, ["model"])
    long = prof.rename(columns={"model": "subject", "score_id": "dimension"}).assign(
        kind="model")[["subject", "kind", "dimension", "score", "ci_low", "ci_high"]]
    ref = attempt(sec, "Hofstede country scores", reference.hofstede_scores)
    countries: list[str] = []
    if ref is not None:
        countries = [c.upper() for c in settings.countries]
        unknown = sorted(set(countries) - set(ref["iso3"].dropna()))
        if unknown:
            sec.notes.append(f"no Hofstede scores for selected countries: {', '.join(unknown)}")
        hl = attempt(sec, "Hofstede country scores", reference.hofstede_long)
        if hl is not None:
            hl = hl[hl["iso3"].isin(countries)].rename(columns={"country": "subject"})
            long = pd.concat([long, hl.assign(kind="country", ci_low=np.nan, ci_high=np.nan)[
                ["subject", "kind", "dimension", "score", "ci_low", "ci_high"]]],
                ignore_index=True)
    sec.data["profile"] = long
    wide = long.pivot_table(index=["kind", "subject"], columns="dimension", values="score",
                            sort=False).reset_index()
    dims = [d_ for d_ in DIMENSIONS if d_ in wide.columns]
    sec.tables["Profile: models and selected countries"] = wide[["kind", "subject", *dims]]
    if prof["ci_low"].notna().any():
        sec.tables[f"Model indices with {settings.ci:.0%} bootstrap intervals"] = prof
    if ref is not None:
        _distances(sec, scores[["model", "score_id", "score"]], ref, countries,
                   settings.k_nearest, settings.hofstede_min_dims)
    return sec


def rank_comparable(dist: pd.DataFrame, by: Sequence[str],
                    min_dims: int | None = None) -> pd.DataFrame:
    """Countries comparable with the profile, re-ranked within ``by``.

    Why: a Euclidean distance over two published dimensions is smaller than one over six by
    construction. ``min_dims=None`` keeps countries with every dimension the profile has
    (``n_model_dims`` of :func:`workbench.stats.hofstede_distance`); an integer keeps those
    sharing at least that many (then compare them by ``rmsd``, per shared dimension).
    """
    if min_dims is None:
        need = (dist["n_model_dims"] if "n_model_dims" in dist.columns
                else dist.groupby(list(by))["n_dims"].transform("max"))
    else:
        need = min_dims
    comparable = dist[dist["n_dims"] >= need].copy()
    for metric, rank in (("euclidean", "rank_euclidean"), ("rmsd", "rank_rmsd"),
                         ("correlation_distance", "rank_correlation")):
        comparable[rank] = comparable.groupby(list(by))[metric].rank(method="min")
    return comparable


def _distances(sec: Section, profile: pd.DataFrame, ref: pd.DataFrame,
               countries: Sequence[str], k: int, min_dims: int | None) -> None:
    """Nearest countries and distances to the selected ones, ranked among comparable countries.

    By default only countries with every dimension the model has are ranked, by Euclidean
    distance; with ``min_dims`` countries sharing at least that many are ranked by RMSD
    (Euclidean per shared dimension), since Euclidean sums over fewer dimensions are smaller.
    """
    metric = "euclidean" if min_dims is None else "rmsd"
    rank = {"euclidean": "rank_euclidean", "rmsd": "rank_rmsd"}[metric]
    cols = ["model", "country", "iso3", "n_dims", metric, rank,
            *[c for c in ("euclidean", "rmsd") if c != metric],
            "correlation_distance", "rank_correlation"]
    dist = attempt(sec, "country distances", hofstede_distance, profile, ref, by=["model"])
    if dist is None:
        return
    comparable = rank_comparable(dist, ["model"], min_dims)
    n = comparable.groupby("model")["iso3"].nunique().max()
    which = ("every dimension the model has" if min_dims is None
             else f"at least {min_dims} dimensions")
    near = attempt(sec, "nearest countries", nearest_countries, profile, ref, k=k,
                   metric=metric, min_dims=min_dims, by=["model"])
    if near is not None:
        near = near[["model", "iso3"]].merge(comparable, on=["model", "iso3"], how="left")
        near["ranked_by"] = metric
        sec.data["nearest"] = near
        sec.tables[f"Nearest {k} countries per model ({metric}; ranks among {n} countries "
                   f"with {which})"] = near[cols]
    if countries:
        sel = dist[dist["iso3"].isin(countries)].drop(
            columns=["rank_euclidean", "rank_rmsd", "rank_correlation"], errors="ignore").merge(
            comparable[["model", "iso3", "n_dims", "rank_euclidean", "rank_rmsd",
                        "rank_correlation"]], on=["model", "iso3", "n_dims"], how="left")
        sec.data["selected_distance"] = sel
        sec.tables["Distance to the selected countries (rank among comparable countries; "
                   f"none unless the country has {which})"] = sel[cols]
