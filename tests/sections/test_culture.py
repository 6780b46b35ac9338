"""Country-persona sections: correlations over countries, own-country ranks, anchoring."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from workbench import reference
from workbench.sections import culture
from workbench.sections.settings import Settings


def test_culture_sections(data):
    cp = culture.country_personas_section(data).data["personas"]
    assert len(cp) == 8 and cp["hofstede"].all()
    hof = culture.persona_hofstede_section(data)
    corr = hof.data["correlation"]
    assert set(corr["score_id"]) == {"PDI", "IDV", "MAS", "UAI", "LTO", "IVR"}
    full = corr[corr["n"] >= 4]
    assert ((full["ci_low"] <= full["r"]) & (full["r"] <= full["ci_high"])).all()
    own = hof.data["own_country"]
    assert own["rank_euclidean"].notna().all() and "closer_than_baseline" in own
    pm = culture.persona_map_section(data)
    assert set(pm.data["correlation"]["axis"]) == {"traditional_secular",
                                                   "survival_self_expression"}
    sim = culture.persona_similarity_section(data)
    ps = sim.data["own_country"]
    assert len(ps) == 2 * 6 and ps["rank"].min() >= 1  # no WVS shares for USA and SWE here
    assert any("SWE, USA" in n for n in sim.notes)


def test_correlation_table_matches_scipy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=12)
    frame = pd.DataFrame({"g": ["a"] * 12 + ["b"] * 3, "x": [*x, 1, 2, 3],
                          "y": [*(x + rng.normal(size=12)), 1, 1, 1]})
    out = culture.correlation_table(frame, "x", "y", ["g"], ci=0.9).set_index("g")
    ref = sps.pearsonr(x, frame["y"][:12])
    lo, hi = ref.confidence_interval(confidence_level=0.9)
    assert out.loc["a", "r"] == pytest.approx(ref.statistic)
    assert (out.loc["a", "ci_low"], out.loc["a", "ci_high"]) == pytest.approx((lo, hi))
    assert np.isnan(out.loc["b", "r"])  # constant y


def test_anchored_hofstede_section_recovers_offsets_and_ranks_own_countries(monkeypatch):
    """Persona indices = published score - a known offset per dimension: anchoring must find
    the offsets, put every persona's own country first (leave-one-out) and place the
    baseline, which copies Mexico, next to Mexico."""
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
    monkeypatch.setattr(culture, "score_instrument", lambda *a, **k: scores)
    data = SimpleNamespace(dists=lambda inst: pd.DataFrame({"x": [1]}),
                           answers=pd.DataFrame({"persona": [p for p, _ in rows]}),
                           distributions=pd.DataFrame(), models=["m"], cache={})
    sec = culture.anchored_hofstede_section(data, Settings(baseline="none", k_nearest=3))
    const = sec.data["constants"].set_index("score_id")
    assert const["constant"].to_dict() == pytest.approx(offset)
    assert (const["n_countries"] == len(countries)).all()
    assert const["residual_sd"].max() == pytest.approx(0, abs=1e-9)
    own = sec.data["own_rank"]
    assert len(own) == len(countries) and (own["own_rank"] == 1).all()
    assert (own["n_anchor_personas"] == len(countries) - 1).all()
    near = next(t for c, t in sec.tables.items() if c.startswith("Countries nearest"))
    assert near.iloc[0]["iso3"] == "MEX" and near.iloc[0]["euclidean"] == pytest.approx(0)
    assert set(near["validity"]) == {"not judged"}  # no answer distributions to judge here


def test_anchored_hofstede_section_needs_three_country_personas():
    two = SimpleNamespace(dists=lambda inst: pd.DataFrame({"x": [1]}), answers=pd.DataFrame(
        {"persona": ["none", "country:USA", "country:DEU"]}))
    sec = culture.anchored_hofstede_section(two)
    assert not sec.available and any("at least 3 country personas (found 2)" in n
                                     for n in sec.notes)
