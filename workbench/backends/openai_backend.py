"""OpenAI-compatible HTTP servers (vLLM, llama.cpp's llama-server, Ollama, hosted APIs).

Why: models too big for this process run on a server; this backend only renders prompts, sends
requests concurrently (bounded), retries what is worth retrying, and turns answers into option
log-probs. Use it as ``--model openai:<model>@<base_url>`` (see docs/servers.md).

Option log-probs (``logprob_method``):

- ``completions_echo``: ``/completions`` with ``echo`` on prompt + option returns the log-prob of
  every prompt token; the option's tokens are summed, exactly as the transformers backend does
  (vLLM supports it; llama.cpp ignores ``echo``).
- ``chat_top_logprobs``: ``/chat/completions`` with ``top_logprobs`` returns the first generated
  token's top-k alternatives; an option scores the log-prob of the token(s) equal to its key
  (whitespace stripped). When the options start with a space that the top-k holds as a token
  of its own (tokenizers that split " 1" into " " and "1") and the assistant prefix can be
  continued, one follow-up request continues the prefix by that space and adds
  P(" ") * P("1" | " "). An APPROXIMATION:
  options outside the top-k get a floor log-prob (the smallest value the server returned, an
  upper bound for what it left out), are marked ``truncated`` and stored with ``n_tokens = 0``;
  a multi-token option scores only its first token. When one key begins another ("1" and "10"
  on a 10-point scale) and the reply can be continued, one more request continues it by the
  shorter key, so that P("10") = P("1") * P("0" | "1") and "1" keeps only P("1") - P("10")
  (exclusive scoring, as in the transformers backend); where it cannot be continued, the
  shorter key keeps the mass of both and is marked approximate (``n_tokens = 0``).
- ``completions_top_logprobs``: the same on ``/completions`` (raw text prompt).
- ``none``: the server only generates; probing must use ``mode: generate``.
- ``auto`` (default): probe the server once, on first need, in the order above.

No cache here: :func:`workbench.probe.run_probe` stores every answered chunk in DuckDB, so a
crash or Ctrl-C loses at most the chunk in flight and a rerun sends only what is missing. Results
always come back in request order, whatever order the server answers in.

The API key is read from the environment variable ``api_key_env`` and sent as a Bearer token; it
is never put in ``info``, error messages or logs.
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
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from workbench.backends.base import (
    BackendOption,
    BaseBackend,
    GenerateRequest,
    Message,
    ModelInfo,
    ModelSpec,
    OptionScores,
    ScoreRequest,
    exclusive_logprobs,
    render_plain,
    split_trailing_spaces,
    wire_messages,
    without_share,
)
from workbench.errors import WorkbenchError
from workbench.redact import redact_credentials, secret_redactor

log = logging.getLogger(__name__)

LOGPROB_METHODS = ("auto", "completions_echo", "chat_top_logprobs", "completions_top_logprobs",
                   "none")
PREFILL_MODES = ("auto", "assistant", "continue_final_message", "user")
CHAT_TEMPLATES = ("none", "server")
_PROBE_ORDER = ("completions_echo", "chat_top_logprobs", "completions_top_logprobs")
_UNSUPPORTED_STATUS = frozenset({400, 404, 405, 415, 422, 501})  # probing: "not here"
_MAX_ERROR_TEXT = 300
_MAX_RETRY_AFTER = 120.0
_GARBAGE_HINT = "check the base URL points at an OpenAI-compatible /v1 API"

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class ServerOptionScores(OptionScores):
    """Option scores plus how they were obtained.

    ``truncated[i]`` is True when option i was not among the server's top-k alternatives and
    got the floor log-prob (its ``n_tokens`` is then 0, which is what the store keeps).
    """

    truncated: tuple[bool, ...] = ()
    method: str = ""


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


class _Garbage(Exception):
    """Raised by the parsers; turned into a ServerGarbageError naming the request."""


class _Cancelled(Exception):
    """Another request of the same batch failed for good; stop retrying."""


class OpenAIBackend(BaseBackend):
    """A model behind an OpenAI-compatible ``/v1`` API, scored and sampled over HTTP."""

    name = "openai"
    options = {
        "logprob_method": BackendOption((str,), "auto | completions_echo | chat_top_logprobs | "
                                                "completions_top_logprobs | none"),
        "chat_template": BackendOption((str,), "none | server"),
        "prefill": BackendOption((str,), "auto | assistant | continue_final_message | user"),
        "top_logprobs": BackendOption((int,), "alternatives requested by the top-k methods"),
        "floor_logprob": BackendOption((int, float, type(None)),
                                       "log-prob of options outside the top-k"),
        "generate_endpoint": BackendOption((str,), "chat | completions"),
        "max_concurrency": BackendOption((int,), "requests in flight at once"),
        "timeout": BackendOption((int, float), "seconds to wait for one answer"),
        "max_retries": BackendOption((int,), "retries on 429/5xx/timeouts"),
        "backoff": BackendOption((int, float), "first retry delay in seconds"),
        "max_backoff": BackendOption((int, float), "longest retry delay in seconds"),
        "api_key_env": BackendOption((str, type(None)), "environment variable holding the API key"),
    }

    @classmethod
    def fingerprint_for(cls, spec: ModelSpec, options: Mapping[str, object]) -> str:
        """``openai:<server model>@<base URL without credentials>``: the server owns the
        weights, so the name and address are all that is known of them."""
        return f"{cls.name}:{spec.server_model}@{redact_credentials(spec.location)}"

    def __init__(
        self,
        spec: ModelSpec,
        logprob_method: str = "auto",
        chat_template: str = "none",
        prefill: str = "auto",
        top_logprobs: int = 20,
        floor_logprob: float | None = None,
        generate_endpoint: str = "chat",
        max_concurrency: int = 4,
        timeout: float = 60.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        api_key_env: str | None = "OPENAI_API_KEY",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        _check_choice("logprob_method", logprob_method, LOGPROB_METHODS)
        _check_choice("chat_template", chat_template, CHAT_TEMPLATES)
        _check_choice("prefill", prefill, PREFILL_MODES)
        _check_choice("generate_endpoint", generate_endpoint, ("chat", "completions"))
        if max_concurrency < 1 or max_retries < 0 or timeout <= 0 or top_logprobs < 1:
            raise WorkbenchError(
                "server options out of range: need max_concurrency >= 1, max_retries >= 0, "
                "timeout > 0 and top_logprobs >= 1"
            )
        super().__init__(spec, {
            "logprob_method": logprob_method, "chat_template": chat_template, "prefill": prefill,
            "top_logprobs": top_logprobs, "floor_logprob": floor_logprob,
            "generate_endpoint": generate_endpoint, "max_concurrency": max_concurrency,
            "timeout": timeout, "max_retries": max_retries, "backoff": backoff,
            "max_backoff": max_backoff, "api_key_env": api_key_env})
        self.base_url = spec.location.rstrip("/")
        self.public_url = redact_credentials(self.base_url)
        if not self.base_url.startswith(("http://", "https://")):
            raise WorkbenchError(
                f"server URL '{self.public_url}' must start with http:// or https://, "
                "e.g. openai:llama@http://127.0.0.1:8080/v1"
            )
        self.root_url = self.base_url.removesuffix("/v1")
        self.model_name = spec.server_model or spec.model_id
        self.requested_method = logprob_method
        self.chat_template = chat_template
        self.requested_prefill = prefill
        self.top_logprobs = top_logprobs
        self.floor_logprob = floor_logprob
        self.generate_endpoint = generate_endpoint
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.probe_notes: list[str] = []
        self._method: str | None = None if logprob_method == "auto" else logprob_method
        self._prefill: str | None = None if prefill == "auto" else prefill
        self._server_kind: str | None = None
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._templates: dict[tuple, str] = {}
        self._warned_nested = False
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
        self._redact = secret_redactor(key)
        self.api_key_env = api_key_env
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers=headers,
            limits=httpx.Limits(max_connections=max_concurrency,
                                max_keepalive_connections=max_concurrency),
            transport=transport,
        )

    # ----------------------------------------------------------------- protocol
    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            key=self.spec.key,
            model_id=self.model_name,
            backend="openai",
            file_hash=None,
            extra={
                "base_url": self.public_url,
                "logprob_method": self._method or self.requested_method,
                "prefill": self._prefill or self.requested_prefill,
                "server": self._server_kind or "unknown",
            },
        )

    @property
    def supports_logprobs(self) -> bool:
        """False when no log-prob method works on this server (probing then needs generate)."""
        return self.logprob_method != "none"

    @property
    def logprob_method(self) -> str:
        """The method in use; ``auto`` probes the server the first time this is read."""
        if self._method is None:
            with self._lock:
                if self._method is None:
                    self._method = self._probe_method()
        return self._method

    def score_options(self, requests: Sequence[ScoreRequest]) -> list[OptionScores]:
        self.check_open()
        if not requests:
            return []
        method = self.logprob_method
        if method == "none":
            raise WorkbenchError(
                f"server {self.public_url} returns no log-probabilities"
                f"{' (' + '; '.join(self.probe_notes) + ')' if self.probe_notes else ''}: "
                "use mode: generate, or another logprob_method (see docs/servers.md)"
            )
        if method == "chat_top_logprobs":
            _ = self.prefill_mode  # ask the server once, before the workers start
        if method == "completions_echo":
            jobs = [(i, j) for i, r in enumerate(requests) for j in range(len(r.options))]
            values = self._map(lambda job: self._echo_option(requests[job[0]], job[1]), jobs)
            found: dict[tuple[int, int], tuple[float, list[str]]] = dict(
                zip(jobs, values, strict=True))
            out: list[OptionScores] = []
            for i, r in enumerate(requests):
                lps = tuple(found[(i, j)][0] for j in range(len(r.options)))
                tokens = [found[(i, j)][1] for j in range(len(r.options))]
                if r.exclusive:
                    lps = exclusive_logprobs(tokens, lps)
                ns = tuple(len(t) for t in tokens)
                out.append(ServerOptionScores(lps, ns, tuple(False for _ in lps), method))
            return out
        return self._map(lambda r: self._score_top(r, method), list(requests))

    def generate(self, requests: Sequence[GenerateRequest]) -> list[str]:
        self.check_open()
        if self.generate_endpoint == "chat" and any(r.assistant_prefix for r in requests):
            _ = self.prefill_mode  # ask the server once, before the workers start
        return self._map(self._generate_one, list(requests))

    def close(self) -> None:
        super().close()
        self._client.close()

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model_name!r}, base_url={self.public_url!r})"

    # ----------------------------------------------------------------- rendering
    def render(self, messages: Sequence[Message], assistant_prefix: str = "") -> str:
        """The raw prompt for ``/completions``: plain text like the transformers backend uses
        for models without a chat template, or the server's own template (``chat_template=
        "server"``, llama.cpp's ``/apply-template``)."""
        if self.chat_template == "server":
            return self._server_template(messages) + assistant_prefix
        return render_plain(messages, assistant_prefix)

    def chat_payload(self, messages: Sequence[Message], assistant_prefix: str = "") -> dict:
        """Messages (and flags) for ``/chat/completions``, with the assistant prefix prefilled
        where the server continues a final assistant message, else appended to the user turn."""
        wire = wire_messages(messages)
        payload: dict[str, Any] = {"model": self.model_name, "messages": wire}
        if not assistant_prefix:
            return payload
        mode = self.prefill_mode
        if mode in ("assistant", "continue_final_message"):
            wire.append({"role": "assistant", "content": assistant_prefix})
            if mode == "continue_final_message":
                payload.update(continue_final_message=True, add_generation_prompt=False)
        elif wire and wire[-1]["role"] == "user":
            wire[-1] = {"role": "user", "content": wire[-1]["content"] + "\n\n" + assistant_prefix}
        else:
            wire.append({"role": "user", "content": assistant_prefix})
        return payload

    @property
    def prefill_mode(self) -> str:
        """How the assistant prefix is sent; ``auto`` asks the server what it is, once."""
        if self._prefill is None:
            kind = self.server_kind
            self._prefill = {"llamacpp": "assistant", "vllm": "continue_final_message"}.get(
                kind, "user")
        return self._prefill

    @property
    def server_kind(self) -> str:
        """``llamacpp``, ``vllm``, ``ollama`` or ``unknown``, from ``/models``' ``owned_by``."""
        if self._server_kind is None:
            kind = "unknown"
            try:
                data = self._get_json("/models")
                entries = data.get("data")
                owners = {str(m.get("owned_by", "")).lower()
                          for m in (entries if isinstance(entries, list) else [])
                          if isinstance(m, dict)}
                if "llamacpp" in owners:
                    kind = "llamacpp"
                elif "vllm" in owners:
                    kind = "vllm"
                elif owners & {"library", "ollama"}:
                    kind = "ollama"
            except ServerError as exc:
                if exc.status == 0:
                    raise  # down or not answering: say so now, not after a second round
                log.info("could not identify the server at %s: %s", self.public_url, exc)
            except (ServerGarbageError, AttributeError) as exc:
                log.info("could not identify the server at %s: %s", self.public_url, exc)
            self._server_kind = kind
        return self._server_kind

    def _server_template(self, messages: Sequence[Message]) -> str:
        key = tuple((m.role, m.content) for m in messages)
        cached = self._templates.get(key)
        if cached is not None:
            return cached
        try:
            data = self._post("/apply-template", {"messages": wire_messages(messages)},
                              root=True)
        except ServerError as exc:
            if exc.status in _UNSUPPORTED_STATUS:
                raise WorkbenchError(
                    f"server {self.public_url} cannot apply its chat template to a raw prompt "
                    "(no /apply-template, which llama.cpp has): use chat_template='none' or "
                    "logprob_method='chat_top_logprobs'"
                ) from exc
            raise
        prompt = data.get("prompt")
        if not isinstance(prompt, str):
            raise self._garbage("/apply-template", "no 'prompt' string")
        if len(self._templates) > 4096:
            self._templates.clear()
        self._templates[key] = prompt
        return prompt

    # ----------------------------------------------------------------- scoring
    def _echo_option(self, request: ScoreRequest, j: int) -> tuple[float, list[str]]:
        """Summed log-prob of option j's tokens after the prompt, and those tokens, from an
        echoed completion."""
        context = self.render(request.messages, request.assistant_prefix)
        stripped, moved = split_trailing_spaces(context)
        cont = moved + request.options[j]
        prompt = stripped + cont
        payload = {"model": self.model_name, "prompt": prompt, "echo": True, "logprobs": 1,
                   "max_tokens": 1, "temperature": 0}
        data = self._post("/completions", payload)
        try:
            return _echo_tail(data, prompt, len(cont))
        except _Garbage as exc:
            raise self._garbage("/completions", str(exc), echo=True) from exc

    def _score_top(self, request: ScoreRequest, method: str) -> ServerOptionScores:
        keys = [o.strip() for o in request.options]
        if any(not k for k in keys):
            raise WorkbenchError(f"options {request.options!r} include an empty one")
        prefix = request.assistant_prefix
        top = self._top(request.messages, prefix, method)
        found: dict[int, list[float]] = {}
        for i, lp in _match(top, keys):
            found.setdefault(i, []).append(lp)
        floors = [min(lp for _, lp in top)] if top else []
        extendable = method == "completions_top_logprobs" or self.prefill_mode in (
            "assistant", "continue_final_message")
        lead = _leading_space(request.options)
        spaces = [(t, lp) for t, lp in top if t and not t.strip() and lead.startswith(t)]
        if extendable and spaces:
            ws, ws_lp = spaces[0]  # the options' leading space as a token of its own
            top2 = self._top(request.messages, prefix + ws, method)
            for i, lp in _match(top2, keys):
                found.setdefault(i, []).append(ws_lp + lp)
            if top2:
                floors.append(ws_lp + min(lp for _, lp in top2))
        unsplit: set[int] = set()
        if request.exclusive:
            unsplit = self._split_nested_keys(request, method, keys, found, extendable, lead)
        if self.floor_logprob is not None:
            floor = self.floor_logprob
        elif floors:
            floor = _logsumexp(floors)
        else:
            floor = -100.0
        lps, ns, cut = [], [], []
        for i in range(len(keys)):
            if i in found:
                lps.append(_logsumexp(found[i]))
                ns.append(0 if i in unsplit else 1)
                cut.append(False)
            else:
                lps.append(floor)
                ns.append(0)
                cut.append(True)
        return ServerOptionScores(tuple(lps), tuple(ns), tuple(cut), method)

    def _split_nested_keys(self, request: ScoreRequest, method: str, keys: list[str],
                           found: dict[int, list[float]], extendable: bool, lead: str
                           ) -> set[int]:
        """Separate a key's own mass from longer keys it begins ("1" from "10"), in place.

        The first token's top-k credits "1" with every reply starting "1", " 10" included
        (unless the tokenizer has a token "10" of its own, which then matched exactly). One
        more request continues the reply by the key and reads how likely each longer key's
        rest is. Returns the keys left unsplit because the reply cannot be continued.
        """
        unsplit: set[int] = set()
        for i, key in enumerate(keys):
            longer = [j for j, other in enumerate(keys)
                      if other != key and other.startswith(key) and j not in found]
            if not longer or i not in found:
                continue
            if not extendable:
                unsplit.add(i)
                continue
            own = _logsumexp(found[i])
            top = self._top(request.messages, request.assistant_prefix + lead + key, method)
            taken = 0.0
            for t, lp in _match(top, [keys[j][len(key):] for j in longer]):
                found.setdefault(longer[t], []).append(own + lp)
                taken += math.exp(lp)
            found[i] = [without_share(own, taken)]
        if unsplit and not self._warned_nested:
            self._warned_nested = True
            log.warning("server %s cannot continue a reply (prefill %s): keys that begin "
                        "longer keys (%s) keep the longer keys' mass; stored as approximate",
                        self.public_url, self.prefill_mode,
                        ", ".join(keys[i] for i in sorted(unsplit)))
        return unsplit

    def _top(self, messages: Sequence[Message], prefix: str,
             method: str) -> list[tuple[str, float]]:
        """The first generated token's top-k (token text, log-prob), most likely first."""
        if method == "chat_top_logprobs":
            path = "/chat/completions"
            payload = self.chat_payload(messages, prefix)
            payload.update(max_tokens=1, temperature=0, logprobs=True,
                           top_logprobs=self.top_logprobs)
        else:
            path = "/completions"
            payload = {"model": self.model_name, "prompt": self.render(messages, prefix),
                       "max_tokens": 1, "temperature": 0, "logprobs": self.top_logprobs}
        data = self._post(path, payload)
        try:
            return _first_top_logprobs(data)
        except _Garbage as exc:
            raise self._garbage(path, str(exc)) from exc

    # ----------------------------------------------------------------- generation
    def _generate_one(self, request: GenerateRequest) -> str:
        sampling = {"max_tokens": request.max_new_tokens, "temperature": request.temperature,
                    "seed": request.seed}
        if self.generate_endpoint == "completions":
            payload = {"model": self.model_name,
                       "prompt": self.render(request.messages, request.assistant_prefix),
                       **sampling}
            data = self._post("/completions", payload)
            try:
                return str(_first_choice(data)["text"])
            except (KeyError, TypeError, _Garbage) as exc:
                raise self._garbage("/completions", "no choices[0].text") from exc
        payload = self.chat_payload(request.messages, request.assistant_prefix)
        payload.update(sampling)
        data = self._post("/chat/completions", payload)
        try:
            content = _first_choice(data)["message"].get("content")
        except (KeyError, TypeError, AttributeError, _Garbage) as exc:
            raise self._garbage("/chat/completions", "no choices[0].message") from exc
        text = content if isinstance(content, str) else ""
        # llama.cpp returns a prefilled assistant message whole: prefix + continuation.
        prefix = request.assistant_prefix
        if prefix and self.prefill_mode == "assistant" and text.startswith(prefix):
            text = text[len(prefix):]
        return text

    # ----------------------------------------------------------------- probing
    def _probe_method(self) -> str:
        """Try each log-prob method on a tiny request; the first that answers properly wins."""
        for method in _PROBE_ORDER:
            try:
                if method == "completions_echo":
                    prompt = "The capital of France is Paris"
                    data = self._post("/completions", {
                        "model": self.model_name, "prompt": prompt, "echo": True,
                        "logprobs": 1, "max_tokens": 1, "temperature": 0})
                    _echo_logprob(data, prompt, len(" Paris"))
                else:
                    request = ScoreRequest((Message("user", "Is water wet? Answer yes or no."),),
                                           (" yes", " no"), "Answer:")
                    top = self._top(request.messages, request.assistant_prefix, method)
                    if not top:
                        raise _Garbage("empty top_logprobs")
            except ServerError as exc:
                if exc.status == 0 or (400 <= exc.status < 500
                                       and exc.status not in _UNSUPPORTED_STATUS):
                    raise  # down, 401/403 and the like: the user must fix it, not a capability gap
                if exc.status < 400:  # HTTP 200 with {"error": ...}: this method is refused
                    self.probe_notes.append(f"{method}: error answer: {exc.detail[:80]}")
                else:
                    self.probe_notes.append(f"{method}: HTTP {exc.status}")
                continue
            except _Garbage as exc:
                self.probe_notes.append(f"{method}: {str(exc)[:80]}")
                continue
            except ServerGarbageError as exc:
                self.probe_notes.append(f"{method}: {exc.detail[:80]}")
                continue
            log.info("server %s: log-probs via %s", self.public_url, method)
            return method
        log.warning("server %s returns no usable log-probs (%s); only mode: generate works",
                    self.public_url, "; ".join(self.probe_notes))
        return "none"

    # ----------------------------------------------------------------- HTTP
    def _map(self, fn: Callable[[T], R], items: list[T]) -> list[R]:
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
                real = [e for e in failed if not isinstance(e, _Cancelled)]
                raise (real or failed)[0]
            return [f.result() for f in futures]
        finally:
            self._cancel.set()  # nothing may keep retrying after we return or raise
            pool.shutdown(wait=True, cancel_futures=True)
            self._cancel.clear()

    def _get_json(self, path: str) -> dict:
        return self._send("GET", path, None, root=False)

    def _post(self, path: str, payload: dict, root: bool = False) -> dict:
        return self._send("POST", path, payload, root=root)

    def _send(self, verb: str, path: str, payload: dict | None, root: bool) -> dict:
        """One request with retries on 429/5xx/connection problems; JSON object back."""
        url = (self.root_url if root else self.base_url) + path
        where = f"{verb} {path}"
        attempts = self.max_retries + 1
        problem = ""
        last_status = 0
        for attempt in range(attempts):
            if self._cancel.is_set():
                raise _Cancelled()
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
                    return self._json(response, where, status)
                text = self._redact(_error_text(response))
                if status == 429 or status == 408 or status >= 500:
                    problem = f"HTTP {status}: {text}"
                    last_status = status
                    retry_after = _retry_after(response.headers.get("retry-after"))
                else:
                    raise ServerError(self._explain(status, where, text), status)
            if attempt + 1 >= attempts:
                break
            delay = min(self.max_backoff, self.backoff * 2 ** attempt)
            delay = delay / 2 + random.uniform(0, delay / 2)
            if retry_after is not None:
                delay = min(max(retry_after, 0.0), _MAX_RETRY_AFTER)
            log.warning("server %s: %s on %s; retry %d/%d in %.1f s", self.public_url,
                        problem, where, attempt + 1, self.max_retries, delay)
            if self._cancel.wait(delay):
                raise _Cancelled()
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

    def _json(self, response: httpx.Response, where: str, status: int = 200) -> dict:
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise self._garbage(where, f"not JSON: {response.text[:80]!r}") from exc
        if not isinstance(data, dict):
            raise self._garbage(where, "not a JSON object")
        if "error" in data and "choices" not in data and "data" not in data:
            err = data["error"]
            text = err.get("message", err) if isinstance(err, dict) else err
            code = err.get("code") if isinstance(err, dict) else None
            if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
                status = code  # an HTTP status in the body: treat it as that status
            text = self._redact(" ".join(str(text).split())[:_MAX_ERROR_TEXT])
            raise ServerError(
                f"server {self.public_url} answered {where} with an error: {text}: check the "
                "model name and request options", status, detail=text)
        return data

    def _explain(self, status: int, where: str, text: str) -> str:
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
        return self._redact(f"server {self.public_url} answered {status} to {where}: {text}: {fix}")

    def _garbage(self, where: str, detail: str, echo: bool = False) -> ServerGarbageError:
        hint = _GARBAGE_HINT
        if echo:
            hint += ("; this server may not echo prompt log-probs (llama.cpp does not): use "
                     "logprob_method='auto' or 'chat_top_logprobs'")
        return ServerGarbageError(self._redact(
            f"server {self.public_url} returned garbage for {where} ({detail}): {hint}"), detail)


# --------------------------------------------------------------------- parsing helpers
def _number(value: object) -> float | None:
    """A finite float from a JSON number; None for anything else (booleans, NaN, infinities,
    integers too large for a float: JSON allows them, ``float()`` overflows on them)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _first_choice(data: dict) -> dict:
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise _Garbage("no choices")
    return choices[0]


def _echo_logprob(data: dict, prompt: str, cont_chars: int) -> tuple[float, int]:
    """Sum of the log-probs of the prompt's last tokens that cover ``cont_chars`` characters,
    and how many tokens that was."""
    total, tokens = _echo_tail(data, prompt, cont_chars)
    return total, len(tokens)


def _echo_tail(data: dict, prompt: str, cont_chars: int) -> tuple[float, list[str]]:
    """Sum of the log-probs of the prompt's last tokens that cover ``cont_chars`` characters,
    and those tokens (first to last).

    The prompt's tokens are the first ``usage.prompt_tokens`` echoed ones (or, without usage,
    those starting inside the prompt text); a token straddling the boundary counts as option.
    """
    lp = _first_choice(data).get("logprobs")
    if not isinstance(lp, dict):
        raise _Garbage("no logprobs")
    tokens, values = lp.get("tokens"), lp.get("token_logprobs")
    if not isinstance(tokens, list) or not isinstance(values, list) or len(tokens) != len(values):
        raise _Garbage("no echoed prompt tokens (logprobs.tokens / token_logprobs)")
    n_prompt = None
    usage = data.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("prompt_tokens"), int):
        n_prompt = min(usage["prompt_tokens"], len(tokens))
    if n_prompt is None:
        offsets = lp.get("text_offset")
        if isinstance(offsets, list) and len(offsets) == len(tokens):
            n_prompt = sum(1 for o in offsets if isinstance(o, int) and o < len(prompt))
        else:
            n_prompt = len(tokens) - 1  # max_tokens=1: one generated token at the end
    echoed = "".join("".join(t for t in tokens[:n_prompt] if isinstance(t, str)).split())
    if n_prompt < 2 or not echoed.endswith("".join(prompt[-8:].split())):
        raise _Garbage("the prompt was not echoed")
    total, covered = 0.0, 0
    taken: list[str] = []
    for i in range(n_prompt - 1, 0, -1):
        if covered >= cont_chars:
            break
        value = _number(values[i])
        if value is None:
            raise _Garbage(f"no log-prob for echoed token {str(tokens[i])[:20]!r}")
        total += value
        taken.append(str(tokens[i]))
        covered += len(tokens[i]) if isinstance(tokens[i], str) else 1
    if not taken:
        raise _Garbage("no option tokens in the echo")
    return total, taken[::-1]


def _first_top_logprobs(data: dict) -> list[tuple[str, float]]:
    """Top-k alternatives of the first generated token, in either wire format.

    Chat format (OpenAI chat, vLLM, llama.cpp on both routes): ``logprobs.content[0].
    top_logprobs = [{token, logprob}]``; legacy completions: ``logprobs.top_logprobs[0] =
    {token: logprob}``.
    """
    lp = _first_choice(data).get("logprobs")
    if not isinstance(lp, dict):
        raise _Garbage("no logprobs in the answer (the server ignores logprobs?)")
    pairs: list[tuple[str, float]] = []
    content = lp.get("content")
    if isinstance(content, list):
        if not content or not isinstance(content[0], dict):
            raise _Garbage("empty logprobs.content")
        first = content[0]
        tops = first.get("top_logprobs")
        for entry in tops if isinstance(tops, list) else []:
            if isinstance(entry, dict):
                pairs.append((entry.get("token"), entry.get("logprob")))  # type: ignore[arg-type]
        if not pairs and "token" in first:
            pairs.append((first.get("token"), first.get("logprob")))  # type: ignore[arg-type]
    elif isinstance(lp.get("top_logprobs"), list) and lp["top_logprobs"]:
        first_top = lp["top_logprobs"][0]
        if isinstance(first_top, dict):
            pairs = list(first_top.items())
    else:
        raise _Garbage("no top_logprobs")
    numbers = [(t, _number(v)) for t, v in pairs]
    clean = [(t, v) for t, v in numbers if isinstance(t, str) and v is not None]
    if not clean:
        raise _Garbage("no usable top_logprobs")
    clean.sort(key=lambda p: -p[1])
    return clean


def _match(top: list[tuple[str, float]], keys: list[str]) -> list[tuple[int, float]]:
    """(option index, log-prob) for each top-k token that spells an option key.

    Exact match after stripping whitespace; otherwise a token that is a prefix of exactly one
    key counts for that key (its first token only: an approximation for multi-token keys).
    """
    out = []
    for token, lp in top:
        text = token.strip()
        if not text:
            continue
        exact = [i for i, k in enumerate(keys) if k == text]
        if exact:
            out += [(i, lp) for i in exact]
            continue
        prefix_of = [i for i, k in enumerate(keys) if k.startswith(text)]
        if len(prefix_of) == 1 and not any(k == text for k in keys):
            out.append((prefix_of[0], lp))
    return out


def _leading_space(options: Sequence[str]) -> str:
    """Whitespace that every option starts with (" " for " 1", " 2", ...)."""
    runs = [o[: len(o) - len(o.lstrip())] for o in options]
    lead = runs[0] if runs else ""
    for run in runs[1:]:
        while not run.startswith(lead):
            lead = lead[:-1]
    return lead


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _error_text(response: httpx.Response) -> str:
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


def _retry_after(value: str | None) -> float | None:
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


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise WorkbenchError(f"{name} must be one of {', '.join(choices)}; got '{value}'")


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
