"""Turning an item into the messages a model sees, for any order, wording, format and persona.

Templates are data (``data/prompts/<id>.yaml``). The presented order of options is a
permutation of the scale's canonical codes; keys ("1", "2", ... or "A", "B", ...) follow the
presented position, so the stored answer can always be mapped back to the canonical code.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workbench.backends.base import Message
from workbench.errors import WorkbenchError
from workbench.instruments import Instrument, Item
from workbench.paths import data_dir


@dataclass(frozen=True)
class PromptTemplate:
    id: str
    version: str
    languages: dict
    answer_formats: dict[str, list[str]]

    def lang(self, language: str) -> dict:
        if language not in self.languages:
            raise WorkbenchError(
                f"prompt template '{self.id}' has no language '{language}' (has: "
                f"{', '.join(self.languages)}): add it to data/prompts/{self.id}.yaml"
            )
        return self.languages[language]


@lru_cache(maxsize=8)
def load_template(name: str = "default") -> PromptTemplate:
    path = data_dir() / "prompts" / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise WorkbenchError(f"unknown prompt template '{name}': shipped templates are {known}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return PromptTemplate(raw["id"], str(raw["version"]), raw["languages"], raw["answer_formats"])


#: Item ids of the content-free pseudo items (``content-free:<scale>:<i>``, Zhao et al. 2021):
#: stored like items, never scored (see :func:`is_content_free`).
CONTENT_FREE_PREFIX = "content-free:"

#: Order specs that expand per item into several orders (see :func:`expand_orders`).
ORDER_SPECS = ("cyclic", "all")
_ORDER_NAME = re.compile(r"^(original|reversed|perm[1-9][0-9]*|cyc[0-9]+|all[0-9]+|cyclic|all)$")


class OrderSettings(BaseModel):
    """``data/orders.yaml``: limits of the order designs and the estimators' numerics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    all_orders_max_options: int = Field(ge=2, le=8)
    prob_floor: float = Field(gt=0, lt=1e-3)


@lru_cache(maxsize=4)
def _order_settings(path: str) -> OrderSettings:
    file = Path(path)
    if not file.is_file():
        raise WorkbenchError(f"missing settings file '{file}': restore data/orders.yaml")
    try:
        return OrderSettings(**(yaml.safe_load(file.read_text(encoding="utf-8")) or {}))
    except (yaml.YAMLError, TypeError, ValidationError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise WorkbenchError(f"settings file '{file}' is invalid ({first}): fix it as "
                             "its comments describe") from exc


def order_settings() -> OrderSettings:
    """The validated order settings (``data/orders.yaml``)."""
    return _order_settings(str(data_dir() / "orders.yaml"))


def is_content_free(item_id: object) -> bool:
    """True for the id of a content-free pseudo item (asked for calibration, never scored)."""
    return str(item_id).startswith(CONTENT_FREE_PREFIX)


def check_order_names(orders: list[str]) -> None:
    """Refuse an unknown order name before anything is expanded."""
    bad = [o for o in orders if not _ORDER_NAME.match(o)]
    if bad:
        raise WorkbenchError(
            f"unknown option order(s) {bad}: use original, reversed, cyclic (all k rotations), "
            "all (all k! orders, small scales only), permN, cycN or allN; for N random "
            "orders write permutations: N"
        )


def expand_orders(orders: list[str], k: int, what: str) -> list[str]:
    """Concrete order names for an item with ``k`` options, in design order, duplicates
    dropped: ``cyclic`` -> ``cyc0..cyc{k-1}`` (cyc0 = original), ``all`` ->
    ``all0..all{k!-1}`` (lexicographic, all0 = original); other names stay as they are.

    ``all`` is refused above ``all_orders_max_options`` of ``data/orders.yaml`` (``what``
    names the item in the message).
    """
    out: list[str] = []
    for order in orders:
        if order == "cyclic":
            out += [f"cyc{r}" for r in range(k)]
        elif order == "all":
            limit = order_settings().all_orders_max_options
            if k > limit:
                raise WorkbenchError(
                    f"orders: [all] would ask {what} in all {math.factorial(k)} orders of its "
                    f"{k} options; all is allowed up to {limit} options (all_orders_max_options "
                    "in data/orders.yaml): use orders: [cyclic] (k rotations, enough for PriDe "
                    "and the full-permutation average) or permutations: N"
                )
            out += [f"all{i}" for i in range(math.factorial(k))]
        else:
            out.append(order)
    return list(dict.fromkeys(out))


def _nth_permutation(items: list[int], n: int) -> list[int]:
    """The ``n``-th permutation of ``items`` in lexicographic order of positions (as
    :func:`itertools.permutations` lists them), by the factorial number system."""
    pool, out = list(items), []
    n %= math.factorial(len(pool))
    for i in range(len(pool) - 1, -1, -1):
        index, n = divmod(n, math.factorial(i))
        out.append(pool.pop(index))
    return out


def option_order(codes: list[int], order: str, seed: int, key: str) -> list[int]:
    """Codes in presented order for an order name: original, reversed, permN (seeded per
    item ``key``), cycN (rotation by N: cyc1 shows the second code first) or allN (the N-th
    of all k! orders). N wraps around for a scale with fewer options (a follow-up that
    leaves the earlier answer out)."""
    if order == "original":
        return list(codes)
    if order == "reversed":
        return list(reversed(codes))
    if order.startswith("perm") and order[4:].isdigit():
        rng = random.Random(f"{seed}:{key}:{order}")
        shuffled = list(codes)
        rng.shuffle(shuffled)
        return shuffled
    if order.startswith("cyc") and order[3:].isdigit():
        r = int(order[3:]) % len(codes)
        return list(codes[r:]) + list(codes[:r])
    if order.startswith("all") and order[3:].isdigit():
        return _nth_permutation(list(codes), int(order[3:]))
    raise WorkbenchError(
        f"unknown option order '{order}': use original, reversed, permN, cycN or allN "
        "(e.g. perm1), or cyclic / all in the design"
    )


def item_text(item: Item, language: str, paraphrase: int, form: str | None = None) -> str:
    """The wording for a paraphrase index: 0 is the original, i the i-th paraphrase.

    ``form`` picks an alternative wording form (e.g. the ESS portraits' female version, see
    :meth:`Instrument.form_for`); the default form is the item's ``text``. Paraphrases are
    written for the default form only.
    """
    if language not in item.text:
        raise WorkbenchError(f"item '{item.id}' has no text in language '{language}'")
    if form is not None and form in item.forms:
        if paraphrase != 0:
            raise WorkbenchError(
                f"item '{item.id}' has paraphrases of its default wording only, not of its "
                f"'{form}' form: use paraphrase 0 with personas that pick this form")
        return item.forms[form][language]
    if paraphrase == 0:
        return item.text[language]
    alternatives = item.paraphrases.get(language, [])
    if paraphrase > len(alternatives):
        raise WorkbenchError(
            f"item '{item.id}' has {len(alternatives)} paraphrase(s) in '{language}', "
            f"not {paraphrase}: lower the paraphrase count in the design"
        )
    return alternatives[paraphrase - 1]


@dataclass(frozen=True)
class RenderedItem:
    messages: tuple[Message, ...]
    keys: tuple[str, ...]  # shown keys, in presented order
    codes: tuple[int, ...]  # canonical code at each presented position
    labels: tuple[str, ...]  # label at each presented position
    assistant_prefix: str


def render_follow_up(first: RenderedItem, first_code: int, follow: RenderedItem
                     ) -> RenderedItem:
    """One conversation: the earlier question, its answer ``first_code``, then the follow-up.

    The earlier answer is written exactly as an answer is scored (the answer prefix, a space
    and the option's key), so the model sees its "own" reply; ``follow`` must be rendered
    without a persona (the persona's system message comes with ``first``).
    """
    if first_code not in first.codes:
        raise WorkbenchError(f"code {first_code} is not an option of the earlier question")
    if any(m.role == "system" for m in follow.messages):
        raise ValueError("render the follow-up without persona_text")
    key = first.keys[first.codes.index(first_code)]
    answer = Message("assistant", f"{first.assistant_prefix} {key}".strip())
    return RenderedItem(first.messages + (answer,) + follow.messages, follow.keys, follow.codes,
                        follow.labels, follow.assistant_prefix)


def render_item(
    template: PromptTemplate,
    instrument: Instrument,
    item: Item,
    *,
    language: str,
    paraphrase: int,
    presented_codes: list[int],
    answer_format: str,
    instruction: str,
    persona_text: str | None,
    form: str | None = None,
) -> RenderedItem:
    """Messages for one request. ``instruction`` is 'forced' or 'unforced' (Röttger et al. 2024);
    ``form`` is the item wording form the persona picks (None: the default wording)."""
    lang = template.lang(language)
    scale = instrument.scales[item.scale]
    if answer_format not in template.answer_formats:
        raise WorkbenchError(
            f"unknown answer format '{answer_format}': use one of {list(template.answer_formats)}"
        )
    all_keys = template.answer_formats[answer_format]
    if len(presented_codes) > len(all_keys):
        raise WorkbenchError(f"answer format '{answer_format}' has too few keys for {item.id}")
    if instruction not in lang["ask"]:
        raise WorkbenchError(f"unknown instruction '{instruction}': use {list(lang['ask'])}")
    label_of = dict(zip(scale.codes, scale.labels[language], strict=True))
    keys = tuple(all_keys[: len(presented_codes)])
    labels = tuple(label_of[c] for c in presented_codes)
    options = "\n".join(
        lang["option"].format(key=k, label=lab) for k, lab in zip(keys, labels, strict=True)
    )
    ask = lang["ask"][instruction].format(key_kind=lang["key_kind"][answer_format])
    text = item_text(item, language, paraphrase, form)
    stem = instrument.instructions.get(item.instruction or "", {}).get(language)
    if stem:
        user = lang["question"].format(instruction=stem, text=text, options=options, ask=ask)
    else:
        user = lang["question_no_instruction"].format(text=text, options=options, ask=ask)
    messages: list[Message] = []
    if persona_text:
        messages.append(Message("system", f"{persona_text} {lang['persona_suffix']}"))
    messages.append(Message("user", user))
    return RenderedItem(tuple(messages), keys, tuple(presented_codes), labels,
                        lang["answer_prefix"])
