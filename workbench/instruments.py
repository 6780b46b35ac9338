"""Survey instruments as validated data files.

An instrument is one YAML file under ``data/instruments/``. Code never holds item text: this
module only defines the schema (pydantic), loads and validates files, and answers questions
about them (which items, which scale, which scoring rules). Adding an instrument is adding a
file; see ``data/instruments/README.md`` for the format.
"""

from __future__ import annotations

import difflib
import operator
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workbench.errors import WorkbenchError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """Where an instrument or data file comes from and what its terms are."""

    citation: str
    url: str | None = None
    version: str | None = None
    terms: str
    retrieved_from: str | None = None
    notes: str | None = None


class LanguageInfo(_Strict):
    """Provenance of one language version; translations are never silently machine-made.

    ``official`` says whether the wording is the instrument authors' own (original or an
    authorised translation) or one produced elsewhere (e.g. here), which reports must say.
    """

    source: str
    translator: str | None = None
    official: bool | None = None


class WordingForm(_Strict):
    """One wording form of the items (e.g. the ESS portraits' female version).

    ``when`` lists the values of the persona attribute (see :class:`Forms`) that pick it.
    """

    source: str
    official: bool
    when: list[str] = Field(default_factory=list)


class Forms(_Strict):
    """Alternative wordings of every item picked by a persona attribute (e.g. gender).

    Each item's ``text`` holds the ``default`` form; the others are under the item's
    ``forms``. A persona whose ``attribute`` value is in no form's ``when`` gets the default.
    """

    attribute: str
    default: str
    forms: dict[str, WordingForm]

    @model_validator(mode="after")
    def _check(self) -> Forms:
        if self.default not in self.forms:
            raise ValueError(f"forms: default '{self.default}' is not under 'forms' (defined: "
                             f"{sorted(self.forms)}); add it with its source")
        seen: dict[str, str] = {}
        for name, form in self.forms.items():
            for value in form.when:
                if value in seen:
                    raise ValueError(f"forms: '{self.attribute}: {value}' picks both "
                                     f"'{seen[value]}' and '{name}': keep it in one 'when'")
                seen[value] = name
        return self


class Scale(_Strict):
    """A response scale: the canonical codes in canonical order and their labels per language.

    ``type: ordinal`` scales have numeric codes whose mean is meaningful (Likert);
    ``nominal`` scales (e.g. WVS "choose the most important aim") only support indicator
    scores.
    """

    type: Literal["ordinal", "nominal"] = "ordinal"
    codes: list[int] = Field(min_length=2)
    labels: dict[str, list[str]]
    midpoint: float | None = None

    @model_validator(mode="after")
    def _check(self) -> Scale:
        if len(set(self.codes)) != len(self.codes):
            raise ValueError(f"scale codes must be unique, got {self.codes}")
        for lang, labels in self.labels.items():
            if len(labels) != len(self.codes):
                raise ValueError(
                    f"scale has {len(self.codes)} codes but {len(labels)} labels in language "
                    f"'{lang}': give exactly one label per code"
                )
        return self

    @property
    def center(self) -> float:
        """Midpoint used to decide which side of the scale an answer is on."""
        if self.midpoint is not None:
            return self.midpoint
        return (min(self.codes) + max(self.codes)) / 2


class FollowUp(_Strict):
    """The item is asked right after ``item``, with that item's answer in the conversation.

    With ``exclude_answer`` (e.g. WVS Q155, "the next most important aim") the earlier answer
    is not offered again. The workbench asks the follow-up once per possible earlier answer and
    combines them (see :mod:`workbench.followups`).
    """

    item: str
    exclude_answer: bool = True


class Block(_Strict):
    """A thematic section of a questionnaire (e.g. WVS-7 "Religious values"), so that a design
    or an analysis can take a whole section by its id."""

    label: str
    notes: str | None = None


class Item(_Strict):
    """One survey question."""

    id: str
    text: dict[str, str]
    scale: str
    instruction: str | None = None
    block: str | None = None
    dimension: str | None = None
    reverse: bool = False
    role: Literal["scored", "catch", "index_input", "unscored"] = "scored"
    paraphrases: dict[str, list[str]] = Field(default_factory=dict)
    follows: FollowUp | None = None
    forms: dict[str, dict[str, str]] = Field(default_factory=dict)
    notes: str | None = None


class Term(_Strict):
    """One term of a linear index: ``weight * value(item)``.

    With ``codes`` the value is the probability (or share) of answering one of those codes;
    without it the value is the item's mean code (reverse-keyed items flipped).
    """

    item: str
    weight: float
    codes: list[int] | None = None


class Score(_Strict):
    """A scored dimension, foundation or index.

    ``method: mean`` averages the listed items' values (e.g. an MFQ foundation);
    ``method: linear`` is ``constant + sum(weight * value)`` (e.g. a VSM 2013 index), where
    ``constant_param`` names a user-settable constant (the VSM manual's C);
    ``method: centred`` is the mean of ``items`` minus the ``centre`` score (a ``mean`` score,
    e.g. Schwartz's MRAT), computed per respondent unit and then averaged (ipsative scores).
    """

    id: str
    label: str
    method: Literal["mean", "linear", "centred"]
    items: list[str] = Field(default_factory=list)
    terms: list[Term] = Field(default_factory=list)
    constant: float = 0.0
    constant_param: str | None = None
    centre: str | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Score:
        if self.method in ("mean", "centred") and not self.items:
            raise ValueError(f"score '{self.id}': method '{self.method}' needs a non-empty "
                             "'items' list")
        if (self.method == "centred") != (self.centre is not None):
            raise ValueError(f"score '{self.id}': 'centre' (the score subtracted, e.g. mrat) "
                             "goes with method 'centred' and only with it")
        if self.method == "linear" and not self.terms:
            raise ValueError(f"score '{self.id}': method 'linear' needs a non-empty 'terms' list")
        return self

    @property
    def item_ids(self) -> list[str]:
        return [t.item for t in self.terms] if self.method == "linear" else list(self.items)


#: Comparison of an exclusion rule (the answer is on the left, the threshold on the right).
RULE_OPS = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}


class Exclusion(_Strict):
    """A catch-item rule: a respondent whose answer satisfies it is flagged for exclusion."""

    item: str
    op: Literal["gt", "ge", "lt", "le"]
    value: float
    reason: str


class Instrument(_Strict):
    """A whole questionnaire: items, scales, instructions, scoring, provenance."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    family: str
    source: Source
    languages: dict[str, LanguageInfo]
    scales: dict[str, Scale]
    instructions: dict[str, dict[str, str]] = Field(default_factory=dict)
    blocks: dict[str, Block] = Field(default_factory=dict)
    items: list[Item] = Field(min_length=1)
    scores: list[Score] = Field(default_factory=list)
    exclusions: list[Exclusion] = Field(default_factory=list)
    forms: Forms | None = None
    profile: list[str] = Field(default_factory=list)
    paraphrase_source: str | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _check_references(self) -> Instrument:
        ids = [it.id for it in self.items]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate item id(s) {dupes}: every item id must be unique")
        known = set(ids)
        for it in self.items:
            if it.scale not in self.scales:
                raise ValueError(
                    f"item '{it.id}' uses scale '{it.scale}', which is not defined under "
                    f"'scales' (defined: {sorted(self.scales)})"
                )
            if it.instruction is not None and it.instruction not in self.instructions:
                raise ValueError(
                    f"item '{it.id}' uses instruction '{it.instruction}', which is not defined "
                    f"under 'instructions'"
                )
            if it.block is not None and it.block not in self.blocks:
                raise ValueError(
                    f"item '{it.id}' is in block '{it.block}', which is not defined under "
                    f"'blocks' (defined: {sorted(self.blocks)})" + suggest(it.block, self.blocks)
                )
            for lang in it.text:
                if lang not in self.languages:
                    raise ValueError(
                        f"item '{it.id}' has text in language '{lang}', which is not declared "
                        f"under 'languages' with its source"
                    )
            if it.reverse and self.scales[it.scale].type != "ordinal":
                raise ValueError(f"item '{it.id}' is reverse-keyed but its scale is nominal")
            if it.follows is not None:
                _check_follow_up(it, ids, self)
        for lang in self.languages:
            for it in self.items:
                if lang not in it.text:
                    raise ValueError(f"item '{it.id}' lacks text in declared language '{lang}'")
            for name, scale in self.scales.items():
                if lang not in scale.labels:
                    raise ValueError(f"scale '{name}' lacks labels in declared language '{lang}'")
        empty = sorted(set(self.blocks) - {it.block for it in self.items})
        if empty:
            raise ValueError(f"block(s) {empty} have no items: put items in them (`block: ...` on "
                             "an item) or remove them from 'blocks'")
        score_ids = [s.id for s in self.scores]
        if len(set(score_ids)) != len(score_ids):
            raise ValueError(f"duplicate score id(s) in {score_ids}")
        for s in self.scores:
            for item_id in s.item_ids:
                if item_id not in known:
                    raise ValueError(
                        f"score '{s.id}' refers to unknown item '{item_id}'"
                        + suggest(item_id, known)
                    )
                item = self.item(item_id)
                if item.role == "catch":
                    raise ValueError(
                        f"score '{s.id}' uses catch item '{item_id}': catch items only screen "
                        f"respondents (see 'exclusions'); remove it from the score or change "
                        f"its role"
                    )
                if s.method != "linear" and self.scales[item.scale].type != "ordinal":
                    raise ValueError(
                        f"score '{s.id}' (method '{s.method}') includes item '{item_id}', whose "
                        f"scale '{item.scale}' is nominal: category codes have no meaningful mean; "
                        f"use method 'linear' with 'codes' terms for it"
                    )
            for term in s.terms:
                if term.codes is None:
                    scale = self.scales[self.item(term.item).scale]
                    if scale.type != "ordinal":
                        raise ValueError(
                            f"score '{s.id}': item '{term.item}' is nominal, so its term "
                            f"needs 'codes' (the answers that count)"
                        )
                else:
                    valid = set(self.scales[self.item(term.item).scale].codes)
                    bad = [c for c in term.codes if c not in valid]
                    if bad:
                        raise ValueError(
                            f"score '{s.id}': codes {bad} are not on item '{term.item}''s scale"
                        )
        _check_centres(self)
        _check_forms(self)
        unknown_profile = [p for p in self.profile if p not in score_ids]
        if unknown_profile:
            raise ValueError(f"profile names unknown score(s) {unknown_profile}: list score ids")
        for ex in self.exclusions:
            if ex.item not in known:
                raise ValueError(
                    f"exclusion rule refers to unknown item '{ex.item}'" + suggest(ex.item, known)
                )
            scale = self.scales[self.item(ex.item).scale]
            if scale.type != "ordinal":
                raise ValueError(
                    f"exclusion rule on item '{ex.item}': its scale '{self.item(ex.item).scale}' "
                    f"is nominal, but rules compare the expected code; use an ordinal item"
                )
            lo, hi = min(scale.codes), max(scale.codes)
            flagged = [c for c in scale.codes if RULE_OPS[ex.op](c, ex.value)]
            if len(flagged) in (0, len(scale.codes)):
                what = "no answer" if not flagged else "every answer"
                why = (f"flags {what} on its scale's codes {lo}..{hi}" if lo <= ex.value <= hi
                       else f"has a threshold outside its scale's codes {lo}..{hi}, so it "
                            f"flags {what}")
                raise ValueError(
                    f"exclusion rule on item '{ex.item}' ({ex.op} {ex.value:g}) {why}: use a "
                    f"threshold within {lo}..{hi} that separates passing from failing codes"
                )
        return self

    @cached_property
    def _by_id(self) -> dict[str, Item]:
        return {it.id: it for it in self.items}

    def item(self, item_id: str) -> Item:
        try:
            return self._by_id[item_id]
        except KeyError:
            raise WorkbenchError(
                f"instrument '{self.id}' has no item '{item_id}'"
                + suggest(item_id, set(self._by_id))
            ) from None

    def scale_of(self, item_id: str) -> Scale:
        return self.scales[self.item(item_id).scale]

    def block_items(self, blocks: str | list[str]) -> list[Item]:
        """The items of one or more blocks, in questionnaire order."""
        wanted = [blocks] if isinstance(blocks, str) else list(blocks)
        unknown = [b for b in wanted if b not in self.blocks]
        if unknown:
            raise WorkbenchError(
                f"instrument '{self.id}' has no block(s) {unknown}"
                + (suggest(unknown[0], set(self.blocks)) if self.blocks else "")
                + (f"; its blocks: {', '.join(self.blocks)}" if self.blocks
                   else "; it defines no blocks")
            )
        return [it for it in self.items if it.block in set(wanted)]

    def score(self, score_id: str) -> Score:
        for s in self.scores:
            if s.id == score_id:
                return s
        raise WorkbenchError(f"instrument '{self.id}' has no score '{score_id}'")

    @property
    def constant_params(self) -> dict[str, float]:
        """User-settable constants (name -> default) used by linear scores."""
        return {s.constant_param: s.constant for s in self.scores if s.constant_param}

    def form_for(self, attributes: dict[str, str]) -> str | None:
        """The wording form a persona with these attributes gets (None without forms)."""
        if self.forms is None:
            return None
        value = attributes.get(self.forms.attribute)
        for name, form in self.forms.forms.items():
            if value is not None and value in form.when:
                return name
        return self.forms.default

    def n_paraphrases(self, language: str = "en") -> int:
        """Smallest number of paraphrases any item has in ``language`` (0 when some have none)."""
        return min(len(it.paraphrases.get(language, [])) for it in self.items)


def _check_centres(instrument: Instrument) -> None:
    """A centred score subtracts a plain ``mean`` score (Schwartz's MRAT) of ordinal items."""
    by_id = {s.id: s for s in instrument.scores}
    for s in instrument.scores:
        if s.centre is None:
            continue
        centre = by_id.get(s.centre)
        if centre is None or centre.method != "mean":
            raise ValueError(f"score '{s.id}' is centred on '{s.centre}', which is not a "
                             "'mean' score of this instrument: define it (e.g. mrat) first")


def _check_forms(instrument: Instrument) -> None:
    """Every item has every non-default form in every declared language, and nothing else."""
    spec = instrument.forms
    others = set(spec.forms) - {spec.default} if spec else set()
    for it in instrument.items:
        extra = sorted(set(it.forms) - others)
        if extra:
            raise ValueError(f"item '{it.id}' has form(s) {extra} that are not non-default "
                             f"forms under 'forms' ({sorted(others) or 'none declared'})")
        for form in others:
            texts = it.forms.get(form, {})
            missing = [lang for lang in instrument.languages if not texts.get(lang)]
            if missing:
                raise ValueError(f"item '{it.id}' lacks its '{form}' form in {missing}")
            undeclared = sorted(set(texts) - set(instrument.languages))
            if undeclared:
                raise ValueError(f"item '{it.id}' has a '{form}' form in undeclared "
                                 f"language(s) {undeclared}")


def _check_follow_up(item: Item, ids: list[str], instrument: Instrument) -> None:
    """A follow-up names an earlier, plain item; excluding its answer needs the same codes."""
    assert item.follows is not None
    first = item.follows.item
    if first not in ids:
        raise ValueError(f"item '{item.id}' follows unknown item '{first}'"
                         + suggest(first, set(ids)))
    if ids.index(first) >= ids.index(item.id):
        raise ValueError(f"item '{item.id}' follows '{first}', which must come before it: "
                         "move it up in the items list")
    earlier = next(it for it in instrument.items if it.id == first)
    if earlier.follows is not None:
        raise ValueError(f"item '{item.id}' follows '{first}', which is itself a follow-up: "
                         "chains are not supported; follow the first question instead")
    mine = instrument.scales[item.scale].codes
    if item.follows.exclude_answer and earlier.scale != item.scale:
        raise ValueError(
            f"item '{item.id}' excludes the answer to '{first}' but their scales differ "
            f"({earlier.scale} vs {item.scale}): give both the same scale or set "
            "exclude_answer: false"
        )
    if item.follows.exclude_answer and len(mine) < 3:
        raise ValueError(f"item '{item.id}' excludes the earlier answer from a {len(mine)}-"
                         "option scale, which leaves one option: nothing to ask")


def suggest(name: str, choices: set[str] | list[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
