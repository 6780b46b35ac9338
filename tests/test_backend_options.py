"""Backend options (``--backend-option KEY=VALUE``): each backend's own table matches its
signature, values are type-checked, and a mixed design's options reach each backend without
tripping the other."""

from __future__ import annotations

import inspect

import pytest

from workbench.backends.registry import (
    backend_class,
    check_backend_options,
    entries,
    known_options,
)
from workbench.errors import WorkbenchError
from workbench.models import load_model

# Constructor arguments that are not options: the spec, and an httpx transport object that
# only Python callers and tests pass.
NOT_OPTIONS = {"self", "spec", "transport"}


def _parameters(cls, skip: set[str]) -> set[str]:
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name for p in params if p.name not in skip
            and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


@pytest.mark.parametrize("name", [e.name for e in entries()])
def test_option_tables_match_the_backend_signatures(name):
    cls = backend_class(name)
    assert set(cls.options) == _parameters(cls, NOT_OPTIONS)
    for option, param in inspect.signature(cls.__init__).parameters.items():
        if option in cls.options:
            types = cls.options[option].types
            assert isinstance(param.default, types), (cls.__name__, option, param.default)


def test_the_backends_options_are_disjoint_and_all_known():
    """One name, one meaning: a mixed design's option goes to the one backend taking it."""
    tables = [set(backend_class(e.name).options) for e in entries()]
    assert len(tables) >= 2 and sum(len(t) for t in tables) == len(set().union(*tables))
    assert set(known_options()) == set().union(*tables)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_concurency": 2}, "did you mean 'max_concurrency'"),
        ({"nonsense": 1}, "valid options are allow_pickle, api_key_env"),
        ({"max_concurrency": "8"}, "'max_concurrency' (requests in flight at once) must be an "
                                   "integer, got '8' (a string)"),
        ({"max_retries": True}, "must be an integer, got True (a boolean)"),
        ({"timeout": [1]}, "must be a number, got [1] (a list)"),
        ({"floor_logprob": "low"}, "must be a number or null"),
        ({"allow_pickle": "yes"}, "must be true or false"),
        ({"api_key_env": 5}, "must be a string or null"),
    ],
)
def test_bad_options_name_the_fix(options, message):
    with pytest.raises(WorkbenchError) as info:
        check_backend_options(options)
    assert message in str(info.value)


def test_good_options_pass_unchanged():
    options = {"timeout": 2.5, "max_retries": 0, "floor_logprob": None, "api_key_env": None,
               "dtype": "bfloat16", "allow_pickle": True, "logprob_method": "none"}
    assert check_backend_options(options) == options


def test_a_local_model_ignores_server_options(tiny_model_dir):
    backend = load_model(str(tiny_model_dir), max_concurrency=2, timeout=5.0,
                         logprob_method="none")
    assert backend.info.backend == "transformers"


def test_a_server_model_ignores_local_options():
    backend = load_model("openai:m@http://127.0.0.1:9/v1", dtype="float16", device="cpu",
                         max_retries=0, logprob_method="none")
    assert backend.http.max_retries == 0 and not backend.supports_logprobs
