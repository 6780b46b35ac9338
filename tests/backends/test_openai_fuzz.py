"""Fuzzing the OpenAI backend's answer parsers: whatever JSON a server sends back, the result
is a valid one or a WorkbenchError (ServerError / ServerGarbageError), never another exception.

Two levels: the pure parsers (``first_top_logprobs``, ``echo_logprob``, ``first_choice``,
``parse_retry_after``), and the whole backend with an in-memory transport answering every request
with the fuzzed body (so ``_json``, the server probe, matching and generation are covered).
"""

from __future__ import annotations

import json
import math

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.backends.base import GenerateRequest, Message, ScoreRequest
from workbench.backends.openai.backend import OpenAIBackend
from workbench.backends.openai.transport import parse_retry_after
from workbench.backends.openai.wire import Garbage, echo_logprob, first_choice, first_top_logprobs
from workbench.errors import WorkbenchError
from workbench.models import resolve_model

# JSON leaves, including what Python's json module reads and writes beyond the standard:
# NaN, Infinity and integers too large for a float.
leaves = (st.none() | st.booleans() | st.integers(min_value=-(10**400), max_value=10**400)
          | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
          | st.sampled_from(["1", " 1", "2", " ", "", "\n", "yes", " no"]))
json_any = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8) | st.sampled_from(
        ["choices", "logprobs", "content", "top_logprobs", "token", "logprob", "tokens",
         "token_logprobs", "text_offset", "usage", "prompt_tokens", "message", "text",
         "error", "data", "owned_by", "prompt", "code"]), inner, max_size=4),
    max_leaves=20,
)


def maybe(strategy):
    """Mostly the expected shape, sometimes anything (nested shapes stay reachable)."""
    return st.one_of(strategy, strategy, strategy, strategy, json_any)


# Values a log-prob field may hold: ordinary ones and the edge cases parsers trip over.
odd = st.sampled_from([10**400, -(10**400), math.nan, math.inf, -math.inf, True, None, "0.5",
                       1e308, -1e308, 0, 5])
logprob = st.floats(-50, 0) | odd


# Bodies shaped like real answers, with every part possibly replaced by anything.
chat_entry = st.fixed_dictionaries({"token": maybe(st.sampled_from(["1", " 2", " ", "x"])),
                                    "logprob": maybe(logprob)})
chat_body = st.fixed_dictionaries({"choices": maybe(st.lists(st.fixed_dictionaries({
    "logprobs": maybe(st.fixed_dictionaries({"content": maybe(st.lists(
        st.fixed_dictionaries({"token": maybe(st.text(max_size=3)),
                               "logprob": maybe(logprob),
                               "top_logprobs": maybe(st.lists(chat_entry, max_size=5))}),
        max_size=2))})),
    "message": maybe(st.fixed_dictionaries({"content": maybe(st.text(max_size=8))})),
    "text": maybe(st.text(max_size=8)),
}), max_size=2))})
legacy_body = st.fixed_dictionaries({"choices": maybe(st.lists(st.fixed_dictionaries({
    "logprobs": maybe(st.fixed_dictionaries({
        "top_logprobs": maybe(st.lists(maybe(st.dictionaries(
            st.sampled_from(["1", " 1", "2", " 2", " "]), maybe(logprob))),
            max_size=2)),
        "tokens": maybe(st.lists(maybe(st.sampled_from(["The", " capital", " Paris", " 1",
                                                         "Answer", ":"])), max_size=12)),
        "token_logprobs": maybe(st.lists(maybe(logprob), max_size=12)),
        "text_offset": maybe(st.lists(maybe(st.integers(-5, 200) | odd), max_size=12)),
    })),
}), max_size=2)), "usage": maybe(st.fixed_dictionaries({"prompt_tokens": maybe(
    st.integers(-3, 40) | odd)}))})
error_body = st.fixed_dictionaries({"error": maybe(st.fixed_dictionaries({
    "message": maybe(st.text(max_size=10)), "code": maybe(st.integers(-1, 700))}))})
bodies = json_any | chat_body | legacy_body | error_body

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# The pure parsers are fast: search harder (a huge integer log-prob deep inside a chat answer
# needs a few thousand examples to turn up).
PARSERS = settings(FUZZ, max_examples=4000)


def _valid_top(result: list) -> None:
    assert result, "an empty top-k must be Garbage"
    values = [v for _, v in result]
    assert all(isinstance(t, str) for t, _ in result)
    assert all(isinstance(v, float) and math.isfinite(v) for v in values)
    assert values == sorted(values, reverse=True)


@PARSERS
@given(st.one_of(chat_body, legacy_body, json_any))
def test_first_top_logprobs_gives_a_top_k_or_garbage(data):
    if not isinstance(data, dict):
        return  # _json rejects non-objects before any parser runs
    try:
        result = first_top_logprobs(data)
    except Garbage:
        return
    _valid_top(result)


@PARSERS
@given(st.one_of(legacy_body, json_any),
       st.sampled_from(["The capital of France is Paris", "Answer: 1", "x"]),
       st.integers(0, 12))
def test_echo_logprob_gives_a_sum_or_garbage(data, prompt, cont_chars):
    if not isinstance(data, dict):
        return
    try:
        total, count = echo_logprob(data, prompt, cont_chars)
    except Garbage:
        return
    assert isinstance(total, float) and math.isfinite(total)
    assert isinstance(count, int) and count >= 1


@FUZZ
@given(bodies)
def test_first_choice_gives_a_dict_or_garbage(data):
    if not isinstance(data, dict):
        return
    try:
        choice = first_choice(data)
    except Garbage:
        return
    assert isinstance(choice, dict)


@given(st.one_of(st.none(), st.text(max_size=30),
                 st.sampled_from(["nan", "inf", "-inf", "-5", "1e400", "Wed, 21 Oct 2015 "
                                  "07:28:00 GMT", "Mon, 99 Foo 2015 07:28:00 GMT"])))
def test_retry_after_is_none_or_a_finite_non_negative_delay(value):
    delay = parse_retry_after(value)
    assert delay is None or (math.isfinite(delay) and delay >= 0)


# ----------------------------------------------------------------------- whole backend
def _backend(body, **options) -> OpenAIBackend:
    raw = json.dumps(body).encode()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=raw, headers={"Content-Type": "application/json"})

    spec = resolve_model("openai:fuzz@http://127.0.0.1:9/v1")
    return OpenAIBackend(spec, transport=httpx.MockTransport(answer), max_retries=0,
                         max_concurrency=1, **options)


SCORE = [ScoreRequest((Message("user", "Pick one.\n1. a\n2. b"),), (" 1", " 2"), "Answer:")]
GENERATE = [GenerateRequest((Message("user", "Say one."),), 4, 0.0, 0, "Answer:")]


@FUZZ
@given(bodies, st.sampled_from(["auto", "completions_echo", "chat_top_logprobs",
                                "completions_top_logprobs"]),
       st.sampled_from(["auto", "assistant", "user"]))
def test_any_answer_scores_or_fails_with_a_workbench_error(body, method, prefill):
    backend = _backend(body, logprob_method=method, prefill=prefill)
    try:
        got = backend.score_options(SCORE)
    except WorkbenchError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    finally:
        backend.close()
    (scores,) = got
    assert len(scores.logprobs) == 2 and len(scores.n_tokens) == 2
    assert all(isinstance(v, float) and not math.isnan(v) for v in scores.logprobs)


@FUZZ
@given(bodies, st.sampled_from(["chat", "completions"]), st.sampled_from(["auto", "user"]))
def test_any_answer_generates_or_fails_with_a_workbench_error(body, endpoint, prefill):
    backend = _backend(body, generate_endpoint=endpoint, prefill=prefill)
    try:
        (text,) = backend.generate(GENERATE)
    except WorkbenchError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    finally:
        backend.close()
    assert isinstance(text, str)


@pytest.mark.parametrize("raw", [b"", b"{", b"[1, 2]", b"\xff\xfe garbage", b"null",
                                 b"[" * 100_000])
def test_bodies_that_are_not_json_objects_are_garbage(raw):
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=raw)

    spec = resolve_model("openai:fuzz@http://127.0.0.1:9/v1")
    backend = OpenAIBackend(spec, transport=httpx.MockTransport(answer), max_retries=0,
                            logprob_method="chat_top_logprobs", prefill="user")
    with pytest.raises(WorkbenchError, match="garbage"):
        backend.score_options(SCORE)
