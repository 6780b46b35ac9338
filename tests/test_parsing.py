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
    # Audit cases: a refusal that mentions keys, the article "a", negated labels, JSON floats.
    ("As an AI language model, I cannot choose between 1 and 5.", NUM, EN, None, "refusal"),
    ("I'd go with a C.", LET, EN, 2, "ok"),
    ("I would pick a middle option: C", LET, EN, 2, "ok"),
    ("I do not agree", NUM, EN, None, "unparseable"),  # neither "agree" nor "disagree"
    ("I don't strongly agree", NUM, EN, None, "unparseable"),
    ("I wouldn't say I agree", NUM, EN, None, "unparseable"),
    ("I do not agree; I disagree.", NUM, EN, 1, "ok"),
    ("No, I agree.", NUM, EN, 3, "ok"),  # punctuation ends the negation
    ("No estoy de acuerdo", NUM, ES, None, "unparseable"),
    ("No estoy muy de acuerdo", NUM, ES, None, "unparseable"),
    ('{"answer": 4.0}', NUM, EN, 3, "ok"),
    ('{"answer": "4.0"}', NUM, EN, 3, "ok"),
    ('{"answer": 4.5}', NUM, EN, None, "unparseable"),
    ('{"answer": true}', NUM, EN, None, "unparseable"),
    ('```json\n{"answer": 3}\n```', NUM, EN, 2, "ok"),
    ("Sorry, I can't help with that", NUM, EN, None, "refusal"),
    ("I\u2019m sorry, but I can\u2019t assist with that request.", NUM, EN, None, "refusal"),
    ("I cannot answer this. 1 = strongly disagree, 5 = strongly agree", NUM, EN, None,
     "refusal"),
    ("No puedo responder a esta pregunta.", NUM, ES, None, "refusal"),
    ("Como modelo de lenguaje, no tengo opiniones personales.", NUM, ES, None, "refusal"),
    ("Lo siento, pero no puedo dar una opinión sobre esto.", NUM, ES, None, "refusal"),
    ("En tant qu'IA, je ne peux pas répondre.", NUM, EN, None, "refusal"),
    # A disclaimer followed by an answer is an answer; so is a cue after a decline.
    ("As an AI, I don't have personal opinions, but I would choose 4.", NUM, EN, 3, "ok"),
    ("I can't really choose, but I'd go with 4.", NUM, EN, 3, "ok"),
    ("Como IA, no tengo opiniones, pero elegiría 4.", NUM, ES, 3, "ok"),
    # Hedges and formats
    ("Somewhere between 3 and 4, so 3", NUM, EN, 2, "ok"),
    ("Maybe 3 or 4.", NUM, EN, None, "unparseable"),
    ("On a scale of 1 to 5, I'd say 4.", NUM, EN, 3, "ok"),
    ("Final answer: 2. Option 4 would be too strong.", NUM, EN, 1, "ok"),
    ("Not 3, but 4.", NUM, EN, 3, "ok"),
    ("Probably a 4.", NUM, EN, 3, "ok"),
    ("3/5", NUM, EN, 2, "ok"),
    ("Rating: 4/5", NUM, EN, 3, "ok"),
    ("**4** \u2013 Moderately agree", NUM, EN, 3, "ok"),
    ("Answer: (B)", LET, EN, 1, "ok"),
    ("I choose A because it fits best.", LET, EN, 0, "ok"),
    ("A hard question. B.", LET, EN, 1, "ok"),
    ("I think I'd pick D.", tuple("ABCDEFGHIJ"), EN, 3, "ok"),  # not "I", not the "d" of I'd
    ("Respuesta: (C)", LET, ES, 2, "ok"),
    ("Mi respuesta es 2 (en desacuerdo).", NUM, ES, 1, "ok"),
    ("Ich wähle 4.", NUM, EN, 3, "ok"),
    ("Je choisis 2.", NUM, EN, 1, "ok"),
]

# Real label texts from data/instruments/*.yaml whose wording contains a negation.
MFQ2_EN = ("Does not describe me at all", "Slightly describes me", "Moderately describes me",
           "Describes me fairly well", "Describes me extremely well")
MFQ2_ES = ("No me describe en absoluto", "Me describe en cierta medida",
           "Me describe moderadamente", "Me describe bastante bien",
           "Me describe extremadamente bien")
MFQ30_RELEVANCE = (
    "not at all relevant (This consideration has nothing to do with my judgments of right and "
    "wrong)", "not very relevant", "slightly relevant", "somewhat relevant", "very relevant",
    "extremely relevant (This is one of the most important factors when I judge right and "
    "wrong)")
WVS_IMPORTANCE10 = ("Not at all important", "2", "3", "4", "5", "6", "7", "8", "9",
                    "Very important")
WVS_HAPPY = ("Very happy", "Quite happy", "Not very happy", "Not at all happy")
WVS_TRUST = ("Most people can be trusted", "Need to be very careful")
WVS_FUTURE = ("Good thing", "Don't mind", "Bad thing")
K10 = tuple(str(i) for i in range(1, 11))
K6 = tuple(str(i) for i in range(6))

LABEL_NEGATION_CASES = [
    ("Does not describe me at all.", NUM, MFQ2_EN, 0, "ok"),
    ("This doesn't describe me at all.", NUM, MFQ2_EN, 0, "ok"),
    ("It describes me fairly well", NUM, MFQ2_EN, 3, "ok"),
    ("No me describe en absoluto", NUM, MFQ2_ES, 0, "ok"),
    ("Creo que me describe bastante bien.", NUM, MFQ2_ES, 3, "ok"),
    ("No me describe bastante bien.", NUM, MFQ2_ES, None, "unparseable"),
    ("Not at all relevant", K6, MFQ30_RELEVANCE, 0, "ok"),
    ("Not very relevant.", K6, MFQ30_RELEVANCE, 1, "ok"),
    ("Not at all important", K10, WVS_IMPORTANCE10, 0, "ok"),
    ("It is not very important to me", K10, WVS_IMPORTANCE10, None, "unparseable"),
    ("I am not very happy.", K10[:4], WVS_HAPPY, 2, "ok"),
    ("I'm not quite happy", K10[:4], WVS_HAPPY, None, "unparseable"),
    ("Most people can be trusted.", K10[:2], WVS_TRUST, 0, "ok"),
    ("I don't think most people can be trusted", K10[:2], WVS_TRUST, None, "unparseable"),
    ("I don't mind", K10[:3], WVS_FUTURE, 1, "ok"),
    # A negated phrase that IS a label matches that label as a whole.
    ("No estoy de acuerdo.", NUM[:2], ("No estoy de acuerdo", "Estoy de acuerdo"), 0, "ok"),
    ("Estoy de acuerdo.", NUM[:2], ("No estoy de acuerdo", "Estoy de acuerdo"), 1, "ok"),
    ("Not important", NUM[:2], ("Important", "Not important"), 1, "ok"),
    ("Not really important", NUM[:2], ("Important", "Not important"), None, "unparseable"),
]


@pytest.mark.parametrize("text, keys, labels, position, status", CASES)
def test_parse_realistic_answers(text, keys, labels, position, status):
    parsed = parse_answer(text, keys, labels)
    assert (parsed.position, parsed.status) == (position, status), parsed


@pytest.mark.parametrize("text, keys, labels, position, status", LABEL_NEGATION_CASES)
def test_negated_labels_and_labels_containing_negation(text, keys, labels, position, status):
    parsed = parse_answer(text, keys, labels)
    assert (parsed.position, parsed.status) == (position, status), parsed


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30


def test_parse_methods_name_the_evidence():
    assert parse_answer('{"answer": 4.0}', NUM, EN).method == "json"
    assert parse_answer("I'd go with a C.", LET, EN).method == "key"
    assert parse_answer("I disagree", NUM, EN).method == "label"
    assert parse_answer("Sorry, I can't help with that", NUM, EN).method == "refusal"
    assert parse_answer("I do not agree", NUM, EN).method == "none"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_parser_never_crashes_and_returns_valid_positions(text):
    parsed = parse_answer(text, NUM, EN)
    assert parsed.status in {"ok", "refusal", "unparseable"}
    if parsed.status == "ok":
        assert 0 <= parsed.position < len(NUM)
    else:
        assert parsed.position is None
