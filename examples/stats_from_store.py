"""Scores, bootstrap intervals and nearest countries for a stored run, without a notebook.

    python examples/stats_from_store.py results/

Reads the result store (never recomputes answers) and prints: MFQ foundation scores with 95%
bootstrap intervals (items within foundation and prompt variants resampled; Hesterberg's
expanded percentile interval, see workbench.stats.intervals), VSM 2013 indices with intervals
over prompt variants, and each model's nearest countries by Hofstede profile among the
countries with all six published dimensions. When the store holds country personas
(``country:ISO3``) for VSM 2013, the constants C are also anchored on them and the nearest
countries are listed again for the anchored no-persona profile.
"""

from __future__ import annotations

import sys

import pandas as pd

from workbench.reference import hofstede_scores
from workbench.scoring import score_vsm2013
from workbench.stats import anchor_vsm_constants, bootstrap_scores, nearest_countries
from workbench.store import ResultStore

pd.set_option("display.width", 120)
store = ResultStore(sys.argv[1] if len(sys.argv) > 1 else "results", read_only=True)
everything = store.distributions()
dists = everything[everything["persona"] == "none"]

for name in ("mfq30", "vsm2013"):
    part = dists[dists["instrument"] == name]
    if part.empty:
        continue
    resample = ("items", "order", "paraphrase") if name == "mfq30" else ("order", "paraphrase")
    ci = bootstrap_scores(part, name, by=["model"], resample=resample, n_boot=2000, seed=0)
    print(f"\n{name}: scores with 95% bootstrap intervals ({ci['resampled'].iloc[0]}; "
          f"{ci['ci_method'].iloc[0]})")
    cols = ["model", "score_id", "estimate", "ci_low", "ci_high"]
    print(ci[cols].round(3).to_string(index=False))


def show_nearest(profile: pd.DataFrame, label: str) -> None:
    # Only countries with all six published dimensions are ranked (39 of 101 lack some).
    # Each VSM dimension has its own constant C, so C moves Euclidean distances and also
    # the correlation distance: different shifts per dimension change the profile's shape.
    for metric in ("euclidean", "correlation_distance"):
        near = nearest_countries(profile, hofstede_scores(), k=5, metric=metric, by=["model"])
        print(f"\nNearest countries by Hofstede profile ({metric}, {label})")
        print(near[["model", "country", "iso3", "n_dims", metric]].round(3)
              .to_string(index=False))


vsm = dists[dists["instrument"] == "vsm2013"]
if not vsm.empty:
    show_nearest(score_vsm2013(vsm, by=["model"]), "C = 0")
    personas = everything.loc[everything["instrument"] == "vsm2013", "persona"].unique()
    anchors = sorted(p for p in personas if str(p).startswith("country:"))
    if anchors:
        by_persona = score_vsm2013(everything[everything["instrument"] == "vsm2013"],
                                   by=["model", "persona"])
        fitted = anchor_vsm_constants(by_persona, hofstede_scores(),
                                      [p.split(":", 1)[1] for p in anchors])
        print(f"\nVSM constants anchored on {len(anchors)} country personas "
              "(mean published score - model index)")
        print(fitted.round(2).to_string(index=False))
        anchored = []
        for model, c in fitted.groupby("model"):
            constants = dict(zip(c["constant_param"], c["constant"], strict=True))
            anchored.append(score_vsm2013(vsm[vsm["model"] == model], constants=constants,
                                          by=["model"]))
        if anchored:
            show_nearest(pd.concat(anchored, ignore_index=True),
                         "C anchored on country personas")
