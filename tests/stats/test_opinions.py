"""GlobalOpinionQA-style similarity per country and block, the uniform baseline, cultural
prompting, and the world map (workbench.stats.opinions, workbench.opinion_figures)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.spatial.distance import jensenshannon

from workbench.errors import WorkbenchError
from workbench.stats import opinions as op

# Hand-worked Jensen-Shannon similarities (base 2), s = 1 - sqrt(JSD):
# (a) p = (.5, .5), q = (1, 0): M = (.75, .25); KL(p||M) = .5 log2(.5/.75) + .5 log2(.5/.25)
#     = .5(-.5849625) + .5(1) = .2075187; KL(q||M) = log2(1/.75) = .4150375;
#     JSD = (.2075187 + .4150375) / 2 = .3112781; s = 1 - .5579230 = .4420770.
# (b) p = (.5, .25, .25), q = (.25, .5, .25): M = (.375, .375, .25); KL(p||M) = .5 log2(4/3)
#     + .25 log2(2/3) = .2075187 - .1462406 = .0612781 = KL(q||M) = JSD; s = 1 - .2475441
#     = .7524559.
# (c) uniform u = (1/3, 1/3, 1/3) vs q = (.25, .5, .25): M = (7/24, 10/24, 7/24);
#     KL(u||M) = (1/3)(2 log2(8/7) + log2(.8)) = (1/3)(.3852902 - .3219281) = .0211207;
#     KL(q||M) = .5 log2(6/7) + .5 log2(1.2) = -.1111962 + .1315172 = .0203210;
#     JSD = .0207209; s = 1 - .1439476 = .8560524.
S_A, S_B, S_C = 0.4420770, 0.7524559, 0.8560524


def _country(rows: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    out = []
    for iso3, items in rows.items():
        for item, shares in items.items():
            out += [{"iso3": iso3, "country": iso3.title(), "item_id": item, "code": c + 1,
                     "share": s} for c, s in enumerate(shares)]
    return pd.DataFrame(out)


def _model(items: dict[str, list[float]], **cols: str) -> pd.DataFrame:
    return pd.DataFrame([{**cols, "item_id": item, "code": c + 1, "prob": p}
                         for item, probs in items.items() for c, p in enumerate(probs)])


COUNTRIES = _country({
    "AAA": {"i1": [1.0, 0.0], "i2": [0.25, 0.5, 0.25]},
    "BBB": {"i1": [0.5, 0.5], "i2": [0.5, 0.25, 0.25]},
    "CCC": {"i1": [0.5, 0.5]},  # lacks i2
})
MODEL = _model({"i1": [0.5, 0.5], "i2": [0.5, 0.25, 0.25]}, model="m")


def test_hand_worked_jensen_shannon_similarity_and_uniform_baseline():
    per = op.item_similarity(MODEL, COUNTRIES).set_index(["iso3", "item_id"])
    assert per.loc[("AAA", "i1"), "similarity"] == pytest.approx(S_A, abs=1e-6)
    assert per.loc[("AAA", "i2"), "similarity"] == pytest.approx(S_B, abs=1e-6)
    assert per.loc[("BBB", "i1"), "similarity"] == pytest.approx(1.0)
    # the uniform answerer: (.5, .5) on i1 (= case a), thirds on i2 (case c)
    assert per.loc[("AAA", "i1"), "uniform"] == pytest.approx(S_A, abs=1e-6)
    assert per.loc[("AAA", "i2"), "uniform"] == pytest.approx(S_C, abs=1e-6)
    # library cross-check of case (c)
    assert 1 - jensenshannon([1 / 3] * 3, [0.25, 0.5, 0.25], base=2) == pytest.approx(S_C, 1e-6)


def test_country_means_rank_intervals_and_coverage():
    sim = op.opinion_similarity(MODEL, COUNTRIES, instrument=None,
                                bootstrap=op.ItemBootstrap(seed=1))
    assert list(sim["iso3"]) == ["BBB", "AAA"]  # CCC lacks i2: not compared on the same items
    a = sim.set_index("iso3").loc["AAA"]
    assert a["similarity"] == pytest.approx((S_A + S_B) / 2, abs=1e-6)
    assert a["uniform"] == pytest.approx((S_A + S_C) / 2, abs=1e-6)
    assert a["vs_uniform"] == pytest.approx(a["similarity"] - a["uniform"])
    assert (a["rank"], a["n_items"], a["n_model_items"], a["coverage"]) == (2, 2, 2, 1.0)
    # with two items the expanded interval spans the item values (resamples of both kinds)
    assert a["ci_low"] == pytest.approx(S_A) and a["ci_high"] == pytest.approx(S_B)
    assert a["vs_uniform_low"] <= a["vs_uniform"] <= a["vs_uniform_high"]
    again = op.opinion_similarity(MODEL, COUNTRIES, instrument=None,
                                bootstrap=op.ItemBootstrap(seed=1))
    pd.testing.assert_frame_equal(sim, again)  # seeded
    loose = op.opinion_similarity(MODEL, COUNTRIES, instrument=None, min_coverage=0.5)
    c = loose.set_index("iso3").loc["CCC"]
    assert (c["n_items"], c["coverage"], c["similarity"]) == (1, 0.5, pytest.approx(1.0))
    assert np.isnan(c["ci_low"])  # one item: no interval
    with pytest.raises(WorkbenchError, match="fraction"):
        op.opinion_similarity(MODEL, COUNTRIES, instrument=None, min_coverage=2)


def test_raw_distributions_are_averaged_over_option_orders_first():
    raw = pd.concat([
        _model({"i1": [0.7, 0.3], "i2": [0.6, 0.3, 0.1]}, model="m", persona="none",
               order="original").assign(request_id=lambda f: "r1-" + f["item_id"]),
        _model({"i1": [0.3, 0.7], "i2": [0.4, 0.2, 0.4]}, model="m", persona="none",
               order="reversed").assign(request_id=lambda f: "r2-" + f["item_id"]),
    ])
    sim = op.opinion_similarity(raw, COUNTRIES, instrument=None)
    direct = op.opinion_similarity(MODEL.assign(persona="none"), COUNTRIES, instrument=None)
    pd.testing.assert_frame_equal(sim, direct)


def test_the_uniform_answerer_is_its_own_baseline():
    uniform = op.uniform_distributions(COUNTRIES).assign(model="u")
    sim = op.opinion_similarity(uniform, COUNTRIES, instrument=None)
    assert np.allclose(sim["vs_uniform"], 0) and np.allclose(sim["similarity"], sim["uniform"])
    assert np.allclose(sim[["vs_uniform_low", "vs_uniform_high"]], 0)


def _blocked_instrument(tmp_path) -> str:
    doc = {"id": "blocked", "name": "b", "family": "test",
           "source": {"citation": "t", "terms": "t"}, "languages": {"en": {"source": "t"}},
           "scales": {"two": {"codes": [1, 2], "labels": {"en": ["a", "b"]}},
                      "three": {"codes": [1, 2, 3], "labels": {"en": ["a", "b", "c"]}}},
           "blocks": {"b1": {"label": "B one"}, "b2": {"label": "B two"}},
           "items": [{"id": "i1", "text": {"en": "x"}, "scale": "two", "block": "b1"},
                     {"id": "i2", "text": {"en": "y"}, "scale": "three", "block": "b2"}]}
    path = tmp_path / "blocked.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_similarity_per_block_and_for_selected_blocks(tmp_path):
    inst = _blocked_instrument(tmp_path)
    sim = op.opinion_similarity(MODEL, COUNTRIES, instrument=inst, per_block=True,
                                min_coverage=0)
    assert list(dict.fromkeys(sim["block"])) == ["all", "b1", "b2"]
    b1 = sim[sim["block"] == "b1"].set_index("iso3")
    assert b1.loc["AAA", "similarity"] == pytest.approx(S_A, abs=1e-6)
    assert set(b1.index) == {"AAA", "BBB", "CCC"} and (b1["n_model_items"] == 1).all()
    b2 = sim[sim["block"] == "b2"]
    assert set(b2["iso3"]) == {"AAA", "BBB"}  # CCC has no b2 item
    only = op.opinion_similarity(MODEL, COUNTRIES, instrument=inst, blocks=["b2"])
    assert set(only["block"]) == {"all"} and (only["n_model_items"] == 1).all()
    assert only.set_index("iso3").loc["AAA", "similarity"] == pytest.approx(S_B, abs=1e-6)
    with pytest.raises(WorkbenchError, match="need the instrument"):
        op.opinion_similarity(MODEL, COUNTRIES, instrument=None, per_block=True)


def test_extremes_take_the_top_and_bottom_with_their_baseline():
    rows = {f"C{i:02d}": {"i1": [i / 20, 1 - i / 20]} for i in range(12)}
    sim = op.opinion_similarity(_model({"i1": [0.0, 1.0]}, model="m"), _country(rows),
                                instrument=None)
    ends = op.extremes(sim, n=5)
    assert list(ends[ends["end"] == "most"]["iso3"]) == ["C00", "C01", "C02", "C03", "C04"]
    assert list(ends[ends["end"] == "least"]["iso3"]) == ["C11", "C10", "C09", "C08", "C07"]
    assert {"uniform", "vs_uniform", "ci_low"} <= set(ends.columns)


# ---------------------------------------------------------------------- cultural prompting
PEAKED = {
    "AAA": {"i1": [0.9, 0.1], "i2": [0.8, 0.1, 0.1]},
    "BBB": {"i1": [0.1, 0.9], "i2": [0.1, 0.8, 0.1]},
    "CCC": {"i1": [0.5, 0.5], "i2": [0.1, 0.1, 0.8]},
}


def _prompting_frame(countries: dict, personas: dict[str, dict]) -> pd.DataFrame:
    uniform = {"i1": [0.5, 0.5], "i2": [1 / 3] * 3}
    frames = [_model(uniform, model="m", persona="none")]
    frames += [_model(dists, model="m", persona=p) for p, dists in personas.items()]
    return pd.concat(frames, ignore_index=True)


def _sim(p, q) -> float:
    return 1 - jensenshannon(p, q, base=2)


def test_cultural_prompting_on_a_synthetic_case_with_a_known_answer():
    countries = _country(PEAKED)
    dists = _prompting_frame(PEAKED, {"country:AAA": PEAKED["AAA"], "country:BBB": PEAKED["BBB"]})
    out = op.cultural_prompting(dists, countries, instrument=None, n_perm=199)
    uniform = {"i1": [0.5, 0.5], "i2": [1 / 3] * 3}

    def delta(persona_dist, c):  # expected D_c, computed independently with scipy
        return np.mean([_sim(persona_dist[i], PEAKED[c][i]) - _sim(uniform[i], PEAKED[c][i])
                        for i in ("i1", "i2")])

    rows = out[out["level"] == "persona"].set_index("persona")
    for target in ("AAA", "BBB"):
        d = {c: delta(PEAKED[target], c) for c in PEAKED}
        others = [v for c, v in d.items() if c != target]
        r = rows.loc[f"country:{target}"]
        assert r["delta_target"] == pytest.approx(d[target])
        assert r["effect"] == pytest.approx(d[target] - np.mean(others))
        assert r["rank_of_target"] == 1 + sum(v > d[target] for v in others)
        assert r["p_value"] == pytest.approx(r["rank_of_target"] / 3)
        assert r["ci_low"] <= r["effect"] <= r["ci_high"]
    overall = out[out["level"] == "overall"].iloc[0]
    assert overall["effect"] == pytest.approx(rows["effect"].mean())
    assert 0 < overall["p_value"] <= 1


def test_a_persona_that_changes_nothing_has_no_effect():
    countries = _country(PEAKED)
    uniform = {"i1": [0.5, 0.5], "i2": [1 / 3] * 3}
    out = op.cultural_prompting(_prompting_frame(PEAKED, {"country:AAA": uniform}), countries,
                                instrument=None, n_perm=99)
    row = out[out["level"] == "persona"].iloc[0]
    assert row["effect"] == pytest.approx(0) and row["delta_target"] == pytest.approx(0)


def test_the_label_shuffling_test_detects_targeted_personas():
    rng = np.random.default_rng(3)
    shares = {f"C{i}": {f"i{j}": list(rng.dirichlet([0.5] * 4)) for j in range(8)}
              for i in range(6)}
    personas = {f"country:C{i}": shares[f"C{i}"] for i in range(3)}  # each copies its country
    dists = pd.concat([_model({f"i{j}": [0.25] * 4 for j in range(8)}, model="m",
                              persona="none")]
                      + [_model(d, model="m", persona=p) for p, d in personas.items()])
    out = op.cultural_prompting(dists, _country(shares), instrument=None, n_perm=999)
    rows = out[out["level"] == "persona"]
    assert (rows["rank_of_target"] == 1).all() and np.allclose(rows["p_value"], 1 / 6)
    assert out[out["level"] == "overall"].iloc[0]["p_value"] < 0.05
    with pytest.raises(WorkbenchError, match="baseline persona"):
        op.cultural_prompting(dists[dists["persona"] != "none"], _country(shares),
                              instrument=None)


def test_end_to_end_on_a_synthetic_backend_probing_wvs7_full(tmp_path):
    from tests.fakes import HashBackend
    from workbench.design import Design
    from workbench.probe import run_probe
    from workbench.store import ResultStore

    design = Design(models=["m"], instruments=["wvs7_full"], blocks=["postmaterialism", "science"],
                    personas=["none", "country:DEU", "country:JPN"])
    run_probe(design, tmp_path, backends={"m": HashBackend("m")}, progress=False)
    dists = ResultStore(tmp_path).distributions()
    sim = op.opinion_similarity(dists[dists["persona"] == "none"], per_block=True)
    assert set(sim["block"]) == {"all", "postmaterialism", "science"}
    assert sim["similarity"].between(0, 1).all() and sim["uniform"].between(0, 1).all()
    full = sim[sim["block"] == "all"]
    assert (full["n_items"] == 12).all()  # 6 + 6 items, follow-ups (Q153, Q155, Q157) included
    assert full["rank"].tolist() == list(range(1, len(full) + 1))
    prompting = op.cultural_prompting(dists, n_perm=99)
    assert set(prompting["persona"]) == {"country:DEU", "country:JPN", "all country personas"}
    assert prompting["effect"].notna().all()


# ---------------------------------------------------------------------- figures
def test_the_similarity_map_is_a_choropleth_on_plotly_geography():
    from workbench import opinion_figures as of

    rows = {"DEU": {"i1": [0.2, 0.8]}, "JPN": {"i1": [0.6, 0.4]}, "Atlantis": {"i1": [1, 0]}}
    sim = op.opinion_similarity(_model({"i1": [0.5, 0.5]}, model="m"), _country(rows),
                                instrument=None)
    fig = of.similarity_map(sim)
    spec = json.loads(fig.to_json())
    trace = spec["data"][0]
    assert trace["type"] == "choropleth" and trace["locationmode"] == "ISO-3"
    assert sorted(trace["locations"]) == ["DEU", "JPN"]  # a name without ISO3 is left off
    assert "geo" in spec["layout"]
    assert not any(k.startswith("mapbox") or k == "map" for k in spec["layout"])
    assert not re.search(r"mapbox|tile", fig.to_json(), re.I)
    script = of.geo_assets_script()
    topo = json.loads(re.search(r"= (\{.*\});</script>$", script).group(1))
    ids = {g.get("id") for g in topo["objects"]["countries"]["geometries"]}
    assert {"DEU", "JPN", "BRA", "NGA"} <= ids  # ISO3 ids, as locationmode ISO-3 needs
    two = pd.concat([sim, sim.assign(model="n")])
    with pytest.raises(WorkbenchError, match="several"):
        of.similarity_map(two)
    cp = op.cultural_prompting(_prompting_frame(PEAKED, {"country:AAA": PEAKED["AAA"]}),
                               _country(PEAKED), instrument=None, n_perm=9)
    assert of.cultural_prompting_figure(cp).data[0].type == "scatter"


@pytest.mark.slow
def test_the_map_draws_offline_in_headless_chromium(tmp_path):
    from workbench import opinion_figures as of
    from workbench.report import chromium_path, rendered_dom

    if chromium_path() is None:
        pytest.skip("chromium not installed (apt-get install chromium / make browser)")
    rows = {iso: {"i1": [i / 10, 1 - i / 10]} for i, iso in enumerate(["DEU", "JPN", "BRA"])}
    sim = op.opinion_similarity(_model({"i1": [0.5, 0.5]}, model="m"), _country(rows),
                                instrument=None)
    page = tmp_path / "map.html"
    page.write_text(of.standalone_map_html(of.similarity_map(sim)), encoding="utf-8")
    dom = rendered_dom(page)
    assert len(re.findall(r'<path class="choroplethlocation"', dom)) == 3
