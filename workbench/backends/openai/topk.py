"""Option log-probs from a server's top-k alternatives of the first generated token.

Why apart: the arithmetic (which top-k tokens spell which key, a leading space as a token of
its own, "1" versus "10", the floor for options left out) is independent of HTTP; it asks
for more top-k lists through ``top(prefix)``, the alternatives after the prompt with the
assistant reply continued by ``prefix``. An APPROXIMATION (see :mod:`.backend`): options
outside the top-k get the floor and count as ``truncated``; a multi-token key scores only
its first token.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from workbench.backends.base import ScoreRequest, without_share
from workbench.backends.openai.wire import leading_space, logsumexp, match_keys
from workbench.errors import WorkbenchError

TopK = list[tuple[str, float]]
# Log-prob of options outside the top-k when the server sent no alternatives at all.
_EMPTY_TOP_FLOOR = -100.0


@dataclass(frozen=True)
class TopScores:
    """Per option: log-prob, 1 if read off the top-k exactly else 0, and left out of it;
    ``unsplit`` are keys that keep longer keys' mass (the reply could not be continued)."""

    logprobs: tuple[float, ...]
    n_tokens: tuple[int, ...]
    truncated: tuple[bool, ...]
    unsplit: frozenset[int]


def score_from_top(request: ScoreRequest, top: Callable[[str], TopK], extendable: bool,
                   floor_logprob: float | None) -> TopScores:
    """Scores of ``request``'s options; ``extendable`` when the server continues a reply.

    A key's log-prob is the log-sum-exp of every way the reply can spell it: the top-k token
    equal to it, or (when the options start with a space the tokenizer keeps apart) the
    space's log-prob plus the key's after it. The floor of left-out options is the
    log-sum-exp of the smallest log-prob of each top-k list read (an upper bound of what
    each list left out), unless ``floor_logprob`` is given.
    """
    keys = [o.strip() for o in request.options]
    if any(not k for k in keys):
        raise WorkbenchError(f"options {request.options!r} include an empty one")
    prefix = request.assistant_prefix
    first = top(prefix)
    found: dict[int, list[float]] = {}
    for i, lp in match_keys(first, keys):
        found.setdefault(i, []).append(lp)
    floors = [min(lp for _, lp in first)] if first else []
    lead = leading_space(request.options)
    spaces = [(t, lp) for t, lp in first if t and not t.strip() and lead.startswith(t)]
    if extendable and spaces:
        ws, ws_lp = spaces[0]  # the options' leading space as a token of its own
        second = top(prefix + ws)
        for i, lp in match_keys(second, keys):
            found.setdefault(i, []).append(ws_lp + lp)
        if second:
            floors.append(ws_lp + min(lp for _, lp in second))
    unsplit: set[int] = set()
    if request.exclusive:
        unsplit = split_nested_keys(request, top, keys, found, extendable, lead)
    if floor_logprob is not None:
        floor = floor_logprob
    elif floors:
        floor = logsumexp(floors)
    else:
        floor = _EMPTY_TOP_FLOOR
    lps, ns, cut = [], [], []
    for i in range(len(keys)):
        if i in found:
            lps.append(logsumexp(found[i]))
            ns.append(0 if i in unsplit else 1)
            cut.append(False)
        else:
            lps.append(floor)
            ns.append(0)
            cut.append(True)
    return TopScores(tuple(lps), tuple(ns), tuple(cut), frozenset(unsplit))


def split_nested_keys(request: ScoreRequest, top: Callable[[str], TopK], keys: list[str],
                      found: dict[int, list[float]], extendable: bool, lead: str) -> set[int]:
    """Separate a key's own mass from longer keys it begins ("1" from "10"), in place.

    The first token's top-k credits "1" with every reply starting "1", " 10" included
    (unless the tokenizer has a token "10" of its own, which then matched exactly). One more
    request continues the reply by the key and reads how likely each longer key's rest is:
    P("10") = P("1") * P("0" | "1"), and "1" keeps P("1") - P("10") (exclusive scoring, the
    floor of :func:`~workbench.backends.base.without_share`). Returns the keys left unsplit
    because the reply cannot be continued.
    """
    unsplit: set[int] = set()
    for i, key in enumerate(keys):
        longer = [j for j, other in enumerate(keys)
                  if other != key and other.startswith(key) and j not in found]
        if not longer or i not in found:
            continue
        if not extendable:
            unsplit.add(i)
            continue
        own = logsumexp(found[i])
        taken = 0.0
        for t, lp in match_keys(top(request.assistant_prefix + lead + key),
                                [keys[j][len(key):] for j in longer]):
            found.setdefault(longer[t], []).append(own + lp)
            taken += math.exp(lp)
        found[i] = [without_share(own, taken)]
    return unsplit
