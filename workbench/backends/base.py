"""The one small interface every model backend implements, and what backends share.

Two operations, as in lm-evaluation-harness: score a set of candidate continuations after a
prompt (closed-form answer distributions), and generate text. Everything above this layer
(probing, store, statistics, reports) is backend-agnostic. :class:`BaseBackend` adds what the
probe needs from a real backend: the options it takes, the model identity that decides which
stored answers are reused (:meth:`BaseBackend.fingerprint_for`), the prompt text, and
``close()``. This module imports nothing above ``workbench.errors``: prompts and designs use
its request types.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from workbench.errors import WorkbenchError


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class ScoreRequest:
    """Log-probabilities of each ``options[i]`` as the continuation of ``messages``.

    The continuation starts the assistant's reply (after the chat template's generation
    prompt, followed by ``assistant_prefix`` if set).

    ``exclusive`` (the default) asks for the probability that the reply *is* this option: when
    one option's tokens begin another's (" 1" and " 10" on a 10-point scale, where the
    tokenizer splits digits), P(" 1") also holds every reply that goes on to " 10"; an
    exclusive score removes that mass (see :func:`exclusive_logprobs`). ``exclusive=False``
    gives plain continuation log-probs, as lm-evaluation-harness's ``loglikelihood`` does.
    """

    messages: tuple[Message, ...]
    options: tuple[str, ...]
    assistant_prefix: str = ""
    exclusive: bool = True


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
class ModelSpec:
    """A resolved model request: what to load and how (made by ``models.resolve_model``)."""

    key: str  # the name answers are stored under
    source: str  # "gguf" | "dir" | "hub" | a server backend's name ("openai")
    location: str  # gguf path, directory, hub id or base URL
    model_id: str  # name recorded in provenance
    server_model: str | None = None


# ---------------------------------------------------------------------- prompt text
def wire_messages(messages: Sequence[Message]) -> list[dict[str, str]]:
    """Messages as the role/content dicts that chat templates, HTTP APIs and the store take."""
    return [{"role": m.role, "content": m.content} for m in messages]


def render_plain(messages: Sequence[Message], assistant_prefix: str = "") -> str:
    """The prompt of a model without a chat template: turns joined by blank lines, then the
    assistant prefix (``"P\n\nQ\n\nAnswer:"``). Every backend renders plain prompts so."""
    return "\n\n".join(m.content for m in messages) + "\n\n" + assistant_prefix


def split_trailing_spaces(context: str) -> tuple[str, str]:
    """``context`` without its trailing spaces, and those spaces.

    Why: tokenizers merge a space with the word after it (" A" is one token), so a prompt
    ending in "Answer: " scores option "A" as " A" after "Answer:", as lm-evaluation-harness
    does; the spaces belong to the option, not the context.

    >>> split_trailing_spaces("Answer: ")
    ('Answer:', ' ')
    """
    stripped = context.rstrip(" ")
    return stripped, context[len(stripped):]


# ---------------------------------------------------------------------- exclusive scoring
#: Smallest share of an option's mass kept when longer options take (numerically) all of it,
#: so its log-prob stays finite (log 1e-12 = -27.6). One floor for every backend.
EXCLUSIVE_FLOOR = 1e-12


def without_share(logprob: float, taken: float) -> float:
    """``log(P * (1 - taken))``: an answer's log-prob once a share ``taken`` of its mass is
    known to continue into longer answers, floored at :data:`EXCLUSIVE_FLOOR`."""
    return logprob + math.log(max(1.0 - taken, EXCLUSIVE_FLOOR))


def exclusive_logprobs(tokens: Sequence[Sequence[object]],
                       logprobs: Sequence[float]) -> tuple[float, ...]:
    """Log-probs of each option as a *complete* answer, given every option's token sequence.

    Why: with keys "1".."10" and a tokenizer that splits digits, the reply " 10" starts with
    the tokens of " 1", so P(" 1") counts " 10" too and code 10 could never beat code 1. The
    reply is option ``a`` and not a longer option when it does not continue into any option
    whose tokens strictly extend ``a``'s. The events "continues into b" for the shortest such
    extensions b are disjoint, so

        P_exclusive(a) = P(a) - sum of P(b) over the minimal strict extensions b of a.

    Options with no extension keep their log-prob unchanged (the usual case: single digits).

    >>> import math
    >>> lp = exclusive_logprobs([[1], [1, 0], [2]], [math.log(0.5), math.log(0.2), math.log(0.3)])
    >>> [round(math.exp(v), 6) for v in lp]
    [0.3, 0.2, 0.3]
    """
    seqs = [tuple(t) for t in tokens]
    if len(seqs) != len(logprobs):
        raise ValueError("one token sequence per option is needed")
    out = list(map(float, logprobs))
    for a, head in enumerate(seqs):
        longer = [b for b, seq in enumerate(seqs)
                  if len(seq) > len(head) and seq[: len(head)] == head]
        minimal = [b for b in longer
                   if not any(c != b and len(seqs[c]) < len(seqs[b])
                              and seqs[b][: len(seqs[c])] == seqs[c] for c in longer)]
        if not minimal:
            continue
        taken = sum(math.exp(logprobs[b] - logprobs[a]) for b in minimal)
        out[a] = without_share(logprobs[a], taken)
    return tuple(out)


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
    # the identity answers are stored under (BaseBackend.fingerprint), carried with the
    # provenance so that a wrapper passing this info on keeps the model's identity
    fingerprint: str | None = None


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


@dataclass(frozen=True)
class BackendOption:
    """One ``--backend-option NAME=VALUE`` a backend takes: accepted value types, and what it
    does (shown when a value has the wrong type)."""

    types: tuple[type, ...]
    help: str


class BaseBackend(ABC):
    """A backend the probe can load by name, identify before loading, and close.

    Subclasses set ``name`` and ``options`` (their constructor's keyword arguments, the only
    options :func:`workbench.backends.registry.load_backend` passes them), implement
    :meth:`fingerprint_for`, :meth:`score_options` and :meth:`generate`, and call
    ``super().__init__(spec, settings)`` with the option values they were built with.
    """

    name: ClassVar[str]
    options: ClassVar[Mapping[str, BackendOption]] = {}
    supports_logprobs: bool = True
    info: ModelInfo

    def __init__(self, spec: ModelSpec, settings: Mapping[str, object]) -> None:
        self.spec = spec
        self.settings = dict(settings)
        self.closed = False

    @classmethod
    @abstractmethod
    def fingerprint_for(cls, spec: ModelSpec, options: Mapping[str, object]) -> str:
        """The identity of the weights and numerics ``spec`` and ``options`` give, known
        before loading: the store reuses an answer only for the same fingerprint, so a cached
        run never loads the model, and other weights under one name are refused."""

    @classmethod
    def key_for(cls, spec: ModelSpec, options: Mapping[str, object]) -> str:
        """The model name answers are stored under (options that change the numbers may make
        it another model to compare, e.g. a bfloat16 run)."""
        return spec.key

    def fingerprint(self) -> str:
        """:meth:`fingerprint_for` of this backend's own spec and settings."""
        return self.fingerprint_for(self.spec, self.settings)

    @abstractmethod
    def score_options(self, requests: Sequence[ScoreRequest]) -> list[OptionScores]:
        """Option log-probs for each request, in order."""

    @abstractmethod
    def generate(self, requests: Sequence[GenerateRequest]) -> list[str]:
        """Generated text for each request, in order."""

    def render(self, messages: Sequence[Message], assistant_prefix: str = "") -> str:
        """The prompt text the model sees (plain unless the backend has a template)."""
        return render_plain(messages, assistant_prefix)

    def close(self) -> None:
        """Release what the backend holds (weights, connections); it answers no more."""
        self.closed = True

    def check_open(self) -> None:
        if self.closed:
            raise WorkbenchError(f"the backend of model '{self.spec.key}' was closed: load the "
                                 "model again (workbench.models.load_model)")

    def __enter__(self) -> BaseBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fingerprint_of(backend: Backend) -> str:
    """The identity of a ready backend: its own :meth:`BaseBackend.fingerprint`; for a
    backend that only implements the protocol (tests' synthetic ones, wrappers) the one its
    ``info`` carries, else its weights hash, else ``backend:model_id``."""
    if isinstance(backend, BaseBackend):
        return backend.fingerprint()
    info = backend.info
    return info.fingerprint or info.file_hash or f"{info.backend}:{info.model_id}"
