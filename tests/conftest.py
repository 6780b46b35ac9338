"""Shared fixtures: tiny models built by the tests themselves (random weights, plumbing only).

The tokenizer comes from the embedded SmolLM2 GGUF package, so tokenization pitfalls (leading
spaces, digits, chat templates) are real; the network is tiny so tests stay fast.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# a report cell on test data takes seconds; a stuck kernel fails the test instead of hanging CI
os.environ.setdefault("WORKBENCH_CELL_TIMEOUT", "300")


def _build_tiny(target: Path, chat_template: bool, seed: int = 0) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from workbench.models import registry, resolve_model

    entry = {m.key: m for m in registry()}["smollm2-135m"]
    gguf = Path(resolve_model(entry.key).location)
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    if not chat_template:
        tok.chat_template = None
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target, safe_serialization=True)
    tok.save_pretrained(target)
    return target


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny random Llama with SmolLM2's tokenizer and chat template, saved as safetensors."""
    return _build_tiny(tmp_path_factory.mktemp("models") / "tiny-chat", chat_template=True)


@pytest.fixture(scope="session")
def tiny_plain_model_dir(tmp_path_factory) -> Path:
    """The same without a chat template (like a base model: plain-text prompts, BOS added)."""
    return _build_tiny(tmp_path_factory.mktemp("models") / "tiny-plain", chat_template=False,
                       seed=1)


@pytest.fixture(scope="session")
def tiny_backend(tiny_model_dir):
    from workbench.models import load_model

    return load_model(str(tiny_model_dir))


@pytest.fixture(scope="session")
def tiny_plain_backend(tiny_plain_model_dir):
    from workbench.models import load_model

    return load_model(str(tiny_plain_model_dir))


@pytest.fixture
def cache_env(tmp_path, monkeypatch):
    """An isolated workbench cache (assembled GGUF / converted weights go here)."""
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"
