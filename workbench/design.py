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
from itertools import product
from pathlib import Path
from typing import Literal

import yaml

from workbench.design_values import int_list, is_int, str_list, wrong
from workbench.errors import WorkbenchError
from workbench.followups import format_given
from workbench.instrument_files import load_instrument
from workbench.instruments import Instrument, Item
from workbench.personas import Persona, expand_personas, persona_language
from workbench.prompts import (
    CONTENT_FREE_PREFIX,
    PromptTemplate,
    RenderedItem,
    check_order_names,
    expand_orders,
    is_content_free,
    load_template,
    option_order,
    render_follow_up,
    render_item,
)

#: The ``languages`` entry that asks each country persona in its country's language.
PERSONA_LANGUAGE = "persona"


@dataclass
class Design:
    """What to ask. Every list is a factor; the run is their full cross product."""

    models: list[str]
    instruments: list[str]
    personas: list[str] = field(default_factory=lambda: ["none"])
    languages: list[str] = field(default_factory=lambda: ["en"])
    # original | reversed | cyclic (k rotations) | all (k! orders) | permN | cycN | allN
    orders: list[str] = field(default_factory=lambda: ["original"])
    random_orders: int = 0  # adds perm1..permK
    permutations: int = 0  # the same: N seeded random orders perm1..permN
    paraphrases: list[int] = field(default_factory=lambda: [0])  # 0 = original wording
    answer_formats: list[str] = field(default_factory=lambda: ["numbered"])
    instructions: list[str] = field(default_factory=lambda: ["forced"])
    # instrument id -> its own paraphrase list (e.g. {pvq21: [0]}: official wording only)
    instrument_paraphrases: dict[str, list[int]] = field(default_factory=dict)
    mode: Literal["logprob", "generate"] = "logprob"
    repeats: int = 1
    temperature: float = 0.0
    max_new_tokens: int = 24
    seed: int = 0
    template: str = "default"
    items: list[str] | None = None  # restrict to these item ids (all instruments)
    blocks: list[str] | None = None  # restrict to these questionnaire blocks (instrument blocks)
    custom_personas: dict[str, str] = field(default_factory=dict)
    content_free: bool = False  # adds content-free pseudo items (contextual calibration)
    name: str = "probe"

    def __post_init__(self) -> None:
        # Types first (YAML gives strings for quoted numbers, numbers for bare ones).
        for name in ("models", "instruments", "personas", "languages", "orders",
                     "answer_formats", "instructions", "items", "blocks"):
            value = getattr(self, name)
            if value is not None or name not in ("items", "blocks"):
                setattr(self, name, str_list(name, value))
        self.paraphrases = int_list("paraphrases", self.paraphrases)
        own = self.instrument_paraphrases if self.instrument_paraphrases is not None else {}
        if not isinstance(own, dict):
            raise wrong("instrument_paraphrases", "a mapping of instrument id to paraphrases",
                        own, "{pvq21: [0]}")
        self.instrument_paraphrases = {
            str(k): int_list(f"instrument_paraphrases.{k}", v) for k, v in own.items()}
        for name, lowest in (("random_orders", 0), ("permutations", 0), ("repeats", None),
                             ("max_new_tokens", 1), ("seed", None)):
            value = getattr(self, name)
            if not is_int(value):
                digits = isinstance(value, str) and value.strip().lstrip("-").isdigit()
                raise wrong(name, "an integer", value,
                            value.strip() if digits else str(getattr(type(self), name, 1)))
            if lowest is not None and value < lowest:
                raise WorkbenchError(f"design key '{name}' must be at least {lowest}, got "
                                     f"{value}")
        if isinstance(self.temperature, bool) or not isinstance(self.temperature, int | float):
            raise wrong("temperature", "a number", self.temperature, "0.7")
        self.temperature = float(self.temperature)
        if not isinstance(self.content_free, bool):
            raise wrong("content_free", "a boolean", self.content_free, "true")
        for name in ("mode", "template", "name"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise wrong(name, "a string", value, str(getattr(type(self), name)))
        personas = self.custom_personas
        if personas is None:
            personas = self.custom_personas = {}
        if not isinstance(personas, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in personas.items()):
            raise wrong("custom_personas", "a mapping of persona id to text", personas,
                        "{farmer: You are a farmer.}")

        problems = []
        for name in ("models", "instruments", "personas", "languages", "orders",
                     "paraphrases", "answer_formats", "instructions"):
            if not getattr(self, name):
                problems.append(name)
        problems += [f"instrument_paraphrases.{k}" for k, v in
                     self.instrument_paraphrases.items() if not v]
        if problems:
            examples = {"models": "[smollm2-135m]", "instruments": "[mfq30]",
                        "personas": "[none]", "languages": "[en]", "orders": "[original]",
                        "paraphrases": "[0]", "answer_formats": "[numbered]",
                        "instructions": "[forced]"}
            raise WorkbenchError(
                f"empty design: {', '.join(problems)} has no values, so the design expands "
                f"to no requests; list at least one, e.g. {problems[0]}: "
                f"{examples.get(problems[0], '[0]')}"
            )
        stray = sorted(set(self.instrument_paraphrases) - set(self.instruments))
        if stray:
            raise WorkbenchError(
                f"instrument_paraphrases names {stray}, which the design does not ask: add "
                f"them to instruments or drop them from instrument_paraphrases")
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
        check_order_names(self.orders)
        if self.random_orders and self.permutations and self.random_orders != self.permutations:
            raise WorkbenchError(
                f"random_orders: {self.random_orders} and permutations: {self.permutations} "
                "both ask for random orders: keep one of them (they mean the same)")
        n_random = max(self.random_orders, self.permutations)
        self.orders = list(dict.fromkeys(
            list(self.orders) + [f"perm{i}" for i in range(1, n_random + 1)]))

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: object) -> Design:
        """A design from a YAML file; ``overrides`` (not None) replace the file's values
        (the CLI's flags). Every problem is a :class:`WorkbenchError` naming the fix."""
        import dataclasses

        path = Path(path)
        if not path.is_file():
            raise WorkbenchError(f"design file '{path}' does not exist")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise WorkbenchError(f"design file '{path}' is not UTF-8 text ({exc.reason} at "
                                 f"byte {exc.start}): save it as UTF-8") from exc
        except OSError as exc:
            raise WorkbenchError(f"cannot read design file '{path}' ({exc.strerror}): check "
                                 "its permissions") from exc
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise WorkbenchError(f"design file '{path}' is not valid YAML{at} ({problem}): "
                                 "fix the syntax (lists are [a, b] or '- a' lines)") from exc
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            raise WorkbenchError(f"design file '{path}' must hold a mapping of factor: values")
        unknown = {str(k) for k in raw} - set(cls.__dataclass_fields__)
        if unknown:
            raise WorkbenchError(
                f"design file '{path}' has unknown key(s) {sorted(unknown)}; known keys: "
                f"{', '.join(cls.__dataclass_fields__)}"
            )
        raw.update({k: v for k, v in overrides.items() if v is not None})
        required = [f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING]
        missing = [name for name in required if raw.get(name) is None]
        if missing:
            examples = {"models": "models: [smollm2-135m] (or pass --model)",
                        "instruments": "instruments: [mfq30] (or pass --instrument)"}
            raise WorkbenchError(
                f"design file '{path}' has no {' and no '.join(repr(m) for m in missing)}: "
                f"add {'; '.join(examples.get(m, m + ': ...') for m in missing)}"
            )
        return cls(**raw)

    def to_dict(self) -> dict:
        return asdict(self)

    # ------------------------------------------------------------------ expansion
    def loaded_instruments(self) -> list[Instrument]:
        return [load_instrument(i) for i in self.instruments]

    def expanded_personas(self) -> list[Persona]:
        return expand_personas(self.personas, self.seed, self.custom_personas)

    def count(self) -> int:
        """Requests per model (without materialising them).

        A follow-up item counts once per answer of the item it follows (it is asked after
        each of them, see :mod:`workbench.followups`), an item once per order its scale
        expands to (``cyclic``: k, ``all``: k!), and a content-free item once per order and
        cell (one wording).
        """
        personas = self.expanded_personas()
        template = load_template(self.template)
        total = 0
        for inst in self.loaded_instruments():
            langs = [self.languages_for(inst, p) for p in personas]
            texts = self._texts(template, langs)
            asked = 0
            for it in self._items(inst):
                n_orders = len(self._orders_for(inst, it.scale, it.id))
                asked += (_asked_per_cell(inst, it) * n_orders
                          * len(self.paraphrases_for(inst.id)))
            for scale_id, _ in self._content_free_items(inst, texts):
                asked += len(self._orders_for(inst, scale_id, f"the {scale_id} scale"))
            total += asked * sum(len(lv) for lv in langs)
        return total * len(self.answer_formats) * len(self.instructions) * self.repeats

    def paraphrases_for(self, instrument_id: str) -> list[int]:
        """The paraphrases asked for one instrument: its ``instrument_paraphrases`` entry,
        else ``paraphrases``."""
        return self.instrument_paraphrases.get(instrument_id, self.paraphrases)

    def languages_for(self, instrument: Instrument, persona: Persona) -> list[str]:
        """The languages one persona is asked an instrument in. ``persona`` in ``languages``
        is the persona's country language where the instrument has it, else the
        instrument's original language (:func:`workbench.personas.persona_language`);
        duplicates are asked once."""
        return list(dict.fromkeys(
            persona_language(persona, list(instrument.languages)) if lang == PERSONA_LANGUAGE
            else lang for lang in self.languages))

    def _texts(self, template: PromptTemplate, langs: list[list[str]]) -> dict[str, list[str]]:
        """Content-free texts of every language asked (empty without ``content_free``)."""
        if not self.content_free:
            return {}
        return _content_free_texts(template, sorted({x for lv in langs for x in lv}))

    def _orders_for(self, instrument: Instrument, scale_id: str, what: str) -> list[str]:
        """The concrete order names asked for items of one scale (``cyclic``/``all`` expand
        by its number of options)."""
        k = len(instrument.scales[scale_id].codes)
        return expand_orders(self.orders, k, f"'{what}' of '{instrument.id}'")

    def _content_free_items(self, instrument: Instrument, texts: dict[str, list[str]]
                            ) -> list[tuple[str, Item]]:
        """(scale, pseudo item) pairs: with ``content_free: true``, one item per scale the
        chosen items use and per content-free text of the prompt template (``texts``: the
        texts per language), its text in place of an item's and the instruction stem of the
        scale's first item (Zhao et al. 2021). Empty without the switch."""
        if not self.content_free:
            return []
        taken = [it.id for it in instrument.items if is_content_free(it.id)]
        if taken:
            raise WorkbenchError(
                f"instrument '{instrument.id}' has item(s) {taken} whose ids start with "
                f"'{CONTENT_FREE_PREFIX}', which marks content-free pseudo items: rename them")
        first: dict[str, Item] = {}
        for it in self._items(instrument):
            first.setdefault(it.scale, it)
        n_texts = min(len(t) for t in texts.values())
        return [(scale_id, Item(
                    id=f"{CONTENT_FREE_PREFIX}{scale_id}:{i}", scale=scale_id, role="unscored",
                    instruction=item.instruction, text={lang: t[i] for lang, t in texts.items()}))
                for scale_id, item in first.items() for i in range(n_texts)]

    def _items(self, instrument: Instrument) -> list:
        chosen = list(instrument.items)
        if self.blocks is not None:
            if not instrument.blocks:
                raise WorkbenchError(
                    f"design lists blocks {self.blocks}, but instrument '{instrument.id}' has no "
                    "blocks: drop `blocks` or that instrument")
            unknown = [b for b in self.blocks if b not in instrument.blocks]
            if unknown and (len(self.instruments) == 1
                            or not set(self.blocks) & set(instrument.blocks)):
                instrument.block_items(unknown)  # raises naming close and known block ids
            chosen = [it for it in chosen if it.block in set(self.blocks)]
        if self.items is not None:
            chosen = [it for it in chosen if it.id in set(self.items)]
        ids = {it.id for it in chosen}
        for it in chosen:
            if it.follows is not None and it.follows.item not in ids:
                raise WorkbenchError(
                    f"item '{it.id}' of '{instrument.id}' is a follow-up of "
                    f"'{it.follows.item}', which the design leaves out: add "
                    f"{it.follows.item} to items (its answers weight the follow-up's)"
                )
        return chosen

    def requests(self, model: str, model_fingerprint: str) -> Iterator[ProbeRequest]:
        """Every request for one model, generated lazily (memory stays flat for big designs)."""
        template = load_template(self.template)
        personas = self.expanded_personas()
        for instrument in self.loaded_instruments():
            missing = [lang for lang in self.languages
                       if lang != PERSONA_LANGUAGE and lang not in instrument.languages]
            if missing:
                raise WorkbenchError(
                    f"instrument '{instrument.id}' has no {missing} version (has: "
                    f"{', '.join(instrument.languages)}); drop those languages or that instrument"
                )
            langs = [self.languages_for(instrument, p) for p in personas]
            texts = self._texts(template, langs)
            paraphrases = self.paraphrases_for(instrument.id)
            asked = [(it, self._orders_for(instrument, it.scale, it.id), paraphrases)
                     for it in self._items(instrument)]
            # content-free items: once per order and cell, their one wording (paraphrase 0)
            asked += [(it, self._orders_for(instrument, scale_id, f"the {scale_id} scale"), [0])
                      for scale_id, it in self._content_free_items(instrument, texts)]
            for item, orders, item_paraphrases in asked:
                cells = ((p, lang, *rest) for p, p_langs in zip(personas, langs, strict=True)
                         for lang in p_langs for rest in product(
                             orders, item_paraphrases, self.answer_formats, self.instructions))
                for persona, language, order, paraphrase, fmt, instruction in cells:
                    variant = _Variant(template, instrument, persona.text(language), language,
                                       order, paraphrase, fmt, instruction, self.seed,
                                       instrument.form_for(persona.attributes))
                    for given, rendered in variant.render(item):
                        for repeat in range(self.repeats):
                            yield ProbeRequest.build(
                                self, model, model_fingerprint, instrument, item.id, persona,
                                language, order, paraphrase, fmt, instruction, repeat,
                                template.version, rendered, given)


def _content_free_texts(template: PromptTemplate, languages: list[str]) -> dict[str, list[str]]:
    """The template's content-free inputs per language (``content_free`` in its file)."""
    texts = {}
    for lang in languages:
        value = template.lang(lang).get("content_free")
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise WorkbenchError(
                f"prompt template '{template.id}' has no content_free list for language "
                f"'{lang}': add content_free: [\"N/A\"] under languages.{lang} in "
                f"data/prompts/{template.id}.yaml, or drop content_free from the design")
        texts[lang] = value
    if len({len(v) for v in texts.values()}) > 1:
        raise WorkbenchError(
            f"prompt template '{template.id}' has content_free lists of different lengths "
            "per language: give every language the same number of content-free inputs")
    return texts


def _asked_per_cell(instrument: Instrument, item: Item) -> int:
    if item.follows is None:
        return 1
    return len(instrument.scale_of(item.follows.item).codes)


@dataclass(frozen=True)
class _Variant:
    """One cell of the design for one instrument: everything but the item and the repeat."""

    template: PromptTemplate
    instrument: Instrument
    persona_text: str | None
    language: str
    order: str
    paraphrase: int
    answer_format: str
    instruction: str
    seed: int
    form: str | None = None  # the item wording form the persona picks (Instrument.form_for)

    def _render(self, item: Item, codes: list[int], persona_text: str | None) -> RenderedItem:
        return render_item(self.template, self.instrument, item, language=self.language,
                           paraphrase=self.paraphrase, presented_codes=codes,
                           answer_format=self.answer_format, instruction=self.instruction,
                           persona_text=persona_text, form=self.form)

    def _codes(self, item: Item, codes: list[int], salt: str = "") -> list[int]:
        return option_order(codes, self.order, self.seed,
                            f"{self.instrument.id}:{item.id}{salt}")

    def render(self, item: Item) -> Iterator[tuple[str, RenderedItem]]:
        """(given, rendered) pairs: one for a plain item, one per earlier answer for a
        follow-up (that answer in the conversation and, if excluded, not offered again)."""
        scale = self.instrument.scales[item.scale]
        if item.follows is None:
            yield "", self._render(item, self._codes(item, scale.codes), self.persona_text)
            return
        first = self.instrument.item(item.follows.item)
        first_scale = self.instrument.scale_of(first.id)
        asked_first = self._render(first, self._codes(first, first_scale.codes),
                                   self.persona_text)
        for code in first_scale.codes:
            remaining = [c for c in scale.codes
                         if not (item.follows.exclude_answer and c == code)]
            follow = self._render(item, self._codes(item, remaining, f"|{first.id}={code}"),
                                  None)
            yield format_given(first.id, code), render_follow_up(asked_first, code, follow)


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
    given: str = ""  # a follow-up's earlier answer, e.g. "Q154=2" (see workbench.followups)

    @classmethod
    def build(cls, design: Design, model: str, fingerprint: str, instrument: Instrument,
              item_id: str, persona: Persona, language: str, order: str, paraphrase: int,
              fmt: str, instruction: str, repeat: int, template_version: str,
              rendered: RenderedItem, given: str = "") -> ProbeRequest:
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
            "gen": None,
        }
        if given:  # (absent for plain items, so their ids do not change)
            content["given"] = given
        sample_seed = design.seed
        if design.mode == "generate":
            # Generation settings matter only when generating. Each request samples from its
            # own stream (seeded by the design seed and the request's content), so answers to
            # different items, orders or personas of one repeat are not tied together.
            cell = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
            sample_seed = int(hashlib.sha256(f"{design.seed}:{cell}".encode()).hexdigest()[:8],
                              16)
            content["gen"] = [design.temperature, sample_seed, design.max_new_tokens]
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]
        return cls(digest, model, fingerprint, instrument.id, item_id, persona.id,
                   persona.text(language), language, order, paraphrase, fmt, instruction,
                   design.mode, repeat, design.temperature, sample_seed, design.max_new_tokens,
                   template_version, rendered, given)
