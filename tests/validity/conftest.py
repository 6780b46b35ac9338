"""Fixtures for the validity tests: toy instruments, hand-built distribution frames, and
stores filled by synthetic respondents of known behaviour through the real probe."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

FACTOR_DEFAULTS = {"model": "m", "instrument": "toy", "persona": "none", "language": "en",
                   "paraphrase": 0, "answer_format": "numbered", "instruction": "forced",
                   "mode": "logprob", "repeat": 0}


def write_toy(path, n_items: int = 5, codes=(1, 2, 3, 4, 5), exclusions=(),
              scores=None) -> str:
    """A toy instrument file: items i1..iN on one ordinal scale, one mean score over all."""
    items = [{"id": f"i{j}", "text": {"en": f"item {j}"}, "scale": "s"}
             for j in range(1, n_items + 1)]
    for ex in exclusions:
        for it in items:
            if it["id"] == ex["item"]:
                it["role"] = "catch"
    scored = [it["id"] for it in items if it.get("role") != "catch"]
    doc = {"id": "toy", "name": "Toy scale (TOY)", "family": "test",
           "source": {"citation": "test", "terms": "test"},
           "languages": {"en": {"source": "test"}},
           "scales": {"s": {"type": "ordinal", "codes": list(codes),
                            "labels": {"en": [f"label {c}" for c in codes]}}},
           "items": items,
           "scores": scores if scores is not None else
           [{"id": "all", "label": "All", "method": "mean", "items": scored}],
           "exclusions": list(exclusions)}
    file = path / "toy.yaml"
    file.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(file)


def frame(requests: list[dict], codes=(1, 2, 3, 4, 5)) -> pd.DataFrame:
    """Option rows from request specs ``{item_id, order, probs (by code), ...factors}``.

    The shown position follows the order: ``original`` shows the codes in scale order,
    ``reversed`` in reverse, any other order takes ``positions`` (a list, by code)."""
    rows = []
    k = len(codes)
    for n, spec in enumerate(requests):
        spec = {**FACTOR_DEFAULTS, **spec}
        probs = spec.pop("probs")
        positions = spec.pop("positions", None)
        if positions is None:
            positions = list(range(k)) if spec["order"] == "original" else list(range(k))[::-1]
        rid = spec.pop("request_id", f"r{n}")
        for code, p, pos in zip(codes, probs, positions, strict=True):
            rows.append({"request_id": rid, **spec, "code": code, "position": pos,
                         "prob": float(p)})
    return pd.DataFrame(rows)


def one_hot(code: int, codes=(1, 2, 3, 4, 5)) -> list[float]:
    return [1.0 if c == code else 0.0 for c in codes]


@pytest.fixture
def toy(tmp_path) -> SimpleNamespace:
    """Builders for hand-worked cases (a toy instrument file in tmp, frames, one-hot)."""
    return SimpleNamespace(write=lambda **kw: write_toy(tmp_path, **kw), frame=frame,
                           one_hot=one_hot)


@pytest.fixture(scope="session")
def respondent_store(tmp_path_factory):
    """MFQ-30 and VSM 2013 answered by synthetic respondents through the real probe, in both
    option orders and two wordings: ``position`` (0.7 of the mass on the first shown option),
    ``content`` (a fixed preferred answer per item wherever shown), ``mixed`` (half each),
    with prompt-hash noise on every option."""
    from tests.validity.backends import MixtureBackend, preferred_labels
    from workbench.design import Design
    from workbench.instrument_files import load_instrument
    from workbench.probe import run_probe

    prefs = {}
    for inst in ("mfq30", "vsm2013"):
        prefs.update(preferred_labels(load_instrument(inst), seed=1))
    backends = {"position": MixtureBackend("position", prefs, mix=1.0, noise=0.5),
                "content": MixtureBackend("content", prefs, mix=0.0, noise=0.5),
                "mixed": MixtureBackend("mixed", prefs, mix=0.5, noise=0.5)}
    out = tmp_path_factory.mktemp("validity-store")
    design = Design(models=list(backends), instruments=["mfq30", "vsm2013"],
                    orders=["original", "reversed"], paraphrases=[0, 1])
    result = run_probe(design, out, backends=backends, progress=False)
    one = Design(models=list(backends), instruments=["mfq30", "vsm2013"],
                 orders=["original"], paraphrases=[0, 1])
    single = run_probe(one, tmp_path_factory.mktemp("validity-one-order"), backends=backends,
                       progress=False)
    return SimpleNamespace(both=result.store.distributions(),
                           single=single.store.distributions())


@pytest.fixture(scope="session")
def judged(respondent_store):
    """Validity table and verdicts of the respondent store (both orders)."""
    from workbench.validity import validity_table, verdicts

    table = validity_table(respondent_store.both, n_boot=1000, n_perm=999, seed=3)
    return SimpleNamespace(table=table, verdicts=verdicts(table))
