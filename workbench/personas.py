"""Personas: who the model is asked to be when it answers.

Templates and attribute lists live in ``data/personas/personas.yaml``; this module expands
persona specs (``none``, ``country:DEU``, ``country:*``, ``political:liberal``,
``demo:a18_29|woman|bachelor|liberal``, ``random:50``) into concrete personas with text per
language. Random personas are sampled with a seed, so a design is reproducible.
"""

from __future__ import annotations

import csv
import random
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


@lru_cache(maxsize=1)
def _persona_data() -> dict:
    return yaml.safe_load((data_dir() / "personas" / "personas.yaml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """ISO3 code -> English country name, from ``data/reference/countries.csv``."""
    path = data_dir() / "reference" / "countries.csv"
    with path.open(encoding="utf-8") as fh:
        return {row["iso3"]: row["name"] for row in csv.DictReader(fh)}


@lru_cache(maxsize=1)
def reference_countries() -> list[str]:
    """ISO3 codes of countries with human reference data (Hofstede scores or a WVS map point)."""
    codes: set[str] = set()
    ref = data_dir() / "reference"
    hof = ref / "hofstede_6d.csv"
    if hof.is_file():
        with hof.open(encoding="utf-8") as fh:
            codes |= {r["iso3"] for r in csv.DictReader(fh)
                      if r["kind"] == "country" and r["iso3"]}
    wvs = ref / "wvs7_map.csv"
    if wvs.is_file():
        with wvs.open(encoding="utf-8") as fh:
            codes |= {r["iso3"] for r in csv.DictReader(fh) if r["iso3"]}
    names = country_names()
    return sorted(c for c in codes if c in names)


def _render(kind: str, values: dict[str, dict[str, str]]) -> dict[str, str]:
    templates = _persona_data()["templates"][kind]
    texts = {}
    for lang, template in templates.items():
        if all(lang in v for v in values.values()):
            texts[lang] = template.format(**{k: v[lang] for k, v in values.items()})
    return texts


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
    name = names[iso3]
    # Country names are English proper names; other languages reuse them unless a file adds more.
    langs = _persona_data()["templates"]["country"]
    return Persona(
        f"country:{iso3}",
        "country",
        _render("country", {"country": {lang: name for lang in langs}}),
        {"country": iso3},
    )


def _attr(name: str, key: str) -> dict[str, str]:
    table = _persona_data()["attributes"][name]
    if key not in table:
        raise WorkbenchError(
            f"unknown {name} '{key}' in persona spec: choose from {', '.join(table)}"
        )
    return table[key]


def random_personas(n: int, seed: int) -> list[Persona]:
    """N role-play personas sampled from the attribute lists (reproducible for a seed)."""
    attrs = _persona_data()["attributes"]
    rng = random.Random(f"random-personas:{seed}")
    personas = []
    for i in range(n):
        chosen = {name: rng.choice(sorted(attrs[name])) for name in
                  ("age", "gender", "occupation", "place", "trait")}
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
