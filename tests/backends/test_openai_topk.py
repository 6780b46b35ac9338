"""Option log-probs from top-k alternatives, on hand-worked top-k lists (no server)."""

from __future__ import annotations

import math

import pytest

from workbench.backends.base import Message, ScoreRequest
from workbench.backends.openai.topk import score_from_top

Q = (Message("user", "Pick one."),)


def lists(table: dict[str, dict[str, float]]):
    """``top(prefix)`` answering from ``table`` (probabilities), recording what was asked."""
    asked: list[str] = []

    def top(prefix: str):
        asked.append(prefix)
        return sorted(((t, math.log(p)) for t, p in table[prefix].items()), key=lambda x: -x[1])

    return top, asked


def probs(values):
    return [math.exp(v) for v in values]


def test_options_outside_the_top_k_get_the_smallest_value_seen_and_are_marked():
    top, asked = lists({"Answer:": {"1": 0.5, "2": 0.3, "3": 0.1}})
    got = score_from_top(ScoreRequest(Q, (" 1", " 2", " 3", " 4"), "Answer:"), top, True, None)
    assert probs(got.logprobs) == pytest.approx([0.5, 0.3, 0.1, 0.1])
    assert got.n_tokens == (1, 1, 1, 0) and got.truncated == (False, False, False, True)
    assert asked == ["Answer:"]
    fixed = score_from_top(ScoreRequest(Q, (" 1", " 4"), "Answer:"), top, True, -50.0)
    assert fixed.logprobs[1] == -50.0


def test_a_space_token_of_its_own_is_followed_by_one_more_request():
    top, asked = lists({"Answer:": {" ": 0.6, "1": 0.2}, "Answer: ": {"1": 0.5, "2": 0.5}})
    got = score_from_top(ScoreRequest(Q, (" 1", " 2"), "Answer:"), top, True, None)
    assert probs(got.logprobs) == pytest.approx([0.2 + 0.6 * 0.5, 0.6 * 0.5])
    assert asked == ["Answer:", "Answer: "]
    alone = score_from_top(ScoreRequest(Q, (" 1", " 2"), "Answer:"), top, False, None)
    assert alone.truncated == (False, True)  # a reply that cannot be continued: no follow-up


def test_a_key_that_begins_a_longer_key_keeps_only_its_own_mass():
    table = {"Answer:": {"1": 0.6, "2": 0.4}, "Answer: 1": {"0": 0.25, "\n": 0.75}}
    top, asked = lists(table)
    req = ScoreRequest(Q, (" 1", " 2", " 10"), "Answer:")
    got = score_from_top(req, top, True, None)
    assert probs(got.logprobs) == pytest.approx([0.6 * 0.75, 0.4, 0.6 * 0.25])
    assert got.n_tokens == (1, 1, 1) and not got.unsplit and asked[-1] == "Answer: 1"
    stuck = score_from_top(req, lists(table)[0], False, None)
    assert stuck.unsplit == {0} and stuck.n_tokens[0] == 0  # approximate: holds " 10" too
    assert math.exp(stuck.logprobs[0]) == pytest.approx(0.6)
    plain = score_from_top(ScoreRequest(Q, req.options, "Answer:", exclusive=False),
                           lists(table)[0], True, None)
    assert math.exp(plain.logprobs[0]) == pytest.approx(0.6)


def test_an_empty_key_is_refused():
    from workbench.errors import WorkbenchError

    with pytest.raises(WorkbenchError, match="include an empty one"):
        score_from_top(ScoreRequest(Q, (" 1", " "), "Answer:"), lists({})[0], True, None)
