"""Official scoring: VSM indices, MFQ foundations, reverse keying, WVS indices, catch items."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from workbench.errors import WorkbenchError
from workbench.instruments import instruments_dir, load_instrument_file
from workbench.scoring import (
    exclusion_flags,
    item_values,
    sampled_distributions,
    score_instrument,
    score_mfq,
    score_terms,
    score_vsm2013,
    score_wvs7,
)

DEFAULTS = {
    "model": "m",
    "persona": "none",
    "language": "en",
    "order": "original",
    "paraphrase": 0,
    "answer_format": "label",
    "repeat": 0,
}


def make_dists(spec: list[tuple[dict, str, dict[int, float]]], instrument: str) -> pd.DataFrame:
    """Distributions frame from (factors, item_id, {code: prob}) per request."""
    rows = []
    for i, (factors, item, probs) in enumerate(spec):
        for pos, (code, p) in enumerate(probs.items()):
            rows.append({
                **DEFAULTS, **factors, "instrument": instrument, "item_id": item,
                "request_id": f"r{i}", "code": code, "position": pos, "prob": p,
                "logprob": math.log(p) if p > 0 else -math.inf,
            })
    return pd.DataFrame(rows)


def one_hot(code: int, codes: list[int]) -> dict[int, float]:
    return {c: float(c == code) for c in codes}


def write_instrument(tmp_path, doc: dict) -> str:
    path = tmp_path / f"{doc['id']}.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(path)


def base_doc(iid: str, scales: dict, items: list[dict], scores: list[dict], **extra) -> dict:
    for it in items:
        it.setdefault("text", {"en": f"item {it['id']}"})
    return {
        "id": iid, "name": iid, "family": "test",
        "source": {"citation": "test", "terms": "test"},
        "languages": {"en": {"source": "test"}},
        "scales": scales, "items": items, "scores": scores, **extra,
    }


FIVE = {"type": "ordinal", "codes": [1, 2, 3, 4, 5], "labels": {"en": list("abcde")}}
SIX0 = {"type": "ordinal", "codes": [0, 1, 2, 3, 4, 5], "labels": {"en": list("abcdef")}}


@pytest.fixture
def vsm_toy(tmp_path) -> str:
    items = [{"id": i, "scale": "five"} for i in ("m01", "m02", "m04", "m06", "m07", "m09",
                                                 "m20", "m23")]
    scores = [
        {"id": "PDI", "label": "Power distance", "method": "linear", "constant_param": "C_pd",
         "constant": 0, "terms": [
             {"item": "m07", "weight": 35}, {"item": "m02", "weight": -35},
             {"item": "m20", "weight": 25}, {"item": "m23", "weight": -25}]},
        {"id": "IDV", "label": "Individualism", "method": "linear", "constant_param": "C_ic",
         "constant": 5, "terms": [
             {"item": "m04", "weight": 35}, {"item": "m01", "weight": -35},
             {"item": "m09", "weight": 35}, {"item": "m06", "weight": -35}]},
    ]
    return write_instrument(tmp_path, base_doc("vsmtoy", {"five": FIVE}, items, scores))


@pytest.fixture
def mfq_toy(tmp_path) -> str:
    items = [{"id": f"q0{i}", "scale": "rel"} for i in range(1, 8)]
    items[2]["reverse"] = True  # q03
    items[6]["role"] = "catch"  # q07
    scores = [
        {"id": "care", "label": "Care", "method": "mean", "items": ["q01", "q02", "q03"]},
        {"id": "fairness", "label": "Fairness", "method": "mean",
         "items": ["q04", "q05", "q06"]},
    ]
    doc = base_doc("mfqtoy", {"rel": SIX0}, items, scores,
                   exclusions=[{"item": "q07", "op": "gt", "value": 2, "reason": "catch"}])
    return write_instrument(tmp_path, doc)


@pytest.fixture
def wvs_toy(tmp_path) -> str:
    mention = {"type": "nominal", "codes": [1, 2], "labels": {"en": ["Mentioned", "Not"]}}
    aims = {"type": "nominal", "codes": [1, 2, 3, 4], "labels": {"en": list("abcd")}}
    items = [{"id": q, "scale": "mention"} for q in ("Q8", "Q14", "Q15", "Q17")]
    items += [{"id": q, "scale": "aims"} for q in ("Q154", "Q155")]
    scores = [
        {"id": "autonomy", "label": "Autonomy", "method": "linear", "constant": 0, "terms": [
            {"item": "Q8", "weight": 1, "codes": [1]}, {"item": "Q14", "weight": 1, "codes": [1]},
            {"item": "Q15", "weight": -1, "codes": [1]},
            {"item": "Q17", "weight": -1, "codes": [1]}]},
        {"id": "postmaterialism", "label": "Post-materialism", "method": "linear",
         "constant": 1, "terms": [
             {"item": "Q154", "weight": 1, "codes": [2, 4]},
             {"item": "Q155", "weight": 1, "codes": [2, 4]}]},
    ]
    return write_instrument(tmp_path, base_doc("wvstoy", {"mention": mention, "aims": aims},
                                                items, scores))


def vsm_dists() -> pd.DataFrame:
    """Three personas with known item means: m07 3, m02 1, m20 13/3, m23 2."""
    codes = [1, 2, 3, 4, 5]
    answers = {
        "m07": [2, 3, 4], "m02": [1, 1, 1], "m20": [4, 4, 5], "m23": [2, 3, 1],
        "m04": [5, 4, 3], "m01": [1, 2, 3], "m09": [3, 3, 3], "m06": [2, 2, 2],
    }
    spec = []
    for item, codes_by_persona in answers.items():
        for p, code in enumerate(codes_by_persona):
            spec.append(({"persona": f"p{p}"}, item, one_hot(code, codes)))
    return make_dists(spec, "vsmtoy")


def test_vsm_indices_match_hand_computation(vsm_toy):
    scores = score_instrument(vsm_dists(), vsm_toy, by=["model"], constants={"C_pd": 20})
    got = scores.set_index("score_id")["score"]
    # PDI = 35(m07 - m02) + 25(m20 - m23) + C = 35 * 2 + 25 * (13/3 - 2) + 20
    assert got["PDI"] == pytest.approx(35 * (3 - 1) + 25 * (13 / 3 - 2) + 20)
    assert got["PDI"] == pytest.approx(148.3333333333)
    # IDV = 35(m04 - m01) + 35(m09 - m06) + C_ic (file default 5) = 35 * 2 + 35 * 1 + 5
    assert got["IDV"] == pytest.approx(110.0)
    assert list(scores.columns) == ["model", "instrument", "score_id", "score_label", "method",
                                    "score", "n_items"]
    assert scores["n_items"].tolist() == [4, 4]
    assert (scores["method"] == "linear").all()


def test_vsm_expected_value_from_soft_distribution(vsm_toy):
    d = vsm_dists()
    # replace persona p0's m07 answer (code 2) with a 50/50 over codes 1 and 3: expected 2
    sel = (d["item_id"] == "m07") & (d["persona"] == "p0")
    d.loc[sel, "prob"] = d.loc[sel, "code"].map({1: 0.5, 3: 0.5}).fillna(0.0)
    got = score_instrument(d, vsm_toy, by=[]).set_index("score_id")["score"]
    assert got["PDI"] == pytest.approx(35 * 2 + 25 * (13 / 3 - 2))


def test_vsm_by_persona_and_missing_item(vsm_toy):
    d = vsm_dists()
    by_p = score_instrument(d, vsm_toy, by=["persona"]).query("score_id == 'PDI'")
    assert by_p.set_index("persona")["score"].to_dict() == pytest.approx(
        {"p0": 35 * 1 + 25 * 2, "p1": 35 * 2 + 25 * 1, "p2": 35 * 3 + 25 * 4}
    )
    partial = score_instrument(d[d["item_id"] != "m23"], vsm_toy)
    row = partial.set_index("score_id").loc["PDI"]
    assert np.isnan(row["score"]) and row["n_items"] == 3


def test_constants_unknown_name_is_an_error(vsm_toy):
    with pytest.raises(WorkbenchError, match="C_pd"):
        score_instrument(vsm_dists(), vsm_toy, constants={"C_xx": 1})


def test_mfq_foundation_means_and_reverse_keying(mfq_toy):
    codes = list(range(6))
    spec = []
    raw = {"q01": [5, 3], "q02": [4, 4], "q03": [1, 0], "q04": [2, 2], "q05": [3, 1],
           "q06": [0, 5], "q07": [0, 4]}
    for item, per_persona in raw.items():
        for p, code in enumerate(per_persona):
            spec.append(({"persona": f"p{p}"}, item, one_hot(code, codes)))
    d = make_dists(spec, "mfqtoy")
    got = score_instrument(d, mfq_toy).set_index("score_id")["score"]
    # q03 is reverse-keyed on 0..5: value = 5 - code -> 4 and 5, mean 4.5
    assert got["care"] == pytest.approx((4 + 4 + 4.5) / 3)
    assert got["fairness"] == pytest.approx((2 + 2 + 2.5) / 3)
    vals = item_values(d, mfq_toy, by=["persona"]).query("item_id == 'q03'")
    assert vals["value"].tolist() == [4.0, 5.0]
    assert (vals["quantity"] == "mean").all() and (vals["n_requests"] == 1).all()


def test_exclusion_flags_follow_catch_rule(mfq_toy):
    codes = list(range(6))
    spec = [({"persona": "p0"}, "q07", one_hot(0, codes)),
            ({"persona": "p1"}, "q07", one_hot(4, codes)),
            ({"persona": "p2"}, "q07", {0: 0.0, 1: 0.0, 2: 0.5, 3: 0.5, 4: 0.0, 5: 0.0}),
            ({"persona": "p3"}, "q01", one_hot(4, codes))]
    flags = exclusion_flags(make_dists(spec, "mfqtoy"), mfq_toy)
    got = flags.set_index("persona")
    assert got.loc["p0", "flagged"] == False  # noqa: E712
    assert got.loc["p1", "flagged"] == True  # noqa: E712
    assert got.loc["p2", "value"] == pytest.approx(2.5) and got.loc["p2", "flagged"]
    assert np.isnan(got.loc["p3", "value"]) and not got.loc["p3", "flagged"]
    assert set(flags["reason"]) == {"catch"}
    assert {"model", "persona", "repeat", "item_id", "op", "threshold", "reason"} <= set(
        flags.columns
    )


def test_wvs_autonomy_and_postmaterialism_indices(wvs_toy):
    spec = [
        ({}, "Q8", {1: 0.9, 2: 0.1}),
        ({}, "Q14", {1: 0.6, 2: 0.4}),
        ({}, "Q15", {1: 0.2, 2: 0.8}),
        ({}, "Q17", {1: 0.3, 2: 0.7}),
        ({}, "Q154", {1: 0.1, 2: 0.5, 3: 0.2, 4: 0.2}),
        ({}, "Q155", {1: 0.4, 2: 0.1, 3: 0.4, 4: 0.1}),
    ]
    got = score_instrument(make_dists(spec, "wvstoy"), wvs_toy).set_index("score_id")["score"]
    assert got["autonomy"] == pytest.approx(0.9 + 0.6 - 0.2 - 0.3)
    assert got["postmaterialism"] == pytest.approx(1 + 0.7 + 0.2)
    terms = score_terms(wvs_toy)
    assert set(terms["quantity"]) == {"P(1)", "P(2,4)"}


def test_sampled_answers_use_same_path(wvs_toy):
    rows = []
    for r, (code, status) in enumerate([(1, "ok"), (1, "ok"), (2, "ok"), (np.nan, "refusal")]):
        rows.append({**DEFAULTS, "instrument": "wvstoy", "item_id": "Q8", "repeat": r,
                     "request_id": f"a{r}", "expected": np.nan, "argmax_code": 1,
                     "answer_code": code, "status": status})
    dists = sampled_distributions(pd.DataFrame(rows))
    assert len(dists) == 3 and (dists["prob"] == 1).all()
    vals = item_values(dists, wvs_toy, by=["model"])
    assert vals.set_index("quantity").loc["P(1)", "value"] == pytest.approx(2 / 3)


def test_bad_input_raises_workbench_error(mfq_toy):
    d = make_dists([({}, "q01", {0: 0.5, 9: 0.5})], "mfqtoy")
    with pytest.raises(WorkbenchError, match="not on its scale"):
        score_instrument(d, mfq_toy)
    d = make_dists([({}, "zz", {0: 1.0})], "mfqtoy")
    with pytest.raises(WorkbenchError, match="does not define"):
        score_instrument(d, mfq_toy)
    d = make_dists([({}, "q01", {0: 1.0})], "other")
    with pytest.raises(WorkbenchError, match="no rows"):
        score_instrument(d, mfq_toy)
    with pytest.raises(WorkbenchError, match="group by"):
        score_instrument(make_dists([({}, "q01", {0: 1.0})], "mfqtoy"), mfq_toy, by=["nope"])


# --- the shipped instrument files (skipped until they land) --------------------------------


def _shipped(name: str):
    path = instruments_dir() / f"{name}.yaml"
    if not path.is_file():
        pytest.skip(f"{path} not present yet")
    return load_instrument_file(path)


def _uniform_dists(inst, code_for) -> pd.DataFrame:
    spec = []
    for it in inst.items:
        codes = inst.scale_of(it.id).codes
        spec.append(({}, it.id, one_hot(code_for(it, codes), codes)))
    return make_dists(spec, inst.id)


def test_real_vsm2013_pdi_formula():
    inst = _shipped("vsm2013")
    means = {f"m{i:02d}": float((i % 5) + 1) for i in range(1, 25)}
    d = _uniform_dists(inst, lambda it, codes: int(means[it.id]))
    got = score_vsm2013(d, constants={inst.score("PDI").constant_param: 0}).set_index(
        "score_id")["score"]
    expected = 35 * (means["m07"] - means["m02"]) + 25 * (means["m20"] - means["m23"])
    assert got["PDI"] == pytest.approx(expected)
    assert set(got.index) >= {"PDI", "IDV", "MAS", "UAI", "LTO", "IVR"}


@pytest.mark.parametrize("name", ["mfq30", "mfq2"])
def test_real_mfq_all_answers_equal(name):
    inst = _shipped(name)
    d = _uniform_dists(inst, lambda it, codes: codes[2])
    got = score_mfq(d, instrument=name)
    lo, hi = min(inst.scales[inst.items[0].scale].codes), max(
        inst.scales[inst.items[0].scale].codes)
    for _, row in got.iterrows():
        items = [inst.item(i) for i in inst.score(row["score_id"]).items]
        vals = [lo + hi - (lo + 2) if it.reverse else lo + 2 for it in items]
        assert row["score"] == pytest.approx(np.mean(vals))
        assert row["n_items"] == len(items)


def test_real_mfq30_catch_items():
    inst = _shipped("mfq30")
    d = _uniform_dists(inst, lambda it, codes: codes[-1])
    flags = exclusion_flags(d, inst)
    got = flags.set_index("item_id")["flagged"]
    assert bool(got["q06"]) and not bool(got["q22"])


def test_real_wvs7_indices():
    inst = _shipped("wvs7")
    d = _uniform_dists(inst, lambda it, codes: codes[0])
    got = score_wvs7(d).set_index("score_id")["score"]
    # everything "mentioned" (code 1): autonomy = 1 + 1 - 1 - 1; aims code 1 is materialist
    assert got["autonomy"] == pytest.approx(0.0)
    assert got["postmaterialism"] == pytest.approx(1.0)
