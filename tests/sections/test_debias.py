"""The position-bias and debiased-scores section, and the estimator setting, on synthetic
stores of known position prior x content preference (tests/fakes.py) made through the real
probe: every MFQ-2 item in original + reversed order, a calibration subset in all cyclic
rotations (the layout of designs/report_calibration.yaml)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from tests.fakes import PositionContentBackend
from workbench import sections
from workbench.design import Design
from workbench.errors import WorkbenchError
from workbench.instrument_files import load_instrument
from workbench.probe import run_probe
from workbench.sections import debias, render
from workbench.sections.estimators import calibration_items

# First and middle positions favoured: original + reversed cannot cancel the middle slot.
PRIOR = [0.25, 0.10, 0.45, 0.10, 0.10]
CALIBRATION = ["q01", "q02", "q03", "q04", "q05", "q06"]  # one item per foundation
N_BOOT = 200
# Stated tolerances, in MFQ-2 scale points (1-5): with noise 0.05 PriDe's foundation scores
# lie within 0.05 of the true content scores; raw ones miss every foundation by more than
# 0.1 (measured: 0.16-0.18, all pulled toward the middle option the prior favours).
PRIDE_TOL, RAW_MISS = 0.05, 0.1


def _preferences() -> tuple[dict[str, dict[str, float]], pd.DataFrame]:
    """Per MFQ-2 item text a preference over the labels that leans to one end, and the
    foundation scores that preference implies (the expected code, averaged over items)."""
    inst = load_instrument("mfq2")
    rng = np.random.default_rng(11)
    labels = inst.scales["describes"].labels["en"]
    codes = np.array(inst.scales["describes"].codes, dtype=float)
    pref, expected = {}, {}
    lean = {s.id: rng.choice([-1, 1]) for s in inst.scores}
    for it in inst.items:
        score = next(s.id for s in inst.scores if it.id in s.items)
        slope = lean[score] * rng.uniform(0.6, 1.2)
        w = np.exp(slope * (codes - codes.mean()))
        w = w / w.sum()
        pref[it.text["en"]] = dict(zip(labels, w, strict=True))
        expected[it.id] = float(w @ codes)
    truth = pd.DataFrame([{"score_id": s.id, "truth": np.mean([expected[i] for i in s.items])}
                          for s in inst.scores])
    return pref, truth


def _store(root, orders_all=("original", "reversed"), noise=0.05):
    pref, truth = _preferences()
    backend = PositionContentBackend(PRIOR, pref, noise=noise, name="syn")
    run_probe(Design(models=["syn"], instruments=["mfq2"], orders=list(orders_all)), root,
              backends={"syn": backend}, progress=False)
    if "cyclic" not in orders_all:
        run_probe(Design(models=["syn"], instruments=["mfq2"], orders=["cyclic"],
                         items=CALIBRATION), root, backends={"syn": backend}, progress=False)
    return root, truth


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    root, truth = _store(tmp_path_factory.mktemp("debias-section"))
    data = sections.load(root)
    sec = sections.compute("debias", data, sections.Settings(n_boot=N_BOOT))
    return data, sec, truth


def _column(sec, estimator: str) -> pd.DataFrame:
    s = sec.data["scores"]
    return s[(s["estimator"] == estimator) & ~s["score_id"].str.startswith("map:")]


def test_pride_recovers_the_content_scores_and_raw_does_not(calibrated):
    data, sec, truth = calibrated
    raw = _column(sec, "raw").merge(truth, on="score_id")
    pride = _column(sec, "pride").merge(truth, on="score_id")
    assert len(raw) == len(pride) == 6 and (pride["status"] == "ok").all()
    assert (raw["score"] - raw["truth"]).abs().min() > RAW_MISS
    assert (np.sign(raw["score"] - raw["truth"]) == np.sign(3 - raw["truth"])).all()
    assert (pride["score"] - pride["truth"]).abs().max() < PRIDE_TOL
    assert (pride["ci_low"] <= pride["score"]).all() and (pride["score"] <= pride["ci_high"]).all()
    # the table shows them side by side, with the estimators this design cannot support
    table = next(t for c, t in sec.tables.items() if c.startswith("Every score"))
    assert {"raw [ci]", "pride [ci]", "full_permutation [ci]",
            "calibration [ci]"} <= set(table.columns)
    assert (table["full_permutation [ci]"] == "needs orders: [cyclic]").all()
    assert (table["calibration [ci]"] == "needs content_free: true").all()
    care = table[table["score_id"] == "care"].iloc[0]
    value = pride.loc[pride["score_id"] == "care"].iloc[0]
    assert care["pride [ci]"] == debias.cell_text(value) and "[" in care["pride [ci]"]
    # PriDe used the cyclic items, and asking the others in two orders saved passes
    assert calibration_items(data.asked) == CALIBRATION
    runs = sec.data["estimators"].set_index("estimator")
    assert runs.loc["pride", "calibration_items"] == len(CALIBRATION)
    # 36 items x 5 rotations, against 30 items x 2 orders + 6 x (5 rotations + 2 orders)
    n_cal = len(CALIBRATION)
    assert runs.loc["pride", "forward_passes_saved"] == 36 * 5 - (36 - n_cal) * 2 - n_cal * 7


def test_the_position_prior_chart_finds_the_backend_prior(calibrated):
    _, sec, _ = calibrated
    prior = sec.data["prior"].sort_values("position")
    assert prior["n_items"].eq(len(CALIBRATION)).all()
    assert np.abs(prior["prior"].to_numpy() - PRIOR).max() < 0.02
    assert ((prior["ci_low"] <= prior["prior"]) & (prior["prior"] <= prior["ci_high"])).all()
    pride = sec.data["pride_prior"].sort_values("position")
    assert np.abs(pride["prior"].to_numpy() - PRIOR).max() < 0.02
    figs = sections.figures(sec)
    assert len(figs) == 1  # one per model
    names = {t.name for t in figs[0].data}
    assert names == {"position prior (all permuted items)", "uniform 1/k",
                     "PriDe prior (calibration items)"}


def test_the_estimator_setting_changes_the_scores_other_sections_show(calibrated):
    data, sec, _ = calibrated
    shown = {}
    for estimator in ("raw", "pride"):
        mfq = sections.compute("mfq2", data, sections.Settings(n_boot=N_BOOT,
                                                               estimator=estimator))
        shown[estimator] = mfq.data["scores"].set_index("score_id")["score"]
        column = _column(sec, estimator).set_index("score_id")["score"]
        assert np.allclose(shown[estimator], column.loc[shown[estimator].index])
    assert (shown["raw"] - shown["pride"]).abs().max() > RAW_MISS / 2
    # raw distributions stay available whatever the estimator
    pride_data = data.using("pride")
    assert pride_data.using("pride") is pride_data and data.using("raw") is data
    assert pride_data.raw_dists("mfq2").equals(data.dists("mfq2"))
    assert not pride_data.dists("mfq2")["prob"].equals(data.dists("mfq2")["prob"])


def test_without_permutations_the_report_shows_one_note_and_raw_scores(data, monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(render, "_display_html", shown.append)
    settings = sections.Settings(estimator="pride", n_boot=N_BOOT, countries=["JPN"])
    sections.show("about", data, settings)  # the settings table and the fall-back note
    html = "\n".join(shown)
    assert "pride" in html.split("Report settings")[1]  # the settings table row
    notes = [h for h in shown if "could not run" in h]
    assert len(notes) == 1 and "orders: [cyclic]" in notes[0] and "RAW" in notes[0]
    assert "mode: logprob" in notes[0]  # the generation model cannot be debiased either
    raw = sections.compute("hofstede", data, dataclasses.replace(settings, estimator="raw"))
    fallback = sections.compute("hofstede", data, settings)
    pd.testing.assert_frame_equal(raw.data["profile"], fallback.data["profile"])
    assert not any("could not run" in n for n in fallback.notes)  # said once, in the header
    sec = sections.compute("debias", data, settings)
    table = next(t for c, t in sec.tables.items() if c.startswith("Every score"))
    assert (table["pride [ci]"].isin(["needs orders: [cyclic]", "needs mode: logprob"])).all()
    alpha = table[table["model"] == "alpha"]
    assert alpha["raw [ci]"].str.match(r"^-?\d+\.\d+ \[").all()  # raw always computed
    assert any("no position prior for" in n and "orders: [cyclic]" in n for n in sec.notes)


def test_on_a_balanced_cyclic_design_raw_equals_the_permutation_average(tmp_path):
    root, truth = _store(tmp_path, orders_all=("cyclic",), noise=0.0)
    sec = sections.compute("debias", sections.load(root), sections.Settings(n_boot=N_BOOT))
    raw = _column(sec, "raw").set_index("score_id")["score"]
    full = _column(sec, "full_permutation").set_index("score_id")["score"]
    pride = _column(sec, "pride").set_index("score_id")["score"]
    assert np.allclose(raw, full.loc[raw.index], atol=1e-9)
    assert (pride - truth.set_index("score_id")["truth"]).abs().max() < 1e-9  # exact
    # what remains is the permutation average's residual bias (each order's normaliser
    # depends on which option sits where; measured 0.08-0.09 here), which PriDe removes
    assert (raw - pride.loc[raw.index]).abs().min() > RAW_MISS / 2


def test_bad_estimator_setting_is_one_clear_error():
    with pytest.raises(WorkbenchError, match="setting 'estimator' must be one "
                                                          "of raw, full_permutation"):
        sections.Settings(estimator="debiased")


def test_the_report_designs_let_pride_debias_every_instrument(tmp_path):
    # make report's three designs (default, political, calibration) on a synthetic model
    # with a first-position prior: PriDe runs on every model x instrument of the report,
    # with the calibration design's items as its calibration subset.
    prior = [0.3, 0.2, 0.15, 0.1, 0.08, 0.06, 0.04, 0.03, 0.02, 0.02]
    backend = PositionContentBackend(prior, {}, name="syn")
    designs = {}
    for name in ("report_default", "report_political", "report_calibration"):
        designs[name] = Design.from_yaml(f"designs/{name}.yaml", models=["syn"])
        run_probe(designs[name], tmp_path, backends={"syn": backend}, progress=False)
    calibration = designs["report_calibration"]
    assert calibration.count() <= 170  # the design budget (README)
    assert calibration.orders == ["cyclic"]
    data = sections.load(tmp_path).using("pride")
    assert data.estimation.failed == {}
    assert set(data.estimation.info) == {("syn", i) for i in ("mfq2", "mfq30", "pvq21",
                                                               "vsm2013", "wvs7")}
    for (_, inst), info in data.estimation.info.items():
        asked = data.asked[data.asked["instrument"] == inst]
        assert info["calibration_items"] == len(calibration_items(asked)) > 0
        assert set(calibration_items(asked)) <= set(calibration.items)
    # a pure position model: PriDe gives every answer the uniform distribution back
    d = data.dists("mfq30")
    k = d.groupby("request_id")["prob"].transform("size")
    assert (d["prob"] - 1 / k).abs().max() < 1e-9
    assert (data.raw_dists("mfq30")["prob"] - 1 / 6).abs().max() > 0.1
