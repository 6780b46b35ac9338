"""Report sections as plain functions: tidy frames, visible notes for absent data or broken
helpers, escaping display helpers and offline figure HTML."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest
from scipy import stats as sps

import workbench.stats
from tests.fakes import FirstPositionBackend
from tests.test_report import HOSTILE_PERSONA, report_store  # noqa: F401
from workbench import analysis, plots
from workbench.design import Design
from workbench.errors import WorkbenchError
from workbench.probe import run_probe

MINI = str(Path(__file__).parent / "fixtures" / "mini.yaml")


@pytest.fixture(scope="module")
def data(report_store):  # noqa: F811
    return analysis.load(report_store)


def test_load_reads_the_selection_and_notes_what_is_missing(report_store):  # noqa: F811
    d = analysis.load(report_store, models=["alpha", "ghost"], instruments=["mfq30", "mfq9"])
    assert d.models == ["alpha"] and d.instruments == ["mfq30"]
    assert set(d.answers["model"]) == {"alpha"} and set(d.distributions["instrument"]) == {
        "mfq30"}
    assert any("ghost" in n for n in d.notes) and any("mfq9" in n for n in d.notes)
    assert d.store.read_only
    with pytest.raises(WorkbenchError, match="none of the models"):
        analysis.load(report_store, models=["ghost"])
    with pytest.raises(WorkbenchError, match="model 'ghost' has no results"):
        analysis.pick_model(report_store, "ghost")
    assert analysis.pick_model(report_store) == "alpha"


def test_a_model_in_two_modes_is_split(tmp_path):
    backend = FirstPositionBackend()
    for mode in ("logprob", "generate"):
        run_probe(Design(models=["m"], instruments=[MINI], mode=mode), tmp_path,
                  backends={"m": backend}, progress=False)
    d = analysis.load(tmp_path)
    assert d.models == ["m [generate]", "m [logprob]"]
    assert any("several modes" in n for n in d.notes)
    rel = analysis.reliability_section(d)
    assert any("not a shipped instrument" in n for n in rel.notes)


def test_hofstede_section(data):
    sec = analysis.hofstede_section(data, countries=["JPN", "NGA", "XXX"], k=5, n_boot=200)
    prof = sec.data["profile"]
    assert set(prof["kind"]) == {"model", "country"}
    assert set(prof.loc[prof["kind"] == "model", "subject"]) == {"alpha", "beta"}
    assert prof.loc[prof["kind"] == "model", "ci_low"].notna().all()
    near = sec.data["nearest"]
    assert (near.groupby("model").size() == 5).all() and (near["n_dims"] >= 4).all()
    # nearest by RMSD (comparable across 4..6 shared dimensions), ranked among comparable ones
    assert sorted(near.loc[near["model"] == "alpha", "rank_rmsd"]) == [1, 2, 3, 4, 5]
    assert np.allclose(near["rmsd"], near["euclidean"] / np.sqrt(near["n_dims"]))
    sel = sec.data["selected_distance"]
    assert sel.loc[sel["iso3"] == "NGA", "rank_rmsd"].isna().all()  # only 2 dims
    assert any("XXX" in n for n in sec.notes) and any("constants are all 0" in n
                                                      for n in sec.notes)


def test_mfq_sections_report_norms_honestly(data):
    none = analysis.mfq_section(data, "mfq30", norm_groups=["liberal", "conservative"],
                                n_boot=200)
    assert any(n.startswith("MFQ-30 norms not available") for n in none.notes)
    assert "norms" not in none.data
    mfq30 = analysis.mfq_section(data, "mfq30", n_boot=200)
    # only 'moderate' has published means (no SD): a raw difference, never a made-up z
    assert set(mfq30.data["norms"]["group"]) == {"moderate"}
    diff = mfq30.data["zscores"]
    assert diff["z"].isna().all()
    assert np.allclose(diff["difference"], diff["score"] - diff["norm_mean"], equal_nan=True)
    assert any("no published SD for moderate" in n for n in mfq30.notes)
    assert "Model minus human mean, groups without a published SD" in mfq30.tables
    scores = mfq30.data["scores"]
    ok = scores["model"] != "scripted"
    assert ((scores.loc[ok, "ci_low"] <= scores.loc[ok, "score"])
            & (scores.loc[ok, "score"] <= scores.loc[ok, "ci_high"])).all()
    catch = next(t for c, t in mfq30.tables.items() if c.startswith("Catch items"))
    assert {"p_fail_q06", "p_fail_q22"} <= set(catch.columns)
    values = catch[["p_fail_q06", "p_fail_q22"]].stack().dropna()
    assert len(values) >= 4 and values.between(0, 1).all()
    mfq2 = analysis.mfq_section(data, "mfq2", countries=["JPN", "EGY", "USA"], n_boot=200)
    assert set(mfq2.data["norms"]["group_key"]) == {"JPN", "EGY"}
    z = mfq2.data["zscores"]
    assert np.allclose(z["z"], (z["score"] - z["norm_mean"]) / z["norm_sd"])
    assert any("USA" in n for n in mfq2.notes)


def test_wvs_and_map_sections(data):
    wvs = analysis.wvs_section(data, countries=["JPN"], k=3)
    sim = wvs.data["similarity"]
    top = sim[sim["rank"] == 1].set_index("model")["similarity"]
    assert (sim.groupby("model")["similarity"].max() == top).all()
    assert sim["similarity"].between(0, 1).all()
    mp = analysis.map_section(data, countries=["JPN"])
    models = mp.data["models"]
    assert set(models["model"]) == {"alpha", "beta"}
    assert (models["pi_low_traditional_secular"] <= models["estimate_traditional_secular"]).all()
    assert any("Approximation" in n for n in mp.notes)


def test_reliability_consistency_and_tests(data):
    rel = analysis.reliability_section(data, threshold=0.7).data["reliability"]
    assert set(rel["reliability"]) <= {"LOW", "ok", "n/a"}
    assert (rel.loc[rel["reliability"] == "LOW", "alpha"] < 0.7).all()
    cons = analysis.consistency_section(data)
    assert set(cons.data["consistency"]["factor"]) == {"order", "paraphrase"}
    assert {"first_excess", "last_excess"} <= set(cons.data["position_bias"].columns)
    tests = analysis.comparison_section(data, n_perm=200)
    t = tests.data["tests"]
    assert set(t["instrument"]) == {"mfq2", "mfq30", "vsm2013", "wvs7"}
    assert (t["p_holm"] >= t["p_value"] - 1e-12).all()
    assert (t["p_bh"] <= t["p_holm"] + 1e-12).all()
    assert any("scripted has a single respondent unit" in n for n in tests.notes)


def test_absent_instrument_sections_are_notes(report_store):  # noqa: F811
    d = analysis.load(report_store, models=["scripted"])
    for section in (analysis.hofstede_section(d), analysis.wvs_section(d),
                    analysis.map_section(d), analysis.mfq_section(d, "mfq2")):
        assert not section.available
        assert any("not available" in n for n in section.notes)
        assert "not available" in plots.section_html(section)
    assert not analysis.comparison_section(d).available


def test_broken_or_missing_stats_helpers_degrade_to_notes(data, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("half-written")

    monkeypatch.setattr(workbench.stats, "bootstrap_scores", broken)
    monkeypatch.delattr(workbench.stats, "wvs_similarity")
    sec = analysis.mfq_section(data, "mfq30", n_boot=200)
    assert "scores" in sec.data and sec.data["scores"]["ci_low"].isna().all()
    assert any("it failed (RuntimeError: half-written)" in n for n in sec.notes)
    wvs = analysis.wvs_section(data)
    assert any("workbench.stats.wvs_similarity is not defined" in n for n in wvs.notes)
    assert "not available" in plots.section_html(wvs)


def test_culture_sections(data):
    cp = analysis.country_personas_section(data).data["personas"]
    assert len(cp) == 8 and cp["hofstede"].all()
    hof = analysis.persona_hofstede_section(data)
    corr = hof.data["correlation"]
    assert set(corr["score_id"]) == {"PDI", "IDV", "MAS", "UAI", "LTO", "IVR"}
    full = corr[corr["n"] >= 4]
    assert ((full["ci_low"] <= full["r"]) & (full["r"] <= full["ci_high"])).all()
    own = hof.data["own_country"]
    assert own["rank_euclidean"].notna().all() and "closer_than_baseline" in own
    pm = analysis.persona_map_section(data)
    assert set(pm.data["correlation"]["axis"]) == {"traditional_secular",
                                                   "survival_self_expression"}
    sim = analysis.persona_similarity_section(data)
    ps = sim.data["own_country"]
    assert len(ps) == 2 * 6 and ps["rank"].min() >= 1  # no WVS shares for USA and SWE here
    assert any("SWE, USA" in n for n in sim.notes)


def test_correlation_table_matches_scipy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=12)
    frame = pd.DataFrame({"g": ["a"] * 12 + ["b"] * 3, "x": [*x, 1, 2, 3],
                          "y": [*(x + rng.normal(size=12)), 1, 1, 1]})
    out = analysis.correlation_table(frame, "x", "y", ["g"], ci=0.9).set_index("g")
    ref = sps.pearsonr(x, frame["y"][:12])
    lo, hi = ref.confidence_interval(confidence_level=0.9)
    assert out.loc["a", "r"] == pytest.approx(ref.statistic)
    assert (out.loc["a", "ci_low"], out.loc["a", "ci_high"]) == pytest.approx((lo, hi))
    assert np.isnan(out.loc["b", "r"])  # constant y


def test_table_html_escapes_cells_headers_and_caption():
    frame = pd.DataFrame({"<b>col</b>": [HOSTILE_PERSONA], "x": [1.23456789]})
    out = plots.table_html(frame, caption="<i>cap</i>")
    assert "<img" not in out and "<b>col" not in out and "<i>cap" not in out
    assert "&lt;img src=x onerror=alert(2)&gt;" in out and "1.235" in out
    assert plots.note_html("<script>x</script>") == (
        plots.note_html("").replace("></div>", ">&lt;script&gt;x&lt;/script&gt;</div>"))


def test_figures_escape_labels_and_carry_no_plotlyjs():
    scores = pd.DataFrame({"model": ["<b>m</b>"], "score_id": ["care"], "score": [2.0],
                           "ci_low": [1.5], "ci_high": [2.5]})
    fig = plots.foundation_bars(scores)
    assert fig.data[0].name == "&lt;b&gt;m&lt;/b&gt;"
    out = plots.figure_html(fig)
    assert 'class="plotly-graph-div"' in out
    assert "<script src" not in out and "mathjax" not in out.lower()
    assert "* plotly.js v" not in out
    assert plots.plotlyjs_html().count("* plotly.js v") == 1


def test_setup_outside_a_kernel_sets_the_offline_renderer():
    plots.setup_offline_plotly()
    assert pio.renderers.default == plots.RENDERER
    bundle = pio.renderers[plots.RENDERER].to_mimebundle(
        plots.foundation_bars(pd.DataFrame({"model": ["m"], "score_id": ["care"],
                                            "score": [1.0]})).to_dict())
    assert "<script src" not in bundle["text/html"]
    assert "application/vnd.plotly.v1+json" in bundle


def test_anchored_hofstede_section_recovers_offsets_and_ranks_own_countries(monkeypatch):
    """Persona indices = published score - a known offset per dimension: anchoring must find
    the offsets, put every persona's own country first (leave-one-out) and place the
    baseline, which copies Mexico, next to Mexico."""
    from types import SimpleNamespace

    from workbench import reference

    ref = reference.hofstede_scores()
    dims = ["pdi", "idv", "mas", "uai", "lto", "ivr"]
    full = ref[(ref["kind"] == "country") & ref[dims].notna().all(axis=1)].set_index("iso3")
    offset = dict(zip(["PDI", "IDV", "MAS", "UAI", "LTO", "IVR"],
                      [10.0, -20.0, 5.0, 30.0, -15.0, 40.0], strict=True))
    countries = ["USA", "DEU", "JPN", "CHN", "BRA", "IND", "SWE", "RUS"]
    rows = [(f"country:{c}", c) for c in countries] + [("none", "MEX")]
    scores = pd.DataFrame([
        {"model": "m", "instrument": "vsm2013", "persona": p, "score_id": d,
         "score": float(full.loc[iso, d.lower()]) - offset[d]}
        for p, iso in rows for d in offset])
    monkeypatch.setattr(analysis, "score_instrument", lambda *a, **k: scores)
    data = SimpleNamespace(dists=lambda inst: pd.DataFrame({"x": [1]}),
                           answers=pd.DataFrame({"persona": [p for p, _ in rows]}))
    sec = analysis.anchored_hofstede_section(data, baseline="none", k=3)
    const = sec.data["constants"].set_index("score_id")
    assert const["constant"].to_dict() == pytest.approx(offset)
    assert (const["n_countries"] == len(countries)).all()
    assert const["residual_sd"].max() == pytest.approx(0, abs=1e-9)
    own = sec.data["own_rank"]
    assert len(own) == len(countries) and (own["own_rank"] == 1).all()
    assert (own["n_anchor_personas"] == len(countries) - 1).all()
    near = next(t for c, t in sec.tables.items() if c.startswith("Countries nearest"))
    assert near.iloc[0]["iso3"] == "MEX" and near.iloc[0]["euclidean"] == pytest.approx(0)


def test_anchored_hofstede_section_needs_three_country_personas():
    from types import SimpleNamespace

    two = SimpleNamespace(dists=lambda inst: pd.DataFrame({"x": [1]}), answers=pd.DataFrame(
        {"persona": ["none", "country:USA", "country:DEU"]}))
    sec = analysis.anchored_hofstede_section(two)
    assert not sec.available and any("at least 3 country personas (found 2)" in n
                                     for n in sec.notes)
