"""Official scoring of instruments from answer distributions (point estimates, no uncertainty).

Probing produces ``distributions``: one row per (request, answer option) with the canonical
``code`` of the option and its ``prob``. Scoring turns these into item values and then into
the instrument's scores exactly as its manual prescribes:

* an item's value in one request is its expected canonical code (reverse-keyed items flipped,
  ``min + max - code``) or, for a linear term with ``codes``, the probability of answering one
  of those codes;
* an item's mean in a group is the mean of that value over the group's requests;
* a ``mean`` score is the mean of its items' means (e.g. an MFQ foundation);
* a ``linear`` score is ``constant + sum(weight * item mean)`` (e.g. a VSM 2013 index).

This is the VSM 2013 rule: indices are computed from item means over the sample, and for a
model the sample is its personas, repeats and prompt variants. Sampled (generated) answers go
through the same path after :func:`sampled_distributions` turns them into one-hot
distributions. Uncertainty lives in :mod:`workbench.stats`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.instrument_files import load_instrument
from workbench.instruments import Instrument, Score
from workbench.prompts import is_content_free

#: Columns that identify a request's experimental condition (see the data contract; the
#: result store adds ``instruction`` and ``mode``). Functions use the ones a frame has.
FACTORS: tuple[str, ...] = (
    "model",
    "instrument",
    "item_id",
    "persona",
    "language",
    "order",
    "paraphrase",
    "answer_format",
    "instruction",
    "mode",
    "repeat",
)
#: Columns that identify one "respondent": everything but the item (those present are used).
UNIT: tuple[str, ...] = (
    "model",
    "persona",
    "language",
    "order",
    "paraphrase",
    "answer_format",
    "instruction",
    "mode",
    "repeat",
)
#: Default grouping for scores: one score per model, pooling personas, repeats and variants.
DEFAULT_BY: tuple[str, ...] = ("model",)
#: ``quantity`` label of an item's (reverse-keyed) expected code.
MEAN = "mean"
#: ``method`` of ipsative scores: a mean minus the respondent's centre score (Schwartz's MRAT).
CENTRED = "centred"

InstrumentLike = Instrument | str | Path

SCORE_COLUMNS = ["instrument", "score_id", "score_label", "method", "score", "n_items"]


def as_instrument(instrument: InstrumentLike) -> Instrument:
    """Accept an :class:`Instrument`, a shipped instrument id or a path to a YAML file."""
    if isinstance(instrument, Instrument):
        return instrument
    return load_instrument(instrument)


def quantity_name(codes: Sequence[int] | None) -> str:
    """Name of an item quantity: ``"mean"`` or ``"P(1,2)"`` for P(answer in {1, 2}).

    >>> quantity_name([2, 4])
    'P(2,4)'
    """
    if codes is None:
        return MEAN
    return "P(" + ",".join(str(c) for c in sorted(codes)) + ")"


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """One clear error when a frame lacks columns the data contract promises (``what`` names
    the frame in the message, e.g. "distributions frame")."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise WorkbenchError(
            f"{what} lacks column(s) {missing}; it has {list(frame.columns)}: pass a frame "
            f"that follows the probing data contract"
        )


def check_by(frame: pd.DataFrame, by: Sequence[str], what: str = "data") -> list[str]:
    """``by`` as a list of grouping columns, each present in ``frame`` (else one clear error
    naming the columns there are)."""
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in by if c not in frame.columns]
    if missing:
        raise WorkbenchError(
            f"cannot group by {missing}: the {what} has no such column(s); available: "
            f"{list(frame.columns)}"
        )
    return by



def select_instrument(frame: pd.DataFrame, inst: Instrument, what: str) -> pd.DataFrame:
    require_columns(frame, ["item_id"], what)
    if "instrument" in frame.columns:
        frame = frame[frame["instrument"] == inst.id]
    frame = frame[~frame["item_id"].map(is_content_free)]  # calibration inputs, never scored
    if frame.empty:
        raise WorkbenchError(
            f"the {what} holds no rows for instrument '{inst.id}': check the instrument id "
            f"or the file you loaded"
        )
    known = {it.id for it in inst.items}
    unknown = sorted(set(frame["item_id"].astype(str)) - known)
    if unknown:
        raise WorkbenchError(
            f"the {what} has item(s) {unknown[:5]} that instrument '{inst.id}' does not define: "
            f"filter the frame to this instrument or load the matching instrument file"
        )
    return frame


def score_terms(
    instrument: InstrumentLike, constants: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """The instrument's scoring key as a tidy frame: one row per (score, item quantity).

    Why: every scorer (point estimates, bootstrap, permutation tests) reads the same key.
    Columns ``[score_id, score_label, method, item_id, quantity, weight, constant]``; for
    ``mean`` scores ``weight`` is 1 and ``constant`` 0; a ``centred`` score is linear:
    w_i = 1/|V| [i in V] - 1/|C| [i in C] (V its items, C the centre's, e.g. MRAT's).

    >>> score_terms("mfq30").head(2)  # doctest: +SKIP
    """
    inst = as_instrument(instrument)
    constants = dict(constants or {})
    known = inst.constant_params
    unknown = sorted(set(constants) - set(known))
    if unknown:
        raise WorkbenchError(
            f"unknown constant(s) {unknown} for instrument '{inst.id}'; its constants are "
            f"{sorted(known) or 'none'}"
        )
    rows = []
    for s in inst.scores:
        if s.method == "mean":
            for item_id in s.items:
                rows.append((s.id, s.label, s.method, item_id, MEAN, 1.0, 0.0))
        elif s.method == CENTRED:
            for item_id, weight in _centred_weights(inst, s).items():
                rows.append((s.id, s.label, s.method, item_id, MEAN, weight, 0.0))
        else:
            constant = _constant(s, constants)
            for t in s.terms:
                rows.append(
                    (s.id, s.label, s.method, t.item, quantity_name(t.codes), t.weight, constant)
                )
    return pd.DataFrame(
        rows,
        columns=["score_id", "score_label", "method", "item_id", "quantity", "weight", "constant"],
    )


def _centred_weights(inst: Instrument, score: Score) -> dict[str, float]:
    """Item weights of ``mean(items) - mean(centre items)`` (see :func:`score_terms`)."""
    weights = {item_id: 1.0 / len(score.items) for item_id in score.items}
    centre = inst.score(str(score.centre)).items
    for item_id in centre:
        weights[item_id] = weights.get(item_id, 0.0) - 1.0 / len(centre)
    return weights


def _constant(score: Score, constants: Mapping[str, float]) -> float:
    if score.constant_param and score.constant_param in constants:
        return float(constants[score.constant_param])
    return float(score.constant)


def _needed_quantities(inst: Instrument) -> dict[str, list[tuple[str, list[int] | None]]]:
    """Per item, the quantities to compute: its mean (ordinal) and every indicator a term uses."""
    need: dict[str, list[tuple[str, list[int] | None]]] = {}
    for it in inst.items:
        if inst.scales[it.scale].type == "ordinal":
            need.setdefault(it.id, []).append((MEAN, None))
    for s in inst.scores:
        for t in s.terms:
            if t.codes is not None:
                q = quantity_name(t.codes)
                if all(q != name for name, _ in need.get(t.item, [])):
                    need.setdefault(t.item, []).append((q, sorted(t.codes)))
    return need


def request_values(distributions: pd.DataFrame, instrument: InstrumentLike) -> pd.DataFrame:
    """Item quantities per request: the building block of every score.

    Returns one row per (request, item quantity): the factor columns present, ``request_id``,
    ``item_id``, ``quantity`` (``"mean"`` = expected code with reverse keying applied, or
    ``"P(codes)"`` = probability of answering one of ``codes``) and ``value``.
    Probabilities are renormalised within each request.

    >>> request_values(dists, "mfq30")  # doctest: +SKIP
    """
    inst = as_instrument(instrument)
    require_columns(distributions, ["request_id", "item_id", "code", "prob"], "distributions frame")
    frame = select_instrument(distributions, inst, "distributions frame")
    keys = [c for c in FACTORS if c in frame.columns] + ["request_id"]
    frame = frame[[*keys, "code", "prob"]]
    if frame["prob"].isna().any() or (frame["prob"] < 0).any():
        raise WorkbenchError(
            "the distributions frame has missing or negative 'prob' values: drop or fix those "
            "rows (a refusal has no distribution)"
        )
    meta = frame.drop_duplicates("request_id")[keys].set_index("request_id")
    if frame.groupby("request_id")["item_id"].nunique().gt(1).any():
        raise WorkbenchError("a request_id spans several items: request ids must be unique")
    item_ids = frame["item_id"].astype(str).to_numpy()
    codes = frame["code"].to_numpy(dtype=float)
    prob = frame["prob"].to_numpy(dtype=float)
    rid = frame["request_id"].to_numpy()
    lo = np.empty(len(frame))
    hi = np.empty(len(frame))
    rev = np.zeros(len(frame), dtype=bool)
    ordinal = np.zeros(len(frame), dtype=bool)
    for item_id in pd.unique(item_ids):
        item = inst.item(item_id)
        scale = inst.scales[item.scale]
        sel = item_ids == item_id
        bad = sorted(set(codes[sel]) - set(scale.codes))
        if bad:
            raise WorkbenchError(
                f"item '{item_id}' has code(s) {bad} that are not on its scale {scale.codes}: "
                f"re-map presented options to canonical codes before scoring"
            )
        lo[sel], hi[sel] = min(scale.codes), max(scale.codes)
        rev[sel] = item.reverse
        ordinal[sel] = scale.type == "ordinal"
    total = pd.Series(prob).groupby(rid, sort=False).sum()
    if (total <= 0).any():
        raise WorkbenchError("some requests have probabilities summing to 0: drop them")
    pieces = []

    def piece(mask: np.ndarray, weights: np.ndarray, name: str) -> None:
        if not mask.any():
            return
        num = pd.Series(weights[mask]).groupby(rid[mask], sort=False).sum()
        value = (num / total.reindex(num.index)).rename("value")
        out = meta.loc[value.index].assign(quantity=name, value=value.to_numpy())
        pieces.append(out.reset_index())

    piece(ordinal, prob * np.where(rev, lo + hi - codes, codes), MEAN)
    for item_id, quantities in _needed_quantities(inst).items():
        for name, sel in quantities:
            if sel is not None:
                piece(item_ids == item_id, prob * np.isin(codes, sel), name)
    if not pieces:
        raise WorkbenchError(f"no scoreable items of instrument '{inst.id}' in the frame")
    out = pd.concat(pieces, ignore_index=True)
    return out[[*keys, "quantity", "value"]]


def item_values(
    distributions: pd.DataFrame,
    instrument: InstrumentLike,
    by: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Each item's value per request, or its mean over the requests of each ``by`` group.

    Why: item means over the sample are what official scoring (VSM 2013, MFQ) aggregates.
    ``quantity`` is ``"mean"`` for the expected code (reverse-keyed items flipped) of ordinal
    items and ``"P(c1,c2)"`` for the probability of answering one of the codes a linear term
    counts. With ``by`` the result has ``[*by, item_id, quantity, value, n_requests]``.

    >>> item_values(dists, "mfq30", by=["model"])  # doctest: +SKIP
    """
    values = request_values(distributions, instrument)
    if by is None:
        return values
    by = check_by(values, by)
    if "item_id" in by:
        by.remove("item_id")
    grouped = values.groupby([*by, "item_id", "quantity"], sort=True, dropna=False)["value"]
    out = grouped.agg(value="mean", n_requests="size").reset_index()
    return out


def _group_frame(values: pd.DataFrame, by: list[str]) -> tuple[pd.DataFrame, list[str]]:
    if by:
        return values, by
    values = values.assign(_all=0)
    return values, ["_all"]


def scores_from_item_means(
    means: pd.DataFrame,
    instrument: InstrumentLike,
    by: Sequence[str],
    constants: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Apply the scoring key to item means ``[*by, item_id, quantity, value]``.

    Why: lets reports score item means that came from elsewhere (e.g. a bootstrap replicate).

    >>> scores_from_item_means(item_values(d, "mfq30", by=["model"]), "mfq30", ["model"])
    ... # doctest: +SKIP
    """
    inst = as_instrument(instrument)
    key = score_terms(inst, constants)
    by = list(by)
    means, gcols = _group_frame(means, by)
    wide = means.pivot_table(
        index=gcols, columns=["item_id", "quantity"], values="value", aggfunc="mean",
        dropna=False,
    )
    out = []
    for (score_id, label, method), terms in key.groupby(
        ["score_id", "score_label", "method"], sort=False
    ):
        cols = list(zip(terms["item_id"], terms["quantity"], strict=True))
        block = wide.reindex(columns=pd.MultiIndex.from_tuples(cols))
        present = block.notna()
        if method == "mean":
            score = block.mean(axis=1, skipna=True)
        else:
            weights = terms["weight"].to_numpy()
            score = (block * weights).sum(axis=1, min_count=1)
            score = score.where(present.all(axis=1)) + terms["constant"].iloc[0]
        n_items = pd.Series(
            [
                len({c[0] for c, ok in zip(cols, row, strict=True) if ok})
                for row in present.to_numpy()
            ],
            index=block.index,
        )
        frame = pd.DataFrame({"score": score, "n_items": n_items}).reset_index()
        frame["instrument"] = inst.id
        frame["score_id"] = score_id
        frame["score_label"] = label
        frame["method"] = method
        out.append(frame)
    result = pd.concat(out, ignore_index=True)
    if not by:
        result = result.drop(columns="_all")
    return result[[*by, *SCORE_COLUMNS]]


def score_instrument(
    distributions: pd.DataFrame,
    instrument: InstrumentLike,
    by: Sequence[str] = DEFAULT_BY,
    constants: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Score an instrument the official way, one row per (group, score).

    Why: reproduces the manuals' scoring (VSM 2013 indices from item means over the sample,
    MFQ foundation means, WVS indices) so model scores are comparable with published ones.
    ``mean`` scores average the score's item means over the items present (``n_items`` says
    how many); ``linear`` scores are ``constant + sum(weight * value)`` and NaN when a term's
    item is missing. ``constants`` overrides ``constant_param`` values (the VSM manual's C).
    ``centred`` scores (Schwartz's "Computing scores for the 10 human values", ESS EduNet):
    per respondent unit u (:data:`UNIT` columns not in ``by``) c_u = mean_{i in V} x_ui -
    MRAT_u, then the mean of c_u over units (a unit lacking an item has none).

    >>> score_instrument(dists, "vsm2013", by=["model"], constants={"C_pd": 20})
    ... # doctest: +SKIP
    """
    by = check_by(distributions, by, "distributions frame")
    inst = as_instrument(instrument)
    scores = scores_from_item_means(item_values(distributions, inst, by=by), inst, by, constants)
    if not any(s.method == CENTRED for s in inst.scores):
        return scores
    unit = [c for c in UNIT if c in distributions.columns and c not in by]
    per = scores_from_item_means(item_values(distributions, inst, by=[*by, *unit]), inst,
                                 [*by, *unit], constants)
    per = per[per["method"] == CENTRED].groupby([*by, "score_id"], dropna=False)["score"].mean()
    out = scores.merge(per.rename("_unit").reset_index(), on=[*by, "score_id"], how="left")
    out["score"] = out["_unit"].where(out["method"] == CENTRED, out["score"])
    return out.drop(columns="_unit")


def sampled_distributions(answers: pd.DataFrame) -> pd.DataFrame:
    """Turn sampled/generated answers into one-hot distributions for the shared scoring path.

    Why: one scorer serves both probability and sampling probes. Rows with ``status`` other
    than ``"ok"`` or a NaN ``answer_code`` are dropped (refusals carry no answer); each kept
    request becomes one row with ``prob`` 1 on its ``answer_code``. Scoring them pools
    repeats, so item means become empirical shares over repeats.

    >>> score_instrument(sampled_distributions(answers), "mfq30")  # doctest: +SKIP
    """
    require_columns(answers, ["request_id", "item_id", "answer_code"], "answers frame")
    keep = answers["answer_code"].notna()
    if "status" in answers.columns:
        keep &= answers["status"].eq("ok")
    cols = [c for c in FACTORS if c in answers.columns] + ["request_id"]
    out = answers.loc[keep, cols].copy()
    out["code"] = answers.loc[keep, "answer_code"].round().astype(int)
    out["prob"] = 1.0
    out["logprob"] = 0.0
    return out.reset_index(drop=True)


def score_vsm2013(
    distributions: pd.DataFrame,
    constants: Mapping[str, float] | None = None,
    by: Sequence[str] = DEFAULT_BY,
) -> pd.DataFrame:
    """Hofstede VSM 2013 indices (PDI, IDV, MAS, UAI, LTO, IVR) from item means.

    Why: the manual's formulas, e.g. PDI = 35(m07 - m02) + 25(m20 - m23) + C(pd); pass the
    constants (``{"C_pd": ...}``) to shift indices into the 0-100 range as the manual advises.

    >>> score_vsm2013(dists, constants={"C_pd": 20})  # doctest: +SKIP
    """
    return score_instrument(distributions, "vsm2013", by=by, constants=constants)


def score_mfq(
    distributions: pd.DataFrame,
    instrument: str = "mfq30",
    by: Sequence[str] = DEFAULT_BY,
) -> pd.DataFrame:
    """Moral foundation means (MFQ-30 or MFQ-2) from item means.

    Why: the foundation score is the mean of its items, as in the MFQ scoring keys.

    >>> score_mfq(dists, instrument="mfq2")  # doctest: +SKIP
    """
    if str(instrument) not in ("mfq30", "mfq2") and not str(instrument).endswith(".yaml"):
        raise WorkbenchError(f"score_mfq scores 'mfq30' or 'mfq2', not '{instrument}'")
    return score_instrument(distributions, instrument, by=by)


def score_wvs7(
    distributions: pd.DataFrame,
    by: Sequence[str] = DEFAULT_BY,
) -> pd.DataFrame:
    """World Values Survey wave 7 indices (autonomy, post-materialism, item means).

    Why: the indices use the WVS coding, e.g. autonomy = P(Q8) + P(Q14) - P(Q15) - P(Q17)
    with P = probability of "mentioned".

    >>> score_wvs7(dists)  # doctest: +SKIP
    """
    return score_instrument(distributions, "wvs7", by=by)
