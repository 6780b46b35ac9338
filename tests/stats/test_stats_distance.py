"""Hofstede distances, WVS similarity, map placement and MFQ z-scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon

from workbench.errors import WorkbenchError
from workbench.paths import data_dir
from workbench.stats import (
    hofstede_distance,
    inglehart_welzel_position,
    mfq_zscores,
    nearest_countries,
    wvs_similarity,
)

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


def test_nearest_countries_per_model():
    profile = pd.concat([_profile([40, 90, 60, 40, 30, 70], "x"),
                         _profile([80, 20, 50, 80, 80, 20], "y")])
    near = nearest_countries(profile, REFERENCE, k=1)
    assert near.set_index("model")["country"].to_dict() == {"x": "Aland", "y": "Bland"}
    near_all = nearest_countries(profile, REFERENCE, k=5, min_dims=6)
    assert "Cland" not in near_all["country"].tolist()


def test_wvs_similarity_follows_globalopinionqa():
    country = pd.DataFrame({
        "iso3": ["AAA"] * 4 + ["BBB"] * 4,
        "country": ["Aland"] * 4 + ["Bland"] * 4,
        "item_id": ["Q1", "Q1", "Q2", "Q2"] * 2,
        "code": [1, 2, 1, 2] * 2,
        "share": [0.7, 0.3, 0.2, 0.8, 0.0, 1.0, 1.0, 0.0],
    })
    model = pd.DataFrame({"model": "m", "item_id": ["Q1", "Q1", "Q2", "Q2"], "code": [1, 2, 1, 2],
                          "prob": [0.7, 0.3, 0.2, 0.8]})
    sim = wvs_similarity(model, country).set_index("iso3")
    assert sim.loc["AAA", "similarity"] == pytest.approx(1.0)
    exp_b = np.mean([1 - jensenshannon([0.7, 0.3], [0, 1], base=2),
                     1 - jensenshannon([0.2, 0.8], [1, 0], base=2)])
    assert sim.loc["BBB", "similarity"] == pytest.approx(exp_b)
    assert sim.loc["BBB", "n_items"] == 2
    assert wvs_similarity(model, country, min_items=3).empty
    natural = wvs_similarity(model, country, base=np.e, per_item=True)
    q1 = natural.set_index(["iso3", "item_id"]).loc[("BBB", "Q1"), "similarity"]
    assert q1 == pytest.approx(1 - jensenshannon([0.7, 0.3], [0, 1]))
    # disjoint support: similarity 0 with base 2
    disjoint = pd.DataFrame({"model": "m", "item_id": ["Q2"], "code": [2], "prob": [1.0]})
    far = wvs_similarity(disjoint, country).set_index("iso3")
    assert far.loc["BBB", "similarity"] == pytest.approx(0.0)
    with pytest.raises(WorkbenchError, match="share no item_id"):
        wvs_similarity(model.assign(item_id="Q9"), country)


def test_wvs_similarity_accepts_raw_distributions(synth):
    meta = pd.DataFrame({"instrument": "wvs7", "item_id": ["Q1", "Q1"], "persona": ["a", "b"]})
    d = synth.dists_from_probs(meta, np.array([[1.0, 0.0], [0.4, 0.6]]), codes=[1, 2])
    country = pd.DataFrame({"iso3": "AAA", "country": "Aland", "item_id": "Q1", "code": [1, 2],
                            "share": [0.7, 0.3]})
    sim = wvs_similarity(d, country)
    assert sim["similarity"].iloc[0] == pytest.approx(1.0)  # mean of (1, 0) and (.4, .6)


def test_inglehart_welzel_position_recovers_linear_map():
    rng = np.random.default_rng(0)
    n = 60
    items = pd.DataFrame(rng.normal(size=(n, 3)), columns=["A", "B", "C"])
    iso = [f"C{i:02d}" for i in range(n)]
    ts = 0.5 + 1.0 * items["A"] - 0.5 * items["B"] + rng.normal(scale=0.1, size=n)
    se = -0.2 + 0.8 * items["C"] + rng.normal(scale=0.1, size=n)
    means = items.assign(iso3=iso).melt(id_vars="iso3", var_name="item_id", value_name="value")
    pos = pd.DataFrame({"iso3": iso, "traditional_secular": ts, "survival_self_expression": se})
    model = pd.DataFrame({"model": "m", "item_id": ["A", "B", "C"], "value": [1.0, 0.0, -1.0]})
    res = inglehart_welzel_position(model, means, pos).set_index("axis")
    assert res.loc["traditional_secular", "estimate"] == pytest.approx(1.5, abs=0.1)
    assert res.loc["survival_self_expression", "estimate"] == pytest.approx(-1.0, abs=0.1)
    row = res.loc["traditional_secular"]
    assert row["pi_low"] < 1.5 < row["pi_high"] and row["r_squared"] > 0.95
    assert row["n_countries"] == n and row["n_items"] == 3


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
