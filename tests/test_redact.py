"""Credentials are stripped the same way wherever text is stored, logged or fingerprinted."""

from __future__ import annotations

import pytest

from workbench.redact import redact_command, redact_credentials, redact_json, secret_redactor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("openai:m@http://u:p@h:8/v1", "openai:m@http://h:8/v1"),
        ("openai:m@https://user:p%40ss@host/v1?x=1", "openai:m@https://host/v1?x=1"),
        ("openai:m@http://u:p@ss@host/v1", "openai:m@http://host/v1"),  # '@' in a password
        ("a=http://u:p@h1/v1,b=http://v:q@h2/v1", "a=http://h1/v1,b=http://h2/v1"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        ("not a url: x@y", "not a url: x@y"),
    ],
)
def test_url_credentials_are_removed(text, expected):
    assert redact_credentials(text) == expected


def test_secret_arguments_are_blanked_but_token_counts_stay():
    argv = ["workbench", "probe", "--api-key", "sk-1", "--token=t", "--password", "p",
            "--backend-option", "api_key=sk-2", "--backend-option", "api_key_env=MY_KEY",
            "--max-new-tokens", "5", "--model", "openai:m@http://u:pw@h/v1"]
    assert redact_command(argv) == (
        "workbench probe --api-key *** --token=*** --password *** --backend-option "
        "api_key=*** --backend-option api_key_env=MY_KEY --max-new-tokens 5 --model "
        "openai:m@http://h/v1")


def test_every_string_of_a_design_is_redacted_keys_included():
    design = {"models": ["a=openai:m@http://u:p@h/v1"], "http://k:s@x/": ("http://y:z@w/",),
              "seed": 3, "flags": {True, None}}
    out = redact_json(design)
    assert out["models"] == ["a=openai:m@http://h/v1"]
    assert out["http://x/"] == ["http://w/"] and out["seed"] == 3
    assert "p@" not in repr(out) and "z@" not in repr(out)


def test_an_api_key_echoed_by_a_server_is_blanked():
    assert secret_redactor("sk-123")("bad key sk-123 (sk-123)") == "bad key *** (***)"
    assert secret_redactor("")("no key set") == "no key set"
