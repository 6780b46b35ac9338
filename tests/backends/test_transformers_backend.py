"""Option scoring must equal a naive per-option full forward pass (the lm-eval definition)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from workbench.backends.base import GenerateRequest, Message, ScoreRequest
from workbench.errors import WorkbenchError
from workbench.models import load_model


def naive_logprob(backend, request: ScoreRequest, option: str) -> float:
    """Sum of log-probs of the option's tokens, one unbatched full forward pass per option.

    As in lm-evaluation-harness, trailing spaces of the context belong to the continuation.
    """
    full_context = backend.render(request.messages, request.assistant_prefix)
    context = full_context.rstrip(" ")
    option = full_context[len(context):] + option
    ctx_ids = backend._encode_text(context)
    whole = backend._encode_text(context + option)
    assert whole[: len(ctx_ids)] == ctx_ids
    cont = whole[len(ctx_ids):]
    with torch.inference_mode():
        logits = backend.model(torch.tensor([whole])).logits[0].float()
    lp = torch.log_softmax(logits, -1)
    return sum(float(lp[len(ctx_ids) - 1 + k, t]) for k, t in enumerate(cont))


def _requests():
    q = Message("user", "How important is family?\n\n1. very\n2. somewhat\n3. not\n\nAnswer.")
    sys = Message("system", "You are a farmer from a small town.")
    return [
        ScoreRequest((q,), (" 1", " 2", " 3"), "Answer:"),  # single distinct final token
        ScoreRequest((sys, q), (" 1", " 2", " 3", " 4", " 5", " 6", " 7", " 8", " 9", " 10"),
                     "Answer:"),  # " 10" is longer: slow path for the whole request
        ScoreRequest((q,), (" very important", " not at all", " somewhat"), "Answer:"),
        ScoreRequest((q,), ("A", "B", "C"), "Answer: "),  # trailing space moved to options
    ]


@pytest.mark.parametrize("which", ["tiny_backend", "tiny_plain_backend"])
def test_fast_and_slow_paths_equal_naive_forward(which, request):
    backend = request.getfixturevalue(which)
    reqs = [dataclasses.replace(r, exclusive=False) for r in _requests()]
    got = backend.score_options(reqs)
    assert len(got) == len(reqs)
    for req, scores in zip(reqs, got, strict=True):
        assert len(scores.logprobs) == len(req.options)
        for option, value in zip(req.options, scores.logprobs, strict=True):
            assert value == pytest.approx(naive_logprob(backend, req, option), abs=1e-4)


@pytest.mark.parametrize("which", ["tiny_backend", "tiny_plain_backend"])
def test_exclusive_scores_take_longer_options_out_of_their_prefix(which, request):
    """" 1" as a complete answer is P(" 1") - P(" 10") when " 10" is " 1" followed by "0"."""
    backend = request.getfixturevalue(which)
    req = _requests()[1]
    tokens = backend._encode(req).conts
    assert tokens[9][: len(tokens[0])] == tokens[0], "the tokenizer should split ' 10'"
    got = backend.score_options([req])[0].logprobs
    naive = {o: math.exp(naive_logprob(backend, req, o)) for o in req.options}
    assert math.exp(got[0]) == pytest.approx(naive[" 1"] - naive[" 10"], abs=1e-6)
    assert math.exp(got[0]) < naive[" 1"]
    for option, value in zip(req.options[1:], got[1:], strict=True):  # no longer option
        assert value == pytest.approx(math.log(naive[option]), abs=1e-4)
    # the ten exclusive answers are disjoint events: their mass cannot exceed 1
    assert sum(math.exp(v) for v in got) <= 1 + 1e-6


def test_options_are_read_off_as_few_forward_passes_as_their_tokens_allow(tiny_backend):
    single, nested, labels, letters = (tiny_backend._encode(r) for r in _requests())
    assert len(single.paths) == 1 and len(letters.paths) == 1  # one pass for "1".."3"
    assert len(nested.paths) == 1  # " 10" = " 1" + "0": context + " 1" covers all ten
    assert nested.paths[0] == nested.conts[9][:-1]
    assert len(labels.paths) < len(labels.conts)  # one pass per distinct longest head
    for enc in (single, nested, labels, letters):
        for cont, k in zip(enc.conts, enc.path_of, strict=True):
            assert enc.paths[k][: len(cont) - 1] == cont[:-1]


def test_batching_does_not_change_scores(tiny_backend):
    reqs = _requests()
    together = tiny_backend.score_options(reqs)
    alone = [tiny_backend.score_options([r])[0] for r in reqs]
    for a, b in zip(together, alone, strict=True):
        assert max(abs(x - y) for x, y in zip(a.logprobs, b.logprobs, strict=True)) < 1e-4


def test_chat_template_and_plain_rendering(tiny_backend, tiny_plain_backend):
    msgs = (Message("system", "P"), Message("user", "Q"))
    chat = tiny_backend.render(msgs, "Answer:")
    assert "<|im_start|>user\nQ<|im_end|>" in chat and chat.endswith("assistant\nAnswer:")
    plain = tiny_plain_backend.render(msgs, "Answer:")
    assert plain == "P\n\nQ\n\nAnswer:"
    # Plain prompts get the tokenizer's own special tokens (BOS where it adds one; the
    # Gemma check is in tests/test_embedded_models.py); chat prompts carry the template's.
    tok = tiny_plain_backend.tokenizer
    assert tiny_plain_backend._encode_text(plain) == tok(plain, add_special_tokens=True).input_ids
    chat_tok = tiny_backend.tokenizer
    assert tiny_backend._encode_text(chat) == chat_tok(chat, add_special_tokens=False).input_ids


def test_generation_is_deterministic_for_a_seed(tiny_backend):
    msgs = (Message("user", "Say a number."),)
    greedy = tiny_backend.generate([GenerateRequest(msgs, max_new_tokens=5)] * 2)
    assert greedy[0] == greedy[1]
    a = tiny_backend.generate([GenerateRequest(msgs, 5, temperature=1.0, seed=7)])
    b = tiny_backend.generate([GenerateRequest(msgs, 5, temperature=1.0, seed=7)])
    assert a == b


def test_provenance_is_recorded(tiny_backend, tiny_model_dir):
    info = tiny_backend.info
    assert info.backend == "transformers" and info.dtype == "float32"
    assert info.file_hash and len(info.file_hash) == 64
    assert info.chat_template_hash
    assert str(tiny_model_dir) in info.model_id


def test_pickled_checkpoints_are_refused(tmp_path, tiny_model_dir):
    import shutil

    d = tmp_path / "pickled"
    shutil.copytree(tiny_model_dir, d)
    for f in d.glob("*.safetensors"):
        f.unlink()
    (d / "pytorch_model.bin").write_bytes(b"not really a pickle")
    with pytest.raises(WorkbenchError, match="pickled weights"):
        load_model(str(d))


def test_hub_ids_load_from_an_offline_cache(tmp_path, tiny_model_dir, monkeypatch):
    """Real hub loading code path, served from a local HF cache laid out as the hub would."""
    import shutil

    cache = tmp_path / "hub"
    repo = cache / "models--test-org--tiny-llama"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(tiny_model_dir, repo / "snapshots" / commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hc, "HF_HUB_OFFLINE", True)
    backend = load_model("test-org/tiny-llama")
    scores = backend.score_options([_requests()[0]])[0]
    probs = [math.exp(x) for x in scores.logprobs]
    assert all(0 < p < 1 for p in probs)
    assert backend.info.model_id == "test-org/tiny-llama"


def test_unknown_hub_id_offline_gives_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WorkbenchError, match="cannot load 'nobody/no-such-model'"):
        load_model("nobody/no-such-model")


def test_shared_prefix_kv_cache_matches_naive_forward(tiny_backend):
    persona = Message("system", "You are a 45-year-old teacher from a small town who values "
                      "tradition, family, and community life above most other things.")
    reqs = [ScoreRequest((persona, Message("user", f"Item {k}: how much do you agree that "
                                                   f"{'x ' * k}matters?\n1. no\n2. yes")),
                         (" 1", " 2") if k % 2 else (" no", " yes please"), "Answer:")
            for k in range(8)]
    plan = tiny_backend._plan([(i, -1, tiny_backend._encode(r).context, 1)
                               for i, r in enumerate(reqs)])
    assert any(prefix >= 16 for _, prefix in plan)  # the persona prefix is shared
    got = tiny_backend.score_options(reqs)
    for req, scores in zip(reqs, got, strict=True):
        for option, value in zip(req.options, scores.logprobs, strict=True):
            assert value == pytest.approx(naive_logprob(tiny_backend, req, option), abs=1e-4)


def test_a_probe_on_a_local_model_warns_of_no_deprecated_api(tmp_path, tiny_model_dir,
                                                             monkeypatch):
    """Loading, scoring with a shared prefix's KV cache, and generating use the current
    transformers API: no FutureWarning or DeprecationWarning (transformers 5 renamed the
    forward pass's ``past_key_values`` to ``cache``)."""
    import warnings

    from workbench.backends.transformers_torch import TorchRunner
    from workbench.design import Design
    from workbench.probe import run_probe

    prefixed = []
    original = TorchRunner.tail_logprobs_prefixed

    def spy(self, *args, **kwargs):
        prefixed.append(args[2])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TorchRunner, "tail_logprobs_prefixed", spy)
    logprob = Design(models=[str(tiny_model_dir)], instruments=["mfq30"],
                     personas=["political:liberal"], items=["q01", "q02", "q03", "q04"])
    sampled = Design(models=[str(tiny_model_dir)], instruments=["mfq30"], items=["q01"],
                     mode="generate", temperature=1.0, max_new_tokens=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_probe(logprob, tmp_path, progress=False)
        run_probe(sampled, tmp_path, progress=False)
    assert prefixed, "the shared-prefix (KV cache) path did not run"
    deprecated = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
                  for w in caught if issubclass(w.category, FutureWarning | DeprecationWarning)]
    assert deprecated == []
