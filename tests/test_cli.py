"""The command line: smoke runs on the tiny model, one-line errors, --debug tracebacks."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes import write_unsupported_gguf
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
        (["probe", "--model", "./no/such/dir", "--instrument", "mfq30"],
         "model path './no/such/dir' does not exist"),
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


# ---------------------------------------------------------------------- one-line failures
def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit status 2, no traceback, and stderr is exactly one 'error: ...' line."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def _tiny_store(root: Path) -> Path:
    from tests.fakes import HashBackend
    from workbench.design import Design
    from workbench.probe import run_probe

    run_probe(Design(models=["alpha", "beta"], instruments=["mfq30"]), root,
              backends={"alpha": HashBackend("alpha"), "beta": HashBackend("beta", tilt=1.0)},
              progress=False)
    return root


def test_report_compare_wires_its_arguments(tmp_path):
    import nbformat

    results = _tiny_store(tmp_path / "res")
    out = tmp_path / "reports"
    proc = run_cli("report", "compare", "--results", str(results), "--out", str(out),
                   "--models", "alpha,beta", "--instruments", "mfq30", "-p", "n_boot=50",
                   "-p", "n_perm=40", "-p", "countries=[USA, JPN]", "--cell-timeout", "300")
    assert proc.returncode == 0, proc.stderr
    html_path = out / "compare_models.html"
    # no absolute machine path: relative to the current folder ("../" steps from here)
    assert proc.stdout.strip() == os.path.relpath(html_path.resolve()) and html_path.is_file()
    assert not os.path.isabs(proc.stdout.strip())
    nb = nbformat.read(out / "compare_models.ipynb", as_version=4)
    injected = next(c.source for c in nb.cells
                    if "injected-parameters" in c.metadata.get("tags", []))
    for line in ('results_dir = "../res"', 'models = ["alpha", "beta"]',
                 'instruments = ["mfq30"]', "n_boot = 50", "n_perm = 40",
                 'countries = ["USA", "JPN"]'):
        assert line in injected, (line, injected)
    assert "alpha" in html_path.read_text(encoding="utf-8")


def test_wrong_report_parameter_type_is_one_line(tmp_path):
    results = _tiny_store(tmp_path / "res")
    proc = run_cli("report", "compare", "--results", str(results), "--out",
                   str(tmp_path / "out"), "-p", "n_boot=many")
    assert_one_line_error(proc, "parameter 'n_boot'", "must be int", "-p n_boot=")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["scores", "probe", "export"])
def test_corrupted_database_fails_fast_with_the_fix(tmp_path, command):
    out = tmp_path / "blocks"  # "lock" in the path must not read as a locked database
    out.mkdir()
    (out / "results.duckdb").write_bytes(b"\x00not a duckdb file\xff" * 4000)
    args = {"scores": ["scores", "--out", str(out)],
            "probe": ["probe", "--model", "openai:m@http://127.0.0.1:9/v1", "--instrument",
                      "mfq30", "--out", str(out), "--no-progress"],
            "export": ["export", "--out", str(out), "--to", str(tmp_path / "exp")]}[command]
    t0 = time.monotonic()
    proc = run_cli(*args)
    assert time.monotonic() - t0 < 5  # start-up included; a lock wait would take 30 s
    assert_one_line_error(proc, "cannot be opened", "corrupted", "Move it aside")


def test_a_duckdb_file_without_results_is_named(tmp_path):
    import duckdb

    con = duckdb.connect(str(tmp_path / "results.duckdb"))
    con.execute("CREATE TABLE other (x INTEGER)")
    con.close()
    assert_one_line_error(run_cli("scores", "--out", str(tmp_path)),
                          "not a workbench result store", "move the file aside")
    (tmp_path / "empty").mkdir()
    duckdb.connect(str(tmp_path / "empty" / "results.duckdb")).close()
    assert_one_line_error(run_cli("scores", "--out", str(tmp_path / "empty")),
                          "not a workbench result store (no table")


def test_non_writable_out_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"  # root ignores chmod: a path under a regular file fails
    blocker.write_text("x")
    probe = run_cli("probe", "--model", "openai:m@http://127.0.0.1:9/v1", "--instrument",
                    "mfq30", "--out", str(blocker / "res"), "--no-progress")
    assert_one_line_error(probe, "cannot create results directory", "choose a writable --out")
    results = _tiny_store(tmp_path / "res")
    export = run_cli("export", "--out", str(results), "--to", str(blocker / "exp"))
    assert_one_line_error(export, "cannot create export folder", "choose a writable --to")
    report = run_cli("report", "compare", "--results", str(results), "--out",
                     str(blocker / "rep"))
    assert_one_line_error(report, "cannot create report folder", "choose a writable --out")


def test_unsupported_gguf_is_one_line(tmp_path):
    path = write_unsupported_gguf(tmp_path / "odd.gguf")
    proc = run_cli("probe", "--model", str(path), "--instrument", "mfq30", "--items", "q01",
                   "--out", str(tmp_path / "res"), "--no-progress",
                   env={"WORKBENCH_CACHE": str(tmp_path / "cache")})
    assert_one_line_error(proc, "cannot load")


def test_a_bad_thread_count_is_one_line(tmp_path, tiny_model_dir):
    proc = run_cli("probe", "--model", str(tiny_model_dir), "--instrument", "mfq30", "--items",
                   "q01", "--out", str(tmp_path / "res"), "--no-progress",
                   env={"WORKBENCH_THREADS": "abc"})
    assert_one_line_error(proc, "WORKBENCH_THREADS", "'abc'")


def test_a_server_returning_garbage_is_one_line(tmp_path):
    from tests.backends.fake_openai_server import FakeOpenAIServer

    with FakeOpenAIServer() as server:
        server.script.extend([(200, {}, b"<html>please log in</html>")] * 20)
        proc = run_cli("probe", "--model", f"openai:fake@{server.base_url}", "--instrument",
                       "mfq30", "--items", "q01", "--mode", "generate", "--out",
                       str(tmp_path / "res"), "--no-progress",
                       "--backend-option", "max_retries=0")
    assert_one_line_error(proc, "returned garbage", "OpenAI-compatible /v1")


@pytest.mark.parametrize("secret", ["url", "key"])
def test_server_credentials_never_reach_the_store_or_exports(tmp_path, secret):
    """user:password in the URL, or an API key: sent to the server, stored nowhere."""
    from tests.backends.fake_openai_server import FakeOpenAIServer

    password, key = "pw-Zq81x-secret", "sk-Zq81x-key"
    out, design = tmp_path / "res", tmp_path / "design.yaml"
    design.write_text("instruments: [mfq30]\nitems: [q01, q02]\nname: canary-7f3e\n")
    with FakeOpenAIServer(echo=False) as server:
        if secret == "url":
            url, env = server.base_url.replace("http://", f"http://alice:{password}@"), {}
            expected = "Basic " + base64.b64encode(f"alice:{password}".encode()).decode()
        else:
            url, env, expected = server.base_url, {"WB_TEST_KEY": key}, f"Bearer {key}"
        proc = run_cli("probe", "--design", str(design), "--model", f"openai:fake@{url}",
                       "--out", str(out), "--no-progress",
                       "--backend-option", "api_key_env=WB_TEST_KEY", env=env)
        assert proc.returncode == 0, proc.stderr
        assert server.requests[-1]["headers"]["Authorization"] == expected  # it was sent
    exported = run_cli("export", "--out", str(out), "--to", str(tmp_path / "csv"), "--format",
                       "csv")
    assert exported.returncode == 0, exported.stderr
    files = [out / "results.duckdb", out / "summary.md",
             *sorted((tmp_path / "csv").glob("*.csv"))]
    assert len(files) == 4 and not list(out.glob("*.wal"))
    for path in files:
        raw = path.read_bytes()
        assert password.encode() not in raw and key.encode() not in raw, path
        assert b"alice" not in raw, path
    db = (out / "results.duckdb").read_bytes()
    assert b"canary-7f3e" in db and b"127.0.0.1" in db  # the scan sees stored text
    for stream in (proc.stdout, proc.stderr):
        assert password not in stream and key not in stream


def test_url_credentials_with_an_api_key_are_one_line(tmp_path):
    proc = run_cli("probe", "--model", "openai:m@http://alice:pw@127.0.0.1:9/v1",
                   "--instrument", "mfq30", "--out", str(tmp_path), "--no-progress",
                   env={"OPENAI_API_KEY": "sk-x"})
    assert_one_line_error(proc, "only one Authorization header", "api_key_env=null")


# ---------------------------------------------------------------------- --backend-option
def test_backend_options_are_checked_before_anything_runs(capsys, tmp_path):
    base = ["probe", "--model", "openai:m@http://127.0.0.1:9/v1", "--instrument", "mfq30",
            "--out", str(tmp_path / "res"), "--no-progress"]
    assert main([*base, "--backend-option", "concurency=4"]) == 2
    err = capsys.readouterr().err
    assert "unknown backend option 'concurency' (did you mean 'max_concurrency'?)" in err
    assert "valid options are" in err and "logprob_method" in err and "dtype" in err
    assert err.count("\n") == 1
    assert main([*base, "--backend-option", "max_concurrency=many"]) == 2
    err = capsys.readouterr().err
    assert "'max_concurrency'" in err and "must be an integer" in err and "'many'" in err
    assert main([*base, "--backend-option", "timeout"]) == 2
    assert "not KEY=VALUE" in capsys.readouterr().err
    assert not (tmp_path / "res").exists()  # nothing was stored


def test_backend_options_reach_the_server_backend(tmp_path):
    from tests.backends.fake_openai_server import FakeOpenAIServer

    with FakeOpenAIServer(owned_by="llamacpp") as server:
        code = main(["probe", "--model", f"openai:fake@{server.base_url}", "--instrument",
                     "mfq30", "--items", "q01", "--out", str(tmp_path / "res"),
                     "--no-progress", "--backend-option", "logprob_method=chat_top_logprobs",
                     "--backend-option", "top_logprobs=7", "--backend-option", "timeout=30"])
        assert code == 0
        bodies = [r["body"] for r in server.requests if r["path"] == "/v1/chat/completions"]
        assert not any(r["path"] == "/v1/completions" for r in server.requests)  # no probing
    assert bodies and all(b["top_logprobs"] == 7 for b in bodies)


# ---------------------------------------------------------------------- bad input files
@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        ("models: [m\ninstruments: [mfq30]\n", [], "is not valid YAML at line"),
        ("instruments: [mfq30]\n", [], "has no 'models': add models: [smollm2-135m]"),
        ("models: [m]\n", [], "has no 'instruments'"),
        ("models: [m]\ninstruments: [mfq30]\nrepeats: '2'\n", [],
         "design key 'repeats' must be an integer, got '2' (a string): write repeats: 2"),
        ("models: [m]\ninstruments: [mfq30]\nparaphrases: 'a,b'\n", [],
         "design key 'paraphrases' must be a list of integers"),
        ("models: [m]\ninstruments: [mfq30]\ntemperature: warm\n", [],
         "design key 'temperature' must be a number"),
        ("- a\n- b\n", [], "must hold a mapping"),
        ("instruments: [mfq3]\n", ["--model", "openai:m@http://127.0.0.1:9/v1"],
         "did you mean 'mfq30'"),
    ],
)
def test_bad_design_files_give_one_line(tmp_path, capsys, content, extra, message):
    path = tmp_path / "design.yaml"
    path.write_text(content)
    code = main(["probe", "--design", str(path), *extra, "--out", str(tmp_path / "res")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err, err
    assert err.count("\n") == 1


def test_design_yaml_paraphrases_as_text_and_flags_override_the_file(tmp_path):
    from workbench.design import Design

    path = tmp_path / "design.yaml"
    path.write_text("instruments: [mfq30]\nparaphrases: '0, 1'\nrepeats: 1\n")
    d = Design.from_yaml(path, models=["m"], repeats=None)
    assert d.paraphrases == [0, 1] and d.models == ["m"] and d.repeats == 1


def test_files_that_are_not_utf8_give_one_line(tmp_path, capsys):
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("id: x\nname: Fragebogen für Köln\n".encode("latin-1"))
    assert main(["instruments", "--check", str(latin)]) == 2
    err = capsys.readouterr().err
    assert f"instrument file '{latin}' is not UTF-8 text" in err and "save it as UTF-8" in err
    assert err.count("\n") == 1
    assert main(["probe", "--model", "openai:m@http://127.0.0.1:9/v1", "--instrument",
                 str(latin), "--out", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err
    assert "is not UTF-8 text" in err and err.count("\n") == 1
    assert main(["probe", "--design", str(latin), "--out", str(tmp_path / "res")]) == 2
    err = capsys.readouterr().err
    assert f"design file '{latin}' is not UTF-8 text" in err and err.count("\n") == 1


# ---------------------------------------------------------------------- last-resort handler
def _failing(monkeypatch, exc: BaseException) -> None:
    import workbench.cli as cli

    def boom(args):
        raise exc

    monkeypatch.setattr(cli, "_dispatch", boom)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: OSError(28, "No space left on device", "/x/summary.md"),
         "No space left on device '/x/summary.md': check the path"),
        (lambda: UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
         "not UTF-8 text (invalid start byte at byte 0)"),
        (lambda: __import__("yaml").YAMLError("mapping values are not allowed here"),
         "cannot parse YAML (mapping values are not allowed here)"),
        (lambda: __import__("duckdb").IOException("IO Error: disk\nmore detail"),
         "the results database failed (IOException: IO Error: disk)"),
    ],
)
def test_environment_failures_print_one_line_with_a_debug_hint(monkeypatch, capsys, make,
                                                                message):
    _failing(monkeypatch, make())
    assert main(["models"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert err.rstrip().endswith("(run with --debug for the traceback)")
    assert err.count("\n") == 1 and "Traceback" not in err
    _failing(monkeypatch, make())
    assert main(["--debug", "models"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_bugs_keep_their_traceback(monkeypatch):
    _failing(monkeypatch, ValueError("a bug"))
    with pytest.raises(ValueError, match="a bug"):
        main(["models"])


@pytest.mark.parametrize("make", [KeyboardInterrupt,
                                  lambda: __import__("duckdb").InterruptException("INTERRUPT")])
def test_interrupts_during_a_write_print_the_resume_message(monkeypatch, capsys, make):
    _failing(monkeypatch, make())
    assert main(["models"]) == 130
    assert "rerun the same command to resume" in capsys.readouterr().err
