"""Benchmark: the same survey requests scored three ways on the same model.

(a) the workbench's batched option scoring (one forward pass per item, shared-prefix KV reuse),
(b) lm-evaluation-harness's HF ``loglikelihood`` on identical (context, continuation) pairs,
(c) a naive loop that generates an answer per item and parses it.

Each phase runs in its own subprocess so peak memory (max RSS) is measured per phase.
Run from the repository root in an environment with lm-eval installed (``make bench``):

    python benchmarks/bench_probe.py --model smollm2-135m --personas 4 --orders 2

Writes ``benchmarks/results/bench_probe.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
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
    from workbench.backends.base import ScoreRequest

    # Plain continuation log-probs, the quantity lm-eval's loglikelihood returns (exclusive
    # scoring only differs where one key begins another, which MFQ-30's 0-5 keys never do).
    score_requests = [ScoreRequest(r.rendered.messages, tuple(" " + k for k in r.rendered.keys),
                                   r.rendered.assistant_prefix, exclusive=False)
                      for r in requests]
    t0 = time.perf_counter()
    out = []
    for i in range(0, len(score_requests), args.chunk):
        out += backend.score_options(score_requests[i:i + args.chunk])
    elapsed = time.perf_counter() - t0
    return elapsed, [list(o.logprobs) for o in out]


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
    backend = load_model(args.model)
    fn = {"workbench": phase_workbench, "lm_eval": phase_lm_eval,
          "generate": phase_generate}[args.phase]
    elapsed, payload = fn(args, backend, requests)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"phase": args.phase, "n": len(requests), "seconds": elapsed,
                      "peak_rss_mb": peak_mb, "payload": payload}))


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
    parser.add_argument("--phases", default="workbench,lm_eval,generate")
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
               "--max-new-tokens", str(args.max_new_tokens)]
        if phase == "generate" and args.generate_limit:
            cmd += ["--limit", str(args.generate_limit)]
        print(f"running {phase} ...", file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
        if proc.returncode != 0:
            sys.exit(f"phase {phase} failed:\n{proc.stderr[-3000:]}")
        results[phase] = json.loads(proc.stdout.strip().splitlines()[-1])

    rows = []
    base = results.get("workbench")
    for phase, res in results.items():
        rate = res["n"] / res["seconds"]
        rows.append({"method": phase, "requests": res["n"], "seconds": round(res["seconds"], 1),
                     "answers_per_s": round(rate, 2), "peak_rss_mb": round(res["peak_rss_mb"])})
    if base:
        wb_rate = base["n"] / base["seconds"]
        for row in rows:
            row["workbench_speedup"] = round(wb_rate / row["answers_per_s"], 2)
    agreement = None
    if "workbench" in results and "lm_eval" in results:
        a, b = results["workbench"]["payload"], results["lm_eval"]["payload"]
        agreement = max(abs(x - y) for ra, rb in zip(a, b, strict=True)
                        for x, y in zip(ra, rb, strict=True))
    summary = {
        "model": args.model, "instrument": args.instrument, "personas": args.personas,
        "orders": args.orders, "rows": rows, "max_abs_logprob_diff_vs_lm_eval": agreement,
        "generation_statuses": results.get("generate", {}).get("payload"),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "command": " ".join(["python", "benchmarks/bench_probe.py", *sys.argv[1:]]),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    header = "| method | requests | seconds | answers/s | workbench speed-up | peak RSS (MB) |"
    print(header)
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['method']} | {row['requests']} | {row['seconds']} | "
              f"{row['answers_per_s']} | {row.get('workbench_speedup', '')}x | "
              f"{row['peak_rss_mb']} |")
    if agreement is not None:
        print(f"\nmax |log-prob(workbench) - log-prob(lm-eval)| = {agreement:.2e}")
    if summary["generation_statuses"]:
        print(f"naive generation parse statuses: {summary['generation_statuses']}")


if __name__ == "__main__":
    main()
