"""Synthetic instruments and probing frames for the stats tests."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

DEFAULTS = {
    "model": "m",
    "persona": "none",
    "language": "en",
    "order": "original",
    "paraphrase": 0,
    "answer_format": "label",
    "repeat": 0,
}
CODES = [1, 2, 3, 4, 5]


def write_instrument(path, iid, items, scores, scale=None, exclusions=()):
    scale = scale or {"type": "ordinal", "codes": CODES, "labels": {"en": list("abcde")}}
    for it in items:
        it.setdefault("text", {"en": f"item {it['id']}"})
        it.setdefault("scale", "s")
    doc = {
        "id": iid, "name": iid, "family": "test",
        "source": {"citation": "test", "terms": "test"},
        "languages": {"en": {"source": "test"}},
        "scales": {"s": scale}, "items": items, "scores": scores,
        "exclusions": list(exclusions),
    }
    file = path / f"{iid}.yaml"
    file.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(file)


@pytest.fixture
def likert(tmp_path) -> str:
    """Two 4-item mean scores on 1..5 (a: i1-i4, b: i5-i8) and one linear index."""
    items = [{"id": f"i{j}"} for j in range(1, 9)]
    scores = [
        {"id": "a", "label": "A", "method": "mean", "items": ["i1", "i2", "i3", "i4"]},
        {"id": "b", "label": "B", "method": "mean", "items": ["i5", "i6", "i7", "i8"]},
        {"id": "lin", "label": "Linear", "method": "linear", "constant": 10,
         "terms": [{"item": "i1", "weight": 2}, {"item": "i5", "weight": -1}]},
    ]
    return write_instrument(tmp_path, "likert", items, scores)


@pytest.fixture
def balanced(tmp_path) -> str:
    """One score with two regular and two reverse-keyed items."""
    items = [{"id": "r1"}, {"id": "r2"}, {"id": "v1", "reverse": True},
             {"id": "v2", "reverse": True}]
    scores = [{"id": "bal", "label": "Balanced", "method": "mean",
               "items": ["r1", "r2", "v1", "v2"]}]
    return write_instrument(tmp_path, "balanced", items, scores)


def dists_from_probs(meta: pd.DataFrame, probs: np.ndarray, codes=CODES,
                     positions: np.ndarray | None = None) -> pd.DataFrame:
    """Long distributions frame: ``meta`` has one row per request, ``probs`` (n, k) by code."""
    meta = meta.reset_index(drop=True).copy()
    for k, v in DEFAULTS.items():
        if k not in meta.columns:
            meta[k] = v
    if "request_id" not in meta.columns:
        meta["request_id"] = [f"r{i}" for i in range(len(meta))]
    n, k = probs.shape
    if positions is None:
        positions = np.tile(np.arange(k), (n, 1))
    out = meta.loc[np.repeat(np.arange(n), k)].reset_index(drop=True)
    out["code"] = np.tile(np.asarray(codes), n)
    out["position"] = positions.ravel()
    out["prob"] = probs.ravel()
    with np.errstate(divide="ignore"):
        out["logprob"] = np.log(out["prob"])
    return out


def answers_from_dists(dists: pd.DataFrame, sampled: np.ndarray | None = None) -> pd.DataFrame:
    """Answers frame (one row per request) derived from a distributions frame."""
    d = dists.assign(_w=dists["code"] * dists["prob"])
    keys = [c for c in dists.columns if c not in ("code", "position", "prob", "logprob")]
    g = d.groupby(keys, sort=False)
    out = g["_w"].sum().rename("expected").reset_index()
    arg = d.loc[d.groupby("request_id", sort=False)["prob"].idxmax(), ["request_id", "code"]]
    out = out.merge(arg.rename(columns={"code": "argmax_code"}), on="request_id")
    out["answer_code"] = out["argmax_code"].astype(float) if sampled is None else sampled
    out["status"] = "ok"
    return out


def one_hot(codes_drawn: np.ndarray, codes=CODES) -> np.ndarray:
    codes = np.asarray(codes)
    return (np.asarray(codes_drawn)[:, None] == codes[None, :]).astype(float)


@pytest.fixture
def synth() -> SimpleNamespace:
    """The builders above, as a fixture (test modules should not import conftest)."""
    return SimpleNamespace(
        dists_from_probs=dists_from_probs, answers_from_dists=answers_from_dists,
        one_hot=one_hot, write_instrument=write_instrument, defaults=DEFAULTS, codes=CODES,
    )
