"""HTTP to one OpenAI-compatible server: bounded concurrency, retries, JSON, error texts.

Why apart from the backend: how to talk to a server (connections, which failures are worth
a retry and how long to wait, what an answer that is not JSON means) is the same whatever is
asked of it; the backend decides what to ask (:mod:`.backend`) and how to read the answers
(:mod:`.wire`). Errors name the server without credentials and never hold the API key.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

from workbench.errors import WorkbenchError
from workbench.redact import redact_credentials, secret_redactor

log = logging.getLogger(__name__)

_MAX_ERROR_TEXT = 300
_MAX_RETRY_AFTER = 120.0
_GARBAGE_HINT = "check the base URL points at an OpenAI-compatible /v1 API"

T = TypeVar("T")
R = TypeVar("R")


class ServerError(WorkbenchError):
    """A request the server refused (``status`` is the HTTP status, 0 if none came back).

    An error in the body of an HTTP 2xx answer (``{"error": ...}``) keeps that 2xx status, or
    the error's own ``code`` when it is an HTTP status (400-599): the server is up and
    answered, so auto-detection moves on to the next log-prob method.
    """

    def __init__(self, message: str, status: int = 0, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class ServerGarbageError(WorkbenchError):
    """The server answered, but not with the JSON an OpenAI-compatible API returns."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class Cancelled(Exception):
    """Another request of the same batch failed for good; stop retrying."""


class Transport:
    """Requests to ``base_url`` (``.../v1``) and its root (llama.cpp's ``/apply-template``).

    At most ``max_concurrency`` requests are in flight; 429/408/5xx answers, timeouts and
    connection failures are retried ``max_retries`` times with exponential backoff and jitter
    (or the server's Retry-After). The API key is read from ``$api_key_env`` and sent as a
    Bearer token.
    """

    def __init__(self, base_url: str, model_name: str, *, timeout: float, max_retries: int,
                 backoff: float, max_backoff: float, max_concurrency: int,
                 api_key_env: str | None, transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.public_url = redact_credentials(self.base_url)
        if not self.base_url.startswith(("http://", "https://")):
            raise WorkbenchError(
                f"server URL '{self.public_url}' must start with http:// or https://, "
                "e.g. openai:llama@http://127.0.0.1:8080/v1"
            )
        self.root_url = self.base_url.removesuffix("/v1")
        self.model_name = model_name
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_concurrency = max_concurrency
        self.api_key_env = api_key_env
        self._cancel = threading.Event()
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(api_key_env, "") if api_key_env else ""
        if key and urlsplit(self.base_url).username:
            raise WorkbenchError(
                f"server URL '{self.public_url}' holds credentials (sent as Basic auth) and "
                f"${api_key_env} is set (sent as a Bearer token), but only one Authorization "
                "header can be sent: drop the credentials from the URL, or stop reading the key "
                "with --backend-option api_key_env=null"
            )
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self.redact = secret_redactor(key)
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers=headers,
            limits=httpx.Limits(max_connections=max_concurrency,
                                max_keepalive_connections=max_concurrency),
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def map(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
        """``fn`` over ``items`` with at most ``max_concurrency`` in flight, results in order.

        The first failure cancels what has not started and stops the others' retries.
        """
        if len(items) <= 1 or self.max_concurrency == 1:
            return [fn(x) for x in items]
        self._cancel.clear()
        pool = ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(items)),
                                  thread_name_prefix="openai-backend")
        try:
            futures = [pool.submit(fn, x) for x in items]
            wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f.exception() for f in futures if f.done() and f.exception() is not None]
            if failed:
                self._cancel.set()
                real = [e for e in failed if not isinstance(e, Cancelled)]
                raise (real or failed)[0]
            return [f.result() for f in futures]
        finally:
            self._cancel.set()  # nothing may keep retrying after we return or raise
            pool.shutdown(wait=True, cancel_futures=True)
            self._cancel.clear()

    def get_json(self, path: str) -> dict:
        return self.send("GET", path, None, root=False)

    def post(self, path: str, payload: dict, root: bool = False) -> dict:
        return self.send("POST", path, payload, root=root)

    def send(self, verb: str, path: str, payload: dict | None, root: bool) -> dict:
        """One request with retries on 429/5xx/connection problems; JSON object back."""
        url = (self.root_url if root else self.base_url) + path
        where = f"{verb} {path}"
        attempts = self.max_retries + 1
        problem = ""
        last_status = 0
        for attempt in range(attempts):
            if self._cancel.is_set():
                raise Cancelled()
            retry_after: float | None = None
            try:
                response = self._client.request(verb, url, json=payload)
            except httpx.TimeoutException:
                problem = f"no answer within {self.timeout:g} s"
            except httpx.TransportError as exc:
                problem = f"cannot connect ({type(exc).__name__})"
            else:
                status = response.status_code
                if status < 400:
                    return self.parse_json(response, where, status)
                text = self.redact(error_text(response))
                if status == 429 or status == 408 or status >= 500:
                    problem = f"HTTP {status}: {text}"
                    last_status = status
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                else:
                    raise ServerError(self.explain(status, where, text), status)
            if attempt + 1 >= attempts:
                break
            delay = min(self.max_backoff, self.backoff * 2 ** attempt)
            delay = delay / 2 + random.uniform(0, delay / 2)
            if retry_after is not None:
                delay = min(max(retry_after, 0.0), _MAX_RETRY_AFTER)
            log.warning("server %s: %s on %s; retry %d/%d in %.1f s", self.public_url,
                        problem, where, attempt + 1, self.max_retries, delay)
            if self._cancel.wait(delay):
                raise Cancelled()
        if problem.startswith("no answer"):
            fix = "raise timeout, lower max_concurrency, or check that the server is up"
        elif problem.startswith("cannot connect"):
            fix = "is the server running? check the URL and port"
        else:
            fix = "check the server's log; raise max_retries or lower max_concurrency"
        raise ServerError(
            f"server {self.public_url} failed {where} {attempts} time(s), last: {problem}: {fix}",
            last_status,
        )

    def parse_json(self, response: httpx.Response, where: str, status: int = 200) -> dict:
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise self.garbage(where, f"not JSON: {response.text[:80]!r}") from exc
        if not isinstance(data, dict):
            raise self.garbage(where, "not a JSON object")
        if "error" in data and "choices" not in data and "data" not in data:
            err = data["error"]
            text = err.get("message", err) if isinstance(err, dict) else err
            code = err.get("code") if isinstance(err, dict) else None
            if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
                status = code  # an HTTP status in the body: treat it as that status
            text = self.redact(" ".join(str(text).split())[:_MAX_ERROR_TEXT])
            raise ServerError(
                f"server {self.public_url} answered {where} with an error: {text}: check the "
                "model name and request options", status, detail=text)
        return data

    def explain(self, status: int, where: str, text: str) -> str:
        if status in (401, 403):
            env = self.api_key_env or "api_key_env"
            fix = f"set a valid API key in the environment variable {env}"
        elif status == 404:
            fix = (f"check the model name '{self.model_name}' and that the base URL ends in /v1 "
                   "(e.g. http://127.0.0.1:8080/v1)")
        elif status == 413:
            fix = "the prompt is too long for this server; shorten it or raise the context size"
        else:
            fix = "the server rejected the request; check the model name and server options"
        return self.redact(f"server {self.public_url} answered {status} to {where}: {text}: {fix}")

    def garbage(self, where: str, detail: str, echo: bool = False) -> ServerGarbageError:
        hint = _GARBAGE_HINT
        if echo:
            hint += ("; this server may not echo prompt log-probs (llama.cpp does not): use "
                     "logprob_method='auto' or 'chat_top_logprobs'")
        return ServerGarbageError(self.redact(
            f"server {self.public_url} returned garbage for {where} ({detail}): {hint}"), detail)


def error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return " ".join(response.text.split())[:_MAX_ERROR_TEXT] or response.reason_phrase
    if isinstance(data, dict) and "error" in data:
        err = data["error"]
        data = err.get("message", err) if isinstance(err, dict) else err
    elif isinstance(data, dict) and "detail" in data:  # FastAPI-style (vLLM validation)
        data = data["detail"]
    return " ".join(str(data).split())[:_MAX_ERROR_TEXT]


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def wait_until_healthy(base_url: str, timeout: float = 60.0, interval: float = 0.25) -> bool:
    """Poll ``<root>/health`` (llama.cpp) or ``/v1/models`` until the server answers 200.

    Returns False after ``timeout`` seconds; used by scripts and tests that start a server.
    """
    root = base_url.rstrip("/").removesuffix("/v1")
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            for url in (root + "/health", base_url.rstrip("/") + "/models"):
                try:
                    if client.get(url).status_code == 200:
                        return True
                except httpx.HTTPError:
                    pass
            time.sleep(interval)
    return False
