"""Official scoring: VSM indices, MFQ foundations, reverse keying, WVS indices, catch items."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from workbench.errors import WorkbenchError
from workbench.exclusion import exclusion_flags
from workbench.instrument_files import instruments_dir, load_instrument_file
from workbench.scoring import (
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
            ({"persona": "p3"}, "q01", one_hot(4, codes)),
            ({"persona": "p4"}, "q07", one_hot(5, codes)),  # two requests: 5 and 1
            ({"persona": "p4"}, "q07", one_hot(1, codes))]
    flags = exclusion_flags(make_dists(spec, "mfqtoy"), mfq_toy)
    got = flags.set_index("persona")
    # p_fail: probability that one answer drawn from the unit's answers fails (code > 2)
    assert got["p_fail"].drop("p3").to_dict() == pytest.approx(
        {"p0": 0.0, "p1": 1.0, "p2": 0.5, "p4": 0.5})
    assert np.isnan(got.loc["p3", "p_fail"])
    assert got.loc["p4", "value"] == pytest.approx(3.0) and got.loc["p4", "flagged"]
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


# VSM 2013 manual (Hofstede & Minkov 2013): index = w1 (mA - mB) + w2 (mC - mD) + C(x), written
# here as (constant name, [(weight, plus item, minus item), ...]) independently of the YAML.
VSM_FORMULAS = {
    "PDI": ("C_pd", [(35, "m07", "m02"), (25, "m20", "m23")]),
    "IDV": ("C_ic", [(35, "m04", "m01"), (35, "m09", "m06")]),
    "MAS": ("C_mf", [(35, "m05", "m03"), (35, "m08", "m10")]),
    "UAI": ("C_ua", [(40, "m18", "m15"), (25, "m21", "m24")]),
    "LTO": ("C_ls", [(40, "m13", "m14"), (25, "m19", "m22")]),
    "IVR": ("C_ir", [(35, "m12", "m11"), (40, "m17", "m16")]),
}
VSM_CONSTANTS = {"C_pd": 11.5, "C_ic": -7.0, "C_mf": 3.25, "C_ua": 20.0, "C_ls": -13.0,
                 "C_ir": 42.0}


def _respondents(item_ids: list[str], codes: list[int], n: int, step: int) -> dict[str, list[int]]:
    """``n`` one-hot respondents per item whose code sums differ between all items.

    Item ``k`` gets the code sum ``min * n + 1 + (k * step) % len(item_ids)`` (``step`` coprime
    with the number of items, so sums are a permutation and not ordered like the items), spread
    as evenly as possible over the respondents, then rotated so respondents differ.
    """
    lo, hi = min(codes), max(codes)
    assert len(item_ids) <= (hi - lo) * n, "not enough distinct sums"
    out = {}
    for k, item in enumerate(item_ids):
        extra = 1 + (k * step) % len(item_ids)  # above the all-minimum sum
        base, rest = divmod(extra, n)
        answers = [lo + base + (1 if r < rest else 0) for r in range(n)]
        assert all(lo <= a <= hi for a in answers)
        shift = k % n
        out[item] = answers[shift:] + answers[:shift]
    return out


def _respondent_dists(inst, answers: dict[str, list[int]]) -> pd.DataFrame:
    spec = []
    for item, codes_by_resp in answers.items():
        codes = inst.scale_of(item).codes
        for r, code in enumerate(codes_by_resp):
            spec.append(({"persona": f"p{r}"}, item, one_hot(code, codes)))
    return make_dists(spec, inst.id)


def test_real_vsm2013_score_terms_are_the_manual_formulas():
    inst = _shipped("vsm2013")
    terms = score_terms(inst, constants=VSM_CONSTANTS)
    got = {(r.score_id, r.item_id, r.quantity, r.weight) for r in terms.itertuples()}
    expected = set()
    for score_id, (_, pairs) in VSM_FORMULAS.items():
        for weight, plus, minus in pairs:
            expected |= {(score_id, plus, "mean", weight), (score_id, minus, "mean", -weight)}
    assert got == expected
    assert len(terms) == 24 and terms["method"].eq("linear").all()
    assert terms.groupby("score_id")["constant"].first().to_dict() == {
        s: VSM_CONSTANTS[c] for s, (c, _) in VSM_FORMULAS.items()}
    assert inst.constant_params == dict.fromkeys(VSM_CONSTANTS, 0.0)
    assert all(not it.reverse for it in inst.items)  # the formulas use the raw codes


@pytest.mark.parametrize("constants", [None, VSM_CONSTANTS])
def test_real_vsm2013_indices_match_hand_arithmetic(constants):
    inst = _shipped("vsm2013")
    ids = [f"m{i:02d}" for i in range(1, 25)]
    answers = _respondents(ids, [1, 2, 3, 4, 5], n=7, step=5)
    m = {item: sum(a) / len(a) for item, a in answers.items()}
    assert len(set(m.values())) == 24  # every item mean differs from every other
    c = constants or dict.fromkeys(VSM_CONSTANTS, 0.0)
    by_hand = {
        "PDI": 35 * (m["m07"] - m["m02"]) + 25 * (m["m20"] - m["m23"]) + c["C_pd"],
        "IDV": 35 * (m["m04"] - m["m01"]) + 35 * (m["m09"] - m["m06"]) + c["C_ic"],
        "MAS": 35 * (m["m05"] - m["m03"]) + 35 * (m["m08"] - m["m10"]) + c["C_mf"],
        "UAI": 40 * (m["m18"] - m["m15"]) + 25 * (m["m21"] - m["m24"]) + c["C_ua"],
        "LTO": 40 * (m["m13"] - m["m14"]) + 25 * (m["m19"] - m["m22"]) + c["C_ls"],
        "IVR": 35 * (m["m12"] - m["m11"]) + 40 * (m["m17"] - m["m16"]) + c["C_ir"],
    }
    got = score_vsm2013(_respondent_dists(inst, answers), constants=constants)
    assert got.set_index("score_id")["score"].to_dict() == pytest.approx(by_hand, abs=1e-9)
    assert got["n_items"].eq(4).all()


# Graham et al. (2011) MFQ30 key, items numbered as on the form (q01..q32).
MFQ30_KEY = {
    "care": [1, 7, 12, 17, 23, 28],
    "fairness": [2, 8, 13, 18, 24, 29],
    "loyalty": [3, 9, 14, 19, 25, 30],
    "authority": [4, 10, 15, 20, 26, 31],
    "purity": [5, 11, 16, 21, 27, 32],
}
# Atari et al. (2023) MFQ-2 key: item i belongs to foundation (i - 1) mod 6 in this order.
MFQ2_FOUNDATIONS = ["care", "equality", "proportionality", "loyalty", "authority", "purity"]
MFQ2_KEY = {f: [i for i in range(1, 37) if (i - 1) % 6 == k]
            for k, f in enumerate(MFQ2_FOUNDATIONS)}


def test_real_mfq_keys_are_the_published_ones():
    mfq30 = _shipped("mfq30")
    assert {s.id: s.items for s in mfq30.scores} == {
        f: [f"q{i:02d}" for i in items] for f, items in MFQ30_KEY.items()}
    assert [(it.id, it.text["en"]) for it in mfq30.items if it.role == "catch"] == [
        ("q06", "Whether or not someone was good at math"),
        ("q22", "It is better to do good than to do bad.")]
    assert MFQ2_KEY["care"] == [1, 7, 13, 19, 25, 31]
    assert MFQ2_KEY["purity"] == [6, 12, 18, 24, 30, 36]
    mfq2 = _shipped("mfq2")
    assert {s.id: s.items for s in mfq2.scores} == {
        f: [f"q{i:02d}" for i in items] for f, items in MFQ2_KEY.items()}
    for inst in (mfq30, mfq2):
        assert all(s.method == "mean" for s in inst.scores)
        assert not any(it.reverse for it in inst.items)  # neither key reverse-scores an item


@pytest.mark.parametrize("name, key, n_items", [("mfq30", MFQ30_KEY, 32),
                                                ("mfq2", MFQ2_KEY, 36)])
def test_real_mfq_foundation_means_match_hand_arithmetic(name, key, n_items):
    inst = _shipped(name)
    ids = [f"q{i:02d}" for i in range(1, n_items + 1)]
    answers = _respondents(ids, inst.scale_of("q01").codes, n=9, step=7)
    means = {item: sum(a) / len(a) for item, a in answers.items()}
    assert len(set(means.values())) == n_items  # catch items included: they must not count
    by_hand = {f: sum(means[f"q{i:02d}"] for i in items) / len(items)
               for f, items in key.items()}
    got = score_mfq(_respondent_dists(inst, answers), instrument=name)
    assert got.set_index("score_id")["score"].to_dict() == pytest.approx(by_hand, abs=1e-12)
    assert got["n_items"].eq(6).all()


def test_real_mfq30_catch_items():
    inst = _shipped("mfq30")
    d = _uniform_dists(inst, lambda it, codes: codes[-1])
    flags = exclusion_flags(d, inst)
    got = flags.set_index("item_id")["flagged"]
    assert bool(got["q06"]) and not bool(got["q22"])


def test_real_mfq30_catch_rules_are_the_published_cutoffs():
    """Item key (July 2008): cut MATH answers in the last 3 options (codes 3-5, "somewhat",
    "very", "extremely relevant") and GOOD answers in the first 3 (codes 0-2, disagree)."""
    inst = _shipped("mfq30")
    assert [(r.item, r.op, r.value) for r in inst.exclusions] == [("q06", "gt", 2.0),
                                                                  ("q22", "lt", 3.0)]
    codes = list(range(6))
    spec = []
    for math_code in codes:
        spec.append(({"persona": f"math{math_code}"}, "q06", one_hot(math_code, codes)))
    for good_code in codes:
        spec.append(({"persona": f"good{good_code}"}, "q22", one_hot(good_code, codes)))
    flags = exclusion_flags(make_dists(spec, "mfq30"), inst)
    flagged = flags[flags["flagged"]].set_index("persona")["item_id"].to_dict()
    assert flagged == {"math3": "q06", "math4": "q06", "math5": "q06",
                       "good0": "q22", "good1": "q22", "good2": "q22"}


@pytest.mark.parametrize("item, code, flagged", [("q06", 2, False), ("q06", 3, True),
                                                 ("q22", 2, True), ("q22", 3, False)])
def test_real_mfq30_catch_rule_boundaries(item, code, flagged):
    inst = _shipped("mfq30")
    d = make_dists([({}, item, one_hot(code, list(range(6))))], "mfq30")
    row = exclusion_flags(d, inst).set_index("item_id").loc[item]
    assert row["value"] == code
    assert bool(row["flagged"]) is flagged


def test_real_wvs7_index_codes_mean_what_the_indices_assume():
    inst = _shipped("wvs7")
    mention = inst.scale_of("Q8")
    assert mention.type == "nominal" and mention.codes == [1, 2]
    assert mention.labels["en"][0].startswith("Important")
    assert mention.labels["en"][1].startswith("Not mentioned")
    assert [inst.item(q).text["en"] for q in ("Q8", "Q14", "Q15", "Q17")] == [
        "Independence", "Determination, perseverance", "Religious faith", "Obedience"]
    aims = inst.scale_of("Q154")
    assert aims.type == "nominal" and aims.codes == [1, 2, 3, 4]
    assert aims.labels["en"] == [
        "Maintaining order in the nation",  # materialist
        "Giving people more say in important government decisions",  # post-materialist
        "Fighting rising prices",  # materialist
        "Protecting freedom of speech",  # post-materialist
    ]
    assert inst.scale_of("Q155") == aims


AUTONOMY_CASES = {  # (Q8, Q14, Q15, Q17) with 1 = mentioned, 2 = not mentioned -> index
    "plus2": ((1, 1, 2, 2), 2), "minus2": ((2, 2, 1, 1), -2), "plus1": ((1, 2, 2, 2), 1),
    "plus1b": ((2, 1, 2, 2), 1), "minus1": ((2, 2, 2, 1), -1), "minus1b": ((2, 2, 1, 2), -1),
    "zero_mixed": ((1, 2, 1, 2), 0), "zero_all": ((1, 1, 1, 1), 0),
    "zero_none": ((2, 2, 2, 2), 0),
}
POSTMAT_CASES = {  # (Q154, Q155) first and second aim -> index
    "pm_2_4": ((2, 4), 3), "pm_4_2": ((4, 2), 3), "pm_1_4": ((1, 4), 2), "pm_2_3": ((2, 3), 2),
    "pm_1_3": ((1, 3), 1), "pm_3_1": ((3, 1), 1),
}


def test_real_wvs7_indices_on_definite_answers():
    _shipped("wvs7")
    spec = []
    for case, (answers, _) in AUTONOMY_CASES.items():
        for item, code in zip(("Q8", "Q14", "Q15", "Q17"), answers, strict=True):
            spec.append(({"persona": case}, item, one_hot(code, [1, 2])))
    for case, (answers, _) in POSTMAT_CASES.items():
        for item, code in zip(("Q154", "Q155"), answers, strict=True):
            spec.append(({"persona": case}, item, one_hot(code, [1, 2, 3, 4])))
    got = score_wvs7(make_dists(spec, "wvs7"), by=["persona"])
    autonomy = got.query("score_id == 'autonomy'").dropna(subset=["score"])
    assert autonomy.set_index("persona")["score"].to_dict() == {
        case: float(v) for case, (_, v) in AUTONOMY_CASES.items()}
    postmat = got.query("score_id == 'postmaterialism'").dropna(subset=["score"])
    assert postmat.set_index("persona")["score"].to_dict() == {
        case: float(v) for case, (_, v) in POSTMAT_CASES.items()}


def test_real_wvs7_indices_are_linear_in_answer_shares():
    inst = _shipped("wvs7")
    p_mention = {"Q8": 0.9, "Q14": 0.35, "Q15": 0.2, "Q17": 0.65}
    aims = {"Q154": {1: 0.1, 2: 0.2, 3: 0.3, 4: 0.4}, "Q155": {1: 0.45, 2: 0.05, 3: 0.15, 4: 0.35}}
    spec = [({}, q, {1: p, 2: 1 - p}) for q, p in p_mention.items()]
    spec += [({}, q, probs) for q, probs in aims.items()]
    got = score_wvs7(make_dists(spec, inst.id)).set_index("score_id")["score"]
    assert got["autonomy"] == pytest.approx(0.9 + 0.35 - 0.2 - 0.65)
    assert got["postmaterialism"] == pytest.approx(1 + (0.2 + 0.4) + (0.05 + 0.35))


def test_content_free_pseudo_items_are_stored_but_never_scored(tmp_path):
    from pathlib import Path

    from tests.fakes import HashBackend
    from workbench.design import Design
    from workbench.probe import run_probe

    mini = str(Path(__file__).parent / "fixtures" / "mini.yaml")
    d = Design(models=["h"], instruments=[mini], orders=["original", "reversed"],
               content_free=True)
    dists = run_probe(d, tmp_path, backends={"h": HashBackend("h")},
                      progress=False).store.distributions()
    content_free = dists["item_id"].str.startswith("content-free:")
    assert content_free.any()
    with_cf = score_instrument(dists, mini, by=["model"])
    without = score_instrument(dists[~content_free], mini, by=["model"])
    pd.testing.assert_frame_equal(with_cf, without)
