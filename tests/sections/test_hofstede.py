"""The Hofstede section on the report tests' synthetic store."""

from __future__ import annotations

import numpy as np

from workbench.sections.hofstede import hofstede_section
from workbench.sections.settings import Settings


def test_hofstede_section(data):
    sec = hofstede_section(data, Settings(countries=["JPN", "NGA", "XXX"], k_nearest=5,
                                          n_boot=200))
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


def _chart(sec):
    from workbench.sections import figures

    figs = figures(sec)
    return figs[0] if figs else None


def test_chart_places_models_with_constants_anchored_on_country_personas(data):
    """The store has 8 country personas: the constants are fitted on them (mean of published
    score minus the persona's index), and the chart says so."""
    from workbench import reference
    from workbench.scoring import score_instrument
    from workbench.stats import anchor_vsm_constants

    sec = hofstede_section(data, Settings(n_boot=100, countries=["JPN"]))
    placed = sec.data["placed"]
    d = data.dists("vsm2013")
    fitted = anchor_vsm_constants(score_instrument(d, "vsm2013", by=["model", "persona"]),
                                  reference.hofstede_scores(),
                                  ["USA", "DEU", "JPN", "BRA", "CHN", "SWE", "NGA", "IND"])
    got = placed.merge(fitted.rename(columns={"score_id": "dimension"}),
                       on=["model", "dimension"], suffixes=("", "_fit"))
    assert len(got) == 12 and np.allclose(got["constant"], got["constant_fit"])
    assert np.allclose(placed["placed"], placed["score"] + placed["constant"])
    assert ((placed["ci_low"] <= placed["placed"]) & (placed["placed"] <= placed["ci_high"])).all()
    fig = _chart(sec)
    assert "anchored on each model's 8 country personas" in fig.layout.title.text
    box = next(t for t in fig.data if t.type == "box")
    assert box.name == f"{len(set(box.text))} countries" and len(set(box.text)) > 90
    assert {t.name for t in fig.data if t.type == "scatter"} >= {"selected countries"}


def test_chart_without_anchors_shows_only_differences_between_models(data):
    from workbench import reference, sections

    no_countries = sections.load(data.results_dir, personas=["none", "custom:hostile"])
    sec = hofstede_section(no_countries, Settings(n_boot=100))
    placed = sec.data["placed"]
    median = reference.hofstede_long().groupby("dimension")["score"].median()
    centre = placed.groupby("dimension")["placed"].mean()
    assert np.allclose(centre, median[centre.index])  # one common shift per dimension
    diff = placed.pivot(index="dimension", columns="model", values="placed")
    raw = placed.pivot(index="dimension", columns="model", values="score")
    assert np.allclose(diff["alpha"] - diff["beta"], raw["alpha"] - raw["beta"])  # C cancels
    assert "only the distances between the models" in _chart(sec).layout.title.text
    one = hofstede_section(sections.load(data.results_dir, models=["alpha"],
                                         personas=["none"]), Settings(n_boot=100))
    assert "placed" not in one.data and _chart(one) is None
    assert any("not placed" in n for n in one.notes)


def test_chart_uses_constants_as_passed(data):
    sec = hofstede_section(data, Settings(n_boot=100, vsm_constants={"C_pd": 50}))
    placed = sec.data["placed"]
    pdi = placed[placed["dimension"] == "PDI"]
    assert (placed["constant"] == 0).all() and np.allclose(pdi["placed"], pdi["score"])
    assert "constants as passed (C_pd = 50" in _chart(sec).layout.title.text
