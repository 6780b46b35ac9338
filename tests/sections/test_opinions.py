"""The WVS-7 battery sections on a small synthetic store: similarity tables with the uniform
baseline, the world map, cultural prompting, and the map drawn offline in Chromium."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.fakes import HashBackend
from workbench import sections
from workbench.design import Design
from workbench.probe import run_probe
from workbench.sections import opinions
from workbench.sections.render import offline_assets_html, section_html
from workbench.sections.settings import Settings

FAST = Settings(n_boot=200, n_perm=199)


@pytest.fixture(scope="module")
def wvs_data(tmp_path_factory):
    """Two synthetic models, two WVS-7 blocks (12 items), no persona and two country personas."""
    root = tmp_path_factory.mktemp("wvs7-full-store")
    design = Design(models=["m", "n"], instruments=["wvs7_full"],
                    blocks=["postmaterialism", "science"],
                    personas=["none", "country:DEU", "country:JPN"])
    run_probe(design, root, backends={"m": HashBackend("m"), "n": HashBackend("n", tilt=1.0)},
              progress=False)
    return sections.load(root)


def test_similarity_tables_carry_the_uniform_baseline_and_the_map_is_built(wvs_data):
    sec = sections.compute("opinions", wvs_data, FAST)
    sim = sec.data["similarity"]
    assert set(sim["model"]) == {"m", "n"}
    assert set(sim["block"]) == {"all", "postmaterialism", "science"}
    for caption, table in sec.tables.items():
        assert "uniform" in " ".join(table.columns), caption
    full = sim[sim["block"] == "all"]
    assert (full["n_items"] == 12).all()
    assert np.allclose(full["vs_uniform"], full["similarity"] - full["uniform"])
    assert ((full["ci_low"] <= full["similarity"]) & (full["similarity"] <= full["ci_high"])).all()
    ext = sec.data["extremes"]
    for model, sub in ext.groupby("model"):
        assert (sub["end"] == "most").sum() == 5 and (sub["end"] == "least").sum() == 5
        ranked = full[full["model"] == model].sort_values("rank")
        assert sub[sub["end"] == "most"]["iso3"].tolist() == ranked["iso3"].head(5).tolist()
    summary = next(t for c, t in sec.tables.items() if c.startswith("Per model and block"))
    assert len(summary) == 2 * 3 and summary["uniform_median"].between(0, 1).all()
    figs = sections.figures(sec)
    assert len(figs) == 2 and all(f.data[0].type == "choropleth" for f in figs)
    assert figs[0].layout.title.text.startswith("m: similarity")
    assert sorted(figs[0].data[0].locations) == sorted(full[full["model"] == "m"]["iso3"])


def test_cultural_prompting_section_has_a_row_per_persona_and_a_bar_chart(wvs_data):
    sec = sections.compute("cultural_prompting", wvs_data, FAST)
    pr = sec.data["prompting"]
    for _, sub in pr.groupby("model"):
        assert set(sub["persona"]) == {"country:DEU", "country:JPN", "all country personas"}
    rows = pr[pr["level"] == "persona"]
    assert ((rows["ci_low"] <= rows["effect"]) & (rows["effect"] <= rows["ci_high"])).all()
    assert np.allclose(rows["effect"], rows["delta_target"] - rows["delta_others"])
    assert np.allclose(rows["p_value"], rows["rank_of_target"] / rows["n_countries"])
    (fig,) = sections.figures(sec)
    assert [t.type for t in fig.data] == ["bar", "bar"]
    assert fig.data[0].error_y.array is not None


def test_absent_instrument_or_personas_give_a_note(data, wvs_data):
    for key in ("opinions", "cultural_prompting"):
        sec = sections.compute(key, data, FAST)  # the report store has no wvs7_full answers
        assert not sec.available and "no 'wvs7_full' results" in sec.notes[0]
    for key in ("opinions", "cultural_prompting"):
        sec = sections.compute(key, wvs_data, Settings(baseline="nobody"))
        assert not sec.available and "'nobody' persona" in sec.notes[0]


def test_the_sections_sit_in_the_culture_and_compare_reports():
    culture = [s.key for s in sections.layout("culture")]
    assert culture.index("persona_similarity") < culture.index("opinions") < culture.index(
        "cultural_prompting") < culture.index("provenance")
    assert "opinions" in [s.key for s in sections.layout("compare")]
    assert opinions.INSTRUMENT == "wvs7_full"


def test_the_report_assets_carry_the_world_geography_once():
    assets = offline_assets_html()
    assert assets.count("window.PlotlyGeoAssets.topojson") == 1
    assert assets.count('id="workbench-plotlyjs"') == 1


@pytest.mark.slow
def test_the_section_map_draws_country_paths_offline_in_chromium(wvs_data, tmp_path):
    from workbench.report import chromium_path, rendered_dom

    if chromium_path() is None:
        pytest.skip("chromium not installed (apt-get install chromium / make browser)")
    sec = sections.compute("opinions", wvs_data, FAST)
    page = tmp_path / "opinions.html"
    page.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
                    f"{offline_assets_html()}{section_html(sec)}</body></html>", encoding="utf-8")
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", text)  # nothing fetched from anywhere
    dom = rendered_dom(page)
    n = sec.data["similarity"].query("block == 'all' and model == 'm'")["iso3"].nunique()
    assert len(re.findall(r'<path class="choroplethlocation"', dom)) >= n
