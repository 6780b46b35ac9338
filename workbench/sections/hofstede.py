"""Hofstede section: VSM 2013 indices per model with intervals, shown as markers on each
dimension's distribution of published country scores (with the constants stated on the
chart), next to selected countries, and the countries nearest to each model's profile.

Distances: :func:`workbench.stats.hofstede_distance` (Euclidean, RMSD per shared dimension,
correlation distance) ranked among comparable countries (:func:`rank_comparable`).
Reference: Hofstede & Minkov (2013), *VSM 2013 Manual*; Hofstede et al. (2010).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from workbench import reference
from workbench.scoring import score_instrument
from workbench.sections import marks
from workbench.sections.base import (
    ReportData,
    Section,
    absent_note,
    attempt,
    bootstrap_or_note,
    persona_iso3,
    with_intervals,
)
from workbench.sections.registry import section
from workbench.sections.render import interval_bars, safe, safe_frame, style_figure
from workbench.sections.settings import Settings
from workbench.stats import anchor_vsm_constants, hofstede_distance, nearest_countries

DIMENSIONS = ("PDI", "IDV", "MAS", "UAI", "LTO", "IVR")


def dimension_chart(countries: pd.DataFrame, placed: pd.DataFrame, choice: str,
                    title: str = "Hofstede dimensions") -> go.Figure:
    """Per dimension, the countries' published scores (a box with every country as a point,
    selected countries darker) and each model as a diamond with its interval, placed with
    the constants named in ``choice`` (stated under the title)."""
    c = safe_frame(countries.dropna(subset=["score"]))
    dims = [d for d in DIMENSIONS if d in set(c["dimension"])]
    x = {d: i for i, d in enumerate(dims)}
    c = c[c["dimension"].isin(dims)]
    fig = go.Figure()
    fig.add_box(x=c["dimension"].map(x), y=c["score"], text=c["country"], boxpoints="all",
                jitter=0.6, pointpos=0, width=0.45, name=f"{c['iso3'].nunique()} countries",
                marker={"color": "#9a9a9a", "size": 4}, line={"color": "#777"},
                fillcolor="rgba(180,180,180,0.25)",
                hovertemplate="%{text}: %{y:.0f}<extra></extra>")
    sel = c[c["selected"]] if "selected" in c.columns else c.iloc[:0]
    if not sel.empty:
        fig.add_scatter(x=sel["dimension"].map(x), y=sel["score"], mode="markers",
                        name="selected countries", text=sel["country"],
                        marker={"color": "#333", "size": 7, "symbol": "circle-open"},
                        hovertemplate="%{text}: %{y:.0f}<extra></extra>")
    p = safe_frame(placed.dropna(subset=["placed"]))
    p = p[p["dimension"].isin(dims)]
    faded_any = False
    for k, (model, sub) in enumerate(p.groupby("model", sort=False)):
        faded = bool(marks.unreadable(sub[marks.VALIDITY]).any())
        faded_any |= faded
        fig.add_scatter(
            x=sub["dimension"].map(x) + 0.34 + 0.1 * k, y=sub["placed"], mode="markers",
            name=marks.legend_name(model, faded), error_y=interval_bars(sub, "placed"),
            marker={"symbol": "diamond-open" if faded else "diamond", "size": 12},
            hovertemplate=f"{model}<br>%{{y:.1f}}<extra></extra>",
            **marks.trace_style(faded))
    style_figure(fig, f"{title}: countries' published scores and the models", height=560,
                 yaxis_title="published score / model index + C",
                 xaxis={"tickvals": list(x.values()), "ticktext": dims,
                        "range": [-0.6, len(dims) - 0.2]})
    lines = textwrap.wrap(choice, 120)
    fig.update_layout(title_text=fig.layout.title.text + "".join(
        f"<br><sup>{safe(line)}</sup>" for line in lines), margin={"t": 70 + 18 * len(lines)})
    return marks.caption(fig, faded_any)


def hofstede_figures(s: Section) -> list[go.Figure]:
    if "placed" not in s.data or "countries" not in s.data:
        return []
    choice = str(s.data["choice"]["choice"].iloc[0]) if "choice" in s.data else ""
    return [dimension_chart(s.data["countries"], s.data["placed"], choice)]


def placement(data: ReportData, settings: Settings, sec: Section,
              prof: pd.DataFrame) -> tuple[pd.DataFrame | None, str]:
    """Where each model's indices go on the countries' scale, and the constants chosen.

    The VSM 2013 manual leaves each constant C free (it only shifts an index, e.g. into a
    0-100 range; see data/instruments/vsm2013.yaml), so a model index with C = 0 has no place
    among the countries. In order of preference: (1) the constants passed in
    ``settings.vsm_constants``; (2) constants anchored on the model's own country personas,
    ``C_d = mean(published - index)`` (:func:`workbench.stats.anchor_vsm_constants`); (3)
    with several models, one common constant per dimension that puts the models' mean on the
    countries' median, so only differences between models (where C cancels) carry
    information; (4) one model and nothing to anchor on: not placed. Returns ``[model,
    dimension, score, constant, placed, ci_low, ci_high, validity]`` and the choice in words.
    """
    given = {k: v for k, v in settings.vsm_constants.items() if v}
    base = prof.rename(columns={"score_id": "dimension"})
    cols = ["model", "dimension", "score", "constant", "placed", "ci_low", "ci_high",
            marks.VALIDITY]

    def shifted(constant: pd.Series | float) -> pd.DataFrame:
        out = base.assign(constant=constant)
        out["placed"] = out["score"] + out["constant"]
        out["ci_low"] = out["ci_low"] + out["constant"]
        out["ci_high"] = out["ci_high"] + out["constant"]
        return out[cols]

    if given:
        text = ", ".join(f"{k} = {v:g}" for k, v in given.items())
        return shifted(0.0), (f"constants as passed ({text}; the others 0), as the VSM 2013 "
                              "manual lets users choose them")
    anchored = _anchored(data, settings, sec)
    if anchored is not None:
        merged = base.merge(anchored[["model", "score_id", "constant"]].rename(
            columns={"score_id": "dimension"}), on=["model", "dimension"], how="left")
        n = int(anchored["n_countries"].max())
        return (shifted(merged["constant"].to_numpy()),
                f"constants anchored on each model's {n} country personas (C = mean of "
                "published score minus the persona's index), as the VSM 2013 manual leaves "
                "C free")
    if base["model"].nunique() >= 2:
        ref = reference.hofstede_long()
        median = ref.groupby("dimension")["score"].median()
        mean = base.groupby("dimension")["score"].transform("mean")
        constant = base["dimension"].map(median) - mean
        return (shifted(constant.to_numpy()),
                "one common constant per dimension puts the models' mean on the countries' "
                "median (the VSM 2013 manual leaves C free): only the distances between the "
                "models are meaningful, not where they sit among the countries")
    return None, ("the model is not placed: with C = 0 (the default) and no country personas "
                  "to anchor on, any constant would be arbitrary; pass vsm_constants or probe "
                  "country personas (designs/culture_personas.yaml)")


def _anchored(data: ReportData, settings: Settings, sec: Section) -> pd.DataFrame | None:
    """Constants fitted on each model's country personas (None with fewer than 3)."""
    d = data.dists("vsm2013")
    ref = reference.hofstede_scores()
    known = set(ref["iso3"].dropna())
    mapping = {p: persona_iso3(p) for p in d["persona"].unique()
               if persona_iso3(p) in known}
    if len(mapping) < 3:
        return None
    by_persona = attempt(sec, "VSM 2013 scores by persona", score_instrument, d, "vsm2013",
                         by=["model", "persona"])
    if by_persona is None:
        return None
    return attempt(sec, "anchored constants", anchor_vsm_constants, by_persona, ref, mapping)


@section("hofstede", title="Hofstede dimensions (VSM 2013)", reports={"compare": 20},
         figures=hofstede_figures,
         description="VSM 2013 indices per model (expanded-percentile bootstrap intervals over "
                     "personas/variants where there are several) on each dimension's "
                     "distribution of published country scores, with the constants the chart "
                     "names, and the countries nearest to each model's six-dimensional "
                     "profile (RMSD per shared dimension and correlation distance, with "
                     "ranks).")
def hofstede_section(data: ReportData, settings: Settings) -> Section:
    """VSM 2013 profile per model among the countries, and the nearest countries.

    ``data["placed"]``: the models on the chart (:func:`placement`); ``data["countries"]``:
    every country's published scores (``selected`` marks ``settings.countries``);
    ``data["profile"]`` is long (``subject, kind, dimension, score, ci_low, ci_high``, C as
    passed); tables hold the wide profile, the ``k_nearest`` countries per model (Euclidean
    distance among countries with every dimension the model has, or with at least
    ``hofstede_min_dims`` dimensions; RMSD and correlation distance alongside) and the
    distances to the selected countries, each row marked with its validity verdict.
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
            "VSM constants are all 0 (the default) in the tables and distances: indices keep "
            "the manual's formulas but are not anchored to Hofstede's 0-100 country scale. "
            "Each dimension has its own constant, so both distances depend on them: Euclidean "
            "through the offsets and the correlation distance because different shifts per "
            "dimension change the profile's shape. The chart states the constants it uses")
    boot = bootstrap_or_note(sec, d, "vsm2013", ["model"], settings, items=False,
                             constants=constants)
    prof = marks.mark_scores(with_intervals(scores, boot, ["model"]), data, settings,
                             instrument="vsm2013")
    marks.note_marks(sec, prof, "VSM 2013 indices")
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
            sec.data["countries"] = hl.assign(selected=hl["iso3"].isin(countries))
            hl = hl[hl["iso3"].isin(countries)].rename(columns={"country": "subject"})
            long = pd.concat([long, hl.assign(kind="country", ci_low=np.nan, ci_high=np.nan)[
                ["subject", "kind", "dimension", "score", "ci_low", "ci_high"]]],
                ignore_index=True)
            placed, choice = placement(data, settings, sec, prof)
            sec.data["choice"] = pd.DataFrame({"choice": [choice]})
            sec.notes.append(f"Chart: {choice}.")
            if placed is not None:
                sec.data["placed"] = placed
                sec.tables["Models on the chart: index + constant C per dimension"] = placed
    sec.data["profile"] = long
    wide = long.pivot_table(index=["kind", "subject"], columns="dimension", values="score",
                            sort=False).reset_index()
    dims = [d_ for d_ in DIMENSIONS if d_ in wide.columns]
    wide = marks.mark_scores(wide[["kind", "subject", *dims]], data, settings,
                             instrument="vsm2013", model_col="subject")
    sec.tables["Profile: models and selected countries"] = wide
    if prof["ci_low"].notna().any():
        sec.tables[f"Model indices with {settings.ci:.0%} bootstrap intervals"] = prof
    if ref is not None:
        _distances(sec, scores[["model", "score_id", "score"]], ref, countries,
                   settings.k_nearest, settings.hofstede_min_dims)
        for key, caption in _distance_tables(sec):
            sec.tables[caption] = marks.mark_scores(sec.tables[caption], data, settings,
                                                    instrument="vsm2013")
            sec.data[key] = marks.mark_scores(sec.data[key], data, settings,
                                              instrument="vsm2013")
    return sec


def _distance_tables(sec: Section) -> list[tuple[str, str]]:
    """(data key, table caption) of the distance tables :func:`_distances` added."""
    out = []
    for key, start in (("nearest", "Nearest "), ("selected_distance", "Distance to the")):
        caption = next((c for c in sec.tables if c.startswith(start)), None)
        if key in sec.data and caption is not None:
            out.append((key, caption))
    return out


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
