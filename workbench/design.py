"""A probe run as a declared design: instruments x personas x languages x option orders x
paraphrases x answer formats x instructions x repeats, for each model.

The design expands lazily into :class:`ProbeRequest` records, each carrying every factor and a
content hash (``request_id``) so the store can skip what it already holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from workbench.errors import WorkbenchError
from workbench.instruments import Instrument, load_instrument
from workbench.personas import Persona, expand_personas
from workbench.prompts import RenderedItem, load_template, option_order, render_item


@dataclass
class Design:
    """What to ask. Every list is a factor; the run is their full cross product."""

    models: list[str]
    instruments: list[str]
    personas: list[str] = field(default_factory=lambda: ["none"])
    languages: list[str] = field(default_factory=lambda: ["en"])
    orders: list[str] = field(default_factory=lambda: ["original"])  # original|reversed|permN
    random_orders: int = 0  # adds perm1..permK
    paraphrases: list[int] = field(default_factory=lambda: [0])  # 0 = original wording
    answer_formats: list[str] = field(default_factory=lambda: ["numbered"])
    instructions: list[str] = field(default_factory=lambda: ["forced"])
    mode: Literal["logprob", "generate"] = "logprob"
    repeats: int = 1
    temperature: float = 0.0
    max_new_tokens: int = 24
    seed: int = 0
    template: str = "default"
    items: list[str] | None = None  # restrict to these item ids (all instruments)
    custom_personas: dict[str, str] = field(default_factory=dict)
    name: str = "probe"

    def __post_init__(self) -> None:
        problems = []
        for name in ("models", "instruments", "personas", "languages", "orders",
                     "paraphrases", "answer_formats", "instructions"):
            value = getattr(self, name)
            if isinstance(value, str):
                setattr(self, name, [v.strip() for v in value.split(",") if v.strip()])
            if not getattr(self, name):
                problems.append(name)
        if problems:
            raise WorkbenchError(
                f"empty design: no {', '.join(problems)} given; list at least one of each"
            )
        if self.repeats < 1:
            raise WorkbenchError(f"repeats must be at least 1, got {self.repeats}")
        if self.mode not in ("logprob", "generate"):
            raise WorkbenchError(f"mode must be 'logprob' or 'generate', got '{self.mode}'")
        if self.mode == "logprob" and self.repeats > 1:
            raise WorkbenchError(
                "repeats > 1 only makes sense with mode: generate and temperature > 0 "
                "(log-prob scoring is deterministic)"
            )
        if self.temperature < 0:
            raise WorkbenchError(f"temperature must be >= 0, got {self.temperature}")
        self.orders = list(dict.fromkeys(
            list(self.orders) + [f"perm{i}" for i in range(1, self.random_orders + 1)]))

    @classmethod
    def from_yaml(cls, path: str | Path) -> Design:
        path = Path(path)
        if not path.is_file():
            raise WorkbenchError(f"design file '{path}' does not exist")
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise WorkbenchError(f"design file '{path}' must hold a mapping of factor: values")
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise WorkbenchError(
                f"design file '{path}' has unknown key(s) {sorted(unknown)}; known keys: "
                f"{', '.join(cls.__dataclass_fields__)}"
            )
        return cls(**raw)

    def to_dict(self) -> dict:
        return asdict(self)

    # ------------------------------------------------------------------ expansion
    def loaded_instruments(self) -> list[Instrument]:
        return [load_instrument(i) for i in self.instruments]

    def expanded_personas(self) -> list[Persona]:
        return expand_personas(self.personas, self.seed, self.custom_personas)

    def count(self, n_items: int | None = None) -> int:
        """Requests per model (without materialising them)."""
        if n_items is None:
            n_items = sum(len(self._items(inst)) for inst in self.loaded_instruments())
        return (n_items * len(self.expanded_personas()) * len(self.languages) * len(self.orders)
                * len(self.paraphrases) * len(self.answer_formats) * len(self.instructions)
                * self.repeats)

    def _items(self, instrument: Instrument) -> list:
        if self.items is None:
            return list(instrument.items)
        return [it for it in instrument.items if it.id in set(self.items)]

    def requests(self, model: str, model_fingerprint: str) -> Iterator[ProbeRequest]:
        """Every request for one model, generated lazily (memory stays flat for big designs)."""
        template = load_template(self.template)
        personas = self.expanded_personas()
        for instrument in self.loaded_instruments():
            missing = [lang for lang in self.languages if lang not in instrument.languages]
            if missing:
                raise WorkbenchError(
                    f"instrument '{instrument.id}' has no {missing} version (has: "
                    f"{', '.join(instrument.languages)}); drop those languages or that instrument"
                )
            for item in self._items(instrument):
                scale = instrument.scales[item.scale]
                for persona in personas:
                    for language in self.languages:
                        persona_text = persona.text(language)
                        for order in self.orders:
                            codes = option_order(scale.codes, order, self.seed,
                                                 f"{instrument.id}:{item.id}")
                            for paraphrase in self.paraphrases:
                                for fmt in self.answer_formats:
                                    for instruction in self.instructions:
                                        rendered = render_item(
                                            template, instrument, item, language=language,
                                            paraphrase=paraphrase, presented_codes=codes,
                                            answer_format=fmt, instruction=instruction,
                                            persona_text=persona_text)
                                        for repeat in range(self.repeats):
                                            yield ProbeRequest.build(
                                                self, model, model_fingerprint, instrument,
                                                item.id, persona, language, order, paraphrase,
                                                fmt, instruction, repeat, template.version,
                                                rendered)


@dataclass(frozen=True)
class ProbeRequest:
    request_id: str
    model: str
    model_fingerprint: str
    instrument: str
    item_id: str
    persona: str
    persona_text: str | None
    language: str
    order: str
    paraphrase: int
    answer_format: str
    instruction: str
    mode: str
    repeat: int
    temperature: float
    seed: int
    max_new_tokens: int
    template_version: str
    rendered: RenderedItem

    @classmethod
    def build(cls, design: Design, model: str, fingerprint: str, instrument: Instrument,
              item_id: str, persona: Persona, language: str, order: str, paraphrase: int,
              fmt: str, instruction: str, repeat: int, template_version: str,
              rendered: RenderedItem) -> ProbeRequest:
        sample_seed = design.seed * 1_000_003 + repeat
        content = {
            "model": fingerprint,
            "instrument": instrument.id,
            "item": item_id,
            # Factor labels too: two cells may render identically (a permutation that equals
            # the original order), and each stored row must keep its own factors.
            "factors": [persona.id, language, order, paraphrase, fmt, instruction, repeat],
            "messages": [[m.role, m.content] for m in rendered.messages],
            "keys": rendered.keys,
            "codes": rendered.codes,
            "prefix": rendered.assistant_prefix,
            "mode": design.mode,
            # Generation settings matter only when generating.
            "gen": [design.temperature, sample_seed, design.max_new_tokens]
            if design.mode == "generate" else None,
        }
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]
        return cls(digest, model, fingerprint, instrument.id, item_id, persona.id,
                   persona.text(language), language, order, paraphrase, fmt, instruction,
                   design.mode, repeat, design.temperature, sample_seed, design.max_new_tokens,
                   template_version, rendered)
