"""The OpenAI-compatible backend against a fake server (exact numbers, failures) and a real
llama.cpp server serving the embedded SmolLM2 (marked ``server``; skipped when none installs).

Every request goes to 127.0.0.1; every wait and retry loop is bounded.
"""

from __future__ import annotations

import logging
import math
import socket
import time
from pathlib import Path

import pytest

from tests.backends.fake_openai_server import (
    FakeOpenAIServer,
    render_chat,
    token_logprob,
    tokenize,
)
from workbench.backends.base import GenerateRequest, Message, ScoreRequest
from workbench.backends.openai.backend import ServerOptionScores
from workbench.backends.openai.transport import ServerError, ServerGarbageError
from workbench.design import Design
from workbench.errors import WorkbenchError
from workbench.models import load_model
from workbench.probe import run_probe

Q1 = Message("user", "How important is family?\n\n1. very\n2. somewhat\n3. not\n\nAnswer.")
Q2 = Message("user", "Is stealing wrong?\n\n1. agree\n2. disagree\n\nAnswer.")
SYS = Message("system", "You are a farmer from a small town.")


def backend(server: FakeOpenAIServer, **options):
    options.setdefault("backoff", 0.01)
    return load_model(f"openai:fake@{server.base_url}", **options)


def _lse(*values: float) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _table(table: dict[str, float]):
    return lambda context: table


# --------------------------------------------------------------------- option log-probs
def test_completions_echo_sums_option_tokens_like_a_naive_pass():
    reqs = [
        ScoreRequest((Q1,), (" 1", " 2", " 3"), "Answer:"),
        ScoreRequest((SYS, Q1), (" very important", " not at all"), "Answer:"),
        ScoreRequest((Q2,), ("A", "B"), "Answer: "),  # trailing space moves to the option
    ]
    with FakeOpenAIServer(echo=True) as server:
        b = backend(server, logprob_method="completions_echo")
        got = b.score_options(reqs)
        prompts = {r["body"]["prompt"] for r in server.requests}
    for req, scores in zip(reqs, got, strict=True):
        assert isinstance(scores, ServerOptionScores) and not any(scores.truncated)
        context = "\n\n".join(m.content for m in req.messages) + "\n\n" + req.assistant_prefix
        stripped = context.rstrip(" ")
        for option, value, n in zip(req.options, scores.logprobs, scores.n_tokens, strict=True):
            prompt = stripped + context[len(stripped):] + option
            assert prompt in prompts  # plain text, no chat template
            naive, pos, count = 0.0, 0, 0
            for tok in tokenize(prompt):
                if pos >= len(stripped):
                    naive += token_logprob(prompt[:pos], tok)
                    count += 1
                pos += len(tok)
            assert value == pytest.approx(naive, abs=1e-9)
            assert n == count


def test_chat_top_logprobs_match_keys_and_floor_missing_options():
    table = {"1": -0.5, " 2": -1.2, "2": -2.0, "\n": -2.5, "Yes": -3.0}
    with FakeOpenAIServer(owned_by="llamacpp", next_logprobs=_table(table)) as server:
        b = backend(server, logprob_method="chat_top_logprobs")
        (scores,) = b.score_options([ScoreRequest((SYS, Q1), (" 1", " 2", " 3"), "Answer:")])
        body = server.requests[-1]["body"]
    assert scores.logprobs[0] == pytest.approx(-0.5)
    assert scores.logprobs[1] == pytest.approx(_lse(-1.2, -2.0))  # " 2" and "2" both count
    assert scores.logprobs[2] == pytest.approx(-3.0)  # floor: the smallest value returned
    assert scores.truncated == (False, False, True) and scores.n_tokens == (1, 1, 0)
    assert body["logprobs"] is True and body["top_logprobs"] == 20 and body["max_tokens"] == 1
    # llama.cpp continues a final assistant message: the prefix is prefilled there.
    assert body["messages"][-1] == {"role": "assistant", "content": "Answer:"}
    assert body["messages"][0]["role"] == "system"


@pytest.mark.parametrize("method", ["chat_top_logprobs", "completions_top_logprobs"])
def test_a_leading_space_token_is_followed_once(method):
    """Tokenizers that split " 1" into " " + "1": P(" 1") = P("1") + P(" ") P("1" | " ")."""
    def dist(context: str) -> dict[str, float]:
        if context.endswith("Answer: "):
            return {"1": -0.1, "2": -2.5, "\n": -4.0}
        return {"<eos>": -0.1, "\n": -0.5, " ": -0.9, "1": -3.0}  # the space is not first

    with FakeOpenAIServer(owned_by="llamacpp", next_logprobs=dist) as server:
        b = backend(server, logprob_method=method)
        (scores,) = b.score_options([ScoreRequest((Q1,), (" 1", " 2", " 3"), "Answer:")])
        assert server.count() - server.count("/v1/models") == 2
        # Options without a leading space: nothing to follow.
        b.score_options([ScoreRequest((Q1,), ("1", "2"), "Answer:")])
        assert server.count() - server.count("/v1/models") == 3
    assert scores.logprobs[0] == pytest.approx(_lse(-3.0, -0.9 - 0.1))
    assert scores.logprobs[1] == pytest.approx(-0.9 - 2.5)
    assert scores.truncated == (False, False, True)
    assert scores.logprobs[2] == pytest.approx(_lse(-3.0, -0.9 - 4.0))


@pytest.mark.parametrize("method", ["chat_top_logprobs", "completions_top_logprobs"])
def test_a_key_that_begins_a_longer_key_is_split_by_one_continuation(method):
    """Keys 1..10 with digit-split tokens: P("10") = P(" 1") P("0" | " 1"), "1" keeps the rest."""
    def digits(context: str) -> dict[str, float]:
        if context.endswith("Answer: 1"):
            return {"0": math.log(0.4), "\n": math.log(0.6)}
        if context.endswith("Answer:"):
            return {" 1": math.log(0.5), " 2": math.log(0.3), " 3": math.log(0.2)}
        return {"\n": 0.0}

    options = (" 1", " 2", " 3", " 10")
    with FakeOpenAIServer(owned_by="llamacpp", next_logprobs=digits) as server:
        b = backend(server, logprob_method=method)
        (scores,) = b.score_options([ScoreRequest((Q1,), options, "Answer:")])
        (plain,) = b.score_options([ScoreRequest((Q1,), options, "Answer:", exclusive=False)])
    got = [math.exp(v) for v in scores.logprobs]
    assert got == pytest.approx([0.5 * 0.6, 0.3, 0.2, 0.5 * 0.4])
    assert scores.truncated == (False,) * 4 and scores.n_tokens == (1,) * 4
    # not exclusive: plain first-token scores, "10" outside the top-k gets the floor
    assert math.exp(plain.logprobs[0]) == pytest.approx(0.5) and plain.truncated[3]


def test_a_key_that_begins_a_longer_key_is_marked_where_replies_cannot_be_continued(caplog):
    table = {" 1": math.log(0.5), " 2": math.log(0.5)}
    with FakeOpenAIServer(owned_by="someone", next_logprobs=_table(table)) as s:
        b = backend(s, logprob_method="chat_top_logprobs")
        with caplog.at_level(logging.WARNING):
            (scores,) = b.score_options([ScoreRequest((Q1,), (" 1", " 2", " 10"), "Answer:")])
    assert scores.n_tokens == (0, 1, 0)  # " 1" approximate, " 10" not in the top-k
    assert "keep the longer keys' mass" in caplog.text


def test_echo_scores_are_exclusive_at_the_token_level():
    """The fake tokenizer keeps " 10" as one token: no prefix relation, nothing subtracted."""
    options = (" 1", " 2", " 10")
    with FakeOpenAIServer(echo=True) as server:
        b = backend(server, logprob_method="completions_echo")
        (excl,) = b.score_options([ScoreRequest((Q1,), options, "Answer:")])
        (plain,) = b.score_options([ScoreRequest((Q1,), options, "Answer:", exclusive=False)])
    assert excl.logprobs == plain.logprobs


def test_url_credentials_and_an_api_key_together_are_refused(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    with pytest.raises(WorkbenchError, match="only one Authorization header"):
        load_model("openai:m@http://user:pw@127.0.0.1:9/v1")
    assert load_model("openai:m@http://user:pw@127.0.0.1:9/v1", api_key_env=None)


def test_prefix_goes_into_user_turn_where_prefill_is_unknown_and_vllm_gets_its_flag():
    with FakeOpenAIServer(owned_by="someone", next_logprobs=_table({" ": -0.1, "1": -1})) as s:
        b = backend(s, logprob_method="chat_top_logprobs")
        (scores,) = b.score_options([ScoreRequest((Q1,), (" 1", " 2"), "Answer:")])
        assert s.count("/v1/chat/completions") == 1  # the prefix cannot be continued
        messages = s.requests[-1]["body"]["messages"]
    assert [m["role"] for m in messages] == ["user"]
    assert messages[-1]["content"] == Q1.content + "\n\nAnswer:"
    assert scores.logprobs[0] == pytest.approx(-1.0)
    with FakeOpenAIServer(owned_by="vllm", prefill="flag") as s:
        b = backend(s, logprob_method="chat_top_logprobs")
        b.score_options([ScoreRequest((Q1,), (" 1", " 2"), "Answer:")])
        body = next(r["body"] for r in s.requests if r["path"] == "/v1/chat/completions")
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["messages"][-1] == {"role": "assistant", "content": "Answer:"}
    assert b.info.extra["prefill"] == "continue_final_message"


def test_completions_top_logprobs_legacy_format_and_server_template():
    table = {" 1": -0.7, " 2": -0.9, "\n": -3.0}
    with FakeOpenAIServer(next_logprobs=_table(table)) as server:
        b = backend(server, logprob_method="completions_top_logprobs", chat_template="server")
        (scores,) = b.score_options([ScoreRequest((SYS, Q1), (" 1", " 2"), "Answer:")])
        prompt = server.requests[-1]["body"]["prompt"]
    assert scores.logprobs == pytest.approx((-0.7, -0.9))
    wire = [{"role": m.role, "content": m.content} for m in (SYS, Q1)]
    assert prompt == render_chat(wire, continue_final=False) + "Answer:"
    with FakeOpenAIServer(apply_template=False) as server:
        b = backend(server, logprob_method="completions_top_logprobs", chat_template="server")
        with pytest.raises(WorkbenchError, match="apply-template"):
            b.score_options([ScoreRequest((Q1,), (" 1", " 2"), "Answer:")])


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"echo": True}, "completions_echo"),
        ({"echo": False}, "chat_top_logprobs"),
        ({"echo": False, "chat_logprobs": False}, "completions_top_logprobs"),
        ({"echo": False, "chat_logprobs": False, "completions_logprobs": False}, "none"),
    ],
)
def test_auto_probes_once_and_picks_what_works(flags, expected):
    with FakeOpenAIServer(**flags) as server:
        b = backend(server)
        assert b.info.extra["logprob_method"] == "auto"
        assert b.supports_logprobs is (expected != "none")
        n = server.count()
        assert b.logprob_method == expected and server.count() == n  # probed only once
        assert b.info.extra["logprob_method"] == expected
        if expected == "none":
            with pytest.raises(WorkbenchError, match="mode: generate"):
                b.score_options([ScoreRequest((Q1,), (" 1", " 2"), "Answer:")])


def test_run_probe_end_to_end_and_logprob_mode_needs_logprobs(tmp_path):
    with FakeOpenAIServer(echo=False) as server:
        name = f"openai:fake@{server.base_url}"
        design = Design(models=[name], instruments=["mfq30"], items=["q01", "q02"])
        # The CLI passes local-backend options to every model: they must be accepted.
        result = run_probe(design, tmp_path / "a", progress=False,
                           backend_options={"dtype": "float32", "allow_pickle": False})
        dists = result.store.distributions()
        req = result.store.requests()
        assert len(req) == 2 and set(req["backend"]) == {"openai"}
        assert dists.groupby("request_id")["prob"].sum().to_numpy() == pytest.approx(1.0)
    with FakeOpenAIServer(echo=False, chat_logprobs=False, completions_logprobs=False) as server:
        design = Design(models=[f"openai:fake@{server.base_url}"], instruments=["mfq30"],
                        items=["q01"])
        with pytest.raises(WorkbenchError, match="served without log-probabilities"):
            run_probe(design, tmp_path / "b", progress=False)


# --------------------------------------------------------------------- concurrency, order
def test_results_keep_request_order_under_concurrency():
    reqs = [ScoreRequest((Message("user", f"Question {i}?"),), (" 1", " 2", " 3"), "Answer:")
            for i in range(24)]
    gens = [GenerateRequest((Message("user", f"Say {i}"),), 8, 0.0, i) for i in range(12)]

    def jitter(body: dict) -> float:  # later requests answer sooner
        text = str(body.get("messages", body.get("prompt")))
        digits = "".join(c for c in text if c.isdigit()) or "0"
        return 0.02 / (1 + int(digits) % 7)

    with FakeOpenAIServer(owned_by="llamacpp", latency=jitter) as server:
        serial = backend(server, logprob_method="chat_top_logprobs", max_concurrency=1)
        expected = serial.score_options(reqs)
        expected_text = serial.generate(gens)
        assert server.max_in_flight == 1
        parallel = backend(server, logprob_method="chat_top_logprobs", max_concurrency=4)
        assert parallel.score_options(reqs) == expected
        assert parallel.generate(gens) == expected_text
        assert 1 < server.max_in_flight <= 4
    assert len({s.logprobs for s in expected}) > 1  # different questions, different answers


# --------------------------------------------------------------------- failures
def _error(message: str) -> dict:
    return {"error": {"message": message, "type": "test"}}


def test_retries_429_with_retry_after_then_500_then_succeeds():
    with FakeOpenAIServer() as server:
        server.script.extend([(429, {"Retry-After": "1"}, _error("slow down")),
                              (500, {}, _error("boom"))])
        b = backend(server, max_retries=5)
        t0 = time.monotonic()
        (text,) = b.generate([GenerateRequest((Q1,), 4)])
        elapsed = time.monotonic() - t0
        assert server.count("/v1/chat/completions") == 3
    assert text and 1.0 <= elapsed < 5.0  # waited as Retry-After asked, not much longer


def test_gives_up_after_max_retries_with_a_clear_message():
    with FakeOpenAIServer() as server:
        server.script.extend([(503, {}, _error("overloaded"))] * 10)
        b = backend(server, max_retries=2)
        with pytest.raises(WorkbenchError, match=r"failed POST /chat/completions 3 time.*503"):
            b.generate([GenerateRequest((Q1,), 4)])
        assert server.count() == 3


@pytest.mark.parametrize(("status", "hint"), [(400, "rejected"), (401, "MY_TEST_KEY"),
                                               (404, "base URL ends in /v1")])
def test_client_errors_fail_at_once(status, hint):
    with FakeOpenAIServer() as server:
        server.script.append((status, {}, _error(f"nope number {status}")))
        b = backend(server, max_retries=5, api_key_env="MY_TEST_KEY")
        with pytest.raises(WorkbenchError) as info:
            b.generate([GenerateRequest((Q1,), 4)])
        assert server.count() == 1
    message = str(info.value)
    assert str(status) in message and f"nope number {status}" in message and hint in message
    assert "\n" not in message


def test_api_key_is_sent_but_never_shown(monkeypatch, caplog):
    secret = "sk-test-very-secret-123"
    monkeypatch.setenv("MY_TEST_KEY", secret)
    caplog.set_level(logging.DEBUG)
    with FakeOpenAIServer() as server:
        server.script.append((500, {}, _error(f"bad key {secret}")))
        server.script.append((401, {}, _error(f"Incorrect API key provided: {secret}")))
        b = backend(server, api_key_env="MY_TEST_KEY", max_retries=3)
        with pytest.raises(WorkbenchError) as info:
            b.generate([GenerateRequest((Q1,), 4)])
        assert server.requests[-1]["headers"]["Authorization"] == f"Bearer {secret}"
        b.generate([GenerateRequest((Q1,), 4)])
    assert secret not in str(info.value) and "***" in str(info.value)
    assert secret not in repr(b) and secret not in repr(b.info)
    assert secret not in caplog.text


def test_garbage_answers_get_a_clear_error():
    with FakeOpenAIServer() as server:
        server.script.append((200, {}, b"<html>a login page</html>"))
        b = backend(server)
        with pytest.raises(ServerGarbageError, match="garbage.*OpenAI-compatible /v1"):
            b.generate([GenerateRequest((Q1,), 4)])
        server.script.append((200, {}, {"unexpected": True}))
        with pytest.raises(ServerGarbageError, match="garbage"):
            b.generate([GenerateRequest((Q1,), 4)])
        server.script.append((200, {}, {"choices": [{"logprobs": None}]}))
        with pytest.raises(ServerGarbageError, match="garbage"):
            backend(server, logprob_method="chat_top_logprobs", prefill="user").score_options(
                [ScoreRequest((Q1,), (" 1", " 2"), "Answer:")])


def test_timeouts_are_retried_then_reported():
    with FakeOpenAIServer() as server:
        server.script.extend([("sleep", 1.5), ("sleep", 1.5)])
        b = backend(server, timeout=0.3, max_retries=1)
        t0 = time.monotonic()
        with pytest.raises(WorkbenchError, match=r"no answer within 0.3 s.*raise timeout"):
            b.generate([GenerateRequest((Q1,), 4)])
        assert time.monotonic() - t0 < 1.5


def test_unreachable_server_is_reported():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    b = load_model(f"openai:x@http://127.0.0.1:{port}/v1", max_retries=1, backoff=0.01)
    with pytest.raises(WorkbenchError, match="cannot connect.*is the server running"):
        b.generate([GenerateRequest((Q1,), 4)])
    with pytest.raises(WorkbenchError, match="cannot connect"):
        _ = b.supports_logprobs  # the auto probe does not hide a dead server


def test_one_failure_stops_the_whole_batch_quickly():
    with FakeOpenAIServer() as server:
        server.script.extend([(400, {}, _error("bad request"))] + [(500, {}, _error("x"))] * 50)
        b = backend(server, max_retries=50, backoff=0.2, max_concurrency=4)
        t0 = time.monotonic()
        with pytest.raises(WorkbenchError, match="400"):
            b.generate([GenerateRequest((Message("user", f"q{i}"),), 4) for i in range(8)])
        assert time.monotonic() - t0 < 3.0


def test_an_error_inside_a_200_answer_moves_auto_detection_on():
    """HTTP 200 with {"error": ...} is a refused method, not a server that is down."""
    with FakeOpenAIServer(echo=True) as server:
        server.script.append((200, {}, _error("echo is not supported here")))
        b = backend(server)
        assert b.logprob_method == "chat_top_logprobs"
        assert any(n.startswith("completions_echo") and "echo is not supported here" in n
                   for n in b.probe_notes), b.probe_notes
        (scores,) = b.score_options([ScoreRequest((Q1,), (" 1", " 2"), "Answer:")])
        assert len(scores.logprobs) == 2
    # an error body naming a status the user must fix (a bad key) still stops at once
    with FakeOpenAIServer() as server:
        server.script.append((200, {}, {"error": {"message": "invalid key", "code": 401}}))
        b = backend(server)
        with pytest.raises(ServerError, match="invalid key") as info:
            _ = b.logprob_method
        assert info.value.status == 401
        assert server.count() == 1


# --------------------------------------------------------------------- generation, options
def test_generate_sends_sampling_options_and_strips_a_returned_prefill():
    with FakeOpenAIServer(owned_by="llamacpp", prefill_echo=True) as server:
        b = backend(server)
        (text,) = b.generate([GenerateRequest((Q1,), 7, 0.7, 42, "Answer:")])
        body = server.requests[-1]["body"]
        assert body["max_tokens"] == 7 and body["temperature"] == 0.7 and body["seed"] == 42
        assert not text.startswith("Answer:") and "seed=42" in text
        c = backend(server, generate_endpoint="completions")
        (plain,) = c.generate([GenerateRequest((Q1,), 5, 0.0, 1, "Answer:")])
        assert server.requests[-1]["body"]["prompt"] == Q1.content + "\n\nAnswer:"
        assert plain


def test_info_options_and_credentials_in_urls():
    b = load_model("openai:my-model@http://user:pw@127.0.0.1:9/v1/", logprob_method="none")
    info = b.info
    assert (info.key, info.model_id, info.backend, info.file_hash) == (
        "my-model", "my-model", "openai", None)
    assert info.extra["base_url"] == "http://127.0.0.1:9/v1"
    assert info.extra["logprob_method"] == "none" and not b.supports_logprobs
    assert "pw" not in repr(b) and "pw" not in repr(info)
    from workbench.backends.registry import fingerprint
    from workbench.models import resolve_model

    identity = fingerprint(resolve_model("openai:my-model@http://user:pw@127.0.0.1:9/v1"))
    assert identity == "openai:my-model@http://127.0.0.1:9/v1"
    # the loaded backend names the same identity the probe computes before loading
    assert b.fingerprint() == fingerprint(resolve_model(
        "openai:my-model@http://user:pw@127.0.0.1:9/v1/")) and "pw" not in b.fingerprint()
    with pytest.raises(WorkbenchError, match="unknown backend option 'concurency'"):
        load_model("openai:m@http://127.0.0.1:9/v1", concurency=2)
    with pytest.raises(WorkbenchError, match="logprob_method must be one of"):
        load_model("openai:m@http://127.0.0.1:9/v1", logprob_method="magic")
    with pytest.raises(WorkbenchError, match="http:// or https://"):
        load_model("openai:m@127.0.0.1:9/v1")


# --------------------------------------------------------------------- a real llama.cpp server
@pytest.fixture(scope="module")
def llama_url(tmp_path_factory):
    """A llama.cpp server serving the embedded SmolLM2 on a free 127.0.0.1 port."""
    from tests.backends.llama_server import INSTALL_HINT, running_server, smollm2_gguf

    model = smollm2_gguf()
    if model is None:
        pytest.skip("llama.cpp server tests need the embedded SmolLM2 (run `make setup`)")
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    try:
        with running_server(model, log) as (base, what):
            print(f"\nllama.cpp server: {what} at {base}")
            yield base
    except LookupError:
        print(f"\nSKIP: no llama.cpp server: {INSTALL_HINT}")
        pytest.skip(f"no llama.cpp server: {INSTALL_HINT}")


def _probs(scores) -> list[float]:
    top = max(scores.logprobs)
    weights = [math.exp(v - top) for v in scores.logprobs]
    return [w / sum(weights) for w in weights]


@pytest.mark.server
def test_real_server_auto_picks_chat_top_logprobs(llama_url):
    b = load_model(f"openai:smollm2@{llama_url}")
    assert b.supports_logprobs
    assert b.logprob_method == "chat_top_logprobs"  # llama.cpp ignores echo
    assert any("completions_echo" in note for note in b.probe_notes)
    assert b.info.extra == {"base_url": llama_url, "logprob_method": "chat_top_logprobs",
                            "prefill": "assistant", "server": "llamacpp"}


@pytest.mark.server
@pytest.mark.parametrize("method", ["chat_top_logprobs", "completions_top_logprobs"])
def test_real_server_option_scores_are_valid_distributions(llama_url, method):
    b = load_model(f"openai:smollm2@{llama_url}", logprob_method=method)
    suffix = "\n\nAnswer with the number of exactly one option."
    reqs = [
        ScoreRequest((Message("user", Q1.content + suffix),), (" 1", " 2", " 3"), "Answer:"),
        ScoreRequest((SYS, Message("user", "Is it ever right to lie?\n\n1. never\n2. rarely\n"
                                           "3. sometimes\n4. often" + suffix)),
                     (" 1", " 2", " 3", " 4"), "Answer:"),
    ]
    got = b.score_options(reqs)
    assert [len(s.logprobs) for s in got] == [3, 4]
    for scores in got:
        assert all(math.isfinite(v) and v <= 0 for v in scores.logprobs)
        assert sum(_probs(scores)) == pytest.approx(1.0)
        assert not all(scores.truncated)  # digits are among the top 20 tokens
    assert _probs(got[0]) != pytest.approx(_probs(got[1])[:3], abs=1e-3)


@pytest.mark.server
def test_real_server_has_no_echo(llama_url):
    b = load_model(f"openai:smollm2@{llama_url}", logprob_method="completions_echo")
    with pytest.raises(ServerGarbageError, match="echo"):
        b.score_options([ScoreRequest((Q1,), (" 1", " 2"), "Answer:")])


@pytest.mark.server
def test_real_server_generates_text(llama_url):
    b = load_model(f"openai:smollm2@{llama_url}")
    texts = b.generate([
        GenerateRequest((Message("user", "Name a colour."),), 12, 0.0, 0),
        GenerateRequest((Message("user", Q1.content + " Give the number of one option."),),
                        12, 0.8, 7, "Answer:"),
    ])
    assert len(texts) == 2 and all(isinstance(t, str) and t.strip() for t in texts)
    assert not texts[1].startswith("Answer:")


@pytest.mark.server
def test_real_server_run_probe_stores_answers(llama_url, tmp_path: Path):
    design = Design(models=[f"openai:smollm2@{llama_url}"], instruments=["mfq30"],
                    items=["q01", "q02", "q03"])
    result = run_probe(design, tmp_path, progress=False)
    req = result.store.requests()
    assert len(req) == 3 and set(req["status"]) == {"ok"} and set(req["backend"]) == {"openai"}
    dists = result.store.distributions()
    sums = dists.groupby("request_id")["prob"].sum()
    assert sums.to_numpy() == pytest.approx(1.0)
    assert dists["logprob"].map(math.isfinite).all()
    again = run_probe(design, tmp_path, progress=False)  # everything cached, nothing sent
    assert again.stats[0].cached == 3 and again.stats[0].computed == 0
