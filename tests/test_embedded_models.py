"""The real embedded default models load offline from their PyPI packages and answer validly."""

from __future__ import annotations

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


@pytest.mark.parametrize("key", ["smollm2-135m", "gemma3-270m"])
def test_embedded_model_gives_valid_distinct_mfq30_distributions(key, tmp_path):
    d = Design(models=[key], instruments=["mfq30"],
               items=["q01", "q06", "q12", "q17", "q22", "q32"])
    result = run_probe(d, tmp_path, progress=False)
    store = result.store
    dists = store.distributions()
    sums = dists.groupby("request_id")["prob"].sum()
    assert (sums.sub(1).abs() < 1e-9).all()
    assert dists.groupby("request_id").size().eq(6).all()
    expected = store.answers().set_index("item_id")["expected"]
    assert expected.between(0, 5).all()
    assert expected.nunique() == len(expected)  # items get different answers
    # the model's mass on the valid keys is real: no option is (near) impossible for all items
    assert dists.groupby("code")["prob"].max().min() > 1e-4
    prov = store.provenance()
    assert prov["model_fingerprint"].iloc[0].startswith("sha256:")


def test_gemma_plain_prompt_starts_with_bos():
    backend = load_model("gemma3-270m")
    assert not backend.has_chat_template
    ids = backend._encode_text("Question\n\nAnswer:")
    assert ids[0] == backend.tokenizer.bos_token_id == 2
