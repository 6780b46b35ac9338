"""The torch side of the local backend: the KV-cache argument name follows the model's API."""

from __future__ import annotations

import torch

from workbench.backends.transformers_torch import _cache_argument


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
