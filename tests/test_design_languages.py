"""Design options for languages and wordings: `languages: [persona]` (a country persona in its
country's language), per-instrument paraphrase lists, and every shipped design expanding."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from workbench.design import Design
from workbench.errors import WorkbenchError
from workbench.personas import expand_personas, persona_language

DESIGNS = sorted((Path(__file__).parents[1] / "designs").glob("*.yaml"))


@pytest.mark.parametrize("path", DESIGNS, ids=lambda p: p.name)
def test_every_shipped_design_expands_to_its_count(path):
    design = Design.from_yaml(path)
    requests = list(design.requests("m", "fp"))
    assert len(requests) == design.count() > 0
    assert len({r.request_id for r in requests}) == len(requests)


def test_report_default_asks_pvq21_in_its_official_wording_only():
    design = Design.from_yaml(DESIGNS[[p.name for p in DESIGNS].index("report_default.yaml")])
    asked = Counter((r.instrument, r.paraphrase) for r in design.requests("m", "fp"))
    assert asked[("pvq21", 0)] == 21 * 2 and ("pvq21", 1) not in asked
    assert asked[("mfq2", 1)] == 36 * 2  # the other instruments keep both wordings
    without = Design.from_yaml(DESIGNS[[p.name for p in DESIGNS].index("report_default.yaml")],
                               instruments=["vsm2013", "mfq30", "mfq2", "wvs7"],
                               instrument_paraphrases={})
    assert design.count() - without.count() == 21 * 2


def test_instrument_paraphrases_replace_the_design_list_for_that_instrument():
    d = Design(models=["m"], instruments=["mfq30", "pvq21"], paraphrases=[0, 1],
               instrument_paraphrases={"pvq21": "0"}, items=["q01", "q02"])
    assert d.paraphrases_for("pvq21") == [0] and d.paraphrases_for("mfq30") == [0, 1]
    asked = Counter((r.instrument, r.paraphrase) for r in d.requests("m", "fp"))
    assert asked == {("mfq30", 0): 2, ("mfq30", 1): 2, ("pvq21", 0): 2} and d.count() == 6
    with pytest.raises(WorkbenchError, match="paraphrase"):  # without it pvq21 has none
        list(Design(models=["m"], instruments=["pvq21"], paraphrases=[0, 1]).requests("m", "f"))


@pytest.mark.parametrize(("value", "message"), [
    ({"mfq2": [0]}, r"instrument_paraphrases names \['mfq2'\], which the design does not ask"),
    ({"pvq21": []}, "empty design: instrument_paraphrases.pvq21 has no values"),
    ({"pvq21": ["x"]}, "design key 'instrument_paraphrases.pvq21' must be a list of integers"),
    ([0], "design key 'instrument_paraphrases' must be a mapping"),
])
def test_bad_instrument_paraphrases_fail_clearly(value, message):
    with pytest.raises(WorkbenchError, match=message):
        Design(models=["m"], instruments=["pvq21"], instrument_paraphrases=value)


def test_persona_language_is_the_countrys_language_where_the_instrument_has_it():
    mex, jpn, pri, none = expand_personas(["country:MEX", "country:JPN", "country:PRI", "none"])
    assert persona_language(mex, ["en", "es"]) == "es"
    assert persona_language(mex, ["en"]) == "en"  # mfq30, vsm2013, ...: English only
    assert persona_language(jpn, ["en", "es"]) == "en"  # no Japanese version: the original
    assert persona_language(pri, ["en", "es"]) == "es"  # CLDR ranks Spanish first there
    assert persona_language(none, ["en", "es"]) == "en"


def test_languages_persona_pairs_each_country_persona_with_its_language():
    d = Design(models=["m"], instruments=["mfq2", "mfq30"], items=["q01"],
               personas=["none", "country:MEX", "country:JPN"], languages=["en", "persona"])
    asked = Counter((r.instrument, r.persona, r.language) for r in d.requests("m", "fp"))
    assert asked == {("mfq2", "none", "en"): 1, ("mfq2", "country:MEX", "en"): 1,
                     ("mfq2", "country:MEX", "es"): 1, ("mfq2", "country:JPN", "en"): 1,
                     ("mfq30", "none", "en"): 1, ("mfq30", "country:MEX", "en"): 1,
                     ("mfq30", "country:JPN", "en"): 1}
    assert d.count() == 7
    spanish = next(r for r in d.requests("m", "fp") if r.language == "es")
    assert "Usted es una persona típica de México" in spanish.rendered.messages[0].content
    only = Design(models=["m"], instruments=["mfq2"], items=["q01"],
                  personas=["country:MEX", "country:USA"], languages=["persona"])
    assert {(r.persona, r.language) for r in only.requests("m", "fp")} == {
        ("country:MEX", "es"), ("country:USA", "en")}
