"""Plain-text summaries of stored results (what ``workbench probe`` prints at the end)."""

from __future__ import annotations

import pandas as pd

from workbench.design import Design
from workbench.paths import display_path
from workbench.scoring import score_instrument
from workbench.store import ResultStore


def score_table(store: ResultStore, instruments: list[str] | None = None,
                by: tuple[str, ...] = ("model",)) -> pd.DataFrame:
    """Official scores per model (pooled over personas and variants) for stored results."""
    dists = store.distributions()
    if instruments:
        dists = dists[dists["instrument"].isin(instruments)]
    frames = [score_instrument(group, name, by=list(by))
              for name, group in dists.groupby("instrument", sort=True)]
    if not frames:
        return pd.DataFrame(columns=[*by, "instrument", "score_id", "score"])
    return pd.concat(frames, ignore_index=True)


def distribution_checks(store: ResultStore) -> pd.DataFrame:
    """Per model x instrument: do distributions sum to 1, and do they differ across items?"""
    dists = store.distributions()
    if dists.empty:
        return pd.DataFrame()
    sums = dists.groupby(["model", "instrument", "request_id"])["prob"].sum()
    answers = store.answers()
    spread = answers.groupby(["model", "instrument"])["expected"].agg(["std", "min", "max"])
    checks = sums.groupby(["model", "instrument"]).agg(
        max_sum_error=lambda s: float((s - 1).abs().max()))
    return checks.join(spread).reset_index().rename(
        columns={"std": "sd_expected_over_items", "min": "min_expected", "max": "max_expected"})


def probe_summary(result, design: Design) -> str:
    """Markdown: run statistics, score table and answer-distribution checks."""
    store = result.store
    lines = [f"# Probe run {result.run_id}", "",
             f"Design: {', '.join(design.instruments)} x {len(design.expanded_personas())} "
             f"persona(s) x {len(design.orders)} order(s) x {len(design.paraphrases)} "
             f"paraphrase(s) x {len(design.languages)} language(s), mode {design.mode}", "",
             "## Requests", ""]
    stats = result.summary()
    lines.append(stats.to_markdown(index=False, floatfmt=".2f") if not stats.empty else "(none)")
    models = [s.model for s in result.stats]
    dists = store.distributions(model=models, instrument=design.instruments)
    for name, group in dists.groupby("instrument", sort=True):
        scores = score_instrument(group, name, by=["model"])
        wide = scores.pivot_table(index=["score_id", "score_label"], columns="model",
                                  values="score", sort=False).reset_index()
        lines += ["", f"## {name} scores (pooled over personas and variants)", "",
                  wide.to_markdown(index=False, floatfmt=".3f")]
    checks = distribution_checks(store)
    if not checks.empty:
        checks = checks[checks["model"].isin(models)]
        lines += ["", "## Answer distributions", "",
                  checks.to_markdown(index=False, floatfmt=".4f")]
    lines += ["", f"Results: {display_path(store.path)} ({store.count()} stored answers)"]
    return "\n".join(lines)
