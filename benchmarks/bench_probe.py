"""Benchmark: the same survey requests scored five ways on the same model.

(a) ``workbench``: the workbench's batched option scoring in float32 (one forward pass per item,
    shared-prefix KV reuse), the reference every other method is compared with;
(a2) ``workbench_bf16``: the same with ``dtype=bfloat16`` (weights and KV cache in bf16, LM head
    and log-softmax in float32);
(b) ``llamacpp``: llama.cpp's server (the ``xllamacpp`` wheel) on 127.0.0.1 serving the same GGUF
    file, scored through the workbench's OpenAI-compatible backend (``--llamacpp-method``; its
    ``auto`` choice on llama.cpp is ``chat_top_logprobs``). llama.cpp computes on the quantised
    weights, transformers on dequantised float32 copies, so small differences are expected;
(c) ``lm_eval``: lm-evaluation-harness's HF ``loglikelihood`` on identical (context, continuation)
    pairs;
(d) ``generate``: a naive loop that generates an answer per item and parses it.

Each phase runs in its own subprocess so peak memory (max RSS, of the server process too for
llama.cpp) is measured per phase, and the 1-minute load average is recorded before each phase
(the machine is shared). Agreement with (a): max |delta log-prob| over every option and max
|delta option probability| (softmax over one item's options). Run from the repository root in
an environment with lm-eval and xllamacpp installed (``make bench``):

    python benchmarks/bench_probe.py --model smollm2-135m --personas 4 --orders 2

Writes ``--out`` (JSON, with the exact command) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build_requests(args):
    from workbench.design import Design

    orders = ["original", "reversed"][: args.orders]
    design = Design(models=["bench"], instruments=[args.instrument],
                    personas=[f"random:{args.personas}"], orders=orders, seed=args.seed)
    return list(design.requests("bench", "bench"))


def phase_workbench(args, backend, requests):
    # Plain continuation log-probs, the quantity lm-eval's loglikelihood returns (exclusive
    # scoring only differs where one key begins another, which MFQ-30's 0-5 keys never do).
    score_requests = _score_requests(requests)
    t0 = time.perf_counter()
    out = []
    for i in range(0, len(score_requests), args.chunk):
        out += backend.score_options(score_requests[i:i + args.chunk])
    elapsed = time.perf_counter() - t0
    return elapsed, [list(o.logprobs) for o in out]


def _score_requests(requests):
    from workbench.backends.base import ScoreRequest

    return [ScoreRequest(r.rendered.messages, tuple(" " + k for k in r.rendered.keys),
                         r.rendered.assistant_prefix, exclusive=False) for r in requests]


def phase_llamacpp(args, requests):
    """llama.cpp's server on the model's GGUF file, scored over HTTP by the OpenAI backend."""
    import psutil

    from tests.backends.llama_server import running_server
    from workbench.models import load_model, resolve_model

    gguf = Path(resolve_model(args.model).location)
    log = Path(tempfile.gettempdir()) / f"bench-llamacpp-{os.getpid()}.log"  # server output
    with running_server(gguf, log) as (base, _what):
        backend = load_model(f"openai:{args.model}@{base}", logprob_method=args.llamacpp_method,
                             max_concurrency=4)
        score_requests = _score_requests(requests)
        backend.score_options(score_requests[:1])  # the method probe and first prompt: warm-up
        t0 = time.perf_counter()
        out = backend.score_options(score_requests)
        elapsed = time.perf_counter() - t0
        server_mb = max((_peak_rss_mb(p.pid) for p in psutil.Process().children(recursive=True)),
                        default=0.0)
        backend.close()
    truncated = sum(sum(o.truncated) for o in out)
    return elapsed, {"logprobs": [list(o.logprobs) for o in out], "truncated": truncated,
                     "method": out[0].method, "server_rss_mb": server_mb}


def _peak_rss_mb(pid: int) -> float:
    """A live process's peak resident memory (VmHWM in /proc/<pid>/status), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def phase_lm_eval(args, backend, requests):
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=backend.model, tokenizer=backend.tokenizer, batch_size=args.lm_eval_batch,
              add_bos_token=not backend.has_chat_template)
    instances, shape = [], []
    for r in requests:
        context = backend.render(r.rendered.messages, r.rendered.assistant_prefix)
        shape.append(len(r.rendered.keys))
        for k in r.rendered.keys:
            instances.append(Instance(request_type="loglikelihood", doc={},
                                      arguments=(context, " " + k), idx=len(instances)))
    t0 = time.perf_counter()
    results = lm.loglikelihood(instances, disable_tqdm=True)
    elapsed = time.perf_counter() - t0
    flat = [float(lp) for lp, _ in results]
    grouped, i = [], 0
    for n in shape:
        grouped.append(flat[i:i + n])
        i += n
    return elapsed, grouped


def phase_generate(args, backend, requests):
    from workbench.backends.base import GenerateRequest
    from workbench.parsing import parse_answer

    t0 = time.perf_counter()
    statuses = []
    for r in requests:
        (text,) = backend.generate([GenerateRequest(r.rendered.messages, args.max_new_tokens,
                                                    0.0, 0, r.rendered.assistant_prefix)])
        statuses.append(parse_answer(text, r.rendered.keys, r.rendered.labels).status)
    elapsed = time.perf_counter() - t0
    return elapsed, {s: statuses.count(s) for s in set(statuses)}


def run_phase(args) -> None:
    from workbench.models import load_model

    requests = build_requests(args)
    if args.limit:
        requests = requests[: args.limit]
    if args.phase == "llamacpp":
        elapsed, payload = phase_llamacpp(args, requests)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        peak_mb += payload.pop("server_rss_mb")  # client and server, both at their peak
    else:
        dtype = "bfloat16" if args.phase == "workbench_bf16" else "float32"
        backend = load_model(args.model, dtype=dtype)
        fn = {"workbench": phase_workbench, "workbench_bf16": phase_workbench,
              "lm_eval": phase_lm_eval, "generate": phase_generate}[args.phase]
        elapsed, payload = fn(args, backend, requests)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"phase": args.phase, "n": len(requests), "seconds": elapsed,
                      "peak_rss_mb": peak_mb, "payload": payload}))


def _logprobs(phase: str, res: dict) -> list[list[float]] | None:
    if phase == "llamacpp":
        return res["payload"]["logprobs"]
    return res["payload"] if phase in ("workbench_bf16", "lm_eval") else None


def _softmax(row: list[float]) -> list[float]:
    top = max(row)
    w = [math.exp(v - top) for v in row]
    return [x / sum(w) for x in w]


def _agreement(ref: list[list[float]], other: list[list[float]]) -> dict:
    """max |d log-prob| over every option, max |d p| of the option distributions (softmax over
    one item's options, as the store normalises them) and the mean of the latter."""
    dlp = [abs(x - y) for ra, rb in zip(ref, other, strict=True)
           for x, y in zip(ra, rb, strict=True)]
    dp = [abs(x - y) for ra, rb in zip(ref, other, strict=True)
          for x, y in zip(_softmax(ra), _softmax(rb), strict=True)]
    return {"max_abs_logprob_diff": float(f"{max(dlp):.3g}"),
            "max_abs_option_prob_diff": float(f"{max(dp):.3g}"),
            "mean_abs_option_prob_diff": float(f"{sum(dp) / len(dp):.3g}")}


def _cpu_flags() -> dict:
    import torch

    caps = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    return {k: caps.get(k) for k in ("cpu_name", "avx2", "avx512_f", "avx512_bf16", "amx_bf16")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--instrument", default="mfq30")
    parser.add_argument("--personas", type=int, default=4)
    parser.add_argument("--orders", type=int, default=2, choices=[1, 2])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=32)
    parser.add_argument("--lm-eval-batch", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--generate-limit", type=int, default=0,
                        help="score only the first N requests in the generation phase")
    parser.add_argument("--llamacpp-method", default="chat_top_logprobs",
                        help="logprob_method of the OpenAI backend against llama.cpp")
    parser.add_argument("--phases", default="workbench,workbench_bf16,llamacpp,lm_eval,generate")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(HERE / "results" / "bench_probe.json"))
    args = parser.parse_args()
    if args.phase:
        run_phase(args)
        return

    results = {}
    for phase in args.phases.split(","):
        cmd = [sys.executable, __file__, "--phase", phase, "--model", args.model,
               "--instrument", args.instrument, "--personas", str(args.personas),
               "--orders", str(args.orders), "--seed", str(args.seed), "--chunk",
               str(args.chunk), "--lm-eval-batch", str(args.lm_eval_batch),
               "--max-new-tokens", str(args.max_new_tokens), "--out", args.out,
               "--llamacpp-method", args.llamacpp_method]
        if phase == "generate" and args.generate_limit:
            cmd += ["--limit", str(args.generate_limit)]
        load = os.getloadavg()[0]
        print(f"running {phase} (load average {load:.2f}) ...", file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent,
                              env={**os.environ, "TOKENIZERS_PARALLELISM": "false",
                                   "PYTHONPATH": str(HERE.parent)})
        if proc.returncode != 0:
            sys.exit(f"phase {phase} failed:\n{proc.stderr[-3000:]}")
        results[phase] = json.loads(proc.stdout.strip().splitlines()[-1])
        results[phase]["load_before"] = round(load, 2)
        results[phase]["load_after"] = round(os.getloadavg()[0], 2)

    rows = []
    base = results.get("workbench")
    for phase, res in results.items():
        rate = res["n"] / res["seconds"]
        row = {"method": phase, "requests": res["n"], "seconds": round(res["seconds"], 1),
               "answers_per_s": round(rate, 2), "peak_rss_mb": round(res["peak_rss_mb"]),
               "load_before": res["load_before"], "load_after": res["load_after"]}
        logprobs = _logprobs(phase, res)
        if base and logprobs is not None and phase != "workbench":
            row.update(_agreement(base["payload"], logprobs))
        if phase == "llamacpp":
            row.update(logprob_method=res["payload"]["method"],
                       options_outside_top_k=res["payload"]["truncated"])
        rows.append(row)
    if base:
        wb_rate = base["n"] / base["seconds"]
        for row in rows:
            row["workbench_speedup"] = round(wb_rate / row["answers_per_s"], 2)
    summary = {
        "model": args.model, "instrument": args.instrument, "personas": args.personas,
        "orders": args.orders, "rows": rows,
        "generation_statuses": results.get("generate", {}).get("payload"),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "cpu": _cpu_flags()},
        "command": " ".join(["python", "benchmarks/bench_probe.py", *sys.argv[1:]]),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print("| method | requests | seconds | answers/s | workbench speed-up | peak RSS (MB) | "
          "max abs d log-prob | max abs d option prob | load |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['method']} | {row['requests']} | {row['seconds']} | "
              f"{row['answers_per_s']} | {row.get('workbench_speedup', '')}x | "
              f"{row['peak_rss_mb']} | {row.get('max_abs_logprob_diff', '')} | "
              f"{row.get('max_abs_option_prob_diff', '')} | {row['load_before']} |")
    if summary["generation_statuses"]:
        print(f"naive generation parse statuses: {summary['generation_statuses']}")


if __name__ == "__main__":
    main()
