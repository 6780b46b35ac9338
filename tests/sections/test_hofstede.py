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
