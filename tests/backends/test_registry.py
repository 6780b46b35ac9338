"""The backend registry: lazy "module:Class" entries, one owner of a model's identity, and a
new backend added with one class and one register() call (this module's EchoBackend)."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Mapping, Sequence

import pytest

from workbench.backends import registry
from workbench.backends.base import (
    BackendOption,
    BaseBackend,
    GenerateRequest,
    ModelInfo,
    ModelSpec,
    OptionScores,
    ScoreRequest,
    fingerprint_of,
)
from workbench.design import Design
from workbench.errors import WorkbenchError
from workbench.models import load_model, resolve_model
from workbench.probe import run_probe
from workbench.store import ResultStore


class EchoBackend(BaseBackend):
    """A server backend of known behaviour: every option gets probability ``1/k``."""

    name = "echo"
    options = {"echo_delay": BackendOption((int, float), "seconds per answer")}

    @classmethod
    def fingerprint_for(cls, spec: ModelSpec, options: Mapping[str, object]) -> str:
        return f"echo:{spec.server_model}@{spec.location}"

    def __init__(self, spec: ModelSpec, echo_delay: float = 0.0) -> None:
        super().__init__(spec, {"echo_delay": echo_delay})
        self.info = ModelInfo(spec.key, spec.model_id, "echo", fingerprint=self.fingerprint())

    def score_options(self, requests: Sequence[ScoreRequest]) -> list[OptionScores]:
        self.check_open()
        return [OptionScores(tuple(-math.log(len(r.options)) for _ in r.options),
                             tuple(1 for _ in r.options)) for r in requests]

    def generate(self, requests: Sequence[GenerateRequest]) -> list[str]:
        self.check_open()
        return ["1" for _ in requests]


@pytest.fixture
def with_echo(monkeypatch):
    """The registry with EchoBackend added (on a copy: other tests see the real one)."""
    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))
    return registry.register("echo", lazy=f"{__name__}:EchoBackend", sources=("echo",),
                             server=True)


def test_a_new_backend_is_one_class_and_one_register_line(with_echo, tmp_path):
    spec = resolve_model("echo:m1@http://127.0.0.1:9/v1")
    assert (spec.source, spec.key, spec.server_model) == ("echo", "m1", "m1")
    assert registry.class_for(spec) is EchoBackend
    assert "echo_delay" in registry.known_options()
    backend = load_model("echo:m1@http://127.0.0.1:9/v1", echo_delay=0.5, dtype="float16")
    assert isinstance(backend, EchoBackend) and backend.settings == {"echo_delay": 0.5}
    assert backend.fingerprint() == registry.fingerprint(spec) == "echo:m1@http://127.0.0.1:9/v1"
    design = Design(models=["echo:m1@http://127.0.0.1:9/v1"], instruments=["mfq30"],
                    items=["q01", "q02"])
    run_probe(design, tmp_path, progress=False)
    stored = ResultStore(tmp_path).requests()
    assert set(stored["model_fingerprint"]) == {"echo:m1@http://127.0.0.1:9/v1"}
    assert set(stored["backend"]) == {"echo"}


def test_registering_a_taken_name_or_source_or_a_bad_entry_fails(with_echo):
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("echo2", lazy=f"{__name__}:EchoBackend", sources=("openai",))
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("echo", lazy=f"{__name__}:EchoBackend", sources=("other",))
    with pytest.raises(ValueError, match="'module:Class'"):
        registry.register("echo3", lazy=f"{__name__}.EchoBackend", sources=("e3",))


def test_an_entry_that_is_no_backend_class_is_refused(with_echo):
    registry.register("not-a-backend", lazy=f"{__name__}:with_echo", sources=("nab",))
    with pytest.raises(TypeError, match="not a BaseBackend"):
        registry.backend_class("not-a-backend")
    with pytest.raises(WorkbenchError, match="unknown backend 'nope'"):
        registry.backend_class("nope")
    with pytest.raises(WorkbenchError, match="no backend loads models of source 'carrier'"):
        registry.class_for(ModelSpec("k", "carrier", "x", "k"))


def test_an_option_no_backend_takes_is_refused_when_loading():
    with pytest.raises(WorkbenchError, match="unknown backend option 'colour'"):
        load_model("openai:m@http://127.0.0.1:9/v1", colour="red")


def test_identity_and_options_need_no_torch(tiny_model_dir):
    """A rerun that finds every answer stored computes fingerprints and checks options only:
    neither may import torch (seconds) or load a model."""
    code = ("import sys; from workbench.backends import registry; "
            "from workbench.models import resolve_model; "
            "registry.check_backend_options({'dtype': 'bfloat16', 'timeout': 3}); "
            f"print(registry.fingerprint(resolve_model({str(tiny_model_dir)!r}), "
            "{'dtype': 'bfloat16'})); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0].startswith("dir-sha256:") and out[0].endswith(";dtype=bfloat16;logits=float32")
    assert out[1] == "False"


def test_a_backend_is_a_context_manager_and_refuses_work_once_closed():
    spec = ModelSpec("k", "echo", "http://x", "k", server_model="k")
    with EchoBackend(spec) as backend:
        assert backend.score_options([ScoreRequest((), (" 1", " 2"))])[0].logprobs == (
            pytest.approx(math.log(0.5)),) * 2
    assert backend.closed
    with pytest.raises(WorkbenchError, match="backend of model 'k' was closed"):
        backend.generate([GenerateRequest(())])


def test_a_protocol_only_backend_is_identified_by_its_weights_hash_or_id():
    from tests.fakes import FirstPositionBackend

    fake = FirstPositionBackend()
    assert fingerprint_of(fake) == "synthetic-first-position-0.7"
    fake.info = ModelInfo("k", "some/model", "synthetic")
    assert fingerprint_of(fake) == "synthetic:some/model"
    spec = ModelSpec("k", "echo", "http://x", "k", server_model="k")
    echo = EchoBackend(spec)
    assert fingerprint_of(echo) == "echo:k@http://x"

    class Wrapper:  # passes a real backend's info on (e.g. to interrupt it in a test)
        info = echo.info

    assert fingerprint_of(Wrapper()) == fingerprint_of(echo)
