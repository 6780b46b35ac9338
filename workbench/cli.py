"""Command line: ``workbench probe | models | instruments | export | scores | report | phases``.

Problems the user can fix print as one line (``error: ...``) and exit with status 2;
``--debug`` shows the traceback. Failures of the environment that are not ``WorkbenchError``
(a database, file-system, encoding or YAML error) also print one line, with a pointer to
``--debug``; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.paths import display_path


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Administer value surveys to language models and compare with people.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("probe", help="ask models an instrument's items and store the answers")
    p.add_argument("--design", help="design YAML (factors); flags below override its values")
    p.add_argument("--model", "--models", dest="models", type=_csv,
                   help="comma-separated model names, paths or hub ids (default: embedded)")
    p.add_argument("--instrument", "--instruments", dest="instruments", type=_csv)
    p.add_argument("--personas", type=_csv, help="e.g. none,country:DEU,political:liberal")
    p.add_argument("--languages", type=_csv)
    p.add_argument("--orders", type=_csv, help="original,reversed,perm1,...")
    p.add_argument("--random-orders", type=int, help="add K seeded random option orders")
    p.add_argument("--paraphrases", type=lambda s: [int(x) for x in _csv(s)],
                   help="0 = original wording, 1.. = paraphrase index")
    p.add_argument("--answer-formats", type=_csv, help="numbered,lettered")
    p.add_argument("--instructions", type=_csv, help="forced,unforced")
    p.add_argument("--mode", choices=["logprob", "generate"])
    p.add_argument("--repeats", type=int)
    p.add_argument("--temperature", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--items", type=_csv, help="restrict to these item ids")
    p.add_argument("--blocks", type=_csv,
                   help="restrict to these questionnaire blocks (e.g. religion,ethics)")
    p.add_argument("--out", default="results", help="results directory (default: results/)")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow model repositories to run their own code (off by default)")
    p.add_argument("--allow-pickle", action="store_true",
                   help="allow loading pickled (.bin/.pt) checkpoints (off by default)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--chunk-size", type=int, default=32,
                   help="requests per committed batch (a kill loses at most one batch)")
    p.add_argument("--backend-option", dest="backend_options", action="append",
                   default=[], metavar="KEY=VALUE",
                   help="backend option (YAML value), repeatable: e.g. max_concurrency=8, "
                        "timeout=120, max_retries=3, api_key_env=MY_KEY, "
                        "logprob_method=chat_top_logprobs (see docs/servers.md)")

    m = sub.add_parser("models", help="list known models and whether they are installed")
    m.add_argument("--defaults", action="store_true", help="print only the default model keys")

    i = sub.add_parser("instruments", help="list instruments, or check an instrument file")
    i.add_argument("--check", metavar="FILE", help="validate an instrument YAML file")
    i.add_argument("--languages", action="store_true",
                   help="print the instruments x languages table (official/unofficial marks)")

    e = sub.add_parser("export", help="export stored results to Parquet or CSV")
    e.add_argument("--out", default="results", help="results directory")
    e.add_argument("--to", required=True, help="folder to write the tables into")
    e.add_argument("--format", default="parquet", choices=["parquet", "csv"])

    s = sub.add_parser("scores", help="print instrument scores for stored results")
    s.add_argument("--out", default="results", help="results directory")
    s.add_argument("--instrument", "--instruments", dest="instruments", type=_csv)

    r = sub.add_parser("report", help="run a report notebook with papermill and export HTML")
    r.add_argument("kind", choices=["compare", "probe", "culture", "explore"])
    r.add_argument("--models", type=_csv)
    r.add_argument("--instruments", type=_csv)
    r.add_argument("--results", default="results", help="results directory (store)")
    r.add_argument("--out", default="reports", help="folder for the .ipynb and .html")
    r.add_argument("--param", "-p", action="append", default=[], metavar="NAME=VALUE",
                   help="extra notebook parameter (YAML value), repeatable")
    r.add_argument("--show-code", action="store_true", help="keep code cells in the HTML")
    r.add_argument("--cell-timeout", type=int, metavar="SECONDS",
                   help="fail a cell that runs longer (default $WORKBENCH_CELL_TIMEOUT or 1800)")

    t = sub.add_parser("phases", help="print the wall-clock phases of a run (make report)")
    t.add_argument("--log", default=os.environ.get("WORKBENCH_PHASE_LOG") or "results/phases.jsonl",
                   help="phase log (default $WORKBENCH_PHASE_LOG or results/phases.jsonl)")
    t.add_argument("--run", help="run id (default: the log's last run)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or bool(os.environ.get("WORKBENCH_DEBUG"))
    try:
        return _dispatch(args)
    except WorkbenchError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return _interrupted()
    except Exception as exc:
        if _is_interrupt(exc):  # Ctrl-C while DuckDB ran a query (duckdb.InterruptException)
            return _interrupted()
        message = _environment_failure(exc)
        if message is None:
            raise  # a bug: keep the traceback
        if debug:
            traceback.print_exc()
        print(f"error: {_one_line(message)} (run with --debug for the traceback)",
              file=sys.stderr)
        return 2


def _interrupted() -> int:
    print("interrupted: answers already computed are stored; rerun the same command to "
          "resume", file=sys.stderr)
    return 130


def _is_interrupt(exc: BaseException) -> bool:
    duckdb = sys.modules.get("duckdb")
    return duckdb is not None and isinstance(exc, duckdb.InterruptException)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _environment_failure(exc: Exception) -> str | None:
    """One line (problem and fix) for failures of files, encodings, YAML and DuckDB; None
    for anything else. The modules are looked up only if already imported (fast start)."""
    duckdb = sys.modules.get("duckdb")
    yaml = sys.modules.get("yaml")
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    if duckdb is not None and isinstance(exc, duckdb.Error):
        return (f"the results database failed ({type(exc).__name__}: {first}): rerun; if it "
                "persists, move results.duckdb aside and start a new store")
    if yaml is not None and isinstance(exc, yaml.YAMLError):
        return f"cannot parse YAML ({first}): fix the file's syntax"
    if isinstance(exc, UnicodeDecodeError):
        return (f"a file is not UTF-8 text ({exc.reason} at byte {exc.start}): save it as "
                "UTF-8")
    if isinstance(exc, OSError):
        where = f" '{exc.filename}'" if exc.filename else ""
        return (f"{exc.strerror or first}{where}: check the path, its permissions and free "
                "disk space")
    return None


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "probe":
        return _probe(args)
    if args.command == "models":
        return _models(args)
    if args.command == "instruments":
        return _instruments(args)
    if args.command == "export":
        from workbench.store import ResultStore

        for path in ResultStore(args.out, read_only=True).export(args.to, args.format):
            print(display_path(path))
        return 0
    if args.command == "scores":
        return _scores(args)
    if args.command == "phases":
        from workbench.phases import phase_table, read_phases

        print(phase_table(read_phases(args.log, args.run)))
        return 0
    if args.command == "report":
        from workbench.report import run_report

        html = run_report(args.kind, models=args.models, instruments=args.instruments,
                          results=args.results, out=args.out, extra=args.param,
                          show_code=args.show_code, cell_timeout=args.cell_timeout)
        print(display_path(html))
        return 0
    raise AssertionError(args.command)


def _probe(args: argparse.Namespace) -> int:
    from workbench.design import Design
    from workbench.models import default_model_keys
    from workbench.probe import run_probe
    from workbench.redact import redact_command
    from workbench.summary import probe_summary

    overrides = {
        "models": args.models, "instruments": args.instruments, "personas": args.personas,
        "languages": args.languages, "orders": args.orders, "random_orders": args.random_orders,
        "paraphrases": args.paraphrases, "answer_formats": args.answer_formats,
        "instructions": args.instructions, "mode": args.mode, "repeats": args.repeats,
        "temperature": args.temperature, "seed": args.seed, "items": args.items,
        "blocks": args.blocks,
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if args.design:
        design = Design.from_yaml(args.design, **overrides)
    else:
        overrides.setdefault("models", default_model_keys())
        if "instruments" not in overrides:
            raise WorkbenchError("no instrument given: pass --instrument mfq30 (see `workbench "
                                 "instruments`)")
        design = Design(**overrides)
    _check_instrument_files(design.instruments)
    options = {"dtype": args.dtype, "trust_remote_code": args.trust_remote_code,
               "allow_pickle": args.allow_pickle}
    options.update(_backend_options(args.backend_options))
    result = run_probe(design, args.out, backend_options=options, chunk_size=args.chunk_size,
                       progress=not args.no_progress, command=redact_command(sys.argv))
    text = probe_summary(result, design)
    print(text)
    (Path(args.out) / "summary.md").write_text(text + "\n", encoding="utf-8")
    return 0


def _backend_options(items: list[str]) -> dict[str, object]:
    """``["timeout=120", "api_key_env=MY_KEY"]`` -> checked options (values parsed as YAML)."""
    from workbench.assignments import parse_assignments
    from workbench.backends.registry import check_backend_options

    return check_backend_options(parse_assignments(
        items,
        malformed="backend option '{item}' is not KEY=VALUE: write e.g. "
                  "--backend-option max_concurrency=8",
        unparseable="backend option '{name}': cannot parse {raw} as YAML ({first}): "
                    "quote strings"))


def _check_instrument_files(instruments: list[str]) -> None:
    """Load every instrument once so that a file that is not UTF-8 is named (not a traceback)."""
    from workbench.instrument_files import load_instrument

    for name in instruments:
        try:
            load_instrument(name)
        except UnicodeDecodeError as exc:
            raise WorkbenchError(
                f"instrument file '{name}' is not UTF-8 text ({exc.reason} at byte "
                f"{exc.start}): save it as UTF-8") from exc


def _models(args: argparse.Namespace) -> int:
    from workbench.models import is_installed, registry

    entries = registry()
    if args.defaults:
        print(",".join(m.key for m in entries if m.default))
        return 0
    print(f"{'model':<16} {'default':<8} {'installed':<10} description")
    for m in entries:
        installed = "yes" if is_installed(m) else "no"
        if m.kind == "hub":
            installed = "network"
        print(f"{m.key:<16} {'yes' if m.default else '':<8} {installed:<10} {m.description}")
    print("\nAlso accepted: a local model directory, a .gguf file, a hub id (org/name), or "
          "openai:<model>@<base_url> for an OpenAI-compatible server.")
    return 0


def _instruments(args: argparse.Namespace) -> int:
    from workbench.instrument_files import (
        available_instruments,
        load_instrument,
        load_instrument_file,
    )

    if args.check:
        try:
            inst = load_instrument_file(args.check)
        except UnicodeDecodeError as exc:
            raise WorkbenchError(
                f"instrument file '{args.check}' is not UTF-8 text ({exc.reason} at byte "
                f"{exc.start}): save it as UTF-8") from exc
        print(f"ok: {inst.id} ({len(inst.items)} items, {len(inst.scores)} scores, "
              f"languages {', '.join(inst.languages)})")
        return 0
    if args.languages:
        from workbench.languages import languages_markdown

        print(languages_markdown(), end="")
        return 0
    print(f"{'instrument':<10} {'items':>5} {'scored':>6} {'scores':>6} {'paraphr.':>8}  "
          f"{'languages':<10} name")
    for name in available_instruments():
        inst = load_instrument(name)
        scored = sum(1 for it in inst.items if it.role != "catch")
        print(f"{inst.id:<10} {len(inst.items):>5} {scored:>6} {len(inst.scores):>6} "
              f"{inst.n_paraphrases():>8}  {','.join(inst.languages):<10} {inst.name}")
    return 0


def _scores(args: argparse.Namespace) -> int:
    from workbench.store import ResultStore
    from workbench.summary import score_table

    store = ResultStore(args.out, read_only=True)
    table = score_table(store, args.instruments)
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
