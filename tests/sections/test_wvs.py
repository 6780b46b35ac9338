"""The WVS similarity and cultural-map sections."""

from __future__ import annotations

from workbench.sections.settings import Settings
from workbench.sections.wvs import map_section, wvs_section


def test_wvs_and_map_sections(data):
    wvs = wvs_section(data, Settings(countries=["JPN"], k_nearest=3))
    sim = wvs.data["similarity"]
    top = sim[sim["rank"] == 1].set_index("model")["similarity"]
    assert (sim.groupby("model")["similarity"].max() == top).all()
    assert sim["similarity"].between(0, 1).all()
    mp = map_section(data, Settings(countries=["JPN"]))
    models = mp.data["models"]
    assert set(models["model"]) == {"alpha", "beta"}
    assert (models["pi_low_traditional_secular"] <= models["estimate_traditional_secular"]).all()
    assert any("Approximation" in n for n in mp.notes)
    assert mp.data["countries"].set_index("iso3").loc["JPN", "selected"]
