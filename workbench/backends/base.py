"""The one small interface every model backend implements.

Two operations, as in lm-evaluation-harness: score a set of candidate continuations after a
prompt (closed-form answer distributions), and generate text. Everything above this layer
(probing, store, statistics, reports) is backend-agnostic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class ScoreRequest:
    """Log-probabilities of each ``options[i]`` as the continuation of ``messages``.

    The continuation starts the assistant's reply (after the chat template's generation
    prompt, followed by ``assistant_prefix`` if set).
    """

    messages: tuple[Message, ...]
    options: tuple[str, ...]
    assistant_prefix: str = ""


@dataclass(frozen=True)
class GenerateRequest:
    messages: tuple[Message, ...]
    max_new_tokens: int = 32
    temperature: float = 0.0  # 0 = greedy
    seed: int = 0
    assistant_prefix: str = ""


@dataclass(frozen=True)
class OptionScores:
    """Summed log-probability of each option's tokens, and how many tokens each had."""

    logprobs: tuple[float, ...]
    n_tokens: tuple[int, ...]


@dataclass(frozen=True)
class ModelInfo:
    """Provenance of a loaded model, stored with every answer it gives."""

    key: str  # the user's name for it, e.g. "smollm2-135m"
    model_id: str  # hub id, path or server model name
    backend: str  # "transformers" | "openai" | ...
    file_hash: str | None = None  # sha256 of the weights file(s), when local
    dtype: str | None = None
    revision: str | None = None
    chat_template_hash: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    info: ModelInfo

    def score_options(self, requests: Sequence[ScoreRequest]) -> list[OptionScores]:
        """Option log-probs for each request, in order."""
        ...

    def generate(self, requests: Sequence[GenerateRequest]) -> list[str]:
        """Generated text for each request, in order."""
        ...

    @property
    def supports_logprobs(self) -> bool:
        """False for servers that only generate; probing then samples answers instead."""
        ...
