"""Run a design against models and store every answer; resumable and cache-aware.

Requests stream from the design in chunks: each chunk is checked against the store, only
missing requests are sent to the model (which is loaded only if something is missing), and the
answers of a chunk are committed in one transaction. Killing the run loses at most the chunk
in flight; rerunning the same command finishes the rest.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from workbench import __version__, phases
from workbench.backends.base import (
    Backend,
    GenerateRequest,
    ScoreRequest,
    fingerprint_of,
    wire_messages,
)
from workbench.backends.registry import fingerprint, store_key
from workbench.design import Design, ProbeRequest
from workbench.errors import WorkbenchError
from workbench.models import load_model, resolve_model
from workbench.parsing import parse_answer
from workbench.store import AnswerRecord, ResultStore


@dataclass
class ModelRunStats:
    model: str
    requests: int = 0
    computed: int = 0
    cached: int = 0
    load_seconds: float = 0.0
    compute_seconds: float = 0.0

    @property
    def seconds_per_request(self) -> float:
        return self.compute_seconds / self.computed if self.computed else math.nan


@dataclass
class ProbeResult:
    run_id: str
    store: ResultStore
    stats: list[ModelRunStats] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([{**s.__dict__, "seconds_per_request": s.seconds_per_request}
                             for s in self.stats])


def _check_one_model_per_name(store: ResultStore, key: str, fingerprint: str) -> None:
    """Refuse to store a second set of weights under a name the store already uses.

    Two checkpoints both called ``final``, one name on two servers, or a directory retrained
    in place would otherwise be pooled as one model in every table and test.
    """
    others = sorted(store.fingerprints_for(key) - {fingerprint})
    if others:
        raise WorkbenchError(
            f"results in '{store.directory}' already hold answers of another model named "
            f"'{key}' ({others[0][:40]}, now {fingerprint[:40]}): the weights or server "
            "changed. Use another --out, or name this one differently (e.g. "
            f"--model new-name={key})"
        )


def _chunks(items: Iterable[ProbeRequest], size: int) -> Iterator[list[ProbeRequest]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def run_probe(
    design: Design,
    out: str | Path,
    *,
    backends: dict[str, Backend] | None = None,
    backend_options: dict | None = None,
    chunk_size: int = 32,
    progress: bool = True,
    command: str = "",
) -> ProbeResult:
    """Answer every request of ``design`` for every model, storing results under ``out``.

    ``backends`` maps model names to ready backends (tests use synthetic ones); other names
    are loaded with :func:`workbench.models.load_model` on first need, and closed when their
    requests are done. A model's answers are stored under its fingerprint (identity known
    before loading, :func:`workbench.backends.registry.fingerprint`), so a cached run never
    loads it.
    """
    store = ResultStore(out)
    design.loaded_instruments()  # validate every instrument before any model loads
    per_model = design.count()
    if per_model == 0:
        raise WorkbenchError("empty design: it expands to no requests (check items/personas)")
    run_id = store.start_run(design.to_dict(), command)
    result = ProbeResult(run_id, store)
    for name in design.models:
        provided = (backends or {}).get(name)
        if provided is not None:
            key, identity = name, fingerprint_of(provided)
        else:
            spec = resolve_model(name)
            key = store_key(spec, backend_options)
            identity = fingerprint(spec, backend_options)
        _check_one_model_per_name(store, key, identity)
        stats = ModelRunStats(key)
        backend = provided
        bar = tqdm(total=per_model, desc=f"{key}", unit="req", disable=not progress,
                   dynamic_ncols=True)
        try:
            for chunk in _chunks(design.requests(key, identity), chunk_size):
                stats.requests += len(chunk)
                have = store.existing([r.request_id for r in chunk])
                todo = [r for r in chunk if r.request_id not in have]
                stats.cached += len(chunk) - len(todo)
                if todo:
                    if backend is None:
                        t0 = time.perf_counter()
                        bar.set_postfix_str("loading model")
                        backend = load_model(name, **(backend_options or {}))
                        stats.load_seconds = time.perf_counter() - t0
                        bar.set_postfix_str("")
                    t0 = time.perf_counter()
                    records = answer_requests(backend, todo, run_id)
                    stats.compute_seconds += time.perf_counter() - t0
                    store.write(records)
                    stats.computed += len(records)
                bar.update(len(chunk))
        finally:
            bar.close()
            if provided is None and backend is not None:
                backend.close()  # the probe closes what it opened
        result.stats.append(stats)
        if stats.computed:
            phases.record("load", stats.load_seconds, key)
            phases.record("scoring", stats.compute_seconds,
                          f"{key}, {stats.computed} answers, {design.name}")
    return result


def answer_requests(backend: Backend, requests: Sequence[ProbeRequest],
                    run_id: str) -> list[AnswerRecord]:
    """Ask the backend and turn its output into store records (one per request)."""
    t0 = time.perf_counter()
    mode = requests[0].mode
    if any(r.mode != mode for r in requests):
        raise ValueError("a chunk must not mix modes")
    if mode == "logprob":
        if not backend.supports_logprobs:
            raise WorkbenchError(
                f"model '{requests[0].model}' is served without log-probabilities: use "
                "mode: generate (with temperature > 0 and repeats to estimate distributions)"
            )
        scored = backend.score_options([
            ScoreRequest(r.rendered.messages, tuple(" " + k for k in r.rendered.keys),
                         r.rendered.assistant_prefix) for r in requests])
        outputs: list = scored
    else:
        outputs = backend.generate([
            GenerateRequest(r.rendered.messages, r.max_new_tokens, r.temperature, r.seed,
                            r.rendered.assistant_prefix) for r in requests])
    elapsed = (time.perf_counter() - t0) * 1000 / len(requests)
    now = datetime.now(UTC).replace(tzinfo=None)
    info = backend.info
    records = []
    for req, out in zip(requests, outputs, strict=True):
        base = {
            "request_id": req.request_id, "run_id": run_id, "model": req.model,
            "model_id": info.model_id, "model_fingerprint": req.model_fingerprint,
            "backend": info.backend, "dtype": info.dtype,
            "chat_template_hash": info.chat_template_hash, "instrument": req.instrument,
            "item_id": req.item_id, "persona": req.persona, "persona_text": req.persona_text,
            "language": req.language, "order": req.order, "paraphrase": req.paraphrase,
            "answer_format": req.answer_format, "instruction": req.instruction,
            "mode": req.mode, "repeat": req.repeat, "temperature": req.temperature,
            "seed": req.seed, "template_version": req.template_version,
            "prompt": _messages_json(req), "assistant_prefix": req.rendered.assistant_prefix,
            "package_version": __version__, "created_at": now, "elapsed_ms": elapsed,
            "given": req.given,
        }
        r = req.rendered
        if mode == "logprob":
            lps = list(out.logprobs)
            top = max(lps)
            weights = [math.exp(lp - top) for lp in lps]
            total = sum(weights)
            probs = [w / total for w in weights]
            base.update(generated_text=None, answer_code=None, answer_position=None,
                        status="ok", parse_method="logprob")
            options = [
                {"request_id": req.request_id, "code": r.codes[i], "position": i,
                 "key": r.keys[i], "label": r.labels[i], "logprob": lps[i], "prob": probs[i],
                 "n_tokens": out.n_tokens[i]}
                for i in range(len(lps))
            ]
        else:
            parsed = parse_answer(out, r.keys, r.labels)
            code = r.codes[parsed.position] if parsed.position is not None else None
            base.update(generated_text=out, answer_code=code, answer_position=parsed.position,
                        status=parsed.status, parse_method=parsed.method)
            options = []
            if parsed.position is not None:
                options = [
                    {"request_id": req.request_id, "code": r.codes[i], "position": i,
                     "key": r.keys[i], "label": r.labels[i], "logprob": None,
                     "prob": 1.0 if i == parsed.position else 0.0, "n_tokens": None}
                    for i in range(len(r.codes))
                ]
        records.append(AnswerRecord(base, options))
    return records


def _messages_json(req: ProbeRequest) -> str:
    return json.dumps(wire_messages(req.rendered.messages), ensure_ascii=False)
