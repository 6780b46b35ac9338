"""Position debiasing: synthetic backends of known prior x preference through the real probe,
a hand-worked 3-option example, and the one clear error for designs without permutations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.fakes import FirstPositionBackend, PositionContentBackend
from workbench.design import Design
from workbench.errors import WorkbenchError
from workbench.probe import run_probe
from workbench.scoring import score_instrument
from workbench.stats.debias import (
    contextual_calibration,
    debiased,
    full_permutation,
    position_prior,
    pride,
    pride_prior,
)

PRIOR = [0.45, 0.25, 0.15, 0.10, 0.05]  # a strong first-position model (k = 5)
LABELS5 = ["never", "rarely", "sometimes", "often", "always"]
LABELS3 = ["no", "maybe", "yes"]
N5, N3 = 10, 4  # items per scale
# Stated tolerance: mean total variation distance (over requests) to the true content
# preference. Measured on this design: without noise raw 0.248, full permutation 0.031 (its
# residual bias, see the hand-worked case), PriDe and calibration 0 (exact); with noise 0.1
# raw 0.248, full permutation 0.034, PriDe 0.030 (dividing by the true prior: 0.030),
# calibration 0.044 (its content-free answers are noisy too).
TV_TOL = 0.05


def _instrument(tmp_path) -> str:
    """Ten 5-option items and four 3-option items (mixed k in one instrument)."""
    items = [{"id": f"f{i}", "text": {"en": f"Statement five {i}."}, "scale": "s5"}
             for i in range(N5)]
    items += [{"id": f"t{i}", "text": {"en": f"Statement three {i}."}, "scale": "s3"}
              for i in range(N3)]
    doc = {
        "id": "synthetic", "name": "synthetic", "family": "test",
        "source": {"citation": "test", "terms": "test"},
        "languages": {"en": {"source": "test"}},
        "scales": {"s5": {"codes": [1, 2, 3, 4, 5], "labels": {"en": LABELS5}},
                   "s3": {"codes": [1, 2, 3], "labels": {"en": LABELS3}}},
        "items": items,
        "scores": [{"id": "five", "label": "Five", "method": "mean",
                    "items": [f"f{i}" for i in range(N5)]}],
    }
    path = tmp_path / "synthetic.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(path)


def _preferences(content: bool) -> tuple[dict, dict]:
    """Per item text: weight per label (backend) and the true preference by code (tests)."""
    rng = np.random.default_rng(7)
    pref, truth = {}, {}
    for prefix, labels, n in (("f", LABELS5, N5), ("t", LABELS3, N3)):
        for i in range(n):
            w = rng.dirichlet(np.full(len(labels), 1.5)) if content else np.ones(len(labels))
            w = w / w.sum()
            kind = "five" if prefix == "f" else "three"
            pref[f"Statement {kind} {i}."] = dict(zip(labels, w, strict=True))
            truth[f"{prefix}{i}"] = dict(zip(range(1, len(labels) + 1), w, strict=True))
    return pref, truth


def _probe(tmp_path, prior, content=True, noise=0.0, orders=("cyclic",), content_free=False):
    pref, truth = _preferences(content)
    inst = _instrument(tmp_path)
    design = Design(models=["syn"], instruments=[inst], orders=list(orders),
                    content_free=content_free)
    backend = PositionContentBackend(prior, pref, noise=noise, name="syn")
    store = run_probe(design, tmp_path / "out", backends={"syn": backend}, progress=False).store
    return store.distributions(), truth, inst


def _tv(frame: pd.DataFrame, truth: dict) -> pd.Series:
    """Total variation distance to the true preference, per request: 0.5 sum |p - q|."""
    q = frame["code"].astype(int).combine(frame["item_id"], lambda c, i: truth[i][c])
    return ((frame["prob"] - q).abs() * 0.5).groupby(frame["request_id"]).sum()


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    """Prior x preference x noise (0.1), all cyclic orders, content-free items asked."""
    return _probe(tmp_path_factory.mktemp("noisy"), PRIOR, noise=0.1, content_free=True)


def test_pride_and_full_permutation_recover_the_content_preference(noisy, capsys):
    dists, truth, _ = noisy
    raw = debiased(dists, "raw")
    tv = {"raw": _tv(raw, truth).mean(),
          "full_permutation": _tv(full_permutation(dists), truth).mean(),
          "pride": _tv(pride(dists), truth).mean(),
          "calibration": _tv(contextual_calibration(dists), truth).mean()}
    one_order = pride(dists, calibration=3, orders=["cyc0"])
    tv["pride_3_items_one_order"] = _tv(one_order, truth).mean()
    with capsys.disabled():
        print("\nmean TV to the true preference:",
              {k: round(float(v), 4) for k, v in tv.items()})
    assert tv["raw"] > TV_TOL
    for method in ("full_permutation", "pride", "calibration", "pride_3_items_one_order"):
        assert tv[method] < TV_TOL, method
    # 3 calibration items per prior group (k = 5 and k = 3) in all rotations, the rest once
    info = one_order.attrs["debias"]
    assert info["calibration_items"] == 6
    assert info["forward_passes"] == 3 * 5 + (N5 - 3) + 3 * 3 + (N3 - 3)
    assert info["forward_passes_all_cyclic"] == N5 * 5 + N3 * 3
    assert info["forward_passes_saved"] == (N5 - 3) * 4 + (N3 - 3) * 2
    per_item = one_order.groupby("item_id").agg(n=("request_id", "nunique"),
                                                 k=("code", "nunique"),
                                                 orders=("order", lambda o: set(o)))
    calibrated = per_item[per_item.n == per_item.k]
    assert calibrated.groupby("k").size().to_dict() == {3: 3, 5: 3}
    assert per_item.loc[per_item.n == 1, "orders"].map(lambda o: o == {"cyc0"}).all()


def test_without_noise_pride_and_calibration_are_exact(tmp_path):
    dists, truth, _ = _probe(tmp_path, PRIOR, noise=0.0, content_free=True)
    assert _tv(debiased(dists, "raw"), truth).mean() > TV_TOL
    assert _tv(full_permutation(dists), truth).mean() < TV_TOL
    for method in ("pride", "calibration"):
        assert _tv(debiased(dists, method), truth).max() < 1e-9, method
    assert _tv(pride(dists, calibration=1, orders=["cyc2"]), truth).max() < 1e-9


def test_noisy_pride_is_as_good_as_knowing_the_prior(noisy):
    dists, truth, _ = noisy
    raw = debiased(dists, "raw")
    k = raw.groupby("request_id")["code"].transform("size").to_numpy()
    prior = np.array([PRIOR[int(j)] / sum(PRIOR[:n]) for j, n in zip(raw.position, k,
                                                                    strict=True)])
    oracle = raw.assign(prob=raw["prob"] / prior)
    oracle["prob"] /= oracle.groupby("request_id")["prob"].transform("sum")
    assert _tv(pride(dists), truth).mean() < _tv(oracle, truth).mean() + 0.005


def test_pride_prior_and_position_prior_find_the_backend_prior(noisy):
    dists, _, _ = noisy
    prior = pride_prior(dists)
    five = prior[prior.n_options == 5].sort_values("position")
    assert np.abs(five["prior"].to_numpy() - PRIOR).max() < 0.02
    three = prior[prior.n_options == 3].sort_values("position")["prior"].to_numpy()
    assert np.abs(three - np.array(PRIOR[:3]) / sum(PRIOR[:3])).max() < 0.02
    chart = position_prior(dists, by=["model"], n_boot=500)
    five = chart[chart.n_options == 5].sort_values("position")
    assert (five["ci_low"] <= five["prior"]).all() and (five["prior"] <= five["ci_high"]).all()
    assert (five["ci_low"].to_numpy() - 0.01 <= PRIOR).all()
    assert (five["ci_high"].to_numpy() + 0.01 >= PRIOR).all()
    assert five["n_items"].eq(N5).all() and five["uniform"].eq(0.2).all()


def test_a_pure_position_model_debiases_to_uniform(tmp_path):
    dists, _, _ = _probe(tmp_path, PRIOR, content=False)
    raw_first = dists.loc[dists.position == 0, "prob"]
    assert raw_first.min() > 0.4  # the raw answers follow the position
    for frame in (full_permutation(dists), pride(dists), pride(dists, calibration=1)):
        k = frame.groupby("request_id")["prob"].transform("size")
        assert (frame["prob"] - 1 / k).abs().max() < 1e-9


def test_a_pure_content_model_is_unchanged_by_debiasing(tmp_path):
    dists, truth, _ = _probe(tmp_path, [0.2] * 5, content=True, content_free=True)
    raw = debiased(dists, "raw").set_index(["request_id", "code"])["prob"]
    assert _tv(debiased(dists, "raw"), truth).max() < 1e-12
    for method in ("full_permutation", "pride", "calibration"):
        out = debiased(dists, method).set_index(["request_id", "code"])["prob"]
        assert (out - raw.loc[out.index]).abs().max() < 1e-12, method


def _hand_frame(observed: dict[str, list[tuple[int, float]]]) -> pd.DataFrame:
    """One item, k = 3; ``observed[order]`` = (code, prob) in shown position order."""
    rows = []
    for order, shown in observed.items():
        for position, (code, prob) in enumerate(shown):
            rows.append({"request_id": order, "model": "m", "instrument": "x", "item_id": "i",
                         "persona": "none", "language": "en", "order": order, "paraphrase": 0,
                         "answer_format": "numbered", "instruction": "forced",
                         "mode": "logprob", "repeat": 0, "code": code, "position": position,
                         "prob": prob, "logprob": np.log(prob)})
    return pd.DataFrame(rows)


def test_hand_worked_three_options_three_rotations():
    # Position prior pi = (.5, .3, .2), content preference q = (1: .2, 2: .3, 3: .5):
    # P(option at j) = pi_j q_c / Z.
    # cyc0 shows codes 1,2,3: weights .10 .09 .10, Z .29 -> 10/29, 9/29, 10/29
    # cyc1 shows codes 2,3,1: weights .15 .15 .04, Z .34 -> 15/34, 15/34, 4/34
    # cyc2 shows codes 3,1,2: weights .25 .06 .06, Z .37 -> 25/37, 6/37, 6/37
    d = _hand_frame({"cyc0": [(1, 10 / 29), (2, 9 / 29), (3, 10 / 29)],
                     "cyc1": [(2, 15 / 34), (3, 15 / 34), (1, 4 / 34)],
                     "cyc2": [(3, 25 / 37), (1, 6 / 37), (2, 6 / 37)]})
    # Full permutation, code 1: (10/29 + 4/34 + 6/37) / 3 = (.344828 + .117647 + .162162) / 3
    # = .208212; code 2: (.310345 + .441176 + .162162) / 3 = .304561; code 3: .487227.
    # It leaves a residual bias: TV to q = (.008212 + .004561 + .012773) / 2 = .012773.
    fp = full_permutation(d)
    assert fp.groupby("code")["prob"].first().round(6).to_dict() == {
        1: 0.208212, 2: 0.304561, 3: 0.487227}
    assert fp.groupby("request_id")["prob"].sum().round(12).eq(1).all()
    # PriDe prior. Mean log-prob at position 0: (ln 10/29 + ln 15/34 + ln 25/37) / 3
    # = (-1.064711 - 0.818310 - 0.392042) / 3 = -0.758354; position 1:
    # (ln 9/29 + ln 15/34 + ln 6/37) / 3 = -1.269180; position 2: -1.674645.
    # Differences from position 0: -0.510826 = ln .6 and -0.916291 = ln .4, so the
    # softmax is (1, .6, .4) / 2 = (.5, .3, .2): the content term cancels, the prior is exact.
    prior = pride_prior(d).set_index("position")["prior"]
    assert prior.round(9).to_dict() == {0: 0.5, 1: 0.3, 2: 0.2}
    # Debiased cyc0: (10/29 / .5, 9/29 / .3, 10/29 / .2) = (.689655, 1.034483, 1.724138),
    # sum 3.448276 -> (.2, .3, .5) = q, in every rotation.
    out = pride(d)
    for _, request in out.groupby("request_id"):
        assert request.set_index("code")["prob"].round(9).to_dict() == {1: 0.2, 2: 0.3,
                                                                        3: 0.5}
    # Calibrated by a content-free answer with no content preference (it shows pi itself
    # in every rotation): cyc1 becomes (15/34 / .5, 15/34 / .3, 4/34 / .2) -> q again.
    cf = _hand_frame({o: [(c, p) for c, p in zip(codes, (0.5, 0.3, 0.2), strict=True)]
                      for o, codes in {"cyc0": (1, 2, 3), "cyc1": (2, 3, 1),
                                       "cyc2": (3, 1, 2)}.items()})
    cf = cf.assign(item_id="content-free:s:0", request_id="cf-" + cf["request_id"])
    cal = contextual_calibration(pd.concat([d, cf], ignore_index=True))
    assert set(cal["item_id"]) == {"i"}
    assert cal[cal.request_id == "cyc1"].set_index("code")["prob"].round(9).to_dict() == {
        1: 0.2, 2: 0.3, 3: 0.5}


def test_duplicate_shown_orders_count_once():
    # original and cyc0 show the same order: the average must not weigh it twice.
    shown = {"cyc0": [(1, 0.6), (2, 0.3), (3, 0.1)], "cyc1": [(2, 0.6), (3, 0.3), (1, 0.1)],
             "cyc2": [(3, 0.6), (1, 0.3), (2, 0.1)]}
    d = _hand_frame({**shown, "original": shown["cyc0"]})
    fp = full_permutation(d)
    assert fp["prob"].round(12).eq(round(1 / 3, 12)).all()
    assert fp["request_id"].nunique() == 4 and fp.attrs["debias"]["n_cells"] == 1


def test_designs_without_permutations_get_one_clear_error(tmp_path):
    d = Design(models=["fake"], instruments=[_instrument(tmp_path)],
               orders=["original", "reversed"])
    store = run_probe(d, tmp_path / "out", backends={"fake": FirstPositionBackend()},
                      progress=False).store
    dists = store.distributions()
    for method in ("full_permutation", "pride"):
        with pytest.raises(WorkbenchError, match=r"add `orders: \[cyclic\]` to the design"):
            debiased(dists, method)
    with pytest.raises(WorkbenchError, match=r"add `orders: \[cyclic\]`"):
        position_prior(dists)
    with pytest.raises(WorkbenchError, match="add `content_free: true` to the design"):
        debiased(dists, "calibration")
    one = dists[dists.order == "original"]
    with pytest.raises(WorkbenchError, match=r"orders: \[cyclic\]"):
        full_permutation(one, require_balanced=False)
    # original + reversed of a 5-point scale is not balanced, but two orders can be averaged
    loose = full_permutation(dists, require_balanced=False)
    assert loose["request_id"].nunique() == dists["request_id"].nunique()


def test_entry_point_options_and_scoring_run_on_the_output(noisy):
    dists, _, inst = noisy
    with pytest.raises(WorkbenchError, match="unknown debiasing method"):
        debiased(dists, "magic")
    with pytest.raises(WorkbenchError, match="has no option"):
        debiased(dists, "pride", calibraton=2)
    with pytest.raises(WorkbenchError, match="calibration must be"):
        debiased(dists, "pride", calibration=0)
    with pytest.raises(WorkbenchError, match="mode: logprob"):
        pride(dists.assign(mode="generate"))
    raw = debiased(dists, "raw")
    assert dists["item_id"].str.startswith("content-free:").any()
    assert not raw["item_id"].str.startswith("content-free:").any()
    # scoring ignores content-free items in the raw store rows and runs on every estimate
    stored = score_instrument(dists, inst)
    assert stored["score"].iloc[0] == pytest.approx(score_instrument(raw, inst)["score"].iloc[0])
    for method in ("full_permutation", "pride", "calibration"):
        out = debiased(dists, method)
        assert list(out.columns) == list(dists.columns)
        assert out.attrs["debias"]["method"] == method
        assert np.isfinite(score_instrument(out, inst)["score"]).all()


def test_follow_ups_asked_are_debiased_then_combined(tmp_path):
    d = Design(models=["syn"], instruments=["wvs7"], orders=["cyclic"], items=["Q154", "Q155"])
    backend = PositionContentBackend(PRIOR, {}, name="syn")  # position only
    store = run_probe(d, tmp_path, backends={"syn": backend}, progress=False).store
    asked = store.distributions(followups="asked")
    raw = debiased(asked, "raw").sort_values(["request_id", "code"], ignore_index=True)
    stored = store.distributions()
    assert raw[["request_id", "code"]].equals(stored[["request_id", "code"]])
    assert np.allclose(raw["prob"], stored["prob"])
    q155_raw = raw[(raw.item_id == "Q155") & (raw.order == "cyc0")]["prob"]
    assert q155_raw.max() - q155_raw.min() > 0.1  # the raw combined answer follows positions
    out = debiased(asked, "pride")
    q155 = out[out.item_id == "Q155"]
    assert q155["request_id"].str.startswith("followup-").all()
    # uniform Q154 (1/4) and uniform over the 3 remaining aims: 3 * 1/4 * 1/3 = 1/4 each
    assert (q155["prob"] - 0.25).abs().max() < 1e-9
    assert out.attrs["debias"]["followups"] == "combined after debiasing"


def test_cyclic_items_beside_original_and_reversed_calibrate_pride(tmp_path):
    # The report's layout: every item in original + reversed (one design), a few items in
    # all cyclic orders too (a second design with `items:`). The calibration items' cells
    # then hold k rotations plus `reversed`, which is not balanced as a whole; the prior
    # comes from the rotations alone (cyc0 and original show the same order, counted once).
    pref, truth = _preferences(True)
    inst = _instrument(tmp_path)
    backend = PositionContentBackend(PRIOR, pref, noise=0.0, name="syn")
    out = tmp_path / "out"
    run_probe(Design(models=["syn"], instruments=[inst], orders=["original", "reversed"]),
              out, backends={"syn": backend}, progress=False)
    cal = ["f0", "f1", "t0"]
    store = run_probe(Design(models=["syn"], instruments=[inst], orders=["cyclic"],
                             items=cal), out, backends={"syn": backend},
                      progress=False).store
    dists = store.distributions()
    with pytest.raises(WorkbenchError, match=r"add `orders: \[cyclic\]`"):
        full_permutation(dists)  # the other items have two orders only
    prior = pride_prior(dists, calibration=cal)
    five = prior[prior.n_options == 5].sort_values("position")["prior"].to_numpy()
    assert np.abs(five - PRIOR).max() < 1e-9 and prior["n_items"].tolist() == [1] * 3 + [2] * 5
    out_frame = pride(dists, calibration=cal)
    assert _tv(debiased(dists, "raw"), truth).mean() > TV_TOL
    assert _tv(out_frame, truth).max() < 1e-9  # exact without noise, for every request
    assert out_frame.attrs["debias"]["calibration_items"] == 3
    per_item = position_prior(dists, n_boot=200)
    assert per_item.groupby("n_options")["n_items"].first().to_dict() == {3: 1, 5: 2}
