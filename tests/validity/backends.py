"""Synthetic respondents of known behaviour for the validity verdicts.

:class:`MixtureBackend` puts ``mix`` of its mass on the option *shown* first (a pure position
respondent at ``mix = 1``) and ``1 - mix`` on a fixed preferred *answer* per item, wherever it
is shown (a pure content respondent at ``mix = 0``). Optional ``noise`` jitters every option
by a hash of the whole prompt, i.e. independently per request, as sampling noise would.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence

import numpy as np

from workbench.backends.base import GenerateRequest, ModelInfo, OptionScores, ScoreRequest
from workbench.instruments import Instrument

_OPTION_LINE = re.compile(r"^(\w+)\. (.*)$")


def preferred_labels(inst: Instrument, seed: int = 0, language: str = "en") -> dict[str, str]:
    """Every wording of every item (text and paraphrases) -> the label of its preferred code.

    Preferred codes are drawn with ``seed``; a catch item prefers a code that passes its
    exclusion rule (the lowest code when the rule cuts high answers, the highest otherwise),
    as an attentive respondent would.
    """
    rng = np.random.default_rng(seed)
    rules = {ex.item: ex for ex in inst.exclusions}
    out = {}
    for it in inst.items:
        scale = inst.scales[it.scale]
        if it.id in rules:
            code = min(scale.codes) if rules[it.id].op in ("gt", "ge") else max(scale.codes)
        else:
            code = int(rng.choice(scale.codes))
        label = scale.labels[language][scale.codes.index(code)]
        for text in [it.text[language], *it.paraphrases.get(language, [])]:
            out[text] = label
    return out


class MixtureBackend:
    """``mix`` x (``p_first`` on the first shown option) + (1 - ``mix``) x (``p_pref`` on the
    item's preferred answer), the rest of each part spread evenly; optional prompt-hash noise."""

    supports_logprobs = True

    def __init__(self, name: str, preferences: dict[str, str], mix: float,
                 p_first: float = 0.7, p_pref: float = 0.8, noise: float = 0.0) -> None:
        self.name, self.preferences, self.mix = name, preferences, mix
        self.p_first, self.p_pref, self.noise = p_first, p_pref, noise
        self.wordings = sorted(preferences, key=len, reverse=True)
        self.info = ModelInfo(key=name, model_id=name, backend="synthetic",
                              file_hash=f"synthetic-{name}-{mix}-{noise}")

    def _preferred_key(self, prompt: str) -> str:
        wording = next((w for w in self.wordings if w in prompt), None)
        if wording is None:
            raise AssertionError("no known item wording in the prompt")
        label = self.preferences[wording]
        for line in prompt.splitlines():
            m = _OPTION_LINE.match(line.strip())
            if m and m.group(2) == label:
                return m.group(1)
        raise AssertionError(f"label {label!r} not shown")

    def _probs(self, prompt: str, options: Sequence[str]) -> list[float]:
        k = len(options)
        key = self._preferred_key(prompt)
        pos = [self.p_first if i == 0 else (1 - self.p_first) / (k - 1) for i in range(k)]
        con = [self.p_pref if o.strip() == key else (1 - self.p_pref) / (k - 1) for o in options]
        probs = [self.mix * a + (1 - self.mix) * b for a, b in zip(pos, con, strict=True)]
        if self.noise:
            for i, o in enumerate(options):
                u = hashlib.sha256(f"{self.name}|{prompt}|{o}".encode()).digest()[0] / 255
                probs[i] *= math.exp(self.noise * (u - 0.5))
        total = sum(probs)
        return [p / total for p in probs]

    def score_options(self, requests: Sequence[ScoreRequest]) -> list[OptionScores]:
        out = []
        for r in requests:
            prompt = "\n".join(m.content for m in r.messages)
            probs = self._probs(prompt, r.options)
            out.append(OptionScores(tuple(math.log(p) for p in probs), tuple(1 for _ in probs)))
        return out

    def generate(self, requests: Sequence[GenerateRequest]) -> list[str]:
        raise AssertionError("logprob mode only")
