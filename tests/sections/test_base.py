"""Loading a report's data, and the contract that absent data or a failing statistic is a
visible note while a missing statistic is an ImportError."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import workbench.sections.wvs
import workbench.stats
from tests.fakes import FirstPositionBackend
from workbench import sections
from workbench.design import Design
from workbench.errors import WorkbenchError
from workbench.probe import run_probe
from workbench.sections import base, comparison, hofstede, mfq, robustness, wvs
from workbench.sections.settings import Settings

MINI = str(Path(__file__).parents[1] / "fixtures" / "mini.yaml")


def test_load_reads_the_selection_and_notes_what_is_missing(report_store):
    d = sections.load(report_store, models=["alpha", "ghost"], instruments=["mfq30", "mfq9"])
    assert d.models == ["alpha"] and d.instruments == ["mfq30"]
    assert set(d.answers["model"]) == {"alpha"} and set(d.distributions["instrument"]) == {
        "mfq30"}
    assert any("ghost" in n for n in d.notes) and any("mfq9" in n for n in d.notes)
    assert d.store.read_only
    with pytest.raises(WorkbenchError, match="none of the models"):
        sections.load(report_store, models=["ghost"])
    with pytest.raises(WorkbenchError, match="model 'ghost' has no results"):
        sections.pick_model(report_store, "ghost")
    assert sections.pick_model(report_store) == "alpha"


def test_a_model_in_two_modes_is_split(tmp_path):
    backend = FirstPositionBackend()
    for mode in ("logprob", "generate"):
        run_probe(Design(models=["m"], instruments=[MINI], mode=mode), tmp_path,
                  backends={"m": backend}, progress=False)
    d = sections.load(tmp_path)
    assert d.models == ["m [generate]", "m [logprob]"]
    assert any("several modes" in n for n in d.notes)
    rel = robustness.reliability_section(d)
    assert any("not a shipped instrument" in n for n in rel.notes)


def test_absent_instrument_sections_are_notes(report_store):
    d = sections.load(report_store, models=["scripted"])
    for section in (hofstede.hofstede_section(d), wvs.wvs_section(d), wvs.map_section(d),
                    mfq.mfq2_section(d)):
        assert not section.available
        assert any("not available" in n for n in section.notes)
        assert "not available" in sections.section_html(section)
    assert not comparison.comparison_section(d).available


def test_broken_stats_helpers_degrade_to_notes(data, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("half-written")

    monkeypatch.setattr(base, "bootstrap_scores", broken)
    monkeypatch.setattr(wvs, "wvs_similarity", broken)
    sec = mfq.mfq30_section(data, Settings(n_boot=200))
    assert "scores" in sec.data and sec.data["scores"]["ci_low"].isna().all()
    assert any("it failed (RuntimeError: half-written)" in n for n in sec.notes)
    similarity = wvs.wvs_section(data)
    assert any(n.startswith("WVS similarity: not available, it failed (RuntimeError")
               for n in similarity.notes)
    assert "not available" in sections.section_html(similarity)


def test_a_missing_statistic_is_an_import_error(monkeypatch):
    """A renamed statistic fails every test that imports the sections (it used to ship as a
    'not available' note): the section module's own import fails, before it registers."""
    monkeypatch.delattr(workbench.stats, "wvs_similarity")
    path = workbench.sections.wvs.__file__
    spec = importlib.util.spec_from_file_location("workbench.sections._wvs_copy", path)
    module = importlib.util.module_from_spec(spec)
    keys = sections.section_keys()
    with pytest.raises(ImportError, match="wvs_similarity"):
        spec.loader.exec_module(module)
    assert sections.section_keys() == keys


def test_sort_items_follows_the_instrument_order():
    import pandas as pd

    frame = pd.DataFrame({"instrument": ["mfq30"] * 3, "item_id": ["q10", "q02", "q01"]})
    assert list(sections.sort_items(frame)["item_id"]) == ["q01", "q02", "q10"]
