"""Escaping display helpers and offline figure HTML."""

from __future__ import annotations

import pandas as pd
import plotly.io as pio

from tests.test_report import HOSTILE_PERSONA
from workbench.sections import render
from workbench.sections.mfq import foundation_bars
from workbench.sections.settings import Settings


def test_table_html_escapes_cells_headers_and_caption():
    frame = pd.DataFrame({"<b>col</b>": [HOSTILE_PERSONA], "x": [1.23456789]})
    out = render.table_html(frame, caption="<i>cap</i>")
    assert "<img" not in out and "<b>col" not in out and "<i>cap" not in out
    assert "&lt;img src=x onerror=alert(2)&gt;" in out and "1.235" in out
    assert render.note_html("<script>x</script>") == (
        render.note_html("").replace("></div>", ">&lt;script&gt;x&lt;/script&gt;</div>"))


def test_figures_escape_labels_and_carry_no_plotlyjs():
    scores = pd.DataFrame({"model": ["<b>m</b>"], "score_id": ["care"], "score": [2.0],
                           "ci_low": [1.5], "ci_high": [2.5]})
    fig = foundation_bars(scores)
    assert fig.data[0].name == "&lt;b&gt;m&lt;/b&gt;"
    out = render.figure_html(fig)
    assert 'class="plotly-graph-div"' in out
    assert "<script src" not in out and "mathjax" not in out.lower()
    assert "* plotly.js v" not in out
    assert render.plotlyjs_html().count("* plotly.js v") == 1


def test_setup_outside_a_kernel_sets_the_offline_renderer():
    render.setup_offline_plotly()
    assert pio.renderers.default == render.RENDERER
    bundle = pio.renderers[render.RENDERER].to_mimebundle(
        foundation_bars(pd.DataFrame({"model": ["m"], "score_id": ["care"],
                                      "score": [1.0]})).to_dict())
    assert "<script src" not in bundle["text/html"]
    assert "application/vnd.plotly.v1+json" in bundle


def test_show_report_displays_headings_then_each_section_in_layout_order(data, monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(render, "_display_html", shown.append)
    monkeypatch.setattr(render, "show_figure", lambda fig: shown.append("<figure>"))
    render.show_report("probe", data, Settings(max_items=5))
    headings = [s for s in shown if s.startswith("<h2 ")]
    assert headings == [render.heading_html(s) for s in render.registry.layout("probe")]
    keys = [s.key for s in render.registry.layout("probe")]
    assert keys[:3] == ["validity", "about", "probe_overview"]
    assert 'id="wb-verdicts"' in shown[shown.index(headings[0]) + 1]  # the summary leads
    first, second = (shown.index(h) for h in headings[2:4])
    assert any("Requests by instrument, mode and status" in s for s in shown[first:second])
    assert "<figure>" in shown[shown.index(headings[3]):shown.index(headings[4])]
