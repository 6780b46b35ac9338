"""Scores, bootstrap intervals and nearest countries for a stored run, without a notebook.

    python examples/stats_from_store.py results/

Reads the result store (never recomputes answers) and prints: MFQ foundation scores with 95%
bootstrap intervals (items within foundation and prompt variants resampled), VSM 2013 indices
with intervals over prompt variants, and each model's nearest countries by Hofstede profile.
"""

from __future__ import annotations

import sys

import pandas as pd

from workbench.reference import hofstede_scores
from workbench.scoring import score_vsm2013
from workbench.stats import bootstrap_scores, nearest_countries
from workbench.store import ResultStore

pd.set_option("display.width", 120)
store = ResultStore(sys.argv[1] if len(sys.argv) > 1 else "results", read_only=True)
dists = store.distributions(persona="none")

for name in ("mfq30", "vsm2013"):
    part = dists[dists["instrument"] == name]
    if part.empty:
        continue
    resample = ("items", "order", "paraphrase") if name == "mfq30" else ("order", "paraphrase")
    ci = bootstrap_scores(part, name, by=["model"], resample=resample, n_boot=2000, seed=0)
    print(f"\n{name}: scores with 95% bootstrap intervals ({ci['resampled'].iloc[0]})")
    cols = ["model", "score_id", "estimate", "ci_low", "ci_high"]
    print(ci[cols].round(3).to_string(index=False))

vsm = dists[dists["instrument"] == "vsm2013"]
if not vsm.empty:
    profile = score_vsm2013(vsm, by=["model"])
    # With the manual's constants C = 0 the indices are not on the countries' 0-100 scale,
    # so Euclidean distance depends on the chosen C; correlation distance compares shape only.
    for metric in ("correlation_distance", "rmsd"):  # rmsd: comparable across n_dims
        near = nearest_countries(profile, hofstede_scores(), k=5, metric=metric, by=["model"])
        print(f"\nNearest countries by Hofstede profile ({metric}, C = 0)")
        print(near[["model", "country", "iso3", "n_dims", metric]].round(3)
              .to_string(index=False))
