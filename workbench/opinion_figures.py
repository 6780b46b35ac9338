"""Figures for :mod:`workbench.stats.opinions`: a world map of similarity and the cultural
prompting chart (plotly figures for the report sections).

The map is a ``go.Choropleth`` on plotly's own geography (``locationmode="ISO-3"``, no map
tiles, no mapbox). plotly.js loads that geography (``world_110m``) from a CDN unless
``window.PlotlyGeoAssets`` already holds it, so an HTML page that shows the map offline must
include :func:`geo_assets_script` once before the figures (the shipped copy is
``data/geo/world_110m.json``, see its sidecar); :func:`standalone_map_html` does that for one
figure.
"""

from __future__ import annotations

import html
import json
from functools import cache

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from workbench.errors import WorkbenchError
from workbench.paths import data_dir
from workbench.reference import countries
from workbench.stats.opinions import ALL_ITEMS, SIMILARITY_COLUMNS

TOPOJSON_NAME = "world_110m"


@cache
def _world_topojson() -> str:
    path = data_dir() / "geo" / f"{TOPOJSON_NAME}.json"
    if not path.is_file():
        raise WorkbenchError(f"world map file '{path}' is missing: restore data/geo/")
    return json.dumps(json.loads(path.read_text(encoding="utf-8")), separators=(",", ":"))


def geo_assets_script() -> str:
    """``<script>`` that hands plotly.js the world geography, so maps draw without network."""
    return ("<script>window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}};"
            f"window.PlotlyGeoAssets.topojson[{json.dumps(TOPOJSON_NAME)}] = "
            f"{_world_topojson()};</script>")


def similarity_map(similarity: pd.DataFrame, block: str = ALL_ITEMS, value: str = "similarity",
                   title: str | None = None) -> go.Figure:
    """Choropleth of one model's similarity (or ``vs_uniform``) to each country for a block.

    ``similarity`` is :func:`workbench.stats.opinions.opinion_similarity`'s frame for a single
    model (filter it first); countries without an ISO3 code (GlobalOpinionQA names that did
    not match) are left off the map. The hover text gives the interval, the uniform answerer's
    similarity and the number of items.
    """
    missing = {"block", "iso3", "country", value} - set(similarity.columns)
    if missing:
        raise WorkbenchError(f"similarity frame lacks {sorted(missing)}: pass the output of "
                             "workbench.stats.opinions.opinion_similarity")
    frame = similarity[similarity["block"] == block]
    by = [c for c in frame.columns if c not in SIMILARITY_COLUMNS]
    if by and len(frame[by].drop_duplicates()) > 1:
        raise WorkbenchError(f"the frame holds several {by} groups: select one model (and "
                             "persona) before drawing the map")
    frame = frame[frame["iso3"].isin(set(countries()["iso3"]))]
    if frame.empty:
        raise WorkbenchError(f"no country with an ISO3 code in block '{block}'")
    lo, hi = ("ci_low", "ci_high") if value == "similarity" else (f"{value}_low", f"{value}_high")
    hover = [
        f"{html.escape(str(r['country']))}: {r[value]:.3f}"
        + (f" [{r[lo]:.3f}, {r[hi]:.3f}]" if lo in frame.columns and pd.notna(r[lo]) else "")
        + (f"<br>uniform answerer {r['uniform']:.3f}" if "uniform" in frame.columns else "")
        + (f"<br>{int(r['n_items'])} items" if "n_items" in frame.columns else "")
        for _, r in frame.iterrows()
    ]
    label = "similarity (1 - JS distance)" if value == "similarity" else value.replace("_", " ")
    fig = go.Figure(go.Choropleth(
        locations=frame["iso3"], z=frame[value], locationmode="ISO-3", text=hover,
        hoverinfo="text", colorscale="Viridis", marker_line_color="white",
        marker_line_width=0.5, colorbar_title=label))
    fig.update_geos(projection_type="natural earth", showframe=False, showcountries=True,
                    countrycolor="#bbbbbb", showcoastlines=False, showland=True,
                    landcolor="#eeeeee", lataxis_range=[-58, 85], projection_rotation_lon=0)
    fig.update_layout(title=title or f"Similarity to each country's answers ({block})",
                      margin={"l": 0, "r": 0, "t": 40, "b": 0}, height=420)
    return fig


def standalone_map_html(fig: go.Figure) -> str:
    """A self-contained HTML page (plotly.js and the world geography inline) for one figure."""
    body = pio.to_html(fig, include_plotlyjs=True, full_html=False)
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>map</title></head><body>"
            f"{geo_assets_script()}{body}</body></html>")


def cultural_prompting_figure(prompting: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Each persona's effect (similarity gain toward its country minus the mean gain toward
    the others) with its interval; the overall mean last; zero = no targeted effect."""
    need = {"level", "persona", "effect", "ci_low", "ci_high"}
    if need - set(prompting.columns):
        raise WorkbenchError(f"cultural prompting frame lacks "
                             f"{sorted(need - set(prompting.columns))}: pass the output of "
                             "workbench.stats.opinions.cultural_prompting")
    by = [c for c in prompting.columns if c in ("model", "instrument")]
    fig = go.Figure()
    for key, sub in (prompting.groupby(by, sort=True) if by else [("", prompting)]):
        sub = sub.dropna(subset=["effect"])
        sub = pd.concat([sub[sub["level"] == "persona"].sort_values("effect"),
                         sub[sub["level"] == "overall"]])
        name = " / ".join(map(str, key)) if isinstance(key, tuple) else str(key)
        fig.add_trace(go.Scatter(
            x=sub["effect"], y=sub["persona"], mode="markers", name=name or "model",
            error_x={"type": "data", "symmetric": False,
                     "array": sub["ci_high"] - sub["effect"],
                     "arrayminus": sub["effect"] - sub["ci_low"]},
            hovertext=[f"p = {p:.3g}" if pd.notna(p) else "" for p in sub.get("p_value", [])]))
    fig.add_vline(x=0, line_dash="dot", line_color="grey")
    fig.update_layout(title=title or "Cultural prompting: similarity gain toward the persona's "
                      "country minus the mean gain toward the others",
                      xaxis_title="difference in similarity (1 - JS distance)",
                      height=max(300, 28 * prompting["persona"].nunique() + 120))
    return fig
