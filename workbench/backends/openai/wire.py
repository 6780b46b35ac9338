"""Reading OpenAI-compatible answers: echoed prompt log-probs, top-k alternatives, choices.

Why apart: servers differ in what they send back (chat and legacy completions formats,
usage present or not, NaN or huge integers in JSON), and every such answer must give either
numbers or :class:`Garbage`, never another exception (tests/backends/test_openai_fuzz.py).
The functions here are pure: JSON in, numbers out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class Garbage(Exception):
    """An answer without what was asked for; the backend turns it into a ServerGarbageError
    naming the request."""


def number(value: object) -> float | None:
    """A finite float from a JSON number; None for anything else (booleans, NaN, infinities,
    integers too large for a float: JSON allows them, ``float()`` overflows on them)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def first_choice(data: dict) -> dict:
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise Garbage("no choices")
    return choices[0]


def echo_logprob(data: dict, prompt: str, cont_chars: int) -> tuple[float, int]:
    """Sum of the log-probs of the prompt's last tokens that cover ``cont_chars`` characters,
    and how many tokens that was."""
    total, tokens = echo_tail(data, prompt, cont_chars)
    return total, len(tokens)


def echo_tail(data: dict, prompt: str, cont_chars: int) -> tuple[float, list[str]]:
    """Sum of the log-probs of the prompt's last tokens that cover ``cont_chars`` characters,
    and those tokens (first to last).

    The prompt's tokens are the first ``usage.prompt_tokens`` echoed ones (or, without usage,
    those starting inside the prompt text); a token straddling the boundary counts as option.
    """
    lp = first_choice(data).get("logprobs")
    if not isinstance(lp, dict):
        raise Garbage("no logprobs")
    tokens, values = lp.get("tokens"), lp.get("token_logprobs")
    if not isinstance(tokens, list) or not isinstance(values, list) or len(tokens) != len(values):
        raise Garbage("no echoed prompt tokens (logprobs.tokens / token_logprobs)")
    n_prompt = None
    usage = data.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
        n_prompt = min(usage["prompt_tokens"], len(tokens))
    if n_prompt is None:
        offsets = lp.get("text_offset")
        if isinstance(offsets, list) and len(offsets) == len(tokens):
            n_prompt = sum(1 for o in offsets if isinstance(o, int) and o < len(prompt))
        else:
            n_prompt = len(tokens) - 1  # max_tokens=1: one generated token at the end
    echoed = "".join("".join(t for t in tokens[:n_prompt] if isinstance(t, str)).split())
    if n_prompt < 2 or not echoed.endswith("".join(prompt[-8:].split())):
        raise Garbage("the prompt was not echoed")
    total, covered = 0.0, 0
    taken: list[str] = []
    for i in range(n_prompt - 1, 0, -1):
        if covered >= cont_chars:
            break
        value = number(values[i])
        if value is None:
            raise Garbage(f"no log-prob for echoed token {str(tokens[i])[:20]!r}")
        total += value
        taken.append(str(tokens[i]))
        covered += len(tokens[i]) if isinstance(tokens[i], str) else 1
    if not taken:
        raise Garbage("no option tokens in the echo")
    return total, taken[::-1]


def first_top_logprobs(data: dict) -> list[tuple[str, float]]:
    """Top-k alternatives of the first generated token, in either wire format.

    Chat format (OpenAI chat, vLLM, llama.cpp on both routes): ``logprobs.content[0].
    top_logprobs = [{token, logprob}]``; legacy completions: ``logprobs.top_logprobs[0] =
    {token: logprob}``.
    """
    lp = first_choice(data).get("logprobs")
    if not isinstance(lp, dict):
        raise Garbage("no logprobs in the answer (the server ignores logprobs?)")
    pairs: list[tuple[str, float]] = []
    content = lp.get("content")
    if isinstance(content, list):
        if not content or not isinstance(content[0], dict):
            raise Garbage("empty logprobs.content")
        first = content[0]
        tops = first.get("top_logprobs")
        for entry in tops if isinstance(tops, list) else []:
            if isinstance(entry, dict):
                pairs.append((entry.get("token"), entry.get("logprob")))  # type: ignore[arg-type]
        if not pairs and "token" in first:
            pairs.append((first.get("token"), first.get("logprob")))  # type: ignore[arg-type]
    elif isinstance(lp.get("top_logprobs"), list) and lp["top_logprobs"]:
        first_top = lp["top_logprobs"][0]
        if isinstance(first_top, dict):
            pairs = list(first_top.items())
    else:
        raise Garbage("no top_logprobs")
    numbers = [(t, number(v)) for t, v in pairs]
    clean = [(t, v) for t, v in numbers if isinstance(t, str) and v is not None]
    if not clean:
        raise Garbage("no usable top_logprobs")
    clean.sort(key=lambda p: -p[1])
    return clean


def match_keys(top: list[tuple[str, float]], keys: list[str]) -> list[tuple[int, float]]:
    """(option index, log-prob) for each top-k token that spells an option key.

    Exact match after stripping whitespace; otherwise a token that is a prefix of exactly one
    key counts for that key (its first token only: an approximation for multi-token keys).
    """
    out = []
    for token, lp in top:
        text = token.strip()
        if not text:
            continue
        exact = [i for i, k in enumerate(keys) if k == text]
        if exact:
            out += [(i, lp) for i in exact]
            continue
        prefix_of = [i for i, k in enumerate(keys) if k.startswith(text)]
        if len(prefix_of) == 1 and not any(k == text for k in keys):
            out.append((prefix_of[0], lp))
    return out


def leading_space(options: Sequence[str]) -> str:
    """Whitespace that every option starts with (" " for " 1", " 2", ...)."""
    runs = [o[: len(o) - len(o.lstrip())] for o in options]
    lead = runs[0] if runs else ""
    for run in runs[1:]:
        while not run.startswith(lead):
            lead = lead[:-1]
    return lead


def logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))
