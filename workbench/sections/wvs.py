"""World Values Survey sections: answer similarity to every country, item means, and the
models on the Inglehart-Welzel cultural map.

Similarity: :func:`workbench.stats.wvs_similarity`, per item ``1 - JSdist(p_model,
p_country)`` averaged over items, as in GlobalOpinionQA (Durmus et al. 2023). Map:
:func:`workbench.stats.inglehart_welzel_position`, a regression approximation of the
Inglehart-Welzel map (Inglehart & Welzel 2005) with leave-one-country-out R².
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from workbench import reference
from workbench.scoring import item_values
from workbench.sections import marks
from workbench.sections.base import (
    ReportData,
    Section,
    absent_note,
    attempt,
    country_names,
)
from workbench.sections.registry import section
from workbench.sections.render import safe_frame, style_figure
from workbench.sections.settings import Settings
from workbench.stats import inglehart_welzel_position, wvs_similarity

TS, SE = "traditional_secular", "survival_self_expression"
MAP_AXIS_TITLES = {"xaxis_title": "survival  <->  self-expression",
                   "yaxis_title": "traditional  <->  secular-rational"}


# ---------------------------------------------------------------------- figures
def similarity_bars(similarity: pd.DataFrame, k: int = 10,
                    by: str = "model") -> go.Figure:
    """Top-k countries by WVS answer similarity, one panel per model (a not-interpretable
    model's panel faded and hatched)."""
    s = safe_frame(similarity)
    groups = list(dict.fromkeys(s[by]))
    faded = {g: marks.is_faded(s[s[by] == g]) for g in groups}
    fig = make_subplots(rows=1, cols=max(len(groups), 1), shared_xaxes=True,
                        subplot_titles=[marks.legend_name(g, faded[g]) for g in groups])
    for i, g in enumerate(groups, start=1):
        sub = s[s[by] == g].sort_values("similarity", ascending=False).head(k)[::-1]
        fig.add_bar(x=sub["similarity"], y=sub["country"], orientation="h", name=g,
                    showlegend=False, row=1, col=i,
                    hovertemplate="%{y}: %{x:.3f}<extra></extra>",
                    **marks.trace_style(faded[g], bar=True))
    style_figure(fig, f"Top {k} countries by answer similarity (1 - JS distance)",
                 height=120 + 28 * k)
    return marks.caption(fig, any(faded.values()))


def item_dots(items: pd.DataFrame, title: str = "WVS item means") -> go.Figure:
    """Item means of models (large) and selected countries (small) per item."""
    it = safe_frame(items)
    fig = go.Figure()
    faded_any = False
    for (subject, kind), sub in it.groupby(["subject", "kind"], sort=False):
        faded = kind == "model" and marks.is_faded(sub)
        faded_any |= faded
        star = "star-open" if faded else "star"
        fig.add_scatter(x=sub["value"], y=sub["item_id"], mode="markers",
                        name=marks.legend_name(subject, faded),
                        marker={"size": 13 if kind == "model" else 8,
                                "symbol": star if kind == "model" else "circle"},
                        hovertemplate=f"{subject}<br>%{{y}}: %{{x:.2f}}<extra></extra>",
                        **marks.trace_style(faded))
    style_figure(fig, title, xaxis_title="mean code", height=160 + 28 *
                 max(it["item_id"].nunique(), 4))
    return marks.caption(fig, faded_any)


def cultural_map(countries: pd.DataFrame, models: pd.DataFrame, label: str = "model",
                 title: str = "Inglehart-Welzel map (models placed by regression)") -> go.Figure:
    """Countries as grey points (selected ones labelled); models as stars with intervals."""
    c = safe_frame(countries)
    sel = c["selected"] if "selected" in c.columns else pd.Series(False, index=c.index)
    fig = go.Figure()
    fig.add_scatter(x=c.loc[~sel, SE], y=c.loc[~sel, TS], mode="markers", name="countries",
                    marker={"color": "#b0b0b0", "size": 7}, text=c.loc[~sel, "country"],
                    hovertemplate="%{text}<extra></extra>")
    if sel.any():
        fig.add_scatter(x=c.loc[sel, SE], y=c.loc[sel, TS], mode="markers+text",
                        name="selected countries", text=c.loc[sel, "country"],
                        textposition="top center", marker={"color": "#555", "size": 9},
                        hovertemplate="%{text}<extra></extra>")
    m = safe_frame(models)
    faded_all = (marks.unreadable(m[marks.VALIDITY]) if marks.VALIDITY in m.columns
                 else np.zeros(len(m), dtype=bool))
    for (_, row), faded in zip(m.iterrows(), faded_all, strict=True):
        # an open star: outside the countries' range of indicators (the regression
        # extrapolates there, see inglehart_welzel_position)
        outside = any(bool(row.get(f"extrapolation_{axis}", False)) for axis in (TS, SE))
        fig.add_scatter(
            x=[row[f"estimate_{SE}"]], y=[row[f"estimate_{TS}"]], mode="markers+text",
            name=marks.legend_name(str(row[label]) + (" (extrapolated)" if outside else ""),
                                   bool(faded)), **marks.trace_style(bool(faded)),
            text=[str(row[label])], textposition="bottom center",
            marker={"symbol": "star-open" if outside else "star", "size": 16},
            error_x={"type": "data", "symmetric": False,
                     "array": [row[f"pi_high_{SE}"] - row[f"estimate_{SE}"]],
                     "arrayminus": [row[f"estimate_{SE}"] - row[f"pi_low_{SE}"]]},
            error_y={"type": "data", "symmetric": False,
                     "array": [row[f"pi_high_{TS}"] - row[f"estimate_{TS}"]],
                     "arrayminus": [row[f"estimate_{TS}"] - row[f"pi_low_{TS}"]]},
            hovertemplate=f"{row[label]}<br>self-expression %{{x:.2f}}<br>"
                          f"secular %{{y:.2f}}<extra></extra>")
    style_figure(fig, title, height=600, **MAP_AXIS_TITLES)
    return marks.caption(fig, bool(faded_all.any()))


def wvs_figures(s: Section) -> list[go.Figure | None]:
    out: list[go.Figure | None] = []
    if "similarity" in s.data:
        out.append(similarity_bars(s.data["similarity"]))
    if "items" in s.data:
        out.append(item_dots(s.data["items"]))
    return out


def map_figures(s: Section) -> list[go.Figure]:
    return [cultural_map(s.data["countries"], s.data["models"])]


# ---------------------------------------------------------------------- sections
@section("wvs", title="World Values Survey items (WVS-7)", reports={"compare": 50},
         figures=wvs_figures,
         description="Each model's answer distributions against every country's (similarity "
                     "= 1 - Jensen-Shannon distance, averaged over items, as in "
                     "GlobalOpinionQA), and item means next to the selected countries.")
def wvs_section(data: ReportData, settings: Settings) -> Section:
    """WVS-7 answer distributions against every country's (1 - Jensen-Shannon distance).

    Countries are compared on every item the model answered (``wvs_min_items=None``), or on
    at least ``wvs_min_items`` shared items. ``data["similarity"]``: ``model, iso3, country,
    similarity, n_items, n_model_items, rank``; ``data["items"]``: item means of models and
    selected countries.
    """
    by = ["model"]
    k = settings.k_nearest
    sec = Section()
    d = data.dists("wvs7")
    if d.empty:
        sec.notes.append(absent_note("wvs7", data))
        return sec
    cd = attempt(sec, "WVS country distributions", reference.wvs_distributions)
    if cd is None:
        return sec
    min_items = settings.wvs_min_items
    if min_items is not None:
        min_items = max(1, min(min_items, int(d["item_id"].nunique())))
    sim = attempt(sec, "WVS similarity", wvs_similarity, d, cd, by=by, min_items=min_items)
    if sim is None or sim.empty:
        return sec
    sim = marks.mark_scores(sim, data, settings, instrument="wvs7")
    sim["rank"] = sim.groupby(by)["similarity"].rank(ascending=False, method="min")
    marks.note_marks(sec, sim, "WVS answer similarities")
    sec.data["similarity"] = sim
    which = ("on every item the model answered" if min_items is None
             else f"on at least {min_items} shared items")
    sec.tables[f"Top {k} countries by answer similarity (1 - JS distance, base 2; countries "
               f"compared {which})"] = sim.sort_values([*by, "rank"]).groupby(by).head(k)
    countries = [c.upper() for c in settings.countries]
    if countries:
        sel = sim[sim["iso3"].isin(countries)].sort_values([*by, "rank"])
        sec.tables["Selected countries (rank among all countries)"] = sel
    iv = attempt(sec, "WVS item means", item_values, d, "wvs7", by=by)
    if iv is not None:
        iv = iv[iv["quantity"] == "mean"]
        means = reference.wvs_item_means()
        names = country_names()
        cm = means[means["iso3"].isin(countries)].assign(
            subject=lambda f: f["iso3"].map(names).fillna(f["iso3"]), kind="country")
        items = pd.concat([
            iv.assign(subject=iv[by].astype(str).agg(" / ".join, axis=1), kind="model")[
                ["subject", "kind", "item_id", "value"]],
            cm.rename(columns={"mean": "value"})[["subject", "kind", "item_id", "value"]],
        ], ignore_index=True)
        items = items[items["item_id"].isin(iv["item_id"])]
        items = marks.mark_scores(items, data, settings, instrument="wvs7",
                                  model_col="subject")
        sec.data["items"] = items
        sec.tables["Item means (ordinal items): models [validity] and selected countries"] = (
            marks.mark_columns(items.pivot_table(index="item_id", columns="subject",
                                                 values="value", sort=False).reset_index(),
                               data, settings, "wvs7"))
    return sec


def map_positions(data: ReportData, by: Sequence[str], sec: Section) -> pd.DataFrame | None:
    """Inglehart-Welzel map positions of each ``by`` group (notes go to ``sec``).

    Wide: per axis ``estimate_``, ``pi_low_``, ``pi_high_``, ``r_squared_``,
    ``r_squared_loo_``, ``leverage_``, ``extrapolation_``, ``n_countries_`` and
    ``predictors_`` + axis name;
    ``n_countries``, ``n_items`` and ``items`` over both axes.
    """
    by = list(by)
    d = data.dists("wvs7")
    pos = attempt(sec, "map position", inglehart_welzel_position, d,
                  reference.wvs_distributions(), reference.wvs_map(), by=by)
    if pos is None or pos.empty:
        return None
    values = ["estimate", "pi_low", "pi_high", "r_squared", "r_squared_loo", "leverage",
              "extrapolation", "n_countries", "predictors"]
    wide = pos.pivot_table(index=by, columns="axis", values=values, aggfunc="first",
                           dropna=False)
    wide.columns = [f"{a}_{b}" for a, b in wide.columns]
    wide = wide.reset_index()
    for col in [c for c in wide.columns if c.startswith("extrapolation_")]:
        wide[col] = wide[col].astype(bool)
    wide["n_countries"] = int(pos["n_countries"].min())
    items = list(dict.fromkeys(i for row in pos["items"] for i in str(row).split(",")))
    wide["n_items"] = len(items)
    wide["items"] = ",".join(items)
    lacking = pos.loc[pos["note"].str.startswith("model lacks"), "note"]
    for note in dict.fromkeys(lacking):
        sec.notes.append(f"map position not computed for some groups: {note}")
    return wide


@section("map", title="Inglehart-Welzel cultural map", reports={"compare": 60},
         figures=map_figures,
         description="Models placed among countries on the Inglehart-Welzel map: a regression "
                     "approximation. Each axis is regressed, across countries, on its own five "
                     "indicators (computed with the official WVS codings, autonomy and "
                     "post-materialism indices included) and the model's indicators are put "
                     "through it; leave-one-country-out R² says how well the regression "
                     "reproduces the published positions, and an open star marks a model "
                     "outside the countries' range (extrapolated).")
def map_section(data: ReportData, settings: Settings) -> Section:
    """Place each model among countries on the Inglehart-Welzel map (regression estimate)."""
    sec = Section()
    if data.dists("wvs7").empty:
        sec.notes.append(absent_note("wvs7", data))
        return sec
    wide = map_positions(data, ("model",), sec)
    if wide is None:
        return sec
    p_ts, p_se = (wide[f"predictors_{ax}"].iloc[0].replace(",", ", ") for ax in (TS, SE))
    sec.notes.append(
        "Approximation: each map axis is an OLS regression of the countries' published map "
        f"coordinates on that axis's own indicators only (traditional-secular: {p_ts}; "
        f"survival-self-expression: {p_se}; computed from the countries' WVS-7 answer shares "
        f"as from the model's answers) over {wide[f'n_countries_{TS}'].iloc[0]} and "
        f"{wide[f'n_countries_{SE}'].iloc[0]} countries. In-sample R² = "
        f"{wide[f'r_squared_{TS}'].iloc[0]:.2f} and {wide[f'r_squared_{SE}'].iloc[0]:.2f}; "
        f"leave-one-country-out R² = {wide[f'r_squared_loo_{TS}'].iloc[0]:.2f} and "
        f"{wide[f'r_squared_loo_{SE}'].iloc[0]:.2f}. The model is placed by applying the fit "
        "to its indicators, with 95% prediction intervals. The published map comes from "
        "factor scores of individual survey data, so this placement is an approximation.")
    flagged = wide.loc[wide[f"extrapolation_{TS}"] | wide[f"extrapolation_{SE}"], "model"]
    if not flagged.empty:
        sec.notes.append(
            f"extrapolated (indicators outside the countries' range, leverage above every "
            f"country's): {', '.join(map(str, flagged))}: the placement goes beyond the "
            "countries the regression was fitted on")
    wide = marks.mark_scores(wide, data, settings, instrument="wvs7")
    marks.note_marks(sec, wide, "map positions")
    sec.data["models"] = wide
    countries_frame = reference.wvs_map()
    countries_frame["selected"] = countries_frame["iso3"].isin(
        [c.upper() for c in settings.countries])
    sec.data["countries"] = countries_frame
    sec.tables["Estimated map positions (regression approximation)"] = wide[[
        "model", f"estimate_{TS}", f"pi_low_{TS}", f"pi_high_{TS}", f"estimate_{SE}",
        f"pi_low_{SE}", f"pi_high_{SE}", f"r_squared_{TS}", f"r_squared_loo_{TS}",
        f"r_squared_{SE}", f"r_squared_loo_{SE}", f"extrapolation_{TS}", f"extrapolation_{SE}",
        "n_countries", "n_items", marks.VALIDITY]]
    return sec
