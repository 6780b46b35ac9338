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
is never put in ``info``, error messages or logs. HTTP is :mod:`.transport`, reading answers
:mod:`.wire`, the top-k arithmetic :mod:`.topk`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
)
from workbench.backends.openai.topk import score_from_top
from workbench.backends.openai.transport import ServerError, ServerGarbageError, Transport
from workbench.backends.openai.wire import (
    Garbage,
    echo_logprob,
    echo_tail,
    first_choice,
    first_top_logprobs,
)
from workbench.errors import WorkbenchError
from workbench.redact import redact_credentials

log = logging.getLogger(__name__)

LOGPROB_METHODS = ("auto", "completions_echo", "chat_top_logprobs", "completions_top_logprobs",
                   "none")
PREFILL_MODES = ("auto", "assistant", "continue_final_message", "user")
CHAT_TEMPLATES = ("none", "server")
_PROBE_ORDER = ("completions_echo", "chat_top_logprobs", "completions_top_logprobs")
_UNSUPPORTED_STATUS = frozenset({400, 404, 405, 415, 422, 501})  # probing: "not here"


@dataclass(frozen=True)
class ServerOptionScores(OptionScores):
    """Option scores plus how they were obtained.

    ``truncated[i]`` is True when option i was not among the server's top-k alternatives and
    got the floor log-prob (its ``n_tokens`` is then 0, which is what the store keeps).
    """

    truncated: tuple[bool, ...] = ()
    method: str = ""


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
        self.model_name = spec.server_model or spec.model_id
        self.http = Transport(spec.location, self.model_name, timeout=timeout,
                              max_retries=max_retries, backoff=backoff, max_backoff=max_backoff,
                              max_concurrency=max_concurrency, api_key_env=api_key_env,
                              transport=transport)
        self.public_url = self.http.public_url
        self.requested_method = logprob_method
        self.chat_template = chat_template
        self.requested_prefill = prefill
        self.top_logprobs = top_logprobs
        self.floor_logprob = floor_logprob
        self.generate_endpoint = generate_endpoint
        self.probe_notes: list[str] = []
        self._method: str | None = None if logprob_method == "auto" else logprob_method
        self._prefill: str | None = None if prefill == "auto" else prefill
        self._server_kind: str | None = None
        self._lock = threading.Lock()
        self._templates: dict[tuple, str] = {}
        self._warned_nested = False

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
            fingerprint=self.fingerprint(),
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
            values = self.http.map(lambda job: self._echo_option(requests[job[0]], job[1]), jobs)
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
        return self.http.map(lambda r: self._score_top(r, method), list(requests))

    def generate(self, requests: Sequence[GenerateRequest]) -> list[str]:
        self.check_open()
        if self.generate_endpoint == "chat" and any(r.assistant_prefix for r in requests):
            _ = self.prefill_mode  # ask the server once, before the workers start
        return self.http.map(self._generate_one, list(requests))

    def close(self) -> None:
        super().close()
        self.http.close()

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
                data = self.http.get_json("/models")
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
            data = self.http.post("/apply-template", {"messages": wire_messages(messages)},
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
            raise self.http.garbage("/apply-template", "no 'prompt' string")
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
        data = self.http.post("/completions", payload)
        try:
            return echo_tail(data, prompt, len(cont))
        except Garbage as exc:
            raise self.http.garbage("/completions", str(exc), echo=True) from exc

    def _score_top(self, request: ScoreRequest, method: str) -> ServerOptionScores:
        extendable = method == "completions_top_logprobs" or self.prefill_mode in (
            "assistant", "continue_final_message")
        got = score_from_top(request, lambda prefix: self._top(request.messages, prefix, method),
                             extendable, self.floor_logprob)
        if got.unsplit and not self._warned_nested:
            self._warned_nested = True
            log.warning("server %s cannot continue a reply (prefill %s): keys that begin "
                        "longer keys (%s) keep the longer keys' mass; stored as approximate",
                        self.public_url, self.prefill_mode,
                        ", ".join(request.options[i].strip() for i in sorted(got.unsplit)))
        return ServerOptionScores(got.logprobs, got.n_tokens, got.truncated, method)

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
        data = self.http.post(path, payload)
        try:
            return first_top_logprobs(data)
        except Garbage as exc:
            raise self.http.garbage(path, str(exc)) from exc

    # ----------------------------------------------------------------- generation
    def _generate_one(self, request: GenerateRequest) -> str:
        sampling = {"max_tokens": request.max_new_tokens, "temperature": request.temperature,
                    "seed": request.seed}
        if self.generate_endpoint == "completions":
            payload = {"model": self.model_name,
                       "prompt": self.render(request.messages, request.assistant_prefix),
                       **sampling}
            data = self.http.post("/completions", payload)
            try:
                return str(first_choice(data)["text"])
            except (KeyError, TypeError, Garbage) as exc:
                raise self.http.garbage("/completions", "no choices[0].text") from exc
        payload = self.chat_payload(request.messages, request.assistant_prefix)
        payload.update(sampling)
        data = self.http.post("/chat/completions", payload)
        try:
            content = first_choice(data)["message"].get("content")
        except (KeyError, TypeError, AttributeError, Garbage) as exc:
            raise self.http.garbage("/chat/completions", "no choices[0].message") from exc
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
                    data = self.http.post("/completions", {
                        "model": self.model_name, "prompt": prompt, "echo": True,
                        "logprobs": 1, "max_tokens": 1, "temperature": 0})
                    echo_logprob(data, prompt, len(" Paris"))
                else:
                    request = ScoreRequest((Message("user", "Is water wet? Answer yes or no."),),
                                           (" yes", " no"), "Answer:")
                    top = self._top(request.messages, request.assistant_prefix, method)
                    if not top:
                        raise Garbage("empty top_logprobs")
            except ServerError as exc:
                if exc.status == 0 or (400 <= exc.status < 500
                                       and exc.status not in _UNSUPPORTED_STATUS):
                    raise  # down, 401/403 and the like: the user must fix it, not a capability gap
                if exc.status < 400:  # HTTP 200 with {"error": ...}: this method is refused
                    self.probe_notes.append(f"{method}: error answer: {exc.detail[:80]}")
                else:
                    self.probe_notes.append(f"{method}: HTTP {exc.status}")
                continue
            except Garbage as exc:
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


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise WorkbenchError(f"{name} must be one of {', '.join(choices)}; got '{value}'")
