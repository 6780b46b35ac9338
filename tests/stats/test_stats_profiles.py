"""Hofstede distances, VSM constants anchored on personas, and MFQ z-scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.errors import WorkbenchError
from workbench.paths import data_dir
from workbench.stats import (
    anchor_vsm_constants,
    hofstede_distance,
    mfq_zscores,
    nearest_countries,
)
from workbench.stats.profiles import HOFSTEDE_DIMS

REFERENCE = pd.DataFrame({
    "hofstede_code": ["AAA", "BBB", "CCC", "RRR"],
    "country": ["Aland", "Bland", "Cland", "Region"],
    "iso3": ["AAA", "BBB", "CCC", None],
    "kind": ["country", "country", "country", "region"],
    "pdi": [40, 80, 10, 40], "idv": [90, 20, 70, 90], "mas": [60, 50, 10, 60],
    "uai": [40, 80, 30, 40], "lto": [30, 80, np.nan, 30], "ivr": [70, 20, np.nan, 70],
})


def _profile(values, model="m"):
    return pd.DataFrame({"model": model, "score_id": ["PDI", "IDV", "MAS", "UAI", "LTO", "IVR"],
                         "score": values})


def test_hofstede_distance_ranks_identical_country_first():
    dist = hofstede_distance(_profile([40, 90, 60, 40, 30, 70]), REFERENCE)
    assert dist["country"].tolist()[0] == "Aland"
    assert "Region" not in dist["country"].tolist()  # kinds=("country",) by default
    first = dist.iloc[0]
    assert first["euclidean"] == 0 and first["rank_euclidean"] == 1
    assert first["correlation_distance"] == pytest.approx(0.0, abs=1e-12)
    c = dist.set_index("country").loc["Cland"]
    assert c["n_dims"] == 4
    expected = np.sqrt(30**2 + 20**2 + 50**2 + 10**2)
    assert c["euclidean"] == pytest.approx(expected)
    assert c["rmsd"] == pytest.approx(expected / 2)
    r = np.corrcoef([40, 90, 60, 40], [10, 70, 10, 30])[0, 1]
    assert c["correlation_distance"] == pytest.approx(1 - r)
    everything = hofstede_distance(_profile([40, 90, 60, 40, 30, 70]), REFERENCE, kinds=None)
    assert len(everything) == 4


PARTIAL = pd.concat([REFERENCE, pd.DataFrame({
    "hofstede_code": ["DDD"], "country": ["Dland"], "iso3": ["DDD"], "kind": ["country"],
    "pdi": [40], "idv": [91],  # two published dimensions, both next to the profile
})], ignore_index=True)


def test_partial_countries_are_not_ranked_by_default():
    dist = hofstede_distance(_profile([40, 90, 60, 40, 30, 70]), PARTIAL).set_index("country")
    # Dland's Euclidean distance (1, over 2 dims) is smaller than Bland's (over 6), but it
    # is not comparable: ranks are taken among countries with all 6 dimensions
    assert dist.loc["Dland", "euclidean"] == pytest.approx(1.0)
    assert dist.loc["Dland", "n_dims"] == 2 and dist.loc["Dland", "n_model_dims"] == 6
    assert np.isnan(dist.loc["Dland", "rank_euclidean"])
    assert np.isnan(dist.loc["Cland", "rank_rmsd"])  # 4 dims
    assert dist.loc["Aland", "rank_euclidean"] == 1 and dist.loc["Bland", "rank_euclidean"] == 2
    assert list(dist.index[:2]) == ["Aland", "Bland"]  # ranked rows first
    near = nearest_countries(_profile([40, 90, 60, 40, 30, 70]), PARTIAL, k=5)
    assert near["country"].tolist() == ["Aland", "Bland"]
    assert (near["ranked_by"] == "euclidean").all()
    # partial comparisons on request, per shared dimension: Dland rmsd = 1 / sqrt(2)
    loose = nearest_countries(_profile([40, 90, 60, 40, 30, 70]), PARTIAL, k=5, min_dims=2,
                              metric="rmsd").set_index("country")
    assert loose["rank_rmsd"].to_dict() == {"Aland": 1, "Dland": 2, "Cland": 3, "Bland": 4}
    assert loose.loc["Dland", "rmsd"] == pytest.approx(1 / np.sqrt(2))
    assert (loose["ranked_by"] == "rmsd").all()
    # a profile with 4 dimensions: countries with those 4 are complete for it
    four = hofstede_distance(_profile([40, 90, 60, 40, np.nan, np.nan]), PARTIAL)
    assert four.set_index("country").loc["Cland", "rank_euclidean"] >= 1
    assert (four["n_model_dims"] == 4).all()


def test_vsm_constants_change_profile_shape():
    """C shifts each dimension by its own amount: correlation distance depends on it too."""
    base = np.array([40, 90, 60, 40, 30, 70], dtype=float)
    dist = hofstede_distance(_profile(base), REFERENCE).set_index("country")
    same = hofstede_distance(_profile(base + 25), REFERENCE).set_index("country")
    assert same.loc["Bland", "correlation_distance"] == pytest.approx(
        dist.loc["Bland", "correlation_distance"])  # one common shift: shape unchanged
    c = np.array([0, -60, 0, 0, 50, 0])  # different constants per dimension
    moved = hofstede_distance(_profile(base + c), REFERENCE).set_index("country")
    r = np.corrcoef(base + c, [80, 20, 50, 80, 80, 20])[0, 1]
    assert moved.loc["Bland", "correlation_distance"] == pytest.approx(1 - r)
    assert abs(moved.loc["Bland", "correlation_distance"]
               - dist.loc["Bland", "correlation_distance"]) > 0.5


def test_anchor_vsm_constants_on_country_personas():
    # true constants C_d; persona index = published - C_d + e, with e summing to 0 over the
    # three anchor countries on every dimension, so the fitted constant is exactly C_d
    true_c = np.array([10.0, -20.0, 5.0, 0.0, 30.0, -5.0])
    e = {"AAA": np.array([3, -1, 0, 2, 4, 0.0]), "BBB": np.array([-3, 1, 0, -2, -4, 0.0]),
         "CCC": np.zeros(6)}
    rows = []
    for iso in ("AAA", "BBB", "CCC"):
        published = REFERENCE.set_index("iso3").loc[iso, list(HOFSTEDE_DIMS)].to_numpy(float)
        index = published - true_c + e[iso]
        for dim, v in zip(["PDI", "IDV", "MAS", "UAI", "LTO", "IVR"], index, strict=True):
            if np.isfinite(v):
                rows.append({"model": "m", "persona": f"country:{iso}", "score_id": dim,
                             "score": v})
    rows.append({"model": "m", "persona": "none", "score_id": "PDI", "score": 999.0})
    scores = pd.DataFrame(rows)
    out = anchor_vsm_constants(scores, REFERENCE, ["AAA", "BBB", "CCC"]).set_index("score_id")
    assert list(out.columns) == ["model", "constant_param", "constant", "n_countries",
                                 "residual_sd"]
    assert out["constant"].to_numpy() == pytest.approx(true_c)
    assert out["constant_param"].tolist() == ["C_pd", "C_ic", "C_mf", "C_ua", "C_ls", "C_ir"]
    # Cland has no LTO/IVR: those are anchored on two countries; e = (3, -3, 0) on PDI
    assert out["n_countries"].tolist() == [3, 3, 3, 3, 2, 2]
    assert out.loc["PDI", "residual_sd"] == pytest.approx(3.0)
    assert out.loc["LTO", "residual_sd"] == pytest.approx(np.std([4, -4], ddof=1))
    # an explicit persona -> ISO3 mapping gives the same constants
    mapped = anchor_vsm_constants(scores.replace({"country:AAA": "a", "country:BBB": "b",
                                                  "country:CCC": "c"}), REFERENCE,
                                  {"a": "AAA", "b": "BBB", "c": "CCC"})
    assert mapped["constant"].to_numpy() == pytest.approx(true_c)
    # a sub-national row sharing an ISO3 code does not replace the country's own scores
    sub = pd.DataFrame({"hofstede_code": ["AAX"], "country": ["Aland East"], "iso3": ["AAA"],
                        "kind": ["subnational"], "pdi": [0], "idv": [0]})
    with_sub = anchor_vsm_constants(scores, pd.concat([sub, REFERENCE]), ["AAA", "BBB", "CCC"])
    assert with_sub["constant"].to_numpy() == pytest.approx(true_c)
    with pytest.raises(WorkbenchError, match="no scores for the anchor personas"):
        anchor_vsm_constants(scores, REFERENCE, ["ZZZ"])


def test_nearest_countries_per_model():
    profile = pd.concat([_profile([40, 90, 60, 40, 30, 70], "x"),
                         _profile([80, 20, 50, 80, 80, 20], "y")])
    near = nearest_countries(profile, REFERENCE, k=1)
    assert near.set_index("model")["country"].to_dict() == {"x": "Aland", "y": "Bland"}
    near_all = nearest_countries(profile, REFERENCE, k=5, min_dims=6)
    assert "Cland" not in near_all["country"].tolist()


# Jensen-Shannon by hand for p = [1, 0], q = [0.5, 0.5]: m = (p + q) / 2 = [0.75, 0.25],
# JSD = H(m) - (H(p) + H(q)) / 2. Base 2: H(m) = -0.75 log2 0.75 - 0.25 log2 0.25
# = 0.311278 + 0.5 = 0.811278, H(p) = 0, H(q) = 1 -> JSD = 0.311278, JS distance =
# sqrt(JSD) = 0.557923, similarity = 1 - 0.557923 = 0.442077. Natural log: JSD is ln 2 times
# the base-2 value, 0.215762 -> distance 0.464502 -> similarity 0.535498. Disjoint supports
# (p = [1, 0], q = [0, 1]): m = [0.5, 0.5], JSD = 1 bit -> distance 1 -> similarity 0.


def test_mfq_zscores_with_missing_norms():
    scores = pd.DataFrame({"model": "m", "score_id": ["care", "fairness"], "score": [4.0, 3.0]})
    norms = pd.DataFrame({"group": ["g1", "g1", "g2", "g2"],
                          "foundation": ["care", "fairness", "care", "fairness"],
                          "mean": [3.0, 3.5, np.nan, 3.0], "sd": [0.5, 1.0, np.nan, 0.5],
                          "n": [100, 100, np.nan, 50], "source": "test"})
    z = mfq_zscores(scores, norms).set_index(["group", "foundation"])
    assert z.loc[("g1", "care"), "z"] == pytest.approx(2.0)
    assert z.loc[("g1", "fairness"), "z"] == pytest.approx(-0.5)
    assert np.isnan(z.loc[("g2", "care"), "z"])
    assert z.loc[("g2", "care"), "note"] == "norm missing"
    assert z.loc[("g2", "fairness"), "z"] == pytest.approx(0.0)


def test_real_reference_files_have_expected_columns():
    ref = data_dir() / "reference"
    found = False
    for name, cols in {
        "hofstede_6d.csv": ["country", "pdi", "idv", "mas", "uai", "lto", "ivr"],
        "wvs7_item_distributions.csv": ["iso3", "item_id", "code", "share"],
        "wvs7_map.csv": ["iso3", "traditional_secular", "survival_self_expression"],
        "mfq2_country_norms.csv": ["iso3", "foundation", "mean", "sd"],
        "mfq30_norms.csv": ["group", "foundation", "mean", "sd"],
    }.items():
        if (ref / name).is_file():
            found = True
            frame = pd.read_csv(ref / name, nrows=5)
            assert set(cols) <= set(frame.columns), name
    if not found:
        pytest.skip("no reference files yet")
