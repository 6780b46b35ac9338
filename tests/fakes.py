"""Synthetic backends with known behaviour, for exact tests of re-mapping and bias measures."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from pathlib import Path

from workbench.backends.base import GenerateRequest, ModelInfo, OptionScores, ScoreRequest


class FirstPositionBackend:
    """Puts probability ``p_first`` on the first presented option, the rest spread evenly."""

    supports_logprobs = True

    def __init__(self, p_first: float = 0.7, name: str = "first-position") -> None:
        self.p_first = p_first
        self.info = ModelInfo(key=name, model_id=name, backend="synthetic",
                              file_hash=f"synthetic-{name}-{p_first}")
        self.calls = 0

    def score_options(self, requests: Sequence[ScoreRequest]) -> list[OptionScores]:
        self.calls += len(requests)
        out = []
        for r in requests:
            k = len(r.options)
            rest = (1 - self.p_first) / (k - 1)
            probs = [self.p_first] + [rest] * (k - 1)
            out.append(OptionScores(tuple(math.log(p) for p in probs), tuple(1 for _ in probs)))
        return out

    def generate(self, requests: Sequence[GenerateRequest]) -> list[str]:
        self.calls += len(requests)
        return ["1" for _ in requests]


class PreferredLabelBackend:
    """Finds the option whose label is ``label`` in the prompt and puts ``p`` on its key."""

    supports_logprobs = True

    def __init__(self, label: str, p: float = 0.8, name: str = "preferred-label") -> None:
        self.label, self.p = label, p
        self.info = ModelInfo(key=name, model_id=name, backend="synthetic",
                              file_hash=f"synthetic-{name}-{label}")

    def _key(self, text: str) -> str:
        for line in text.splitlines():
            m = re.match(r"^(\w+)\. (.*)$", line.strip())
            if m and m.group(2) == self.label:
                return m.group(1)
        raise AssertionError(f"label {self.label!r} not in prompt")

    def score_options(self, requests: Sequence[ScoreRequest]) -> list[OptionScores]:
        out = []
        for r in requests:
            key = self._key(r.messages[-1].content)
            k = len(r.options)
            probs = [self.p if o.strip() == key else (1 - self.p) / (k - 1) for o in r.options]
            out.append(OptionScores(tuple(math.log(p) for p in probs), tuple(1 for _ in probs)))
        return out

    def generate(self, requests: Sequence[GenerateRequest]) -> list[str]:
        return [f"I would choose {self._key(r.messages[-1].content)}." for r in requests]


class ShownLabelBackend:
    """Puts ``p`` on the option labelled ``label`` when the prompt shows it, else answers
    uniformly: with a label of one language only, it answers differently per language."""

    supports_logprobs = True

    def __init__(self, label: str, p: float = 0.6, name: str = "shown-label") -> None:
        self.label, self.p = label, p
        self.info = ModelInfo(key=name, model_id=name, backend="synthetic",
                              file_hash=f"synthetic-{name}-{label}-{p}")

    def score_options(self, requests: Sequence[ScoreRequest]) -> list[OptionScores]:
        out = []
        for r in requests:
            lines = [line.strip() for line in r.messages[-1].content.splitlines()]
            k = len(r.options)
            keys = [m.group(1) for line in lines
                    if (m := re.match(r"^(\w+)\. (.*)$", line)) and m.group(2) == self.label]
            if keys:
                probs = [self.p if o.strip() == keys[0] else (1 - self.p) / (k - 1)
                         for o in r.options]
            else:
                probs = [1 / k] * k
            out.append(OptionScores(tuple(math.log(p) for p in probs), tuple(1 for _ in probs)))
        return out

    def generate(self, requests: Sequence[GenerateRequest]) -> list[str]:
        raise AssertionError("log-prob scoring only")


class ScriptedTextBackend:
    """Generation-only backend returning fixed texts in turn (e.g. hostile or refusing text)."""

    supports_logprobs = False

    def __init__(self, texts: list[str], name: str = "scripted") -> None:
        self.texts = texts
        self.i = 0
        self.info = ModelInfo(key=name, model_id=name, backend="synthetic",
                              file_hash=f"synthetic-{name}")

    def score_options(self, requests):
        raise AssertionError("no log-probs here")

    def generate(self, requests: Sequence[GenerateRequest]) -> list[str]:
        out = []
        for _ in requests:
            out.append(self.texts[self.i % len(self.texts)])
            self.i += 1
        return out


class HashBackend:
    """Deterministic pseudo-random answers that depend on the whole prompt (persona, item,
    order, wording), so scores vary across personas and variants like a real model's."""

    supports_logprobs = True

    def __init__(self, name: str, tilt: float = 0.0) -> None:
        self.name, self.tilt = name, tilt
        self.info = ModelInfo(key=name, model_id=name, backend="synthetic",
                              file_hash=f"synthetic-{name}")

    def score_options(self, requests: Sequence[ScoreRequest]) -> list[OptionScores]:
        out = []
        for r in requests:
            text = "\n".join(m.content for m in r.messages)
            k = len(r.options)
            weights = [0.2 + hashlib.sha256(f"{self.name}|{text}|{o}".encode()).digest()[0] / 255
                       + self.tilt * i / k for i, o in enumerate(r.options)]
            total = sum(weights)
            out.append(OptionScores(tuple(math.log(w / total) for w in weights),
                                    tuple(1 for _ in weights)))
        return out

    def generate(self, requests):
        return ["1" for _ in requests]


class PositionContentBackend:
    """Known position prior times known content preference, with optional noise:
    ``P(option at position j) propto prior[j] * pref[item text][label] * exp(noise * z)``.

    ``pref`` maps an item text (the first paragraph of the prompt that it has as a key: the
    item text after an instrument's instruction stem, or the first paragraph without one)
    to a weight per option label; a prompt without such a paragraph (a content-free "N/A")
    has no content preference. ``z`` is a deterministic pseudo-random number with mean 0
    and variance 1 per prompt and option, so each order adds its own idiosyncrasy."""

    supports_logprobs = True

    def __init__(self, prior: Sequence[float], pref: dict[str, dict[str, float]],
                 noise: float = 0.0, name: str = "position-content") -> None:
        self.prior, self.pref, self.noise = list(prior), pref, noise
        self.info = ModelInfo(key=name, model_id=name, backend="synthetic",
                              file_hash=f"synthetic-{name}-{noise}")

    def _z(self, text: str, label: str) -> float:
        u = int.from_bytes(hashlib.sha256(f"{text}|{label}".encode()).digest()[:8], "big")
        return (u / 2 ** 64 * 2 - 1) * math.sqrt(3)  # uniform on [-sqrt 3, sqrt 3]

    def score_options(self, requests: Sequence[ScoreRequest]) -> list[OptionScores]:
        out = []
        for r in requests:
            text = r.messages[-1].content
            labels = [m.group(2) for line in text.splitlines()
                      if (m := re.match(r"^(\w+)\. (.*)$", line.strip()))]
            assert len(labels) == len(r.options), (labels, r.options)
            pref = next((self.pref[p] for p in text.split("\n\n") if p in self.pref), {})
            prior = self.prior[:len(labels)]
            weights = [prior[j] * pref.get(lab, 1.0) * math.exp(self.noise * self._z(text, lab))
                       for j, lab in enumerate(labels)]
            total = sum(weights)
            out.append(OptionScores(tuple(math.log(w / total) for w in weights),
                                    tuple(1 for _ in weights)))
        return out

    def generate(self, requests):
        raise AssertionError("log-prob scoring only")


def write_unsupported_gguf(path: Path) -> Path:
    """A valid GGUF file of an architecture transformers cannot load ("notamodel")."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), arch="notamodel")
    writer.add_block_count(1)
    writer.add_tensor("token_embd.weight", np.zeros((4, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
