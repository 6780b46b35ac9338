"""Country-persona sections: does a model asked to answer as "a typical person from
<country>" move toward that country's human profile?

Per dimension or map axis, persona scores are correlated over countries with the published
scores (Pearson r with a Fisher-z interval, Spearman rho; :func:`correlation_table`); each
persona's own country is ranked among all countries by profile distance or WVS answer
similarity; and the VSM constants are anchored on the country personas
(:func:`workbench.stats.anchor_vsm_constants`), with leave-one-out own-country ranks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy import stats as sps

from workbench import reference
from workbench.scoring import score_instrument
from workbench.sections import marks
from workbench.sections.base import (
    NOT_AVAILABLE,
    ReportData,
    Section,
    absent_note,
    attempt,
    country_names,
    persona_iso3,
)
from workbench.sections.hofstede import rank_comparable
from workbench.sections.registry import section
from workbench.sections.render import colors, safe_frame, style_figure
from workbench.sections.settings import Settings
from workbench.sections.wvs import MAP_AXIS_TITLES, SE, TS, map_positions
from workbench.stats import (
    anchor_vsm_constants,
    hofstede_distance,
    nearest_countries,
    wvs_similarity,
)


# ---------------------------------------------------------------------- figures
def persona_scatter(points: pd.DataFrame, x: str = "human", y: str = "persona_score",
                    facet: str = "score_id",
                    title: str = "Persona scores vs human country scores") -> go.Figure:
    """One panel per dimension: country personas' scores against the country's own."""
    p = safe_frame(points)
    facets = list(dict.fromkeys(p[facet]))
    cols = min(3, max(len(facets), 1))
    rows = int(np.ceil(len(facets) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=facets)
    palette = colors(p["model"])
    for i, f in enumerate(facets):
        sub = p[p[facet] == f]
        for model, ms in sub.groupby("model", sort=False):
            fig.add_scatter(x=ms[x], y=ms[y], mode="markers+text", text=ms["iso3"],
                            textposition="top center", name=model, legendgroup=model,
                            marker_color=palette[model], showlegend=i == 0,
                            marker_opacity=_opacity(ms), row=i // cols + 1, col=i % cols + 1,
                            hovertemplate=f"{model}<br>%{{text}}: human %{{x:.2f}}, "
                                          "persona %{y:.2f}<extra></extra>")
    style_figure(fig, title, height=300 * rows + 80)
    return marks.caption(fig, marks.is_faded(p))


def _opacity(frame: pd.DataFrame) -> np.ndarray | float:
    """Per point: faded where the persona's validity verdict is not interpretable."""
    if marks.VALIDITY not in frame.columns:
        return 1.0
    return np.where(marks.unreadable(frame[marks.VALIDITY]), marks.FADED_MARKER_OPACITY, 1.0)


def persona_map(points: pd.DataFrame, countries: pd.DataFrame,
                baseline: pd.DataFrame | None = None) -> go.Figure:
    """Each persona's estimated map position joined to its country's real position."""
    c = safe_frame(countries)
    p = safe_frame(points)
    fig = go.Figure()
    fig.add_scatter(x=c[SE], y=c[TS], mode="markers", name="countries", text=c["country"],
                    marker={"color": "#c8c8c8", "size": 6}, hovertemplate="%{text}<extra></extra>")
    palette = colors(p["model"])
    for model, ms in p.groupby("model", sort=False):
        xs, ys = [], []
        for _, row in ms.iterrows():
            xs += [row[SE], row[f"estimate_{SE}"], None]
            ys += [row[TS], row[f"estimate_{TS}"], None]
        fig.add_scatter(x=xs, y=ys, mode="lines", line={"color": palette[model], "width": 1},
                        name=f"{model}: country -> persona", hoverinfo="skip")
        fig.add_scatter(x=ms[f"estimate_{SE}"], y=ms[f"estimate_{TS}"], mode="markers+text",
                        text=ms["iso3"], textposition="bottom center", name=f"{model} personas",
                        marker={"color": palette[model], "size": 10, "opacity": _opacity(ms)},
                        hovertemplate="%{text} persona<extra></extra>")
    if baseline is not None and not baseline.empty:
        b = safe_frame(baseline)
        fig.add_scatter(x=b[f"estimate_{SE}"], y=b[f"estimate_{TS}"], mode="markers+text",
                        text=b["model"], name="no persona", marker={"symbol": "star",
                                                                    "size": 16},
                        hovertemplate="%{text} without persona<extra></extra>")
    style_figure(fig, "Country personas on the map (line: real country -> persona)",
                 height=600, **MAP_AXIS_TITLES)
    return marks.caption(fig, marks.is_faded(p))


def persona_hofstede_figures(s: Section) -> list[go.Figure]:
    return [persona_scatter(s.data["points"])] if "points" in s.data else []


def persona_map_figures(s: Section) -> list[go.Figure]:
    return [persona_map(s.data["points"], s.data["countries"], s.data.get("baseline"))]


# ---------------------------------------------------------------------- helpers
def correlation_table(frame: pd.DataFrame, x: str, y: str, by: Sequence[str],
                      ci: float = 0.95) -> pd.DataFrame:
    """Pearson r (with a ``ci`` confidence interval, scipy) and Spearman rho per group.

    Why: "do persona scores follow the countries' human scores?" is a correlation over
    countries; with few countries the interval is wide and shown as such. r needs 3 points
    and a varying x and y; its interval needs 4 (Fisher z).
    """
    rows = []
    groups = frame.groupby(list(by), sort=True) if by else [((), frame)]
    for key, sub in groups:
        key = key if isinstance(key, tuple) else (key,)
        sub = sub[[x, y]].dropna()
        row = dict(zip(by, key, strict=True))
        row.update(n=len(sub), r=np.nan, ci_low=np.nan, ci_high=np.nan, p_value=np.nan,
                   spearman_rho=np.nan, spearman_p=np.nan)
        if len(sub) >= 3 and sub[x].nunique() > 1 and sub[y].nunique() > 1:
            res = sps.pearsonr(sub[x], sub[y])
            row.update(r=float(res.statistic), p_value=float(res.pvalue))
            if len(sub) >= 4:
                lo, hi = res.confidence_interval(confidence_level=ci)
                row.update(ci_low=float(lo), ci_high=float(hi))
            sp = sps.spearmanr(sub[x], sub[y])
            row.update(spearman_rho=float(sp.statistic), spearman_p=float(sp.pvalue))
        rows.append(row)
    return pd.DataFrame(rows, columns=[*by, "n", "r", "ci_low", "ci_high", "p_value",
                                       "spearman_rho", "spearman_p"])


def country_personas(data: ReportData) -> pd.DataFrame:
    """The stored ``country:ISO3`` personas: ``persona, iso3``."""
    personas = pd.Series(sorted(data.answers["persona"].unique()), dtype=object)
    iso = personas.map(persona_iso3)
    return pd.DataFrame({"persona": personas, "iso3": iso}).dropna(subset=["iso3"])


def _no_personas_note(instrument: str, data: ReportData, instrument_absent: bool) -> str:
    return (absent_note(instrument, data) if instrument_absent else
            f"{NOT_AVAILABLE}: no country personas in this selection")


# ---------------------------------------------------------------------- sections
@section("country_personas", title="Country personas", reports={"culture": 10})
def country_personas_section(data: ReportData, settings: Settings) -> Section:
    """Which country personas are stored, and which have human reference data."""
    sec = Section(notes=list(data.notes))
    cp = country_personas(data)
    if cp.empty:
        sec.notes.append(f"{NOT_AVAILABLE}: no country personas (country:ISO3) in this "
                         "selection; probe a design such as designs/culture_personas.yaml")
        return sec
    names = country_names()
    hof = set(reference.hofstede_scores()["iso3"].dropna())
    wmap = set(reference.wvs_map()["iso3"])
    counts = data.answers.groupby(["persona", "model"]).size().unstack(fill_value=0)
    cp = cp.assign(country=cp["iso3"].map(names), hofstede=cp["iso3"].isin(hof),
                   wvs_map=cp["iso3"].isin(wmap))
    cp = cp.merge(counts.reset_index(), on="persona", how="left")
    texts = data.personas.groupby("persona")["persona_text"].first()
    cp["persona_text"] = cp["persona"].map(texts)
    sec.data["personas"] = cp
    sec.tables["Country personas (answers per model)"] = cp
    return sec


@section("persona_hofstede", title="Hofstede dimensions by persona country",
         reports={"culture": 20}, figures=persona_hofstede_figures,
         description="VSM 2013 indices of each country persona against that country's "
                     "Hofstede scores. Correlations are over countries, so with a dozen "
                     "personas their intervals are wide.")
def persona_hofstede_section(data: ReportData, settings: Settings) -> Section:
    """Per dimension: correlation over countries of persona scores with human scores.

    Also, per persona country, the rank of its own country among all countries by distance
    to the persona's profile, and whether the persona is closer to its country than the
    baseline (``settings.baseline``, no persona) is.
    """
    ci, baseline, min_dims = settings.ci, settings.baseline, settings.hofstede_min_dims
    sec = Section()
    d = data.dists("vsm2013")
    cp = country_personas(data)
    if d.empty or cp.empty:
        sec.notes.append(_no_personas_note("vsm2013", data, d.empty))
        return sec
    scores = attempt(sec, "VSM 2013 scores by persona", score_instrument, d, "vsm2013",
                     by=["model", "persona"], constants=dict(settings.vsm_constants))
    if scores is None:
        return sec
    hof = reference.hofstede_long()
    pts = scores.merge(cp, on="persona").merge(
        hof.rename(columns={"dimension": "score_id", "score": "human"})[
            ["iso3", "country", "score_id", "human"]], on=["iso3", "score_id"])
    pts = marks.mark_scores(pts.rename(columns={"score": "persona_score"})[
        ["model", "persona", "iso3", "country", "score_id", "persona_score", "human"]],
        data, settings, instrument="vsm2013")
    marks.note_marks(sec, pts, "country-persona VSM 2013 indices")
    sec.data["points"] = pts
    corr = marks.mark_scores(
        correlation_table(pts, "human", "persona_score", ["model", "score_id"], ci), data,
        settings, instrument="vsm2013")
    sec.data["correlation"] = corr
    sec.tables[f"Persona score vs the country's Hofstede score, over countries (Pearson r "
               f"with {ci:.0%} CI)"] = corr
    if corr["n"].max() < 4:
        sec.notes.append("fewer than 4 country personas with scores: correlations are not "
                         "interpretable (intervals need at least 4)")
    ref = reference.hofstede_scores()
    profile = scores[["model", "persona", "score_id", "score"]]
    dist = attempt(sec, "distances", hofstede_distance, profile, ref, by=["model", "persona"])
    if dist is not None:
        dist = rank_comparable(dist, ["model", "persona"], min_dims)
        own = dist.merge(cp, on=["persona", "iso3"])[
            ["model", "persona", "iso3", "country", "euclidean", "rank_euclidean",
             "correlation_distance", "rank_correlation"]]
        base = dist[dist["persona"] == baseline][["model", "iso3", "euclidean"]].rename(
            columns={"euclidean": "baseline_euclidean"})
        if not base.empty:
            own = own.merge(base, on=["model", "iso3"], how="left")
            own["closer_than_baseline"] = own["euclidean"] < own["baseline_euclidean"]
        else:
            sec.notes.append(f"no '{baseline}' persona answers: cannot say whether country "
                             "personas move toward their country")
        own = marks.mark_scores(own, data, settings, instrument="vsm2013")
        sec.data["own_country"] = own
        n = dist.groupby(["model", "persona"])["iso3"].nunique().max()
        which = ("every dimension the profile has" if min_dims is None
                 else f"at least {min_dims} published dimensions")
        sec.tables[f"Own country's rank among {n} countries (with {which}) by distance to "
                   "the persona profile"] = own
    return sec


@section("persona_anchored", title="Hofstede profile anchored on country personas",
         reports={"culture": 30},
         description="VSM constants fitted on the model's own country personas (C = mean of "
                     "published score minus index), the countries nearest to the anchored "
                     "baseline profile, and each persona's own-country rank with constants "
                     "fitted on the other personas (leave-one-out).")
def anchored_hofstede_section(data: ReportData, settings: Settings) -> Section:
    """VSM 2013 constants fitted on the model's own country personas, and what they show.

    Why: with C = 0 a VSM profile is not on Hofstede's scale, so distances to countries mean
    little. Anchoring sets ``C_d`` = mean over country personas of (published score - index)
    (:func:`workbench.stats.anchor_vsm_constants`). Then (a) the baseline profile's
    ``k_nearest`` countries are read relative to how the model represents countries, and (b)
    each persona's own country is ranked with constants fitted on the *other* personas
    (leave-one-out), so a persona is never anchored on itself.
    """
    baseline = settings.baseline
    sec = Section()
    d = data.dists("vsm2013")
    cp = country_personas(data)
    if d.empty or len(cp) < 3:
        sec.notes.append(absent_note("vsm2013", data) if d.empty else
                         f"{NOT_AVAILABLE}: anchoring needs at least 3 country personas "
                         f"(found {len(cp)})")
        return sec
    scores = attempt(sec, "VSM 2013 scores by persona", score_instrument, d, "vsm2013",
                     by=["model", "persona"])
    if scores is None:
        return sec
    ref = reference.hofstede_scores()
    mapping = dict(zip(cp["persona"], cp["iso3"], strict=True))
    constants = attempt(sec, "anchored constants", anchor_vsm_constants, scores, ref, mapping)
    if constants is None:
        return sec
    constants = marks.mark_scores(constants, data, settings, instrument="vsm2013")
    marks.note_marks(sec, constants, "anchored constants and profiles")
    sec.data["constants"] = constants
    sec.tables["Constants C fitted on the country personas (residual_sd: spread over countries "
               "of published - index - C)"] = constants
    shifted = scores.merge(constants[["model", "score_id", "constant"]],
                           on=["model", "score_id"], how="left")
    shifted["score"] = shifted["score"] + shifted["constant"].fillna(0.0)
    base = shifted[shifted["persona"] == baseline][["model", "persona", "score_id", "score"]]
    if base.empty:
        sec.notes.append(f"no '{baseline}' persona answers: no anchored baseline profile")
    else:
        near = attempt(sec, "nearest countries", nearest_countries, base, ref,
                       k=settings.k_nearest, by=["model"])
        if near is not None:
            sec.tables[f"Countries nearest to the anchored '{baseline}' profile (Euclidean, "
                       "countries with all six dimensions)"] = marks.mark_scores(
                near.assign(persona=baseline), data, settings, instrument="vsm2013")
    _leave_one_out_ranks(sec, scores, ref, mapping)
    marks.mark_tables(sec, data, settings, ("Own country's rank", "Summary: median"),
                      instrument="vsm2013")
    sec.notes.append(
        "Anchoring removes each dimension's average offset between the model's country "
        "personas and the published scores; it cannot correct how the model orders countries. "
        "It assumes the personas' countries are a fair sample of the model's range.")
    return sec


def _leave_one_out_ranks(sec: Section, scores: pd.DataFrame, ref: pd.DataFrame,
                         mapping: dict[str, str]) -> None:
    """Own-country rank of each persona with constants fitted on the other personas."""
    rows = []
    for (model, persona), _own in scores[scores["persona"].isin(mapping)].groupby(
            ["model", "persona"]):
        others = {p: c for p, c in mapping.items() if p != persona}
        fit = attempt(sec, f"leave-one-out constants for {persona}", anchor_vsm_constants,
                      scores[scores["model"] == model], ref, others)
        if fit is None:
            continue
        prof = scores[(scores["model"] == model) & (scores["persona"] == persona)].merge(
            fit[["score_id", "constant"]], on="score_id", how="left")
        prof = prof.assign(score=prof["score"] + prof["constant"].fillna(0.0))[
            ["model", "persona", "score_id", "score"]]
        dist = attempt(sec, "distances", hofstede_distance, prof, ref, by=["model", "persona"])
        if dist is None:
            continue
        ranked = dist.dropna(subset=["rank_euclidean"])
        own = ranked[ranked["iso3"] == mapping[persona]]
        rows.append({"model": model, "persona": persona, "iso3": mapping[persona],
                     "own_rank": float(own["rank_euclidean"].iloc[0]) if len(own) else np.nan,
                     "n_ranked": len(ranked), "n_anchor_personas": len(others)})
    if not rows:
        return
    own = pd.DataFrame(rows)
    sec.data["own_rank"] = own
    sec.tables["Own country's rank by distance to the persona profile, constants fitted "
               "on the other personas (1 = nearest; chance: about n_ranked / 2)"] = own
    summary = own.groupby("model").agg(
        personas=("persona", "size"), median_rank=("own_rank", "median"),
        in_top_10=("own_rank", lambda r: float((r <= 10).mean())),
        n_ranked=("n_ranked", "max")).reset_index()
    sec.tables["Summary: median own-country rank (leave-one-out anchoring)"] = summary


@section("persona_map", title="WVS map by persona country", reports={"culture": 40},
         figures=persona_map_figures,
         description="Each persona placed on the Inglehart-Welzel map (regression "
                     "approximation) against its country's real position.")
def persona_map_section(data: ReportData, settings: Settings) -> Section:
    """Per map axis: correlation over countries of persona map positions with the real ones."""
    ci, baseline = settings.ci, settings.baseline
    sec = Section()
    cp = country_personas(data)
    absent = data.dists("wvs7").empty
    if absent or cp.empty:
        sec.notes.append(_no_personas_note("wvs7", data, absent))
        return sec
    wide = map_positions(data, ("model", "persona"), sec)
    if wide is None:
        return sec
    wmap = reference.wvs_map()
    wide = marks.mark_scores(wide, data, settings, instrument="wvs7")
    pts = wide.merge(cp, on="persona").merge(
        wmap[["iso3", "country", TS, SE]], on="iso3")
    marks.note_marks(sec, pts, "country-persona map positions")
    sec.data["points"] = pts
    sec.data["baseline"] = wide[wide["persona"] == baseline]
    sec.data["countries"] = wmap
    long = pd.concat([
        pts.assign(axis=ax, persona_position=pts[f"estimate_{ax}"], human=pts[ax])
        for ax in (TS, SE)], ignore_index=True)
    corr = marks.mark_scores(
        correlation_table(long, "human", "persona_position", ["model", "axis"], ci), data,
        settings, instrument="wvs7")
    sec.data["correlation"] = corr
    sec.tables[f"Persona map position vs the country's position (Pearson r with {ci:.0%} "
               "CI)"] = corr
    sec.tables["Positions"] = pts[["model", "persona", "country", TS, f"estimate_{TS}", SE,
                                   f"estimate_{SE}", marks.VALIDITY]]
    sec.notes.append(
        f"positions are regression estimates (R² {wide[f'r_squared_{TS}'].iloc[0]:.2f} and "
        f"{wide[f'r_squared_{SE}'].iloc[0]:.2f} in sample, "
        f"{wide[f'r_squared_loo_{TS}'].iloc[0]:.2f} and "
        f"{wide[f'r_squared_loo_{SE}'].iloc[0]:.2f} leaving each country out, over "
        f"{wide['n_countries'].iloc[0]} countries): an approximation of the published map")
    return sec


@section("persona_similarity", title="WVS answer similarity by persona country",
         reports={"culture": 50},
         description="Is each persona's answer distribution closest to its own country's WVS "
                     "answers, and closer than the model without persona?")
def persona_similarity_section(data: ReportData, settings: Settings) -> Section:
    """Rank of each persona's own country by WVS answer similarity, vs the baseline."""
    baseline = settings.baseline
    sec = Section()
    cp = country_personas(data)
    d = data.dists("wvs7")
    if d.empty or cp.empty:
        sec.notes.append(_no_personas_note("wvs7", data, d.empty))
        return sec
    min_items = settings.wvs_min_items
    if min_items is not None:
        min_items = max(1, min(min_items, int(d["item_id"].nunique())))
    sim = attempt(sec, "WVS similarity by persona", wvs_similarity, d,
                  reference.wvs_distributions(), by=["model", "persona"], min_items=min_items)
    if sim is None or sim.empty:
        return sec
    sim = sim.copy()
    sim["rank"] = sim.groupby(["model", "persona"])["similarity"].rank(ascending=False,
                                                                       method="min")
    own = sim.merge(cp, on=["persona", "iso3"])
    lacking = sorted(set(cp["iso3"]) - set(own["iso3"]))
    if lacking:
        sec.notes.append(f"no WVS-7 answer shares (or too few shared items) for persona "
                         f"countries: {', '.join(lacking)}")
    base = sim[sim["persona"] == baseline][["model", "iso3", "similarity", "rank"]].rename(
        columns={"similarity": "baseline_similarity", "rank": "baseline_rank"})
    own = own.merge(base, on=["model", "iso3"], how="left")
    own["more_similar_than_baseline"] = own["similarity"] > own["baseline_similarity"]
    n = sim.groupby(["model", "persona"])["iso3"].nunique().max()
    own = marks.mark_scores(own, data, settings, instrument="wvs7")
    marks.note_marks(sec, own, "country-persona WVS similarities")
    sec.data["own_country"] = own
    sec.tables[f"Own country's similarity rank among {n} countries"] = own[[
        "model", "persona", "country", "similarity", "rank", "baseline_similarity",
        "baseline_rank", "more_similar_than_baseline", "n_items", marks.VALIDITY]]
    return sec
