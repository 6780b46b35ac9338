"""Personas: distinct seeded random personas with declared exclusions, the countries that
``country:*`` covers, and country names in the persona's language."""

from __future__ import annotations

import csv
import math
import re

import pytest

from workbench import personas
from workbench.errors import WorkbenchError
from workbench.paths import data_dir
from workbench.personas import (
    RANDOM_ATTRIBUTES,
    country_names,
    country_persona,
    expand_personas,
    random_combinations,
    random_personas,
    reference_countries,
)


def _combo(p) -> tuple[str, ...]:
    return tuple(p.attributes[name] for name in RANDOM_ATTRIBUTES)


def _declared_exclusions() -> list[dict[str, str]]:
    return personas._persona_data()["exclude"]


def test_random_personas_are_distinct_combinations():
    ps = random_personas(500, seed=7)
    assert len(ps) == 500
    assert len({_combo(p) for p in ps}) == 500
    assert len({p.text("en") for p in ps}) == 500
    assert len({p.id for p in ps}) == 500


def test_random_personas_same_seed_same_list_other_seed_other_list():
    a, b, c = random_personas(500, seed=7), random_personas(500, seed=7), random_personas(500, 8)
    assert [p.attributes for p in a] == [p.attributes for p in b]
    assert [p.texts for p in a] == [p.texts for p in b]
    assert [_combo(p) for p in a] != [_combo(p) for p in c]


def test_smaller_random_sample_is_the_start_of_a_larger_one():
    assert [_combo(p) for p in random_personas(20, 5)] == \
        [_combo(p) for p in random_personas(200, 5)][:20]


def test_declared_exclusions_are_never_sampled():
    rules = _declared_exclusions()
    assert {"age": "a18_29", "occupation": "retired"} in rules
    every = random_personas(len(random_combinations()), seed=1)  # the whole population
    for p in every:
        for rule in rules:
            assert not all(p.attributes[k] == v for k, v in rule.items()), (p.id, rule)
    retired = [p for p in every if p.attributes["occupation"] == "retired"]
    ages_of_retired = {p.attributes["age"] for p in retired}
    assert "a18_29" not in ages_of_retired and "a60p" in ages_of_retired


def test_population_is_the_product_minus_exclusions():
    attrs = personas._persona_data()["attributes"]
    product = math.prod(len(attrs[name]) for name in RANDOM_ATTRIBUTES)
    combos = random_combinations()
    assert len({tuple(c.values()) for c in combos}) == len(combos)
    excluded = 0
    for rule in _declared_exclusions():  # the rules do not overlap, so their counts add up
        excluded += product // math.prod(len(attrs[name]) for name in rule)
    assert excluded > 0 and len(combos) == product - excluded


def test_asking_for_more_random_personas_than_combinations_is_an_error():
    n = len(random_combinations())
    assert len(random_personas(n, seed=2)) == n
    with pytest.raises(WorkbenchError, match=rf"random:{n + 1} .* {n} distinct combinations"):
        random_personas(n + 1, seed=2)
    with pytest.raises(WorkbenchError, match="distinct combinations"):
        expand_personas([f"random:{n + 1}"])
    with pytest.raises(WorkbenchError, match="random:0"):
        random_personas(0, seed=2)


def test_an_exclusion_naming_an_unknown_value_is_an_error(monkeypatch):
    data = dict(personas._persona_data())
    data["exclude"] = [{"age": "a18_29", "occupation": "astronaut"}]
    monkeypatch.setattr(personas, "_persona_data", lambda: data)
    with pytest.raises(WorkbenchError, match="unknown occupation 'astronaut'"):
        random_personas(5, seed=0)


def _codes(name: str, keep=lambda row: True) -> set[str]:
    with (data_dir() / "reference" / name).open(encoding="utf-8") as fh:
        return {r["iso3"] for r in csv.DictReader(fh) if r["iso3"] and keep(r)}


def test_country_star_covers_every_country_with_hofstede_or_wvs_data():
    expected = (_codes("hofstede_6d.csv", lambda r: r["kind"] == "country")
                | _codes("wvs7_map.csv") | _codes("wvs7_item_distributions.csv"))
    assert set(reference_countries()) == expected
    # these two have WVS-7 item distributions only (no Hofstede scores, no map point)
    assert {"MAC", "TJK"} <= set(reference_countries())
    ids = {p.id for p in expand_personas(["country:*"])}
    assert {"country:MAC", "country:TJK"} <= ids and len(ids) == len(expected)


def test_every_country_has_a_spanish_name():
    en, es = country_names("en"), country_names("es")
    assert set(es) == set(en) and all(es.values())
    assert es["DEU"] == "Alemania" and es["JPN"] == "Japón" and es["USA"] == "Estados Unidos"


@pytest.mark.parametrize("iso3, text", [
    ("DEU", "Usted es una persona típica de Alemania."),
    ("GBR", "Usted es una persona típica del Reino Unido."),
    ("NLD", "Usted es una persona típica de los Países Bajos."),
    ("SLV", "Usted es una persona típica de El Salvador."),
    ("TJK", "Usted es una persona típica de Tayikistán."),
])
def test_spanish_country_personas_use_spanish_names(iso3, text):
    assert country_persona(iso3).text("es") == text


def test_no_spanish_country_persona_contains_the_english_name():
    en, es = country_names("en"), country_names("es")
    for iso3 in reference_countries():
        text = country_persona(iso3).text("es")
        assert text.endswith(f" {es[iso3]}."), (iso3, text)
        if not re.search(rf"\b{re.escape(en[iso3])}\b", es[iso3]):  # "Myanmar (Birmania)"
            assert not re.search(rf"\b{re.escape(en[iso3])}\b", text), (iso3, text)


def test_a_country_without_a_name_in_a_language_has_no_text_in_it(monkeypatch):
    rows = {"XYZ": {"iso3": "XYZ", "iso2": "XY", "name": "Exampleland", "name_es": ""}}
    monkeypatch.setattr(personas, "_country_rows", lambda: rows)
    p = country_persona("XYZ")
    assert p.text("en") == "You are a typical person from Exampleland."
    with pytest.raises(WorkbenchError, match="no text in language 'es'"):
        p.text("es")


@pytest.mark.parametrize("iso3, phrase", [("USA", "from the United States."),
                                          ("GBR", "from the United Kingdom."),
                                          ("NLD", "from the Netherlands."),
                                          ("DEU", "from Germany.")])
def test_english_country_personas_use_the_article_the_name_needs(iso3, phrase):
    (persona,) = expand_personas([f"country:{iso3}"], 0, {})
    assert persona.text("en").endswith(phrase)
