"""WVS answer similarity (GlobalOpinionQA) and Inglehart-Welzel map placement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.errors import WorkbenchError
from workbench.paths import data_dir
from workbench.stats import inglehart_welzel_position, map_indicators, wvs_similarity
from workbench.stats.wvs import MAP_PREDICTORS

JSD_BITS = (-0.75 * np.log2(0.75) - 0.25 * np.log2(0.25)) - (0.0 + 1.0) / 2
SIM_HALF = 1 - np.sqrt(JSD_BITS)


def test_js_hand_values():
    assert abs(JSD_BITS - 0.311278) < 1e-6 and abs(SIM_HALF - 0.442077) < 1e-6


def _wvs_country():
    rows = [  # (iso3, item, share of code 1, share of code 2)
        ("AAA", "Q1", 0.5, 0.5), ("AAA", "Q2", 0.5, 0.5),
        ("BBB", "Q1", 0.0, 1.0), ("BBB", "Q2", 0.5, 0.5),
        ("CCC", "Q1", 1.0, 0.0),  # surveyed on one item only
    ]
    out = []
    for iso, item, s1, s2 in rows:
        out += [{"iso3": iso, "country": iso.title(), "item_id": item, "code": 1, "share": s1},
                {"iso3": iso, "country": iso.title(), "item_id": item, "code": 2, "share": s2}]
    return pd.DataFrame(out)


def test_wvs_similarity_follows_globalopinionqa():
    country = _wvs_country()
    model = pd.DataFrame({"model": "m", "item_id": ["Q1", "Q1", "Q2", "Q2"],
                          "code": [1, 2, 1, 2], "prob": [1.0, 0.0, 0.5, 0.5]})
    sim = wvs_similarity(model, country).set_index("iso3")
    # AAA: Q1 = [1, 0] vs [.5, .5] -> 0.442077; Q2 identical -> 1; mean 0.721039
    assert sim.loc["AAA", "similarity"] == pytest.approx((SIM_HALF + 1) / 2)
    assert sim.loc["AAA", "similarity"] == pytest.approx(0.721039, abs=1e-6)
    # BBB: Q1 disjoint -> 0; Q2 identical -> 1
    assert sim.loc["BBB", "similarity"] == pytest.approx(0.5)
    assert sim.loc["BBB", "n_items"] == 2 and sim.loc["BBB", "n_model_items"] == 2
    assert list(sim.index) == ["AAA", "BBB"]  # best first
    natural = wvs_similarity(model, country, base=np.e, per_item=True)
    q1 = natural.set_index(["iso3", "item_id"]).loc[("AAA", "Q1"), "similarity"]
    assert q1 == pytest.approx(1 - np.sqrt(JSD_BITS * np.log(2)))
    assert q1 == pytest.approx(0.535498, abs=1e-6)
    with pytest.raises(WorkbenchError, match="share no item_id"):
        wvs_similarity(model.assign(item_id="Q9"), country)


def test_wvs_similarity_compares_countries_on_all_model_items():
    country = _wvs_country()
    model = pd.DataFrame({"model": "m", "item_id": ["Q1", "Q1", "Q2", "Q2"],
                          "code": [1, 2, 1, 2], "prob": [1.0, 0.0, 0.5, 0.5]})
    # CCC matches the model perfectly on its single item; by default it is left out
    # because it lacks Q2, which the model answered
    default = wvs_similarity(model, country)
    assert set(default["iso3"]) == {"AAA", "BBB"}
    loose = wvs_similarity(model, country, min_items=1).set_index("iso3")
    assert loose.index[0] == "CCC" and loose.loc["CCC", "similarity"] == pytest.approx(1.0)
    assert loose.loc["CCC", "n_items"] == 1 and loose.loc["CCC", "n_model_items"] == 2
    assert wvs_similarity(model, country, min_items=3).empty
    # a model that answered only Q1: every country has it
    only_q1 = wvs_similarity(model[model["item_id"] == "Q1"], country).set_index("iso3")
    assert set(only_q1.index) == {"AAA", "BBB", "CCC"} and (only_q1["n_model_items"] == 1).all()
    # per model group: n_model_items counts each model's own items
    two = pd.concat([model, model[model["item_id"] == "Q1"].assign(model="q1")])
    both = wvs_similarity(two, country)
    assert both.groupby("model")["iso3"].nunique().to_dict() == {"m": 2, "q1": 3}


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
    ind = pd.DataFrame(rng.normal(size=(n, 3)), columns=["A", "B", "C"])
    iso = [f"C{i:02d}" for i in range(n)]
    ts = 0.5 + 1.0 * ind["A"] - 0.5 * ind["B"] + rng.normal(scale=0.1, size=n)
    se = -0.2 + 0.8 * ind["C"] + rng.normal(scale=0.1, size=n)
    countries = ind.assign(iso3=iso).melt(id_vars="iso3", var_name="score_id",
                                          value_name="score")
    pos = pd.DataFrame({"iso3": iso, "traditional_secular": ts, "survival_self_expression": se})
    model = pd.DataFrame({"model": "m", "score_id": ["A", "B", "C"], "score": [1.0, 0.0, -1.0]})
    preds = {"traditional_secular": ["A", "B"], "survival_self_expression": ["C"]}
    res = inglehart_welzel_position(model, countries, pos, predictors=preds).set_index("axis")
    assert res.loc["traditional_secular", "estimate"] == pytest.approx(1.5, abs=0.1)
    assert res.loc["survival_self_expression", "estimate"] == pytest.approx(-1.0, abs=0.1)
    row = res.loc["traditional_secular"]
    assert row["pi_low"] < 1.5 < row["pi_high"] and row["r_squared"] > 0.95
    assert row["n_countries"] == n and row["n_predictors"] == 2 and row["predictors"] == "A,B"
    assert res.loc["survival_self_expression", "predictors"] == "C"  # each axis its own
    assert not row["extrapolation"] and row["method"].startswith("regression approximation")
    far = model.assign(score=[8.0, 0.0, 0.0])  # 8 SD out on A
    assert inglehart_welzel_position(far, countries, pos, predictors=preds).set_index(
        "axis").loc["traditional_secular", "extrapolation"]


def test_inglehart_welzel_position_on_reference_data():
    shares = pd.read_csv(data_dir() / "reference" / "wvs7_item_distributions.csv")
    positions = pd.read_csv(data_dir() / "reference" / "wvs7_map.csv")
    ind = map_indicators(shares)
    wide = ind.pivot_table(index="iso3", columns="score_id", values="score")
    # autonomy from the shares by hand: P(Q8=1) + P(Q14=1) - P(Q15=1) - P(Q17=1)
    p1 = shares[shares["code"] == 1].set_index(["iso3", "item_id"])["share"]
    jpn = {q: p1[("JPN", q)] for q in ("Q8", "Q14", "Q15", "Q17")}
    assert wide.loc["JPN", "autonomy"] == pytest.approx(
        jpn["Q8"] + jpn["Q14"] - jpn["Q15"] - jpn["Q17"], abs=1e-4)
    profile = ind[ind["iso3"].isin(["JPN", "NGA"])].rename(columns={"iso3": "model"})
    res = inglehart_welzel_position(profile, shares, positions)
    assert set(res["axis"]) == set(MAP_PREDICTORS)
    for axis, preds in MAP_PREDICTORS.items():
        sub = res[res["axis"] == axis].set_index("model")
        assert sub["predictors"].iloc[0] == ",".join(preds)
        # independent fit with numpy: OLS over countries with all five indicators
        data = wide[list(preds)].join(positions.set_index("iso3")[axis], how="inner").dropna()
        x = np.column_stack([np.ones(len(data)), data[list(preds)].to_numpy()])
        y = data[axis].to_numpy()
        beta = np.linalg.lstsq(x, y, rcond=None)[0]
        resid = y - x @ beta
        r2 = 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))
        # leave-one-country-out by brute force
        loo = np.array([y[i] - x[i] @ np.linalg.lstsq(np.delete(x, i, 0), np.delete(y, i),
                                                      rcond=None)[0] for i in range(len(y))])
        r2_loo = 1 - loo @ loo / ((y - y.mean()) @ (y - y.mean()))
        assert sub["n_countries"].iloc[0] == len(data)
        assert sub["r_squared"].iloc[0] == pytest.approx(r2)
        assert sub["r_squared_loo"].iloc[0] == pytest.approx(r2_loo)
        assert 0.5 < r2_loo < r2  # LOO is the honest (lower) figure
        # a country's own profile placed back lands on its fitted value, near its position
        for iso in ("JPN", "NGA"):
            i = list(data.index).index(iso)
            assert sub.loc[iso, "estimate"] == pytest.approx(x[i] @ beta)
            assert sub.loc[iso, "pi_low"] < y[i] < sub.loc[iso, "pi_high"]
            assert abs(sub.loc[iso, "estimate"] - y[i]) < 0.5
            assert not sub.loc[iso, "extrapolation"]
            lev = x[i] @ np.linalg.inv(x.T @ x) @ x[i]
            assert sub.loc[iso, "leverage"] == pytest.approx(lev)
            d2 = (len(y) - 1) * (lev - 1 / len(y))  # h = 1/n + D^2 / (n - 1)
            assert sub.loc[iso, "mahalanobis"] == pytest.approx(np.sqrt(d2))
    # a profile no country has (God unimportant, everything justifiable, ...) is flagged
    odd = pd.DataFrame({"model": "x", "score_id": list(MAP_PREDICTORS["traditional_secular"]),
                        "score": [1.0, 2.0, 10.0, 4.0, 3.0]})
    out = inglehart_welzel_position(odd, shares, positions).set_index("axis")
    assert out.loc["traditional_secular", "extrapolation"]
    assert "lacks indicator" in out.loc["survival_self_expression", "note"]
    assert np.isnan(out.loc["survival_self_expression", "estimate"])
