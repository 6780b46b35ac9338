"""Display of report sections: escaped HTML tables and notes, offline plotly figures, and the
registry-driven :func:`show` / :func:`show_report` the notebooks call.

Why: notebooks only call these. Three rules hold everywhere:

* offline: :func:`setup_offline_plotly` embeds plotly.js and the world map geography once
  per notebook (one output); every figure is then written without plotly.js and without
  MathJax or CDN links, so an exported HTML report works with no network and carries
  plotly.js exactly once;
* escaped: every table goes through :func:`table_html` (``DataFrame.to_html`` escapes cells
  and headers; a pandas ``Styler`` would not) and every text from the store that ends up in
  a figure (model, persona, item ids, labels) is HTML-escaped first (:func:`safe_frame`),
  because plotly.js reads a subset of HTML in labels and hover text;
* one source for headings: a section's heading and description come from the registry, so
  a notebook never types them (the heading is an ``<h2>`` with the id nbconvert would give
  the same markdown heading).
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from workbench.sections import registry
from workbench.sections.base import ReportData, Section
from workbench.sections.settings import Settings

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


def heading_html(spec: registry.SectionSpec) -> str:
    """The section's ``<h2>`` (with nbconvert's id and anchor link) and its description."""
    anchor = html.escape(spec.anchor)
    out = (f'<h2 id="{anchor}">{html.escape(spec.title)}<a class="anchor-link" '
           f'href="#{anchor}">¶</a></h2>')
    return out + (f"<p>{html.escape(spec.description)}</p>" if spec.description else "")


# ---------------------------------------------------------------------- offline plotly
def plotlyjs_html() -> str:
    """plotly.js inline, in one script element (embedded once per report)."""
    from plotly.offline import get_plotlyjs

    return (f'<script type="text/javascript" id="{PLOTLYJS_MARKER}">'
            "window.PlotlyConfig = {MathJaxConfig: 'local'};\n"
            f"{get_plotlyjs()}</script>")


def offline_assets_html() -> str:
    """plotly.js and the world geography for choropleth maps (:func:`workbench.opinion_figures.
    geo_assets_script`; without it plotly.js fetches the geography from a CDN and an offline
    map is blank), each once, before any figure."""
    from workbench.opinion_figures import geo_assets_script

    return plotlyjs_html() + geo_assets_script()


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

        display(HTML(offline_assets_html()))
        _state["plotlyjs_shown"] = True


# ---------------------------------------------------------------------- figure styling
def style_figure(fig: go.Figure, title: str, height: int = 480, **kw: object) -> go.Figure:
    """The report's figure layout: escaped title, white template, common margins."""
    fig.update_layout(title=safe(title), template=TEMPLATE, height=height,
                      legend_title_text="", margin={"t": 60, "l": 60, "r": 20, "b": 60}, **kw)
    return fig


def interval_bars(frame: pd.DataFrame, col: str = "score") -> dict | None:
    """Asymmetric error bars from ``ci_low``/``ci_high`` (None when there are none)."""
    if "ci_low" not in frame.columns or frame["ci_low"].isna().all():
        return None
    return {"type": "data", "symmetric": False,
            "array": (frame["ci_high"] - frame[col]).to_numpy(),
            "arrayminus": (frame[col] - frame["ci_low"]).to_numpy()}


def colors(values: Iterable[object]) -> dict[object, str]:
    """One template colour per distinct value, in order of appearance."""
    palette = pio.templates[TEMPLATE].layout.colorway or ("#636efa", "#EF553B", "#00cc96")
    return {v: palette[i % len(palette)] for i, v in enumerate(dict.fromkeys(values))}


# ---------------------------------------------------------------------- display
def _display_html(fragment: str) -> None:
    from IPython.display import HTML, display

    display(HTML(fragment))


def show_figure(fig: go.Figure | None) -> None:
    """Display one figure (offline HTML + plotly mimetype); None shows nothing."""
    if fig is None:
        return
    from IPython.display import display

    display(figure_bundle(fig), raw=True)


def show_table(frame: pd.DataFrame, caption: str | None = None, max_rows: int = 300) -> None:
    _display_html(table_html(frame, caption, max_rows))


def show_note(text: str) -> None:
    _display_html(note_html(text))


def section_html(sec: Section, figures: bool = True) -> str:
    """Lead block, notes, figures and tables of a section as one escaped HTML fragment."""
    parts = [block for block in (registry.lead(sec),) if block]
    parts += [note_html(n) for n in sec.notes]
    if figures:
        parts += [figure_html(f) for f in registry.figures(sec)]
    parts += [table_html(t, caption) for caption, t in sec.tables.items()]
    return "\n".join(parts)


def show_section(sec: Section, figures: bool = True) -> None:
    """Display a computed section: its lead block, notes, figures, then its tables."""
    block = registry.lead(sec)
    if block:
        _display_html(block)
    for n in sec.notes:
        show_note(n)
    if figures:
        for fig in registry.figures(sec):
            show_figure(fig)
    for caption, table in sec.tables.items():
        show_table(table, caption)


def show(key: str, data: ReportData, settings: Settings | None = None) -> None:
    """Display one section: the registry's heading and description, then its content."""
    spec = registry.get(key)
    _display_html(heading_html(spec))
    show_section(spec.compute(data, settings))


def show_report(kind: str, data: ReportData, settings: Settings | None = None) -> None:
    """Display every section of one report kind, in the registry's order."""
    for spec in registry.layout(kind):
        show(spec.key, data, settings)
