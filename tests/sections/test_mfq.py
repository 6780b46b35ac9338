"""The MFQ-30 and MFQ-2 sections: norms reported honestly, catch items screened."""

from __future__ import annotations

import numpy as np

from workbench.sections.mfq import mfq2_section, mfq30_section
from workbench.sections.settings import Settings


def test_mfq_sections_report_norms_honestly(data):
    none = mfq30_section(data, Settings(mfq30_norm_groups=["liberal", "conservative"],
                                        n_boot=200))
    assert any(n.startswith("MFQ-30 norms not available") for n in none.notes)
    assert "norms" not in none.data
    mfq30 = mfq30_section(data, Settings(n_boot=200))
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
    mfq2 = mfq2_section(data, Settings(countries=["JPN", "EGY", "USA"], n_boot=200))
    assert set(mfq2.data["norms"]["group_key"]) == {"JPN", "EGY"}
    z = mfq2.data["zscores"]
    assert np.allclose(z["z"], (z["score"] - z["norm_mean"]) / z["norm_sd"])
    assert any("USA" in n for n in mfq2.notes)
