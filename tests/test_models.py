"""Model names: registry keys, paths, hub ids, servers, and ``name=`` aliases."""

from __future__ import annotations

import pytest

from tests.conftest import _build_tiny
from workbench.design import Design
from workbench.errors import WorkbenchError
from workbench.models import resolve_model
from workbench.probe import run_probe


def test_an_alias_names_any_model(tiny_model_dir):
    plain = resolve_model(str(tiny_model_dir))
    named = resolve_model(f"run-1={tiny_model_dir}")
    assert named.key == "run-1" and plain.key == "tiny-chat"
    assert (named.source, named.location, named.model_id) == (
        plain.source, plain.location, plain.model_id)
    server = resolve_model("big=openai:llama@http://127.0.0.1:8080/v1")
    assert server.key == "big" and server.server_model == "llama"
    hub = resolve_model("mine=org/model")
    assert (hub.key, hub.source, hub.location) == ("mine", "hub", "org/model")


@pytest.mark.parametrize("spec", ["run=", "run=  "])
def test_an_alias_without_a_model_is_refused(spec):
    with pytest.raises(WorkbenchError, match="gives no model"):
        resolve_model(spec)


def test_equals_signs_inside_paths_and_urls_are_not_aliases(tmp_path):
    odd = tmp_path / "lr=3e-4"
    odd.mkdir()
    (odd / "config.json").write_text("{}")
    assert resolve_model(str(odd)).source == "dir"  # "/...lr" is no alias: it holds "/"
    url = resolve_model("openai:m@http://127.0.0.1:9/v1?x=1")
    assert url.source == "openai" and url.key == "m"


def test_two_checkpoints_with_one_name_need_aliases_to_share_a_store(tmp_path):
    a = _build_tiny(tmp_path / "a" / "final", chat_template=True, seed=1)
    b = _build_tiny(tmp_path / "b" / "final", chat_template=True, seed=2)
    out = tmp_path / "results"
    design = dict(instruments=["mfq30"], items=["q01"])
    run_probe(Design(models=[str(a)], **design), out, progress=False)
    with pytest.raises(WorkbenchError, match="another model named 'final'.*--model new-name="):
        run_probe(Design(models=[str(b)], **design), out, progress=False)
    done = run_probe(Design(models=[f"final-b={b}"], **design), out, progress=False)
    assert done.stats[0].model == "final-b" and done.stats[0].computed == 1
    assert set(done.store.provenance()["model"]) == {"final", "final-b"}
