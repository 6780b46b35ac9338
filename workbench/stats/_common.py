"""Helpers shared by the stats modules (not public API)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.instruments import Instrument
from workbench.scoring import (
    as_instrument,
    check_by,
    request_values,
    require_columns,
    sampled_distributions,
)

Value = Literal["expected", "sampled", "argmax"]
VALUE_COLUMNS: dict[str, str] = {
    "expected": "expected",
    "sampled": "answer_code",
    "argmax": "argmax_code",
}


def as_tuple(names: str | Sequence[str] | None) -> tuple[str, ...]:
    if names is None:
        return ()
    if isinstance(names, str):
        return (names,)
    return tuple(names)


def value_column(value: str) -> str:
    try:
        return VALUE_COLUMNS[value]
    except KeyError:
        raise WorkbenchError(
            f"value must be one of {sorted(VALUE_COLUMNS)}, not '{value}'"
        ) from None


def answer_values(answers: pd.DataFrame, value: str) -> pd.DataFrame:
    """Answers with a numeric ``value`` column from ``expected``/``answer_code``/``argmax_code``.

    Sampled and argmax values keep only ``status == "ok"`` rows; all drop NaN values.
    """
    col = value_column(value)
    require_columns(answers, ["item_id", col], "answers frame")
    keep = answers[col].notna()
    if value != "expected" and "status" in answers.columns:
        keep &= answers["status"].eq("ok")
    out = answers.loc[keep].copy()
    out["value"] = out[col].astype(float)
    return out


def per_request_values(
    data: pd.DataFrame, instrument: Instrument, value: str
) -> pd.DataFrame:
    """Per-request item quantities from distributions (expected) or answers (sampled)."""
    if value == "expected":
        if "prob" not in data.columns:
            raise WorkbenchError(
                "value='expected' needs the distributions frame (columns code, prob); for the "
                "answers frame use value='sampled'"
            )
        return request_values(data, instrument)
    if value == "sampled":
        return request_values(sampled_distributions(data), instrument)
    raise WorkbenchError(f"value must be 'expected' or 'sampled', not '{value}'")


def flip_reverse(frame: pd.DataFrame, inst: Instrument, col: str = "value") -> pd.DataFrame:
    """Apply reverse keying (min + max - x) to ``col`` for the instrument's reverse items."""
    rev = {it.id: inst.scale_of(it.id) for it in inst.items if it.reverse}
    if not rev:
        return frame
    frame = frame.copy()
    for item_id, scale in rev.items():
        sel = frame["item_id"] == item_id
        frame.loc[sel, col] = min(scale.codes) + max(scale.codes) - frame.loc[sel, col]
    return frame


def counts(idx: np.ndarray, size: int) -> np.ndarray:
    """How often each of ``0..size-1`` occurs along the last axis (vectorised bincount)."""
    idx = np.asarray(idx, dtype=np.intp)
    batch = idx.shape[:-1]
    flat = idx.reshape(-1, idx.shape[-1])
    rows = flat.shape[0]
    offset = flat + (np.arange(rows) * size)[:, None]
    out = np.bincount(offset.ravel(), minlength=rows * size).reshape(rows, size)
    return out.reshape(*batch, size).astype(float)


def cluster_sums(
    values: pd.DataFrame,
    components: list[tuple[str, str]],
    cluster_cols: Sequence[str],
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Per-cluster sums and counts of each (item, quantity) component.

    Returns ``S`` and ``N`` of shape (n_clusters, n_components) and the cluster labels, so
    that item means over any reweighting ``w`` of clusters are ``(w @ S) / (w @ N)``.
    """
    comp_index = {c: i for i, c in enumerate(components)}
    comp = np.array(
        [
            comp_index.get((i, q), -1)
            for i, q in zip(values["item_id"], values["quantity"], strict=True)
        ],
        dtype=np.intp,
    )
    keep = comp >= 0
    values = values.loc[keep]
    comp = comp[keep]
    if cluster_cols:
        grouped = values.groupby(list(cluster_cols), sort=True, dropna=False)
        cluster = grouped.ngroup().to_numpy()
        labels = grouped.size().reset_index()[list(cluster_cols)]
    else:
        cluster = np.zeros(len(values), dtype=np.intp)
        labels = pd.DataFrame(index=[0])
    n_clusters = int(cluster.max()) + 1 if len(cluster) else 0
    s = np.zeros((n_clusters, len(components)))
    n = np.zeros((n_clusters, len(components)))
    np.add.at(s, (cluster, comp), values["value"].to_numpy(dtype=float))
    np.add.at(n, (cluster, comp), 1.0)
    return s, n, labels


def score_from_means(
    means: np.ndarray,
    method: str,
    weights: np.ndarray,
    constant: float,
    item_counts: np.ndarray | None = None,
) -> np.ndarray:
    """Score(s) from item means of shape (..., n_components).

    ``mean``: (optionally count-weighted, for resampled items) mean over non-missing items;
    ``linear``: constant + weights @ means, NaN if any component is missing.
    """
    if method == "mean":
        ok = ~np.isnan(means)
        u = np.ones_like(means) if item_counts is None else item_counts
        num = np.where(ok, means, 0.0) * u
        den = (ok * u).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num.sum(axis=-1) / np.where(den > 0, den, 1), np.nan)
    return constant + means @ weights


def group_iter(frame: pd.DataFrame, by: Sequence[str]):
    """Iterate (key dict, sub-frame) over ``by`` groups; one group when ``by`` is empty."""
    by = list(by)
    if not by:
        yield {}, frame
        return
    for key, sub in frame.groupby(by, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        yield dict(zip(by, key, strict=True)), sub


__all__ = [
    "answer_values",
    "as_instrument",
    "as_tuple",
    "cluster_sums",
    "counts",
    "flip_reverse",
    "group_iter",
    "per_request_values",
    "score_from_means",
    "value_column",
    "check_by",
]
