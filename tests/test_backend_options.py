"""Backend options (``--backend-option KEY=VALUE``): the table the CLI checks against matches
the backends' signatures, values are type-checked, and a mixed design's options reach each
backend without tripping the other."""

from __future__ import annotations

import inspect

import pytest

from workbench.errors import WorkbenchError
from workbench.models import (
    LOCAL_OPTIONS,
    SERVER_OPTIONS,
    check_backend_options,
    load_model,
)


def _parameters(cls, skip: set[str]) -> set[str]:
    params = inspect.signature(cls.__init__).parameters.values()
    return {p.name for p in params if p.name not in skip
            and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def test_option_tables_match_the_backend_signatures():
    from workbench.backends.openai_backend import _LOCAL_ONLY_OPTIONS, OpenAIBackend
    from workbench.backends.transformers_backend import TransformersBackend

    # transport (an httpx transport object) is for Python callers and tests only
    assert set(SERVER_OPTIONS) == _parameters(OpenAIBackend, {"self", "spec", "transport"})
    assert set(LOCAL_OPTIONS) == _parameters(TransformersBackend, {"self", "spec"})
    assert set(LOCAL_OPTIONS) == set(_LOCAL_ONLY_OPTIONS)  # the server backend ignores them


def test_option_defaults_have_the_declared_types():
    from workbench.backends.openai_backend import OpenAIBackend
    from workbench.backends.transformers_backend import TransformersBackend

    for cls, table in ((OpenAIBackend, SERVER_OPTIONS), (TransformersBackend, LOCAL_OPTIONS)):
        for name, param in inspect.signature(cls.__init__).parameters.items():
            if name in table:
                types, _ = table[name]
                assert isinstance(param.default, types), (cls.__name__, name, param.default)


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
    assert backend.max_retries == 0 and not backend.supports_logprobs
