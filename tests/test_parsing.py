"""The generated-answer parser on realistic model outputs, refusals and other languages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.parsing import parse_answer

NUM = ("1", "2", "3", "4", "5")
EN = ("strongly disagree", "disagree", "neither agree nor disagree", "agree", "strongly agree")
ES = ("muy en desacuerdo", "en desacuerdo", "ni de acuerdo ni en desacuerdo", "de acuerdo",
      "muy de acuerdo")
LET = ("A", "B", "C", "D", "E")

CASES = [
    # (text, keys, labels, expected position or None, expected status)
    ("4", NUM, EN, 3, "ok"),
    (" 2", NUM, EN, 1, "ok"),
    ("3.", NUM, EN, 2, "ok"),
    ("(5)", NUM, EN, 4, "ok"),
    ("**4**", NUM, EN, 3, "ok"),
    ("I would choose 4.", NUM, EN, 3, "ok"),
    ("My answer is 2 - disagree.", NUM, EN, 1, "ok"),
    ("Answer: 1", NUM, EN, 0, "ok"),
    ("Option 3 best describes my view.", NUM, EN, 2, "ok"),
    ("4. agree\n\nBecause family matters a lot.", NUM, EN, 3, "ok"),
    ('{"answer": 5}', NUM, EN, 4, "ok"),
    ('Here is my response: {"answer": "2", "reason": "x"}', NUM, EN, 1, "ok"),
    ('{"choice": "agree"}', NUM, EN, 3, "ok"),
    ("Strongly agree.", NUM, EN, 4, "ok"),
    ("I agree with this statement.", NUM, EN, 3, "ok"),
    ("I strongly disagree", NUM, EN, 0, "ok"),
    ("Neither agree nor disagree", NUM, EN, 2, "ok"),
    ("B", LET, EN, 1, "ok"),
    ("(C) neither", LET, EN, 2, "ok"),
    ("I'd pick D.", LET, EN, 3, "ok"),
    ("Answer: E", LET, EN, 4, "ok"),
    ("Respuesta: 3", NUM, ES, 2, "ok"),
    ("Elijo la opción 4.", NUM, ES, 3, "ok"),
    ("Muy de acuerdo", NUM, ES, 4, "ok"),
    ("Estoy en desacuerdo.", NUM, ES, 1, "ok"),
    ("As an AI, I don't have personal opinions.", NUM, EN, None, "refusal"),
    ("I'm an AI language model and cannot answer this.", NUM, EN, None, "refusal"),
    ("I would prefer not to answer.", NUM, EN, None, "refusal"),
    ("I don't have personal beliefs about this topic.", NUM, EN, None, "refusal"),
    ("Prefiero no responder.", NUM, ES, None, "refusal"),
    ("Como inteligencia artificial, no puedo responder.", NUM, ES, None, "refusal"),
    ("Ich möchte nicht antworten.", NUM, EN, None, "refusal"),
    ("", NUM, EN, None, "unparseable"),
    ("Hmm, that is a difficult question about life.", NUM, EN, None, "unparseable"),
    ("2 or 4, it depends.", NUM, EN, 1, "ok"),  # first key at the start wins
    ("Between 2 and 4 I can't decide", NUM, EN, None, "unparseable"),
    ("12", NUM, EN, None, "unparseable"),  # not a shown key
    ("The year 2023 was great", NUM, EN, None, "unparseable"),
    ("<script>alert(1)</script>", NUM, EN, None, "unparseable"),
    ("a", LET, EN, 0, "ok"),
    ("It is a hard one. C.", LET, EN, 2, "ok"),
]


@pytest.mark.parametrize("text, keys, labels, position, status", CASES)
def test_parse_realistic_answers(text, keys, labels, position, status):
    parsed = parse_answer(text, keys, labels)
    assert (parsed.position, parsed.status) == (position, status), parsed


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_parser_never_crashes_and_returns_valid_positions(text):
    parsed = parse_answer(text, NUM, EN)
    assert parsed.status in {"ok", "refusal", "unparseable"}
    if parsed.status == "ok":
        assert 0 <= parsed.position < len(NUM)
    else:
        assert parsed.position is None
