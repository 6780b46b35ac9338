"""The validity section and the marks it puts on every later score, on stores answered by
synthetic respondents of known behaviour (tests/validity/backends.py): one answering by the
shown position only, one by a fixed preferred answer per item wherever it is shown."""

from __future__ import annotations

import dataclasses
import html
import re

import numpy as np
import pandas as pd
import pytest

from tests.validity.backends import MixtureBackend, preferred_labels
from workbench import sections
from workbench.design import Design
from workbench.instrument_files import load_instrument
from workbench.probe import run_probe
from workbench.sections import marks
from workbench.sections.hofstede import hofstede_section
from workbench.sections.mfq import mfq30_section
from workbench.sections.validity import VERDICT_TABLE_ID, summary_html

FAST = sections.Settings(n_boot=200, n_perm=199, seed=1)
POSITION, CONTENT = "✘ position-driven", "✔ content-driven"


def _backends() -> dict[str, MixtureBackend]:
    prefs = {}
    for inst in ("mfq30", "vsm2013"):
        prefs.update(preferred_labels(load_instrument(inst), seed=1))
    return {"position": MixtureBackend("position", prefs, mix=1.0, noise=0.5),
            "content": MixtureBackend("content", prefs, mix=0.0, noise=0.5)}


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    """MFQ-30 and VSM 2013 in both orders and two wordings, plus a model asked in one order."""
    root = tmp_path_factory.mktemp("known-store")
    backends = _backends()
    run_probe(Design(models=list(backends), instruments=["mfq30", "vsm2013"],
                     orders=["original", "reversed"], paraphrases=[0, 1]),
              root, backends=backends, progress=False)
    one = {"one-order": MixtureBackend("one-order", backends["content"].preferences, mix=0.0)}
    run_probe(Design(models=["one-order"], instruments=["mfq30"], orders=["original"]),
              root, backends=one, progress=False)
    return sections.load(root)


def _by_model(frame: pd.DataFrame, column: str = "validity") -> dict[str, set[str]]:
    return {m: set(sub[column]) for m, sub in frame.groupby("model")}


def test_section_gives_the_known_verdicts_and_the_summary_first(known):
    sec = sections.compute("validity", known, FAST)
    v = sec.data["verdicts"].set_index(["model", "instrument"])["verdict"]
    assert v[("position", "mfq30")] == v[("position", "vsm2013")] == "position-driven"
    assert v[("content", "mfq30")] == v[("content", "vsm2013")] == "content-driven"
    assert v[("one-order", "mfq30")] == "insufficient data"
    sentences = sec.data["sentences"]
    assert set(sentences["model"]) == {"position", "content", "one-order"}
    assert sentences.groupby("model").size().between(2, 4).all()
    block = summary_html(sec)
    assert f'id="{VERDICT_TABLE_ID}"' in block
    cells = re.findall(r'data-verdict="([^"]+)"[^>]*>([^<]+)</td>', block)
    # readable without colour: symbol and word in every judged cell
    assert sorted(set(cells)) == sorted({("content-driven", CONTENT),
                                         ("insufficient data", "? insufficient data"),
                                         ("position-driven", POSITION)})
    assert "interpretable" in block and "MFQ-30" in block
    page = sections.section_html(sec)
    assert page.index(VERDICT_TABLE_ID) < page.index("wb-note")  # the summary leads
    stats = sec.data["statistics"]
    assert {"estimate [CI]", "cut-offs", "pass", "outcome"} <= set(stats.columns)
    r = stats[(stats["model"] == "content") & (stats["instrument"] == "mfq30")
              & (stats["statistic"] == "order_agreement")]
    assert r["pass"].iloc[0] == "✔ yes" and "[" in r["estimate [CI]"].iloc[0]
    assert any("Not interpretable" in n and "position x MFQ-30" in n for n in sec.notes)


def test_validity_is_computed_once_per_report_and_settings(known, monkeypatch):
    first = marks.report_validity(known, FAST)
    calls = []
    real = marks.assess
    monkeypatch.setattr(marks, "assess", lambda *a, **k: calls.append(k) or real(*a, **k))
    assert marks.report_validity(known, FAST) is first  # cached on the report's data
    sections.compute("mfq30", known, FAST)
    sections.compute("validity", known, FAST)
    assert calls == []
    other = marks.report_validity(known, dataclasses.replace(FAST, n_boot=150))
    assert other is not first and calls and calls[0]["n_boot"] == 150


def test_scores_of_a_position_driven_cell_carry_the_mark_and_content_ones_do_not(known):
    mfq = mfq30_section(known, FAST)
    scores = _by_model(mfq.data["scores"])
    assert scores["position"] == {POSITION} and scores["content"] == {CONTENT}
    assert scores["one-order"] == {"? insufficient data"}
    table = next(t for c, t in mfq.tables.items() if c.startswith("Foundation scores"))
    assert _by_model(table) == scores
    assert any(n.startswith("Not interpretable: the mfq30 foundation scores of one-order, "
                            "position come from") for n in mfq.notes)
    fig = sections.figures(mfq)[0]
    bars = {t.name: t for t in fig.data if t.type == "bar"}
    assert bars["position (not interpretable)"].opacity < 1
    assert bars["position (not interpretable)"].marker.pattern.shape == marks.HATCH
    assert bars["content"].opacity == 1 and not bars["content"].marker.pattern.shape
    assert marks.CAPTION in fig.layout.title.text
    vsm = hofstede_section(known, FAST)
    assert _by_model(vsm.tables["Profile: models and selected countries"].rename(
        columns={"subject": "model"})) == {"position": {POSITION}, "content": {CONTENT}}
    placed = _by_model(vsm.data["placed"])
    assert placed == {"position": {POSITION}, "content": {CONTENT}}


def test_only_content_driven_scores_are_unmarked_in_figures(known):
    content_only = sections.load(known.results_dir, models=["content"])
    mfq = mfq30_section(content_only, FAST)
    assert set(mfq.data["scores"]["validity"]) == {CONTENT}
    assert not [n for n in mfq.notes if "Not interpretable" in n]
    fig = sections.figures(mfq)[0]
    assert marks.CAPTION not in (fig.layout.title.text or "")
    assert all(t.opacity in (None, 1) for t in fig.data)


def test_finer_cells_are_used_where_a_frame_has_them(tmp_path):
    backends = _backends()
    run_probe(Design(models=["content"], instruments=["mfq30"], personas=["none", "country:JPN"],
                     orders=["original", "reversed"]), tmp_path, backends=backends,
              progress=False)
    run_probe(Design(models=["content"], instruments=["mfq30"], personas=["country:USA"]),
              tmp_path, backends=backends, progress=False)  # one order only
    data = sections.load(tmp_path)
    rv = marks.report_validity(data, FAST)
    assert ("model", "instrument", "persona") in rv.breakdowns()
    frame = pd.DataFrame({"model": ["content"] * 3 + ["country"],
                          "persona": ["none", "country:JPN", "country:USA", "x"]})
    marked = marks.mark_scores(frame, data, FAST, instrument="mfq30")
    assert list(marked["validity"]) == [CONTENT, CONTENT, "? insufficient data", ""]
    pooled = marks.mark_scores(frame.drop(columns="persona"), data, FAST, instrument="mfq30")
    overall = marks.label(rv.verdict("content", "mfq30"))
    assert set(pooled["validity"][:3]) == {overall}
    assert overall != "? insufficient data"  # the pooled cell has both orders
    assert marks.mark_scores(frame, data, FAST, instrument="vsm2013")["validity"][0] == (
        marks.NOT_JUDGED)
    sec = sections.compute("validity", data, FAST)
    assert "Verdict per model, instrument and persona" in sec.tables


def test_marks_and_summary_escape_model_names(tmp_path):
    hostile = "<img src=x onerror=alert(1)>"
    prefs = preferred_labels(load_instrument("mfq30"), seed=1)
    run_probe(Design(models=[hostile], instruments=["mfq30"], orders=["original", "reversed"]),
              tmp_path, backends={hostile: MixtureBackend(hostile, prefs, mix=1.0)},
              progress=False)
    data = sections.load(tmp_path)
    sec = sections.compute("validity", data, FAST)
    page = sections.section_html(sec)
    assert hostile not in page and html.escape(hostile) in page


def test_helpers_map_labels_to_statuses():
    assert marks.verdict_of(marks.label("mixed")) == "mixed"
    values = [POSITION, CONTENT, "◐ mixed", "? insufficient data", "", marks.NOT_JUDGED]
    assert list(marks.unreadable(values)) == [True, False, False, True, False, False]
    assert list(marks.cautious(values)) == [False, False, True, False, False, False]
    assert marks.trace_style(True, bar=True) == {"opacity": marks.FADED_OPACITY,
                                                 "marker_pattern_shape": marks.HATCH}
    assert np.isclose(marks.trace_style(True)["opacity"], marks.FADED_MARKER_OPACITY)
