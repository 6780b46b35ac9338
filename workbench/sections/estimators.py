"""The distributions a report's score sections read: the stored (raw) ones or a position-
debiased estimate (:func:`workbench.stats.debias.debiased`), with a visible fallback.

Why: one report parameter (``estimator``) decides what every score section shows, while
reliability, consistency, position bias and validity keep reading the raw answers. An
estimator needs a design that supports it (all cyclic orders for ``full_permutation``, a
cyclic subset of items for ``pride``, content-free items for ``calibration``); where it
cannot run, that model x instrument shows its raw distributions and the report says so in
one note, never silently.

Each model x instrument is estimated on its own, from the distributions with follow-up items
as asked (each asked row debiased in its own shown order, then combined, as
:func:`~workbench.stats.debias.debiased` explains). PriDe gets its calibration items
explicitly: the items asked in every cyclic rotation (order names ``cycN``, or ``allN``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.stats.debias import METHODS, debiased

#: What a design needs for each estimator, as the design key to add.
NEEDS = {"full_permutation": "orders: [cyclic]", "pride": "orders: [cyclic]",
         "calibration": "content_free: true"}
#: Stored order names of the designs that show every option in every position.
BALANCED_ORDER = re.compile(r"^(cyc|all)\d+$")
KEYS = ("model", "instrument")

Cell = tuple[str, str]


@dataclass
class Estimate:
    """One estimator applied to a report's data, per model x instrument.

    ``frame``: the estimated distributions (follow-ups combined), with the raw rows of the
    cells it could not run on; ``failed``: cell -> the estimator's error; ``info``: cell ->
    its ``attrs["debias"]`` (counts such as PriDe's forward passes saved).
    """

    method: str
    frame: pd.DataFrame
    failed: dict[Cell, str] = field(default_factory=dict)
    info: dict[Cell, dict] = field(default_factory=dict)

    def supported(self, model: str, instrument: str) -> bool:
        return (model, instrument) not in self.failed

    def requirement(self, model: str, instrument: str) -> str:
        """``""`` where the estimator ran, else what the design lacks ("needs ...")."""
        why = self.failed.get((model, instrument))
        return "" if why is None else needs(self.method, why)

    @property
    def note(self) -> str:
        """The one note a report shows when the estimator fell back to raw anywhere."""
        if not self.failed:
            return ""
        groups: dict[str, list[str]] = {}
        for (model, instrument), why in self.failed.items():
            groups.setdefault(needs(self.method, why), []).append(f"{model} x {instrument}")
        parts = [f"{', '.join(cells)} ({need}: add `{need.removeprefix('needs ')}` to the "
                 "design that asked them)" for need, cells in groups.items()]
        first = next(iter(self.failed.values()))
        n_cells = len(self.failed) + len(self.info)
        return (f"Estimator '{self.method}' could not run on {len(self.failed)} of {n_cells} "
                f"model x instrument cells, which show their RAW scores instead: "
                f"{'; '.join(parts)}. First reason: {first}")


def needs(method: str, error: str) -> str:
    """The design requirement behind an estimator's error, as a table cell."""
    if "mode: logprob" in error:
        return "needs mode: logprob"
    return f"needs {NEEDS.get(method, 'another design')}"


def calibration_items(distributions: pd.DataFrame) -> list[str]:
    """Items asked in at least one order of a balanced design (``cycN``, ``allN``): PriDe's
    calibration subset (the report's calibration design asks them in every rotation)."""
    if distributions.empty or "order" not in distributions.columns:
        return []
    balanced = distributions["order"].astype(str).str.match(BALANCED_ORDER)
    return sorted(distributions.loc[balanced, "item_id"].astype(str).unique())


def apply_estimator(asked: pd.DataFrame, raw: pd.DataFrame, method: str) -> Estimate:
    """``method`` applied to each model x instrument of ``asked`` (follow-ups as asked);
    cells it cannot run on keep their rows of ``raw`` (follow-ups combined)."""
    if method not in METHODS:
        raise WorkbenchError(f"unknown estimator '{method}': use one of {', '.join(METHODS)}")
    if method == "raw" or raw.empty:
        return Estimate(method=method, frame=raw)
    keys = [k for k in KEYS if k in raw.columns]
    raw_cells = dict(iter(raw.groupby(keys, sort=False)))
    pieces, failed, info = [], {}, {}
    for key, sub in asked.groupby(keys, sort=True):
        options: dict[str, object] = {}
        if method == "pride":
            options["calibration"] = calibration_items(sub) or None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = debiased(sub, method, **options)
        except WorkbenchError as exc:
            failed[key] = str(exc)
            pieces.append(raw_cells.get(key, raw.iloc[:0]))
            continue
        info[key] = dict(out.attrs.get("debias", {}))
        pieces.append(out)
    frame = pd.concat(pieces, ignore_index=True) if pieces else raw.iloc[:0]
    frame = frame.reindex(columns=raw.columns)
    return Estimate(method=method, frame=frame, failed=failed, info=info)


__all__ = ["Estimate", "NEEDS", "apply_estimator", "calibration_items", "needs"]
