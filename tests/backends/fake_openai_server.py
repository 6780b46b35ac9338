"""A small OpenAI-compatible server for tests: a deterministic toy language model over HTTP.

It answers /v1/models, /v1/completions (with ``echo`` prompt log-probs in the legacy format, or
llama.cpp-style without them), /v1/chat/completions (``top_logprobs`` in the chat format) and
/apply-template, on 127.0.0.1 only. Tests script failures (status codes, Retry-After, delays,
garbage bodies) through :attr:`FakeOpenAIServer.script`, one entry per request.
"""

from __future__ import annotations

import json
import math
import re
import socket
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Tokens: optional leading whitespace plus a run of non-space characters, or trailing spaces.
_TOKEN = re.compile(r"\s*\S+|\s+")
VOCAB = ([str(d) for d in range(1, 10)] + [f" {d}" for d in range(1, 10)]
         + list("ABCDE") + [f" {c}" for c in "ABCDE"]
         + [" ", "\n", "Yes", "No", " yes", " no", "The", " I", "<eos>"])


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _unit(*parts: str) -> float:
    """A deterministic number in [0, 1) from strings."""
    return (zlib.crc32("\x1f".join(parts).encode()) % 100_003) / 100_003


def token_logprob(context: str, token: str) -> float:
    """Log-prob of ``token`` after ``context`` used for echoed prompt tokens."""
    return -0.05 - 6.0 * _unit("echo", context, token)


def next_token_logprobs(context: str) -> dict[str, float]:
    """A proper distribution over VOCAB after ``context`` (log-probs)."""
    logits = {t: 4.0 * _unit("next", context, t) for t in VOCAB}
    top = max(logits.values())
    norm = top + math.log(sum(math.exp(v - top) for v in logits.values()))
    return {t: v - norm for t, v in logits.items()}


def render_chat(messages: list[dict], continue_final: bool) -> str:
    """The fake chat template; a final assistant message is continued when prefilled."""
    parts = [f"<{m['role']}>{m['content']}" for m in messages]
    if continue_final and messages and messages[-1]["role"] == "assistant":
        return "".join(parts)
    return "".join(parts) + "<assistant>"


class FakeOpenAIServer:
    """An OpenAI-compatible test server in a thread; use as a context manager."""

    def __init__(
        self,
        *,
        echo: bool = True,
        chat_logprobs: bool = True,
        completions_logprobs: bool = True,
        owned_by: str = "fake",
        prefill: str = "assistant",  # assistant (llama.cpp) | flag (vLLM) | none
        prefill_echo: bool = True,  # llama.cpp returns prefix + continuation as content
        apply_template: bool = True,
        latency: Callable[[dict], float] | None = None,
        next_logprobs: Callable[[str], dict[str, float]] = next_token_logprobs,
    ) -> None:
        self.echo = echo
        self.chat_logprobs = chat_logprobs
        self.completions_logprobs = completions_logprobs
        self.owned_by = owned_by
        self.prefill = prefill
        self.prefill_echo = prefill_echo
        self.apply_template = apply_template
        self.latency = latency
        self.next_logprobs = next_logprobs
        self.script: deque = deque()  # entries: (status, headers, body) | ("sleep", seconds)
        self.requests: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={
            "poll_interval": 0.05}, daemon=True)

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def count(self, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if path is None or r["path"] == path)

    # ----------------------------------------------------------------- endpoints
    def answer(self, path: str, body: dict) -> tuple[int, dict]:
        if path == "/v1/models":
            return 200, {"object": "list", "data": [{"id": "fake", "owned_by": self.owned_by}]}
        if path == "/apply-template" and self.apply_template:
            return 200, {"prompt": render_chat(body["messages"], continue_final=False)}
        if path == "/v1/completions":
            return 200, self._completions(body)
        if path == "/v1/chat/completions":
            return 200, self._chat(body)
        return 404, {"error": {"message": "File Not Found", "code": 404}}

    def _completions(self, body: dict) -> dict:
        prompt = body["prompt"]
        if not isinstance(prompt, str):
            raise ValueError("prompt must be a string")
        dist = self.next_logprobs(prompt)
        best = max(dist, key=dist.__getitem__)
        k = int(body.get("logprobs") or 0)
        usage = {"prompt_tokens": len(tokenize(prompt)), "completion_tokens": 1}
        choice: dict = {"index": 0, "text": best, "finish_reason": "length", "logprobs": None}
        if self.echo and body.get("echo"):
            toks = tokenize(prompt)
            offsets, values, pos = [], [], 0
            for i, t in enumerate(toks):
                offsets.append(pos)
                values.append(None if i == 0 else token_logprob(prompt[:pos], t))
                pos += len(t)
            toks.append(best)
            offsets.append(pos)
            values.append(dist[best])
            choice["text"] = prompt + best
            choice["logprobs"] = {"tokens": toks, "token_logprobs": values,
                                  "text_offset": offsets, "top_logprobs": None}
        elif k and self.completions_logprobs:
            top = sorted(dist.items(), key=lambda p: -p[1])[:k]
            choice["logprobs"] = {"tokens": [best], "token_logprobs": [dist[best]],
                                  "top_logprobs": [dict(top)], "text_offset": [len(prompt)]}
        return {"object": "text_completion", "model": body.get("model"), "choices": [choice],
                "usage": usage}

    def _chat(self, body: dict) -> dict:
        messages = body["messages"]
        prefilled = bool(messages) and messages[-1]["role"] == "assistant" and (
            self.prefill == "assistant"
            or (self.prefill == "flag" and body.get("continue_final_message")))
        context = render_chat(messages, continue_final=prefilled)
        dist = self.next_logprobs(context)
        best = max(dist, key=dist.__getitem__)
        max_tokens = int(body.get("max_tokens") or 16)
        text = best if max_tokens == 1 else (
            f"{best} (t={body.get('temperature')}, seed={body.get('seed')})")
        if prefilled and self.prefill_echo:
            text = messages[-1]["content"] + text
        choice: dict = {"index": 0, "finish_reason": "length",
                        "message": {"role": "assistant", "content": text}, "logprobs": None}
        if body.get("logprobs") and self.chat_logprobs:
            k = int(body.get("top_logprobs") or 0)
            top = sorted(dist.items(), key=lambda p: -p[1])[:k]
            choice["logprobs"] = {"content": [{
                "token": best, "logprob": dist[best],
                "top_logprobs": [{"token": t, "logprob": v} for t, v in top]}]}
        return {"object": "chat.completion", "model": body.get("model"), "choices": [choice]}

    # ----------------------------------------------------------------- HTTP plumbing
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()  # no Nagle: headers and body go out without a 40 ms stall
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                self._serve({})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b"{}"
                self._serve(json.loads(raw or b"{}"))

            def _serve(self, body: dict) -> None:
                path = self.path.split("?")[0]
                with server._lock:
                    server.requests.append({"path": path, "body": body,
                                            "headers": dict(self.headers.items())})
                    step = server.script.popleft() if server.script else None
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if server.latency is not None:
                        time.sleep(min(server.latency(body), 2.0))
                    if step is not None and step[0] == "sleep":
                        time.sleep(min(float(step[1]), 10.0))
                        step = None
                    if step is not None:
                        status, headers, payload = step
                        data = payload if isinstance(payload, bytes) else json.dumps(
                            payload).encode()
                        self._send(status, data, headers)
                        return
                    status, answer = server.answer(path, body)
                    self._send(status, json.dumps(answer).encode(), {})
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _send(self, status: int, data: bytes, headers: dict) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        return Handler
