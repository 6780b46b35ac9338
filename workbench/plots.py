"""Plotly figure builders for report sections, and the (escaping) display helpers.

Why: notebooks only call these. Three rules hold everywhere:

* offline: :func:`setup_offline_plotly` embeds plotly.js once per notebook (one ``<script>``
  output); every figure is then written without plotly.js and without MathJax or CDN links,
  so an exported HTML report works with no network and carries plotly.js exactly once;
* escaped: every table goes through :func:`table_html` (``DataFrame.to_html`` escapes cells
  and headers; a pandas ``Styler`` would not) and every text from the store that ends up in
  a figure (model, persona, item ids, labels) is HTML-escaped first, because plotly.js reads a
  subset of HTML in labels and hover text;
* builders take the tidy frames of :mod:`workbench.analysis` and return ``go.Figure``.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from workbench.analysis import Section

RENDERER = "workbench_offline"
PLOTLYJS_MARKER = "workbench-plotlyjs"
TEMPLATE = "plotly_white"
CONFIG = {"displaylogo": False, "responsive": True}
_state = {"plotlyjs_shown": False}

_NOTE_STYLE = ("background:#fff8e1;border-left:4px solid #f0ad4e;padding:6px 10px;"
               "margin:6px 0;font-size:0.95em")
_CAPTION_STYLE = "caption-side:top;text-align:left;font-weight:600;padding:4px 0"


# ---------------------------------------------------------------------- escaping helpers
def safe(value: object) -> str:
    """HTML-escape one value for a figure label or hover text (plotly.js reads some tags)."""
    return html.escape(str(value), quote=False)


def safe_frame(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A copy with text columns (or ``columns``) HTML-escaped, for use in figures."""
    out = frame.copy()
    cols = columns if columns is not None else [
        c for c in out.columns
        if not pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c])]
    for c in cols:
        if c in out.columns:
            out[c] = out[c].map(lambda v: safe(v) if isinstance(v, str) else v)
    return out


def table_html(frame: pd.DataFrame, caption: str | None = None, max_rows: int = 300,
               digits: int = 4) -> str:
    """An escaped HTML table (cells, headers and caption), floats to ``digits`` figures."""
    shown = frame.head(max_rows).copy()
    shown.columns.name = None  # pivot leftovers would print as an extra header cell
    body = shown.to_html(index=False, escape=True, na_rep="", border=0,
                         classes="dataframe wb-table",
                         float_format=lambda x: f"{x:.{digits}g}")
    cap = f'<div style="{_CAPTION_STYLE}">{html.escape(caption)}</div>' if caption else ""
    more = (f"<div><em>first {max_rows} of {len(frame)} rows</em></div>"
            if len(frame) > max_rows else "")
    return f'<div class="wb-table-wrap">{cap}{body}{more}</div>'


def note_html(text: str) -> str:
    """A visible, escaped note box (used for "not available" and method notes)."""
    return f'<div class="wb-note" style="{_NOTE_STYLE}">{html.escape(text)}</div>'


# ---------------------------------------------------------------------- offline plotly
def plotlyjs_html() -> str:
    """plotly.js inline, in one script element (embedded once per report)."""
    from plotly.offline import get_plotlyjs

    return (f'<script type="text/javascript" id="{PLOTLYJS_MARKER}">'
            "window.PlotlyConfig = {MathJaxConfig: 'local'};\n"
            f"{get_plotlyjs()}</script>")


def figure_html(fig: go.Figure | dict, height: int | None = None) -> str:
    """The figure as a div + script, without plotly.js, MathJax or any CDN reference."""
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, include_mathjax=False,
                       config=CONFIG, default_width="100%",
                       default_height=height or 480, validate=False)


def figure_bundle(fig: go.Figure) -> dict:
    """text/html for exported HTML, plus plotly's own mimetype for JupyterLab (works when a
    saved notebook is reopened untrusted, where inline scripts do not run)."""
    bundle = {"text/html": figure_html(fig)}
    with contextlib.suppress(Exception):  # the mimetype is a convenience for live use only
        bundle.update(pio.renderers["plotly_mimetype"].to_mimebundle(fig.to_dict()))
    return bundle


try:  # plotly's renderer base class: lets a bare `fig` or `fig.show()` use the offline HTML
    from plotly.io.base_renderers import MimetypeRenderer as _MimetypeRenderer
except ImportError:  # pragma: no cover - very old or very new plotly
    _MimetypeRenderer = object  # type: ignore[assignment,misc]


class OfflineRenderer(_MimetypeRenderer):  # type: ignore[misc,valid-type]
    """Renders a figure as :func:`figure_bundle` (no plotly.js inside; see setup)."""

    def to_mimebundle(self, fig_dict: dict) -> dict:
        return figure_bundle(go.Figure(fig_dict))


def in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def setup_offline_plotly(force: bool = False) -> None:
    """Embed plotly.js once and make every figure shown afterwards reference it.

    Why: plotly's own "notebook" renderer adds MathJax CDN links to each figure, and
    ``include_plotlyjs=True`` per figure repeats 4-5 MB of JavaScript. Called at the top of
    each report notebook; calling it again in the same kernel does not embed plotly.js
    twice (``force=True`` does).
    """
    pio.templates.default = TEMPLATE
    if _MimetypeRenderer is not object:
        pio.renderers[RENDERER] = OfflineRenderer()
        pio.renderers.default = RENDERER
    if in_kernel() and (force or not _state["plotlyjs_shown"]):
        from IPython.display import HTML, display

        display(HTML(plotlyjs_html()))
        _state["plotlyjs_shown"] = True


def show_figure(fig: go.Figure | None) -> None:
    """Display one figure (offline HTML + plotly mimetype); None shows nothing."""
    if fig is None:
        return
    from IPython.display import display

    display(figure_bundle(fig), raw=True)


def show_table(frame: pd.DataFrame, caption: str | None = None, max_rows: int = 300) -> None:
    from IPython.display import HTML, display

    display(HTML(table_html(frame, caption, max_rows)))


def show_note(text: str) -> None:
    from IPython.display import HTML, display

    display(HTML(note_html(text)))


def section_figures(section: Section) -> list[go.Figure]:
    """The figures that belong to a section (built from its ``data`` frames)."""
    builder = FIGURES.get(section.key)
    if builder is None or not section.data:
        return []
    return [f for f in builder(section) if f is not None]


def section_html(section: Section, figures: bool = True) -> str:
    """Notes, figures and tables of a section as one escaped HTML fragment."""
    parts = [note_html(n) for n in section.notes]
    if figures:
        parts += [figure_html(f) for f in section_figures(section)]
    parts += [table_html(t, caption) for caption, t in section.tables.items()]
    return "\n".join(parts)


def show(section: Section, figures: bool = True) -> None:
    """Display a section: its notes, then its figures, then its tables."""
    from IPython.display import HTML, display

    for n in section.notes:
        display(HTML(note_html(n)))
    if figures:
        for fig in section_figures(section):
            show_figure(fig)
    for caption, table in section.tables.items():
        display(HTML(table_html(table, caption)))


# ---------------------------------------------------------------------- figure builders
def _layout(fig: go.Figure, title: str, height: int = 480, **kw: object) -> go.Figure:
    fig.update_layout(title=safe(title), template=TEMPLATE, height=height,
                      legend_title_text="", margin={"t": 60, "l": 60, "r": 20, "b": 60}, **kw)
    return fig


def _error(frame: pd.DataFrame, col: str = "score") -> dict | None:
    if "ci_low" not in frame.columns or frame["ci_low"].isna().all():
        return None
    return {"type": "data", "symmetric": False,
            "array": (frame["ci_high"] - frame[col]).to_numpy(),
            "arrayminus": (frame[col] - frame["ci_low"]).to_numpy()}


def profile_bars(profile: pd.DataFrame, title: str = "Hofstede profile") -> go.Figure:
    """Grouped bars per dimension: models (with intervals) and countries (hatched)."""
    p = safe_frame(profile)
    fig = go.Figure()
    for (subject, kind), sub in p.groupby(["subject", "kind"], sort=False):
        fig.add_bar(x=sub["dimension"], y=sub["score"], name=subject, error_y=_error(sub),
                    marker_pattern_shape="/" if kind == "country" else "",
                    opacity=0.65 if kind == "country" else 1.0,
                    hovertemplate=f"{subject}<br>%{{x}}: %{{y:.1f}}<extra></extra>")
    return _layout(fig, title, barmode="group", yaxis_title="index / score")


def foundation_bars(scores: pd.DataFrame, norms: pd.DataFrame | None = None,
                    title: str = "Moral foundations") -> go.Figure:
    """Grouped bars of foundation scores per model with intervals; norms as diamonds."""
    s = safe_frame(scores)
    fig = go.Figure()
    for model, sub in s.groupby("model", sort=False):
        fig.add_bar(x=sub["score_id"], y=sub["score"], name=model, error_y=_error(sub),
                    hovertemplate=f"{model}<br>%{{x}}: %{{y:.2f}}<extra></extra>")
    if norms is not None and not norms.empty:
        n = safe_frame(norms)
        for group, sub in n.groupby("group", sort=False):
            fig.add_scatter(x=sub["foundation"], y=sub["mean"], mode="markers",
                            name=f"{group} (human)", marker={"symbol": "diamond", "size": 11},
                            hovertemplate=f"{group}<br>%{{x}}: %{{y:.2f}}<extra></extra>")
    return _layout(fig, title, barmode="group", yaxis_title="foundation score")


def similarity_bars(similarity: pd.DataFrame, k: int = 10,
                    by: str = "model") -> go.Figure:
    """Top-k countries by WVS answer similarity, one panel per model."""
    s = safe_frame(similarity)
    groups = list(dict.fromkeys(s[by]))
    fig = make_subplots(rows=1, cols=max(len(groups), 1), subplot_titles=groups,
                        shared_xaxes=True)
    for i, g in enumerate(groups, start=1):
        sub = s[s[by] == g].sort_values("similarity", ascending=False).head(k)[::-1]
        fig.add_bar(x=sub["similarity"], y=sub["country"], orientation="h", name=g,
                    showlegend=False, row=1, col=i,
                    hovertemplate="%{y}: %{x:.3f}<extra></extra>")
    return _layout(fig, f"Top {k} countries by answer similarity (1 - JS distance)",
                   height=120 + 28 * k)


def item_dots(items: pd.DataFrame, title: str = "WVS item means") -> go.Figure:
    """Item means of models (large) and selected countries (small) per item."""
    it = safe_frame(items)
    fig = go.Figure()
    for (subject, kind), sub in it.groupby(["subject", "kind"], sort=False):
        fig.add_scatter(x=sub["value"], y=sub["item_id"], mode="markers", name=subject,
                        marker={"size": 13 if kind == "model" else 8,
                                "symbol": "star" if kind == "model" else "circle"},
                        hovertemplate=f"{subject}<br>%{{y}}: %{{x:.2f}}<extra></extra>")
    return _layout(fig, title, xaxis_title="mean code", height=160 + 28 *
                   max(it["item_id"].nunique(), 4))


def cultural_map(countries: pd.DataFrame, models: pd.DataFrame, label: str = "model",
                 title: str = "Inglehart-Welzel map (models placed by regression)") -> go.Figure:
    """Countries as grey points (selected ones labelled); models as stars with intervals."""
    ts, se = "traditional_secular", "survival_self_expression"
    c = safe_frame(countries)
    sel = c["selected"] if "selected" in c.columns else pd.Series(False, index=c.index)
    fig = go.Figure()
    fig.add_scatter(x=c.loc[~sel, se], y=c.loc[~sel, ts], mode="markers", name="countries",
                    marker={"color": "#b0b0b0", "size": 7}, text=c.loc[~sel, "country"],
                    hovertemplate="%{text}<extra></extra>")
    if sel.any():
        fig.add_scatter(x=c.loc[sel, se], y=c.loc[sel, ts], mode="markers+text",
                        name="selected countries", text=c.loc[sel, "country"],
                        textposition="top center", marker={"color": "#555", "size": 9},
                        hovertemplate="%{text}<extra></extra>")
    m = safe_frame(models)
    for _, row in m.iterrows():
        # an open star: outside the countries' range of indicators (the regression
        # extrapolates there, see inglehart_welzel_position)
        outside = any(bool(row.get(f"extrapolation_{axis}", False)) for axis in (ts, se))
        fig.add_scatter(
            x=[row[f"estimate_{se}"]], y=[row[f"estimate_{ts}"]], mode="markers+text",
            name=str(row[label]) + (" (extrapolated)" if outside else ""),
            text=[str(row[label])], textposition="bottom center",
            marker={"symbol": "star-open" if outside else "star", "size": 16},
            error_x={"type": "data", "symmetric": False,
                     "array": [row[f"pi_high_{se}"] - row[f"estimate_{se}"]],
                     "arrayminus": [row[f"estimate_{se}"] - row[f"pi_low_{se}"]]},
            error_y={"type": "data", "symmetric": False,
                     "array": [row[f"pi_high_{ts}"] - row[f"estimate_{ts}"]],
                     "arrayminus": [row[f"estimate_{ts}"] - row[f"pi_low_{ts}"]]},
            hovertemplate=f"{row[label]}<br>self-expression %{{x:.2f}}<br>"
                          f"secular %{{y:.2f}}<extra></extra>")
    return _layout(fig, title, height=600, xaxis_title="survival  <->  self-expression",
                   yaxis_title="traditional  <->  secular-rational")


def reliability_bars(rel: pd.DataFrame, threshold: float = 0.7) -> go.Figure | None:
    """Cronbach's alpha per score and model, one panel per instrument, threshold line."""
    r = safe_frame(rel.dropna(subset=["alpha"]))
    if r.empty:
        return None
    insts = list(dict.fromkeys(r["instrument"]))
    fig = make_subplots(rows=1, cols=len(insts), subplot_titles=insts, shared_yaxes=True)
    colors = _colors(r["model"])
    for i, inst in enumerate(insts, start=1):
        sub = r[r["instrument"] == inst]
        for model, ms in sub.groupby("model", sort=False):
            fig.add_bar(x=ms["score_id"], y=ms["alpha"].clip(lower=-1), name=model,
                        marker_color=colors[model], showlegend=i == 1, legendgroup=model,
                        row=1, col=i, hovertemplate=f"{model}<br>%{{x}}: alpha %{{y:.2f}}"
                                                   "<extra></extra>")
        fig.add_hline(y=threshold, line_dash="dash", line_color="firebrick", row=1, col=i)
    return _layout(fig, f"Cronbach's alpha (dashed: {threshold})", barmode="group")


def position_bias_bars(pb: pd.DataFrame) -> go.Figure:
    """Mass an option gains by being shown first or last, beyond what its answer code gets
    averaged over orders (0 = no position bias; a preference for an answer does not count)."""
    p = safe_frame(pb)
    x = p["model"] + " / " + p["instrument"] if "instrument" in p.columns else p["model"]
    centred = "first_excess_centred" in p.columns
    first = p["first_excess_centred"] if centred else p["first_excess"]
    last = p["last_excess_centred"] if centred else p["last_excess"]
    fig = go.Figure()
    fig.add_bar(x=x, y=first, name="shown first" if centred else "first option - 1/k")
    fig.add_bar(x=x, y=last, name="shown last" if centred else "last option - 1/k")
    return _layout(fig, "Position bias (centred on each answer's mean over orders)"
                   if centred else "Position bias", barmode="group",
                   yaxis_title="excess probability")


def effect_sizes(tests: pd.DataFrame) -> go.Figure:
    """Effect size per score and model pair; filled markers = significant after Holm."""
    t = safe_frame(tests)
    t = t.assign(pair=t["a"] + " vs " + t["b"], label=t["instrument"] + ":" + t["score_id"])
    fig = go.Figure()
    for pair, sub in t.groupby("pair", sort=False):
        sig = sub["significant_holm"].fillna(False).astype(bool)
        fig.add_scatter(x=sub["effect_size"], y=sub["label"], mode="markers", name=pair,
                        marker={"size": 10, "symbol": np.where(sig, "circle", "circle-open")},
                        customdata=np.stack([sub["p_holm"].to_numpy(dtype=float)], axis=-1),
                        hovertemplate=f"{pair}<br>%{{y}}: d=%{{x:.2f}}, p(Holm)="
                                      "%{customdata[0]:.3g}<extra></extra>")
    fig.add_vline(x=0, line_color="#888")
    return _layout(fig, "Effect sizes (filled: significant after Holm)",
                   height=160 + 18 * t["label"].nunique(), xaxis_title="Cohen's d")


def distribution_heatmap(dist: pd.DataFrame, title: str) -> go.Figure:
    """Mean probability of each answer code per item (rows) as a heatmap."""
    d = safe_frame(dist, ["item_id"])
    wide = d.pivot_table(index="item_id", columns="code", values="prob", aggfunc="mean",
                         sort=False)
    fig = go.Figure(go.Heatmap(z=wide.to_numpy(), x=[str(c) for c in wide.columns],
                               y=list(wide.index), colorscale="Blues", zmin=0,
                               hovertemplate="%{y}, code %{x}: %{z:.2f}<extra></extra>"))
    return _layout(fig, title, height=160 + 16 * len(wide), xaxis_title="answer code")


def shift_heatmap(across: pd.DataFrame, factor: str) -> go.Figure:
    """Mean shift of each item (columns) at each level (rows) from the reference level."""
    a = safe_frame(across)
    a = a.assign(label=a["instrument"] + ":" + a["item_id"]) if "instrument" in a else a.assign(
        label=a["item_id"])
    wide = a.pivot_table(index="level", columns="label", values="mean_shift", sort=False)
    lim = float(np.nanmax(np.abs(wide.to_numpy()))) if wide.size else 1.0
    fig = go.Figure(go.Heatmap(
        z=wide.to_numpy(), x=list(wide.columns), y=[f"{factor}={v}" for v in wide.index],
        colorscale="RdBu", zmid=0, zmin=-lim, zmax=lim, colorbar_title="shift",
        hovertemplate="%{y}<br>%{x}: %{z:.2f}<extra></extra>"))
    return _layout(fig, f"Shift of expected answers by {factor} (vs reference, scale points)",
                   height=220 + 26 * len(wide))


def score_heatmaps(scores: pd.DataFrame, by: str = "persona") -> list[go.Figure]:
    """One heatmap per instrument: scores (rows) by persona or other factor (columns)."""
    s = safe_frame(scores)
    out = []
    for inst, sub in s.groupby("instrument", sort=True):
        wide = sub.pivot_table(index="score_id", columns=by, values="score", sort=False)
        fig = go.Figure(go.Heatmap(z=wide.to_numpy(), x=list(wide.columns),
                                   y=list(wide.index), colorscale="Viridis",
                                   hovertemplate="%{y} / %{x}: %{z:.2f}<extra></extra>"))
        out.append(_layout(fig, f"{inst} scores by {by}", height=200 + 22 * len(wide)))
    return out


def persona_scatter(points: pd.DataFrame, x: str = "human", y: str = "persona_score",
                    facet: str = "score_id",
                    title: str = "Persona scores vs human country scores") -> go.Figure:
    """One panel per dimension: country personas' scores against the country's own."""
    p = safe_frame(points)
    facets = list(dict.fromkeys(p[facet]))
    cols = min(3, max(len(facets), 1))
    rows = int(np.ceil(len(facets) / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=facets)
    colors = _colors(p["model"])
    for i, f in enumerate(facets):
        sub = p[p[facet] == f]
        for model, ms in sub.groupby("model", sort=False):
            fig.add_scatter(x=ms[x], y=ms[y], mode="markers+text", text=ms["iso3"],
                            textposition="top center", name=model, legendgroup=model,
                            marker_color=colors[model], showlegend=i == 0,
                            row=i // cols + 1, col=i % cols + 1,
                            hovertemplate=f"{model}<br>%{{text}}: human %{{x:.2f}}, "
                                          "persona %{y:.2f}<extra></extra>")
    return _layout(fig, title, height=300 * rows + 80)


def persona_map(points: pd.DataFrame, countries: pd.DataFrame,
                baseline: pd.DataFrame | None = None) -> go.Figure:
    """Each persona's estimated map position joined to its country's real position."""
    ts, se = "traditional_secular", "survival_self_expression"
    c = safe_frame(countries)
    p = safe_frame(points)
    fig = go.Figure()
    fig.add_scatter(x=c[se], y=c[ts], mode="markers", name="countries", text=c["country"],
                    marker={"color": "#c8c8c8", "size": 6}, hovertemplate="%{text}<extra></extra>")
    colors = _colors(p["model"])
    for model, ms in p.groupby("model", sort=False):
        xs, ys = [], []
        for _, row in ms.iterrows():
            xs += [row[se], row[f"estimate_{se}"], None]
            ys += [row[ts], row[f"estimate_{ts}"], None]
        fig.add_scatter(x=xs, y=ys, mode="lines", line={"color": colors[model], "width": 1},
                        name=f"{model}: country -> persona", hoverinfo="skip")
        fig.add_scatter(x=ms[f"estimate_{se}"], y=ms[f"estimate_{ts}"], mode="markers+text",
                        text=ms["iso3"], textposition="bottom center", name=f"{model} personas",
                        marker={"color": colors[model], "size": 10},
                        hovertemplate="%{text} persona<extra></extra>")
    if baseline is not None and not baseline.empty:
        b = safe_frame(baseline)
        fig.add_scatter(x=b[f"estimate_{se}"], y=b[f"estimate_{ts}"], mode="markers+text",
                        text=b["model"], name="no persona", marker={"symbol": "star",
                                                                    "size": 16},
                        hovertemplate="%{text} without persona<extra></extra>")
    return _layout(fig, "Country personas on the map (line: real country -> persona)",
                   height=600, xaxis_title="survival  <->  self-expression",
                   yaxis_title="traditional  <->  secular-rational")


def answer_bars(dist: pd.DataFrame, title: str) -> go.Figure:
    """Stacked bars: mean probability of each answer (label) per item (explorer view)."""
    d = safe_frame(dist)
    fig = go.Figure()
    if d.empty:
        fig.add_annotation(text="no answers for this selection", showarrow=False,
                           x=0.5, y=0.5, xref="paper", yref="paper")
        return _layout(fig, title)
    name = "label" if "label" in d.columns else "code"
    for code, sub in d.groupby("code", sort=True):
        lbl = sub[name].iloc[0] if name in sub else code
        fig.add_bar(x=sub["item_id"], y=sub["prob"], name=f"{code}: {lbl}",
                    hovertemplate=f"%{{x}}<br>{code}: {lbl}<br>p = %{{y:.2f}}<extra></extra>")
    return _layout(fig, title, barmode="stack", yaxis_title="probability", yaxis_range=[0, 1])


def _colors(values: Iterable[object]) -> dict[object, str]:
    palette = pio.templates[TEMPLATE].layout.colorway or ("#636efa", "#EF553B", "#00cc96")
    return {v: palette[i % len(palette)] for i, v in enumerate(dict.fromkeys(values))}


# ---------------------------------------------------------------------- section -> figures
def _hofstede(s: Section) -> list[go.Figure]:
    return [profile_bars(s.data["profile"], "Hofstede profile: models and selected countries")]


def _mfq(s: Section) -> list[go.Figure]:
    title = "MFQ-30 foundations" if s.key == "mfq30" else "MFQ-2 foundations"
    return [foundation_bars(s.data["scores"], s.data.get("norms"), title)]


def _wvs(s: Section) -> list[go.Figure | None]:
    out: list[go.Figure | None] = []
    if "similarity" in s.data:
        out.append(similarity_bars(s.data["similarity"]))
    if "items" in s.data:
        out.append(item_dots(s.data["items"]))
    return out


def _map(s: Section) -> list[go.Figure]:
    return [cultural_map(s.data["countries"], s.data["models"])]


def _reliability(s: Section) -> list[go.Figure]:
    rel = s.data["reliability"]
    return [reliability_bars(rel, float(rel["threshold"].iloc[0]))]


def _consistency(s: Section) -> list[go.Figure]:
    return [position_bias_bars(s.data["position_bias"])] if "position_bias" in s.data else []


def _tests(s: Section) -> list[go.Figure]:
    return [effect_sizes(s.data["tests"])]


def _distributions(s: Section) -> list[go.Figure]:
    return [distribution_heatmap(v, f"Answer distribution per item: {k.split(':', 1)[1]}")
            for k, v in s.data.items() if k.startswith("dist:")]


def _factor(s: Section) -> list[go.Figure]:
    out = []
    if "across" in s.data:
        out.append(shift_heatmap(s.data["across"], s.key))
    if "scores" in s.data:
        out.extend(score_heatmaps(s.data["scores"]))
    return out


def _persona_hofstede(s: Section) -> list[go.Figure]:
    return [persona_scatter(s.data["points"])] if "points" in s.data else []


def _persona_map(s: Section) -> list[go.Figure]:
    return [persona_map(s.data["points"], s.data["countries"], s.data.get("baseline"))]


FIGURES: dict[str, Callable[[Section], list]] = {
    "hofstede": _hofstede, "mfq30": _mfq, "mfq2": _mfq, "wvs": _wvs, "map": _map,
    "reliability": _reliability, "consistency": _consistency, "tests": _tests,
    "distributions": _distributions, "persona": _factor, "language": _factor,
    "order": _factor, "paraphrase": _factor, "persona_hofstede": _persona_hofstede,
    "persona_map": _persona_map,
}
