"""The backend-independent rules: continuation log-probs into complete answers, plain prompts,
the trailing-space split and wire messages."""

from __future__ import annotations

import math

import pytest

from workbench.backends.base import (
    EXCLUSIVE_FLOOR,
    Message,
    exclusive_logprobs,
    render_plain,
    split_trailing_spaces,
    wire_messages,
    without_share,
)


def probs(values):
    return [math.exp(v) for v in values]


def test_options_without_extensions_are_unchanged():
    lps = [math.log(p) for p in (0.1, 0.2, 0.3)]
    assert exclusive_logprobs([[1], [2], [3]], lps) == tuple(lps)


def test_only_the_shortest_extensions_are_subtracted():
    # " 1" < " 10" < " 100": reply " 100" is inside " 10" already, so " 1" loses P(" 10") only
    tokens = [["_", "1"], ["_", "1", "0"], ["_", "1", "0", "0"], ["_", "2"]]
    p = [0.6, 0.25, 0.05, 0.1]
    got = probs(exclusive_logprobs(tokens, [math.log(x) for x in p]))
    assert got == pytest.approx([0.6 - 0.25, 0.25 - 0.05, 0.05, 0.1])


def test_several_disjoint_extensions_are_all_subtracted():
    tokens = [["1"], ["1", "0"], ["1", "1"], ["1", "2"]]
    p = [0.9, 0.2, 0.1, 0.3]
    got = probs(exclusive_logprobs(tokens, [math.log(x) for x in p]))
    assert got[0] == pytest.approx(0.9 - 0.6)
    assert got[1:] == pytest.approx(p[1:])


def test_rounding_never_gives_negative_or_nan_mass():
    # the longer option's log-prob computed in another batch can exceed its prefix's by 1e-9
    tokens = [["1"], ["1", "0"]]
    got = exclusive_logprobs(tokens, [math.log(0.5), math.log(0.5) + 1e-9])
    assert math.isfinite(got[0]) and math.exp(got[0]) < 1e-9


def test_token_identity_not_text_decides():
    # a tokenizer with a single " 10" token: no prefix relation, nothing subtracted
    lps = [math.log(0.4), math.log(0.3)]
    assert exclusive_logprobs([[101], [110]], lps) == tuple(lps)


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError):
        exclusive_logprobs([[1]], [0.0, 0.0])


def test_a_share_taken_by_longer_answers_leaves_the_rest_and_never_minus_infinity():
    assert math.exp(without_share(math.log(0.5), 0.4)) == pytest.approx(0.3)
    for taken in (1.0, 1.0 + 1e-9):  # all of it (rounding: a bit more)
        assert without_share(math.log(0.5), taken) == pytest.approx(
            math.log(0.5) + math.log(EXCLUSIVE_FLOOR))


def test_plain_prompts_join_turns_by_blank_lines_then_the_prefix():
    msgs = (Message("system", "P"), Message("user", "Q"))
    assert render_plain(msgs, "Answer:") == "P\n\nQ\n\nAnswer:"
    assert render_plain(msgs) == "P\n\nQ\n\n"


@pytest.mark.parametrize(("text", "expected"), [
    ("Answer: ", ("Answer:", " ")), ("Answer:  ", ("Answer:", "  ")),
    ("Answer:", ("Answer:", "")), ("Answer:\n", ("Answer:\n", "")),  # only spaces move
])
def test_trailing_spaces_belong_to_the_option(text, expected):
    assert split_trailing_spaces(text) == expected


def test_wire_messages_keep_role_content_and_order():
    msgs = (Message("system", "P"), Message("user", "Q"), Message("assistant", "A"))
    assert wire_messages(msgs) == [{"role": "system", "content": "P"},
                                   {"role": "user", "content": "Q"},
                                   {"role": "assistant", "content": "A"}]
