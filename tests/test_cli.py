"""The command line: smoke runs on the tiny model, one-line errors, --debug tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.models import resolve_model, safe_name

MINI = str(Path(__file__).parent / "fixtures" / "mini.yaml")


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "workbench.cli", *args], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


def test_probe_smoke_on_tiny_model(tmp_path, tiny_model_dir):
    out = tmp_path / "res"
    proc = run_cli("probe", "--model", str(tiny_model_dir), "--instrument", "mfq30",
                   "--items", "q01,q07,q02", "--out", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert "## mfq30 scores" in proc.stdout and "care" in proc.stdout
    assert (out / "summary.md").is_file() and (out / "results.duckdb").is_file()
    again = run_cli("probe", "--model", str(tiny_model_dir), "--instrument", "mfq30",
                    "--items", "q01,q07,q02", "--out", str(out), "--no-progress")
    assert "|          0 |        3 |" in again.stdout  # computed 0, cached 3
    scores = run_cli("scores", "--out", str(out))
    assert scores.returncode == 0 and "care" in scores.stdout
    exp = run_cli("export", "--out", str(out), "--to", str(tmp_path / "exp"), "--format", "csv")
    assert exp.returncode == 0 and (tmp_path / "exp" / "requests.csv").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["probe", "--model", "smolm2", "--instrument", "mfq30"], "did you mean"),
        (["probe", "--model", "./no/such/dir", "--instrument", "mfq30"], "unknown model"),
        (["probe", "--model", "missing.gguf", "--instrument", "mfq30"], "does not exist"),
        (["probe", "--model", "smollm2-135m", "--instrument", "mfq3"], "did you mean 'mfq30'"),
        (["probe", "--model", "smollm2-135m", "--instrument", "mfq30", "--personas", ""],
         "empty design"),
        (["instruments", "--check", "nope.yaml"], "does not exist"),
        (["scores", "--out", "/nonexistent/results"], "no results in"),
    ],
)
def test_bad_input_gives_one_line_without_traceback(args, message, capsys, tmp_path):
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert err.count("\n") == 1


def test_debug_flag_shows_traceback(capsys):
    code = main(["--debug", "instruments", "--check", "nope.yaml"])
    assert code == 2
    assert "Traceback" in capsys.readouterr().err


def test_instruments_and_models_listing(capsys):
    assert main(["instruments"]) == 0
    out = capsys.readouterr().out
    assert "mfq30" in out and "32" in out
    assert main(["instruments", "--check", MINI]) == 0
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "smollm2-135m" in out and "gemma3-270m" in out


def test_model_ids_become_safe_file_names():
    for hostile in ["../../etc/passwd", "a/../../b", "..", "/abs/path", "x\\..\\y", "a b:c"]:
        name = safe_name(hostile)
        assert "/" not in name and "\\" not in name and ".." not in name
        assert not name.startswith(".")
    assert resolve_model("openai:llama@http://127.0.0.1:8080/v1").server_model == "llama"
