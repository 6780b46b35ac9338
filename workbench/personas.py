"""Personas: who the model is asked to be when it answers.

Templates and attribute lists live in ``data/personas/personas.yaml``; this module expands
persona specs (``none``, ``country:DEU``, ``country:*``, ``political:liberal``,
``demo:a18_29|woman|bachelor|liberal``, ``random:50``) into concrete personas with text per
language. Random personas are distinct attribute combinations sampled without replacement
with a seed, so a design is reproducible; combinations listed under ``exclude`` in the YAML
(e.g. aged 18-29 and retired) are never sampled.
"""

from __future__ import annotations

import csv
import itertools
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache

import yaml

from workbench.errors import WorkbenchError
from workbench.paths import data_dir


@dataclass(frozen=True)
class Persona:
    id: str
    kind: str  # none | country | political | demo | random | custom
    texts: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)

    def text(self, language: str) -> str | None:
        """The persona's system text in ``language``; None for the default assistant."""
        if self.kind == "none":
            return None
        if language in self.texts:
            return self.texts[language]
        raise WorkbenchError(
            f"persona '{self.id}' has no text in language '{language}' (has: "
            f"{', '.join(sorted(self.texts)) or 'none'}): add it to data/personas/personas.yaml "
            "or drop that language from the design"
        )


NO_PERSONA = Persona("none", "none")
#: Attributes a random persona combines (the placeholders of the ``random`` template).
RANDOM_ATTRIBUTES = ("age", "gender", "occupation", "place", "trait")
#: Reference files whose countries ``country:*`` covers: (file, rows kept).
_REFERENCE_COUNTRY_FILES = (
    ("hofstede_6d.csv", lambda row: row["kind"] == "country"),  # not regions
    ("wvs7_map.csv", lambda row: True),
    ("wvs7_item_distributions.csv", lambda row: True),
)


@lru_cache(maxsize=1)
def _persona_data() -> dict:
    return yaml.safe_load((data_dir() / "personas" / "personas.yaml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _country_rows() -> dict[str, dict[str, str]]:
    path = data_dir() / "reference" / "countries.csv"
    with path.open(encoding="utf-8") as fh:
        return {row["iso3"]: row for row in csv.DictReader(fh)}


@lru_cache(maxsize=1)
def _country_languages() -> dict[str, list[str]]:
    path = data_dir() / "reference" / "country_languages.csv"
    if not path.is_file():
        raise WorkbenchError(f"reference file '{path}' is missing: restore data/reference")
    with path.open(encoding="utf-8") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: (r["iso3"], int(r["rank"])))
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row["iso3"], []).append(row["language"])
    return out


def persona_language(persona: Persona, available: list[str]) -> str:
    """The language a persona is asked in for ``languages: [persona]`` in a design.

    A country persona gets the first of its country's official languages (CLDR order,
    ``data/reference/country_languages.csv``) that the instrument has (``available``, its
    languages in file order); every other persona, and a country without such a language,
    gets ``available[0]``, the instrument's original language.
    """
    iso3 = persona.attributes.get("country") if persona.kind == "country" else None
    for lang in _country_languages().get(iso3 or "", []):
        if lang in available:
            return lang
    return available[0]


def country_names(language: str = "en") -> dict[str, str]:
    """ISO3 code -> country name in ``language``, from ``data/reference/countries.csv``.

    English names are in the ``name`` column, others in ``name_<language>`` (e.g. ``name_es``);
    countries without a name in that language are left out.
    """
    column = "name" if language == "en" else f"name_{language}"
    return {iso3: row[column] for iso3, row in _country_rows().items() if row.get(column)}


@lru_cache(maxsize=1)
def reference_countries() -> list[str]:
    """ISO3 codes of countries with human reference data: Hofstede scores, a WVS map point or
    WVS-7 item distributions (joined by ISO3 with ``countries.csv``)."""
    codes: set[str] = set()
    ref = data_dir() / "reference"
    for name, keep in _REFERENCE_COUNTRY_FILES:
        path = ref / name
        if path.is_file():
            with path.open(encoding="utf-8") as fh:
                codes |= {r["iso3"] for r in csv.DictReader(fh) if r["iso3"] and keep(r)}
    names = country_names()
    return sorted(c for c in codes if c in names)


def _render(kind: str, values: dict[str, dict[str, str]]) -> dict[str, str]:
    templates = _persona_data()["templates"][kind]
    texts = {}
    for lang, template in templates.items():
        if all(lang in v for v in values.values()):
            text = template.format(**{k: v[lang] for k, v in values.items()})
            texts[lang] = _contract_articles(lang, text)
    return texts


def _contract_articles(language: str, text: str) -> str:
    """Spanish contractions: "de el Reino Unido" -> "del Reino Unido" ("de El Salvador" stays,
    a capitalised article being part of the name)."""
    if language != "es":
        return text
    return re.sub(r"\b(de|a) el\b", lambda m: m.group(1) + "l", text)


def country_persona(iso3: str) -> Persona:
    names = country_names()
    if iso3 not in names:
        import difflib

        close = difflib.get_close_matches(iso3.upper(), list(names), n=3)
        raise WorkbenchError(
            f"unknown country code '{iso3}' in persona spec: use an ISO3 code from "
            "data/reference/countries.csv"
            + (f" (did you mean {', '.join(close)}?)" if close else "")
        )
    # Each language uses its own column of countries.csv; a language without a name for this
    # country gets no text (Persona.text then says so) rather than the English name.
    return Persona(
        f"country:{iso3}",
        "country",
        _render("country", {"country": _localized_country_names(iso3)}),
        {"country": iso3},
    )


def _localized_country_names(iso3: str) -> dict[str, str]:
    """Language -> the country's name as used in a sentence, with any article it needs."""
    data = _persona_data()
    articles = data.get("country_articles") or {}
    out = {}
    for lang in data["templates"]["country"]:
        name = country_names(lang).get(iso3)
        if name:
            article = (articles.get(lang) or {}).get(iso3)
            out[lang] = f"{article} {name}" if article else name
    return out


def _attr(name: str, key: str) -> dict[str, str]:
    table = _persona_data()["attributes"][name]
    if key not in table:
        raise WorkbenchError(
            f"unknown {name} '{key}' in persona spec: choose from {', '.join(table)}"
        )
    return table[key]


def _exclusion_rules() -> list[dict[str, str]]:
    """The ``exclude`` entries of personas.yaml, checked against the attribute lists."""
    attrs = _persona_data()["attributes"]
    rules = _persona_data().get("exclude") or []
    for rule in rules:
        if not isinstance(rule, dict) or len(rule) < 2:
            raise WorkbenchError(
                f"exclude entry {rule!r} in data/personas/personas.yaml must map at least two "
                "attributes to value ids, e.g. {age: a18_29, occupation: retired}")
        for name, value in rule.items():
            if name not in attrs or value not in attrs[name]:
                raise WorkbenchError(
                    f"exclude entry {rule!r} in data/personas/personas.yaml names unknown "
                    f"{name} '{value}'")
    return rules


def _is_excluded(chosen: dict[str, str], rules: list[dict[str, str]]) -> bool:
    return any(all(chosen.get(name) == value for name, value in rule.items()) for rule in rules)


def random_combinations() -> list[dict[str, str]]:
    """Every allowed random-persona attribute combination (exclusions removed), in a fixed
    order."""
    attrs = _persona_data()["attributes"]
    rules = _exclusion_rules()
    combos = (dict(zip(RANDOM_ATTRIBUTES, values, strict=True)) for values in
              itertools.product(*(sorted(attrs[name]) for name in RANDOM_ATTRIBUTES)))
    return [c for c in combos if not _is_excluded(c, rules)]


def random_personas(n: int, seed: int) -> list[Persona]:
    """N distinct role-play personas, sampled without replacement from the allowed attribute
    combinations. The same seed gives the same list, and a smaller N its first personas."""
    combos = random_combinations()
    if n < 1 or n > len(combos):
        raise WorkbenchError(
            f"random:{n} asks for {n} personas, but the attribute lists in "
            f"data/personas/personas.yaml give {len(combos)} distinct combinations (after "
            f"exclusions): use random:1 to random:{len(combos)}, or add attribute values")
    random.Random(f"random-personas:{seed}").shuffle(combos)
    attrs = _persona_data()["attributes"]
    personas = []
    for i, chosen in enumerate(combos[:n]):
        values = {name: attrs[name][key] for name, key in chosen.items()}
        personas.append(Persona(f"random:{seed}:{i:04d}", "random", _render("random", values),
                                chosen))
    return personas


def expand_personas(specs: list[str], seed: int = 0,
                    custom: dict[str, str] | None = None) -> list[Persona]:
    """Turn persona specs into personas, in order, without duplicates."""
    out: dict[str, Persona] = {}
    custom = custom or {}
    for spec in specs:
        kind, _, arg = spec.partition(":")
        if spec == "none":
            found = [NO_PERSONA]
        elif kind == "country" and arg == "*":
            found = [country_persona(c) for c in reference_countries()]
        elif kind == "country":
            found = [country_persona(arg.upper())]
        elif kind == "political":
            values = {"politics": _attr("politics", arg)}
            found = [Persona(spec, "political", _render("political", values), {"politics": arg})]
        elif kind == "demo":
            parts = arg.split("|")
            if len(parts) != 4:
                raise WorkbenchError(
                    f"persona '{spec}' must be demo:<age>|<gender>|<education>|<politics>"
                )
            names = ("age", "gender", "education", "politics")
            values = {n: _attr(n, p) for n, p in zip(names, parts, strict=True)}
            chosen = dict(zip(names, parts, strict=True))
            found = [Persona(spec, "demo", _render("demo", values), chosen)]
        elif kind == "random":
            try:
                n = int(arg)
            except ValueError:
                raise WorkbenchError(
                    f"persona '{spec}' must be random:<N>, e.g. random:50") from None
            found = random_personas(n, seed)
        elif kind == "custom":
            if arg not in custom:
                raise WorkbenchError(
                    f"persona '{spec}' is not defined: add it under custom_personas in the design"
                )
            text = custom[arg]
            found = [Persona(spec, "custom", {"en": text}, {})]
        else:
            raise WorkbenchError(
                f"unknown persona spec '{spec}': use none, country:ISO3, country:*, "
                "political:<orientation>, demo:<age>|<gender>|<education>|<politics>, random:N "
                "or custom:<id>"
            )
        for p in found:
            out.setdefault(p.id, p)
    return list(out.values())
