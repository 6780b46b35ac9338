"""Interruption and resume (SIGINT, SIGKILL), concurrent writers, snapshot reads, determinism."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes import write_unsupported_gguf
from workbench.design import Design
from workbench.errors import WorkbenchError
from workbench.models import load_model
from workbench.probe import run_probe
from workbench.store import ResultStore

PERSONAS = "random:10"  # 10 personas x 32 MFQ-30 items = 320 requests
TOTAL = 320
# The kill tests need a run long enough that a signal sent after the first answers lands
# mid-run on any machine: 40 personas x 32 items = 1,280 requests (about 40 s on 2 cores).
KILL_PERSONAS, KILL_TOTAL = "random:40", 1280


def probe_cmd(model_dir: Path, out: Path, chunk: int = 8, personas: str = PERSONAS
              ) -> list[str]:
    return [sys.executable, "-m", "workbench.cli", "probe", "--model", str(model_dir),
            "--instrument", "mfq30", "--personas", personas, "--out", str(out),
            "--no-progress", "--chunk-size", str(chunk)]


def stored(out: Path) -> int:
    try:  # a short lock wait: poll often, never stall behind the writer
        return ResultStore(out, read_only=True, lock_timeout=0.5).count()
    except WorkbenchError:
        return 0


def wait_for_answers(out: Path, proc: subprocess.Popen, minimum: int, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"probe ended early: {proc.stderr.read() if proc.stderr else ''}")
        if (out / "results.duckdb").exists() and stored(out) >= minimum:
            return
        time.sleep(0.2)
    pytest.fail("probe did not store answers in time")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_probe_resumes_without_loss_or_duplicates(sig, tmp_path, tiny_model_dir):
    out = tmp_path / "res"
    cmd = probe_cmd(tiny_model_dir, out, personas=KILL_PERSONAS)
    # SIGINT as at a terminal, even when the suite runs in a job that ignores it (`nohup &`)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for_answers(out, proc, minimum=16)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130
        assert "rerun the same command to resume" in proc.stderr.read()
    before = stored(out)
    assert 16 <= before < KILL_TOTAL, before
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    store = ResultStore(out, read_only=True)
    req = store.requests()
    assert len(req) == KILL_TOTAL and req.request_id.is_unique  # lost: 0, duplicates: 0
    dists = store.distributions()
    assert dists.groupby("request_id").size().eq(6).all()  # no half-written answers
    # the rerun computed exactly the missing answers
    computed_line = [ln for ln in done.stdout.splitlines() if ln.startswith("| ") and "|" in ln
                     and str(tiny_model_dir.name) in ln][0]
    cells = [c.strip() for c in computed_line.strip("|").split("|")]
    assert int(cells[2]) == KILL_TOTAL - before and int(cells[3]) == before
    print(f"\n{sig.name}: answers before kill {before}, after resume {len(req)}, "
          f"computed on resume {cells[2]}, duplicates 0, lost 0")


def test_two_writers_serialise_safely_and_readers_see_consistent_snapshots(
        tmp_path, tiny_model_dir):
    out = tmp_path / "shared"
    a = subprocess.Popen(probe_cmd(tiny_model_dir, out, chunk=4), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    b = subprocess.Popen(probe_cmd(tiny_model_dir, out, chunk=4), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    snapshots = 0
    deadline = time.monotonic() + 240
    while (a.poll() is None or b.poll() is None) and time.monotonic() < deadline:
        if (out / "results.duckdb").exists():
            try:
                # one snapshot: the three reads see the same committed batches
                with ResultStore(out, read_only=True, lock_timeout=10).snapshot() as snap:
                    dists = snap.distributions()
                    request_ids = set(snap.requests()["request_id"])
                    n_req = snap.count()
            except WorkbenchError:
                continue
            if not dists.empty:
                # every visible request is complete: all 6 options, probabilities sum to 1
                assert dists.groupby("request_id").size().eq(6).all()
                assert dists.groupby("request_id")["prob"].sum().sub(1).abs().max() < 1e-9
                # and every stored request has its options (log-prob answers always do)
                assert set(dists["request_id"]) == request_ids
                assert len(request_ids) == n_req
                snapshots += 1
        time.sleep(0.1)
    assert a.wait(timeout=60) == 0, a.stderr.read()
    assert b.wait(timeout=60) == 0, b.stderr.read()
    req = ResultStore(out, read_only=True).requests()
    assert len(req) == TOTAL and req.request_id.is_unique
    assert snapshots > 0


def test_a_writer_that_cannot_get_the_lock_fails_clearly(tmp_path):
    store = ResultStore(tmp_path)
    blocker = subprocess.Popen([sys.executable, "-c",
                                "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                                "print('locked', flush=True); time.sleep(30)",
                                str(store.path)], stdout=subprocess.PIPE, text=True)
    try:
        assert blocker.stdout.readline().strip() == "locked"
        slow = ResultStore(tmp_path, lock_timeout=1.0, read_only=True)
        with pytest.raises(WorkbenchError, match="in use by another process"):
            slow.count()
    finally:
        blocker.kill()
        blocker.wait()


def test_same_design_and_seed_give_bit_identical_logprobs(tmp_path, tiny_model_dir):
    d = Design(models=[str(tiny_model_dir)], instruments=["mfq30"],
               orders=["original", "perm1"], items=["q01", "q02", "q03", "q04"])
    one = run_probe(d, tmp_path / "a", progress=False).store.distributions()
    two = run_probe(d, tmp_path / "b", progress=False).store.distributions()
    cols = ["request_id", "code", "position", "logprob", "prob"]
    assert one[cols].equals(two[cols])


def test_provenance_names_what_produced_each_number(tmp_path, tiny_model_dir):
    d = Design(models=[str(tiny_model_dir)], instruments=["mfq30"], items=["q01"])
    store = run_probe(d, tmp_path, progress=False).store
    prov = store.provenance()
    row = prov.iloc[0]
    assert row.model_fingerprint.startswith("dir-sha256:")
    assert row["backend"] == "transformers" and row["dtype"] == "float32"
    assert row.chat_template_hash and row.template_version and row.package_version
    runs = store.query("SELECT design, package_version FROM runs")
    assert "mfq30" in runs.design.iloc[0]


def test_unsupported_gguf_architecture_gives_a_clear_error(tmp_path, cache_env):
    path = write_unsupported_gguf(tmp_path / "odd.gguf")
    with pytest.raises(WorkbenchError, match="cannot load"):
        load_model(str(path))


def test_sigint_in_process_keeps_committed_batches(tmp_path, tiny_backend):
    """KeyboardInterrupt inside run_probe: committed chunks stay, nothing half-written."""

    class Interrupting:
        supports_logprobs = True

        def __init__(self, inner, after: int) -> None:
            self.inner, self.after, self.info = inner, after, inner.info
            self.calls = 0

        def score_options(self, reqs):
            self.calls += 1
            if self.calls > self.after:
                raise KeyboardInterrupt
            return self.inner.score_options(reqs)

        def generate(self, reqs):
            raise AssertionError

    d = Design(models=["tiny"], instruments=["mfq30"])
    with pytest.raises(KeyboardInterrupt):
        run_probe(d, tmp_path, backends={"tiny": Interrupting(tiny_backend, 2)}, chunk_size=5,
                  progress=False)
    assert ResultStore(tmp_path, read_only=True).count() == 10
    resumed = run_probe(d, tmp_path, backends={"tiny": tiny_backend}, chunk_size=5,
                        progress=False)
    assert resumed.stats[0].computed == 22 and resumed.store.count() == 32
