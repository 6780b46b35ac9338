"""The real embedded default models load offline from their PyPI packages and answer validly."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.design import Design
from workbench.models import default_model_keys, load_model, registry, resolve_model
from workbench.probe import run_probe

pytestmark = pytest.mark.slow


def test_defaults_are_the_two_embedded_models():
    assert default_model_keys() == ["smollm2-135m", "gemma3-270m"]
    for entry in registry():
        if entry.default:
            path = resolve_model(entry.key).location
            assert path.endswith(".gguf")
            assert "site-packages" in path or ".cache" in path or "cache" in path


# Floors for the two real models on the six MFQ-30 items below (default design: numbered
# options, forced instruction, original order), measured with the pinned GGUF packages on CPU:
#   raw mass sum(exp(logprob)) on the keys " 0".." 5", per item: smollm2-135m 0.603-0.644,
#   gemma3-270m 0.100-0.212;
#   SD (ddof 0) of the expected answer over the six items: smollm2-135m 0.273, gemma3-270m 0.185.
# Each mass floor is about half (gemma) or a third (smollm2) of the model's lowest item, so small
# numeric differences between CPUs or llama.cpp builds cannot trip it, yet it is hundreds of
# times the mass six keys get from a model that spreads its mass over the whole vocabulary
# (6/vocabulary size, about 1e-4 or less). The SD floor is about a quarter of the lower measured
# SD and far above float noise (~1e-6) around a single answer.
MIN_KEY_MASS = {"smollm2-135m": 0.2, "gemma3-270m": 0.05}
MIN_EXPECTED_SD = 0.05


@pytest.mark.parametrize("key", ["smollm2-135m", "gemma3-270m"])
def test_embedded_model_gives_valid_distinct_mfq30_distributions(key, tmp_path):
    d = Design(models=[key], instruments=["mfq30"],
               items=["q01", "q06", "q12", "q17", "q22", "q32"])
    result = run_probe(d, tmp_path, progress=False)
    store = result.store
    dists = store.distributions()
    assert dists.groupby("request_id").size().eq(6).all()
    assert dists["logprob"].notna().all() and (dists["logprob"] <= 0).all()
    # ``prob`` is the renormalised exp(logprob), so it sums to 1 whatever the model does; the
    # raw mass exp(logprob) on the valid keys shows the model really answers with a key.
    raw = np.exp(dists["logprob"])
    mass = raw.groupby(dists["request_id"]).sum()
    renorm = raw / dists["request_id"].map(mass)
    assert np.allclose(renorm, dists["prob"], atol=1e-9)
    expected = store.answers().set_index("item_id")["expected"]
    item_of = dict(zip(dists["request_id"], dists["item_id"], strict=True))
    print(f"\n{key}: raw key mass per item {mass.rename(index=item_of).round(4).to_dict()}; "
          f"expected answers {expected.round(4).to_dict()}; SD {expected.std(ddof=0):.4f}")
    assert mass.min() > MIN_KEY_MASS[key], f"{key}: mass on the option keys {mass.min():.4f}"
    assert expected.between(0, 5).all()
    # items get really different answers, not float noise around one answer
    assert expected.std(ddof=0) > MIN_EXPECTED_SD, f"{key}: SD {expected.std(ddof=0):.4f}"
    # the model's mass on the valid keys is real: no option is (near) impossible for all items
    assert dists.groupby("code")["prob"].max().min() > 1e-4
    prov = store.provenance()
    assert prov["model_fingerprint"].iloc[0].startswith("sha256:")


def test_gemma_plain_prompt_starts_with_bos():
    backend = load_model("gemma3-270m")
    assert not backend.has_chat_template
    ids = backend._encode_text("Question\n\nAnswer:")
    assert ids[0] == backend.tokenizer.bos_token_id == 2


@pytest.mark.parametrize("key", ["smollm2-135m", "gemma3-270m"])
def test_batched_cached_scoring_equals_a_naive_forward_on_the_real_model(key):
    """The shared-prefix KV cache with left padding, on the real architectures (Gemma 3 has
    sliding-window layers): equal to one unbatched full pass per option, within 1e-4."""
    import dataclasses

    from tests.backends.test_transformers_backend import naive_logprob
    from workbench.backends.base import Message, ScoreRequest

    backend = load_model(key)
    persona = Message("system", "You are 45 to 59 years old, a woman, working as a cleaner, "
                      "living in a suburb. Answer the survey question as this person would.")
    reqs = [ScoreRequest((persona, Message("user", f"How important is {topic} in your life?"
                                                  f"{' Use a scale from 1 to 10.' * (k % 2)}")),
                         tuple(f" {c}" for c in range(1, 11 if k % 2 else 5)), "Answer:",
                         exclusive=False)
            for k, topic in enumerate(["God", "family", "work", "leisure time"])]
    plan = backend._plan([(i, 0, backend._encode(r).context, 1) for i, r in enumerate(reqs)])
    assert any(prefix > 0 for _, prefix in plan)  # the cached-prefix path is exercised
    got = backend.score_options(reqs)
    for req, scores in zip(reqs, got, strict=True):
        for option, value in zip(req.options, scores.logprobs, strict=True):
            assert value == pytest.approx(naive_logprob(backend, req, option), abs=1e-4)
    exclusive = backend.score_options([dataclasses.replace(reqs[1], exclusive=True)])[0]
    assert np.exp(exclusive.logprobs).sum() <= 1 + 1e-6
