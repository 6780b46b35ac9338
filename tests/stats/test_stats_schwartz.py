"""Schwartz value profiles: unit bootstrap, nearest countries, ESS country means, circumplex."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.test_pvq21 import CODES, _dists
from workbench import reference as ref
from workbench.errors import WorkbenchError
from workbench.instrument_files import load_instrument
from workbench.schwartz_figures import circumplex_figure
from workbench.scoring import score_instrument
from workbench.stats.schwartz import (
    ess_country_values,
    nearest_value_countries,
    unit_profiles,
    value_profile,
)

PROFILE = load_instrument("pvq21").profile


def _random_units(n_units: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return _dists({f"u{u}": list(rng.integers(1, 7, size=21)) for u in range(n_units)})


def _reference(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    names = ref.countries().set_index("iso3")["name"]
    return pd.DataFrame([{"iso3": iso3, "country": names[iso3], "essround": 10,
                          "score_id": sid, "mean": v, "n": 100, "source": "synthetic"}
                         for iso3, values in rows.items() for sid, v in values.items()])


def test_value_profile_is_the_mean_of_unit_scores_with_intervals():
    dists = _random_units(8)
    units = unit_profiles(dists, by=["model"])
    assert units["order"].nunique() == 8 and set(units["score_id"]) == set(PROFILE)
    prof = value_profile(dists, by=["model"], n_boot=500, seed=3)
    assert prof["score_id"].tolist() == PROFILE  # circumplex order
    official = score_instrument(dists, "pvq21").set_index("score_id")["score"]
    assert np.allclose(prof.set_index("score_id")["estimate"], official[PROFILE])
    per_unit = units.groupby("score_id")["score"].mean()
    assert np.allclose(prof.set_index("score_id")["estimate"], per_unit[PROFILE])
    assert (prof["ci_low"] <= prof["estimate"]).all()
    assert (prof["estimate"] <= prof["ci_high"]).all()
    assert (prof["ci_high"] > prof["ci_low"]).all() and (prof["n_units"] == 8).all()
    wider = value_profile(dists, by=["model"], n_boot=500, seed=3, expanded=True)
    plain = value_profile(dists, by=["model"], n_boot=500, seed=3, expanded=False)
    assert ((wider["ci_high"] - wider["ci_low"]) >= (plain["ci_high"] - plain["ci_low"])).all()


def test_one_unit_has_no_interval():
    prof = value_profile(_dists({"original": CODES}), by=["model"], n_boot=200)
    assert prof["ci_low"].isna().all() and (prof["n_units"] == 1).all()


def test_nearest_country_is_the_one_with_the_models_profile():
    dists = _random_units(6)
    model = value_profile(dists, by=["model"], n_boot=200).set_index("score_id")["estimate"]
    ref_rows = {
        "DEU": model.to_dict(),  # exactly the model's profile: distance 0
        "FRA": (model + 0.5).to_dict(),  # shifted by 0.5 on all ten: sqrt(10 * 0.25)
        "ESP": (-model).to_dict(),  # mirror image: correlation distance 2
        "ITA": {k: v for k, v in model.items() if k != "power_centred"},  # incomplete
    }
    near = nearest_value_countries(dists, _reference(ref_rows), n_boot=500, seed=2)
    assert near["iso3"].tolist() == ["DEU", "FRA", "ESP"]  # ITA lacks a value: not ranked
    by = near.set_index("iso3")
    assert by.loc["DEU", "distance"] == pytest.approx(0, abs=1e-12)
    assert by.loc["FRA", "distance"] == pytest.approx(np.sqrt(10 * 0.25))
    assert by["rank"].tolist() == [1, 2, 3] and (by["n_values"] == 10).all()
    assert by.loc["DEU", "p_nearest"] > 0.5 and by["p_nearest"].sum() == pytest.approx(1)
    assert (by["ci_low"] <= by["distance"] + 1e-12).all()
    assert by.loc["ESP", "ci_high"] >= by.loc["ESP", "distance"]
    corr = nearest_value_countries(dists, _reference(ref_rows), metric="correlation_distance",
                                   n_boot=200).set_index("iso3")["distance"]
    assert corr["DEU"] == pytest.approx(0, abs=1e-12)
    assert corr["FRA"] == pytest.approx(0, abs=1e-12)  # same shape, shifted
    assert corr["ESP"] == pytest.approx(2)
    assert len(nearest_value_countries(dists, _reference(ref_rows), k=1, n_boot=200)) == 1


def test_nearest_countries_refuses_an_empty_reference_and_bad_metrics():
    dists = _random_units(3)
    with pytest.raises(WorkbenchError, match="ess_country_values"):
        nearest_value_countries(dists, ref.ess_human_values())
    with pytest.raises(WorkbenchError, match="metric must be one of"):
        nearest_value_countries(dists, _reference({"DEU": {"power_centred": 0}}),
                                metric="cosine")


def test_ess_country_values_from_hand_made_microdata():
    variables = ref.ess_variables()
    base = dict(zip(variables.values(), CODES, strict=True))
    rows = [
        {"essround": 10, "cntry": "DE", "anweight": 1.0, **base},
        # a second German respondent answering "Like me" (2) everywhere, weight 3
        {"essround": 10, "cntry": "DE", "anweight": 3.0, **{v: 2 for v in variables.values()}},
        # "don't know" (8) on the conformity items: no conformity score, MRAT over 19 items
        {"essround": 10, "cntry": "GB", "anweight": 1.0, **base, "ipfrule": 8, "ipbhprp": 8},
    ]
    out = ess_country_values(pd.DataFrame(rows)).set_index(["cntry", "score_id"])
    # DE: respondent 1 conformity 1.5, MRAT 80/21; respondent 2 all values 5, centred 0
    assert out.loc[("DE", "conformity"), "mean"] == pytest.approx((1.5 + 3 * 5) / 4)
    assert out.loc[("DE", "conformity_centred"), "mean"] == pytest.approx(
        (1.5 - 80 / 21) / 4)
    assert out.loc[("DE", "mrat"), "n"] == 2
    gb = out.loc["GB"]
    assert np.isnan(gb.loc["conformity", "mean"]) and gb.loc["conformity", "n"] == 0
    assert gb.loc["mrat", "mean"] == pytest.approx((80 - 3) / 19)  # items 7, 16 values 2, 1
    assert out.loc[("GB", "mrat"), "iso3"] == "GBR" and out.loc[("DE", "mrat"), "iso3"] == "DEU"
    unweighted = ess_country_values(pd.DataFrame(rows), weight=None)
    de = unweighted.set_index(["cntry", "score_id"]).loc[("DE", "conformity"), "mean"]
    assert de == pytest.approx((1.5 + 5) / 2)
    with pytest.raises(WorkbenchError, match="lacks column"):
        ess_country_values(pd.DataFrame(rows).drop(columns="anweight"))


def test_circumplex_figure_draws_profiles_and_a_country_band():
    parts = [_random_units(4, seed=i).assign(model=m) for i, m in ((1, "a<b>"), (2, "c"))]
    for part in parts:  # request ids are unique per model
        part["request_id"] = part["model"] + part["request_id"]
    dists = pd.concat(parts, ignore_index=True)
    prof = value_profile(dists, by=["model"], n_boot=200)
    reference = _reference({"DEU": dict.fromkeys(PROFILE, -0.5),
                            "FRA": dict.fromkeys(PROFILE, 0.5)})
    fig = circumplex_figure(prof, reference)
    band, *lines = fig.data
    assert band.fill == "toself" and len(band.r) == 2 * (len(PROFILE) + 1)
    assert max(band.r) == pytest.approx(0.5) and min(band.r) == pytest.approx(-0.5)
    assert [t.name for t in lines] == ["a&lt;b&gt;", "c"]  # model names are escaped
    first = prof[prof["model"] == "a<b>"]["estimate"].tolist()
    assert list(lines[0].r) == pytest.approx(first + first[:1])  # a closed polygon
    assert list(lines[0].theta)[:2] == ["Self-direction", "Stimulation"]
    low, high = fig.layout.polar.radialaxis.range
    assert low < min(-0.5, prof["estimate"].min()) and high > 0.5
    assert len(circumplex_figure(prof).data) == 2  # no reference, no band
    assert len(circumplex_figure(prof, ref.ess_human_values()).data) == 2
    with pytest.raises(WorkbenchError, match="lacks column"):
        circumplex_figure(prof.drop(columns="model"))
