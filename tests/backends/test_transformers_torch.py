"""The torch side of the local backend: the KV-cache argument name follows the model's API."""

from __future__ import annotations

import torch

from workbench.backends.transformers_torch import (
    Float32Head,
    _cache_argument,
    bf16_units,
    use_float32_head,
)


class _Before(torch.nn.Module):  # transformers < the rename: forward(past_key_values=...)
    def forward(self, input_ids, past_key_values=None, use_cache=None):
        return input_ids


class _After(torch.nn.Module):  # after: forward(cache=...)
    def forward(self, input_ids, cache=None, use_cache=None):
        return input_ids


def test_the_cache_argument_follows_the_forward_signature(tiny_backend):
    assert _cache_argument(_Before()) == "past_key_values"
    assert _cache_argument(_After()) == "cache"
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    if (major, minor) >= (5, 24):  # the installed version renamed it (checked: 5.24.0)
        assert _cache_argument(tiny_backend.model) == "cache"


def test_a_half_precision_model_keeps_its_head_and_logits_in_float32(tiny_model_dir):
    """bfloat16 weights and KV cache, float32 head: the logits equal the float32 product of the
    bf16 hidden state with the (untied) float32 head weight; the input embedding stays bf16."""
    from workbench.models import load_model

    backend = load_model(str(tiny_model_dir), dtype="bfloat16")
    model = backend.model
    assert isinstance(model.lm_head, Float32Head) and model.lm_head.weight.dtype == torch.float32
    assert model.get_input_embeddings().weight.dtype == torch.bfloat16
    assert backend.info.extra["lm_head"] == "float32"
    ids = torch.tensor([[1, 5, 9, 3]])
    with torch.inference_mode():
        out = model(input_ids=ids, output_hidden_states=True)
    hidden = out.hidden_states[-1]
    assert hidden.dtype == torch.bfloat16 and out.logits.dtype == torch.float32
    expected = hidden.float() @ model.lm_head.weight.T
    assert torch.allclose(out.logits, expected, atol=1e-5)
    # A model already in float32 is left alone.
    assert use_float32_head(load_model(str(tiny_model_dir)).model) is False
    backend.close()


def test_bf16_units_reads_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx2": True}, raising=False)
    assert bf16_units() is False
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"amx_bf16": True}, raising=False)
    assert bf16_units() is True
