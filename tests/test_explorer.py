"""The explorer: its pure view function on a small store, the widget wiring, and the explore
notebook executed headlessly."""

from __future__ import annotations

import html

import pytest

from tests.test_report import (  # noqa: F401
    EXPLORE_HEADINGS,
    HOSTILE_TEXT,
    assert_offline_html,
    report_store,
)
from workbench.explorer import (
    ALL,
    TABLE_COLUMNS,
    build_explorer,
    explorer_data,
    explorer_options,
    explorer_view,
)
from workbench.report import run_report
from workbench.store import ResultStore


@pytest.fixture(scope="module")
def data(report_store):  # noqa: F811
    return explorer_data(report_store)


def test_options_list_every_factor(data):
    opts = explorer_options(data)
    assert opts["model"] == ["alpha", "beta", "scripted"]
    assert set(opts["instrument"]) == {"mfq2", "mfq30", "vsm2013", "wvs7"}
    assert opts["order"] == ["original", "reversed"] and opts["paraphrase"] == [0, 1]
    assert explorer_options(data, "scripted")["instrument"] == ["mfq30"]


def test_view_defaults_to_first_model_and_instrument(data):
    fig, table = explorer_view(data)
    assert list(table.columns) == TABLE_COLUMNS
    assert set(table["instrument"]) == {"mfq2"} and len(table) == 36
    assert list(table["item_id"][:3]) == ["q01", "q02", "q03"]  # instrument order
    assert "model=alpha" in fig.layout.title.text
    # stacked bars: one trace per answer code, probabilities of each item sum to 1
    assert len(fig.data) == 5
    sums = [sum(t.y[i] for t in fig.data) for i in range(len(fig.data[0].x))]
    assert min(sums) == pytest.approx(1.0) and max(sums) == pytest.approx(1.0)


def test_filters_narrow_the_requests(data):
    _, pooled = explorer_view(data, model="beta", instrument="mfq30")
    _, one = explorer_view(data, model="beta", instrument="mfq30", persona="none",
                           order="reversed", paraphrase=1)
    assert set(pooled["n_requests"]) == {8} and set(one["n_requests"]) == {1}
    _, same = explorer_view(data, model="beta", instrument="mfq30", persona=ALL, order=ALL,
                            paraphrase="1")
    assert set(same["n_requests"]) == {4}


def test_empty_selection_gives_an_annotated_figure(data):
    fig, table = explorer_view(data, model="alpha", instrument="mfq30", language="xx")
    assert table.empty and list(table.columns) == TABLE_COLUMNS
    assert fig.layout.annotations[0].text == "no answers for this selection"


def test_generation_answers_show_status_and_text(data):
    _, table = explorer_view(data, model="scripted")
    assert set(table["statuses"]) >= {"ok: 1", "unparseable: 1", "refusal: 1"}
    assert HOSTILE_TEXT in set(table["example_text"])  # raw in the frame, escaped on display
    from workbench.sections.render import table_html

    shown = table_html(table)
    assert HOSTILE_TEXT not in shown and html.escape(HOSTILE_TEXT, quote=False) in shown


def test_view_accepts_store_path_and_frames(report_store, data):  # noqa: F811
    store = ResultStore(report_store, read_only=True)
    for source in (report_store, str(report_store), store,
                   (data.distributions, data.answers),
                   {"distributions": data.distributions, "answers": data.answers}):
        _, table = explorer_view(source, model="alpha", instrument="vsm2013")
        assert len(table) == 24


def test_widgets_redraw_on_change(report_store):  # noqa: F811
    ex = build_explorer(report_store, model="beta", instrument="wvs7")
    assert set(ex.table["instrument"]) == {"wvs7"}
    assert ex.selection()["model"] == "beta"
    ex.dropdowns["instrument"].value = "vsm2013"
    assert set(ex.table["instrument"]) == {"vsm2013"}
    ex.dropdowns["persona"].value = "country:JPN"
    assert set(ex.table["n_requests"]) == {1}
    ex.dropdowns["model"].value = "scripted"  # options follow the model; instrument resets
    assert ex.dropdowns["instrument"].value == "mfq30"
    assert ex.dropdowns["persona"].value == ALL
    assert set(ex.table["instrument"]) == {"mfq30"}


def test_the_output_widget_holds_the_current_figure_and_table(report_store):  # noqa: F811
    """The view is the Output widget's state (no display capture by message id), so it is
    the same in JupyterLab, in a headless run and here, and follows every change."""
    ex = build_explorer(report_store, model="beta", instrument="wvs7")
    figure, table = ex.output.outputs
    assert 'class="plotly-graph-div"' in figure["data"]["text/html"]
    assert "Q154" in table["data"]["text/html"] and "m07" not in table["data"]["text/html"]
    ex.dropdowns["instrument"].value = "vsm2013"
    figure, table = ex.output.outputs
    assert "m07" in table["data"]["text/html"] and "Q154" not in table["data"]["text/html"]


def test_explore_notebook_runs_headless(report_store, tmp_path):  # noqa: F811
    out = run_report("explore", models=["beta"], results=report_store, out=tmp_path,
                     extra=["order=reversed"])
    text = out.read_text(encoding="utf-8")
    plain = html.unescape(text)
    for title in EXPLORE_HEADINGS:
        assert title in plain
    assert "model=beta" in plain and "order=reversed" in plain
    assert text.count('class="plotly-graph-div"') >= 1
    assert_offline_html(text)
    assert (tmp_path / "explore.ipynb").is_file()
