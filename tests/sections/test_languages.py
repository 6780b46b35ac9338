"""The language effects section: score differences between languages with paired intervals,
and the wording status beside the numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.fakes import HashBackend, ShownLabelBackend
from workbench import sections
from workbench.design import Design
from workbench.instrument_files import load_instrument
from workbench.instruments import LanguageInfo
from workbench.probe import run_probe
from workbench.sections.languages import language_effect_section
from workbench.sections.settings import Settings

FAST = Settings(n_boot=300)


@pytest.fixture(scope="module")
def two_languages(tmp_path_factory):
    """``tilted`` answers MFQ-2 uniformly in English and puts 0.6 on the top answer
    ("describes me extremely well") in Spanish; ``hashed`` varies with every prompt."""
    top_es = load_instrument("mfq2").scales["describes"].labels["es"][-1]
    root = tmp_path_factory.mktemp("languages-store")
    run_probe(Design(models=["tilted", "hashed"], instruments=["mfq2"], languages=["en", "es"],
                     orders=["original", "reversed"]),
              root, backends={"tilted": ShownLabelBackend(top_es, p=0.6, name="tilted"),
                              "hashed": HashBackend("hashed")}, progress=False)
    return sections.load(root)


def test_a_known_language_shift_is_measured_exactly(two_languages):
    sec = language_effect_section(two_languages, FAST)
    eff = sec.data["effects"]
    tilted = eff[eff["model"] == "tilted"]
    # English: uniform over 1..5 -> 3; Spanish: 0.6 * 5 + 0.1 * (1 + 2 + 3 + 4) = 4
    assert len(tilted) == len(load_instrument("mfq2").scores)
    np.testing.assert_allclose(tilted["score_reference"], 3.0)
    np.testing.assert_allclose(tilted["score_level"], 4.0)
    np.testing.assert_allclose(tilted[["difference", "ci_low", "ci_high"]], 1.0)
    assert set(eff["level"]) == {"es"} and set(eff["reference"]) == {"en"}
    assert (eff["n_pairs"] == 2).all() and set(eff["resampled"]) == {"order pairs"}
    hashed = eff[eff["model"] == "hashed"]
    assert (hashed["ci_high"] > hashed["ci_low"]).all()
    assert ((hashed["ci_low"] <= hashed["difference"])
            & (hashed["difference"] <= hashed["ci_high"])).all()
    caption = next(c for c in sec.tables if c.startswith("Language effect per score"))
    assert "wording" in sec.tables[caption].columns
    # the per-item part of the section is kept
    assert set(sec.data["across"]["level"]) == {"es"}
    assert len(sections.figures(sec)) == 2


def test_the_wording_status_is_stated_beside_the_numbers(two_languages):
    sec = language_effect_section(two_languages, FAST)
    wording = set(sec.data["effects"]["wording"])
    assert wording == {"items: en official, es official; prompt frame written here (not "
                       "official)"}
    es = next(n for n in sec.notes if n.startswith("mfq2 in es: items: official"))
    assert "prompt frame 'default': written here (not official)" in es
    assert "translated by the workbench developers" in es  # the template's own source
    assert any("prompt frame are the workbench's own wording in every language" in n
               for n in sec.notes)
    assert not any("not an official version" in n for n in sec.notes)


def test_an_unofficial_wording_is_flagged(two_languages, monkeypatch):
    inst = load_instrument("mfq2")  # the cached instrument every loader returns
    monkeypatch.setitem(inst.languages, "es", LanguageInfo(source="a test wording",
                                                           official=False))
    sec = language_effect_section(two_languages, FAST)
    assert set(sec.data["effects"]["wording"]) == {
        "items: en official, es unofficial; prompt frame written here (not official)"}
    warning = next(n for n in sec.notes if "not an official version" in n)
    assert warning.startswith("mfq2 in es") and "translation effect" in warning
    assert "marked official: false" in warning
    monkeypatch.setitem(inst.languages, "es", LanguageInfo(source="unmarked wording"))
    sec = language_effect_section(two_languages, FAST)
    assert any("not an official version (no official mark" in n for n in sec.notes)


def test_one_language_only_is_a_note(data):
    sec = language_effect_section(data, FAST)
    assert any("every answer used the same language (en)" in n for n in sec.notes)
    assert "effects" not in sec.data
