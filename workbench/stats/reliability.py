"""Internal consistency of scores, treating personas/repeats/variants as respondents.

A foundation or index is only worth reporting for a model if its items hang together across
the model's "respondents" (personas, repeats, prompt variants): that is what Cronbach's
alpha and McDonald's omega measure. Low reliability means the score mostly reflects item
idiosyncrasies, a common finding for LLMs (e.g. Dominguez-Olmedo et al. 2024).

* :func:`cronbach_alpha`: ``k/(k-1) * (1 - sum(item variances) / variance(total))``.
* :func:`mcdonald_omega`: omega total of the unit-weighted raw sum score (the same score
  alpha refers to), from a one-factor model fitted by maximum likelihood with
  :class:`statsmodels.multivariate.factor.Factor`: ``(sum l_i)^2 / ((sum l_i)^2 + sum u_i)``
  with raw-unit loadings ``l_i`` and unique variances ``u_i``; it needs at least 3 items (2 do
  not identify a factor model).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.multivariate.factor import Factor

from workbench.errors import WorkbenchError
from workbench.instruments import Instrument
from workbench.scoring import DEFAULT_BY, InstrumentLike
from workbench.stats._common import (
    answer_values,
    as_instrument,
    as_tuple,
    check_by,
    flip_reverse,
    group_iter,
)

RELIABILITY_COLUMNS = [
    "score_id", "n_respondents", "n_items", "alpha", "omega", "threshold", "flag_low", "note",
]


#: statsmodels < 0.15 drew the EM starting loadings of an ML factor fit from
#: ``RandomState(3427)``; 0.15 draws them from fresh OS entropy unless ``rng`` is given, so
#: omega changed from run to run (by up to 0.3 on small tables). Passing the old seed keeps
#: omega reproducible and equal across statsmodels versions.
_EM_START_SEED = 3427
_FIT_TAKES_RNG = "rng" in inspect.signature(Factor.fit).parameters


def _complete(wide: pd.DataFrame, nan_policy: str = "listwise") -> pd.DataFrame:
    if not isinstance(wide, pd.DataFrame):
        wide = pd.DataFrame(np.asarray(wide, dtype=float))
    wide = wide.astype(float)
    if nan_policy == "listwise":
        return wide.dropna()
    if nan_policy == "pairwise":
        return wide
    raise WorkbenchError(f"nan_policy must be 'listwise' or 'pairwise', not '{nan_policy}'")


def cronbach_alpha(wide: pd.DataFrame | np.ndarray, nan_policy: str = "listwise") -> float:
    """Cronbach's alpha of a respondents × items table.

    Why: the standard lower bound on the reliability of a sum score. Computed from the
    item covariance matrix ``C``: ``k/(k-1) * (1 - trace(C) / sum(C))``; ``nan_policy``
    ``"listwise"`` drops incomplete rows, ``"pairwise"`` uses pairwise covariances
    (as pingouin does). NaN for fewer than 2 items or 2 respondents, or zero total variance.

    >>> wide = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 2, 4, 4], "c": [1, 3, 3, 5]})
    >>> round(cronbach_alpha(wide), 4)
    0.9333
    """
    data = _complete(wide, nan_policy)
    k = data.shape[1]
    if k < 2 or data.dropna().shape[0] < 2:
        return float("nan")
    cov = data.cov().to_numpy()
    total = cov.sum()
    if not np.isfinite(total) or total <= 0:
        return float("nan")
    return float(k / (k - 1) * (1 - np.trace(cov) / total))


def mcdonald_omega(wide: pd.DataFrame | np.ndarray) -> float:
    """McDonald's omega total of the raw sum score of a respondents × items table.

    Why: unlike alpha, omega does not assume equal loadings (tau-equivalence). One factor is
    fitted by maximum likelihood (statsmodels ``Factor``, ``method="ml"``) to the items'
    correlation matrix after listwise deletion; Heywood cases are clipped (uniqueness >= 0).
    The standardised loadings ``lambda_i`` and uniquenesses ``psi_i`` are put back in raw
    units, ``l_i = lambda_i * sd_i`` and ``u_i = psi_i * sd_i^2`` (ML factor analysis is
    scale invariant, so this equals the fit to the covariance matrix), and
    ``omega = (sum l_i)^2 / ((sum l_i)^2 + sum u_i)`` is the reliability of the
    unit-weighted sum of the raw items, the score alpha also refers to (Revelle & Zinbarg
    2009; McDonald 1999, ch. 6). For tau-equivalent items (equal raw loadings) omega equals
    alpha; with items on very different spreads it can differ from the omega of
    standardised items. NaN for fewer than 3 items, fewer respondents than items + 1, or a
    constant item.

    >>> mcdonald_omega(items_by_persona)  # doctest: +SKIP
    """
    data = _complete(wide)
    n, k = data.shape
    if k < 3 or n < k + 1:
        return float("nan")
    sd = data.std(ddof=1).to_numpy()
    if not np.all(np.isfinite(sd)) or np.any(sd <= 0):
        return float("nan")
    corr = np.corrcoef(data.to_numpy(), rowvar=False)
    loadings, uniq = _one_factor(corr, n)
    if loadings is None:
        return float("nan")
    common = (loadings * sd).sum() ** 2
    unique = (np.clip(uniq, 0, None) * sd**2).sum()
    return float(common / (common + unique))


def _one_factor(corr: np.ndarray, nobs: int) -> tuple[np.ndarray | None, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            start = ({"rng": np.random.RandomState(_EM_START_SEED)} if _FIT_TAKES_RNG
                     else {})
            res = Factor(corr=corr, n_factor=1, method="ml", nobs=nobs).fit(**start)
        except (np.linalg.LinAlgError, ValueError):
            return None, np.array([])
    loadings = np.asarray(res.loadings)[:, 0]
    uniq = np.asarray(res.uniqueness)
    if not np.all(np.isfinite(loadings)):
        return None, uniq
    return loadings, uniq


def _score_items(inst: Instrument) -> dict[str, tuple[list[str], list[str], str]]:
    """Per score: items, items to flip (negative linear weights) and a note."""
    out = {}
    for s in inst.scores:
        if s.method == "mean":
            out[s.id] = (list(s.items), [], "")
            continue
        numeric = [t for t in s.terms if t.codes is None]
        skipped = len(s.terms) - len(numeric)
        note = "negative-weight items reverse-scored"
        if skipped:
            note += f"; {skipped} indicator term(s) skipped"
        out[s.id] = ([t.item for t in numeric], [t.item for t in numeric if t.weight < 0], note)
    return out


def respondent_table(
    answers: pd.DataFrame,
    instrument: InstrumentLike,
    respondent: Sequence[str] = ("persona",),
    by: Sequence[str] = DEFAULT_BY,
    value: str = "expected",
) -> pd.DataFrame:
    """Wide table: one row per (group, respondent), one column per item (reverse keying applied).

    Why: reliability treats each persona (or repeat, variant...) as a respondent; values are
    averaged over the other factors within a respondent.

    >>> respondent_table(answers, "mfq30", respondent=("persona",))  # doctest: +SKIP
    """
    inst = as_instrument(instrument)
    frame = answer_values(answers, value)
    if "instrument" in frame.columns:
        frame = frame[frame["instrument"] == inst.id]
    index = [*check_by(frame, by, "answers frame"),
             *check_by(frame, as_tuple(respondent), "answers frame")]
    if not index:
        raise WorkbenchError("respondent is empty: name the factor(s) that define respondents")
    frame = flip_reverse(frame, inst)
    return frame.pivot_table(index=index, columns="item_id", values="value", aggfunc="mean")


def reliability_by_score(
    answers: pd.DataFrame,
    instrument: InstrumentLike,
    respondent: Sequence[str] = ("persona",),
    by: Sequence[str] = DEFAULT_BY,
    value: str = "expected",
    threshold: float = 0.7,
) -> pd.DataFrame:
    """Alpha and omega for every score, one row per (group, score).

    Why: flags scores whose items do not cohere across the model's respondents, before
    anyone interprets them. Respondents are the levels of ``respondent`` (e.g.
    ``("persona",)`` or ``("persona", "repeat")``); reverse-keyed items are flipped and items
    with negative weights in a linear index are reverse-scored; indicator terms (``codes``)
    are skipped. ``flag_low`` is True when alpha is below ``threshold`` (the conventional
    0.7) or could not be computed.

    Returns ``[*by, score_id, n_respondents, n_items, alpha, omega, threshold, flag_low,
    note]``.

    >>> reliability_by_score(answers, "mfq30", respondent=("persona",), threshold=0.7)
    ... # doctest: +SKIP
    """
    inst = as_instrument(instrument)
    by = list(as_tuple(by))
    wide = respondent_table(answers, inst, respondent, by, value)
    rows = []
    for group, sub in group_iter(wide.reset_index(), by):
        for score_id, (items, flip, note) in _score_items(inst).items():
            present = [i for i in items if i in sub.columns]
            table = sub[present].dropna(how="all", axis=1).dropna()
            for item in flip:
                if item in table.columns:
                    scale = inst.scale_of(item)
                    table[item] = min(scale.codes) + max(scale.codes) - table[item]
            alpha = cronbach_alpha(table) if table.shape[1] >= 2 else np.nan
            omega = mcdonald_omega(table)
            notes = [note] if note else []
            if table.shape[1] < len(items):
                notes.append(f"{len(items) - table.shape[1]} item(s) missing")
            if table.shape[1] < 3:
                notes.append("omega needs >= 3 items")
            rows.append({
                **group, "score_id": score_id, "n_respondents": int(table.shape[0]),
                "n_items": int(table.shape[1]), "alpha": alpha, "omega": omega,
                "threshold": threshold, "flag_low": bool(not alpha >= threshold),
                "note": "; ".join(notes),
            })
    return pd.DataFrame(rows, columns=[*by, *RELIABILITY_COLUMNS])


def item_total_correlations(
    answers: pd.DataFrame,
    instrument: InstrumentLike,
    respondent: Sequence[str] = ("persona",),
    by: Sequence[str] = DEFAULT_BY,
    value: str = "expected",
) -> pd.DataFrame:
    """Corrected item-total correlation and alpha-if-deleted for every item of every score.

    Why: finds the items that drag a score's reliability down. The corrected correlation is
    Pearson r between the item and the sum of the score's *other* items over respondents.

    Returns ``[*by, score_id, item_id, n_respondents, r_item_rest, alpha_if_deleted]``.

    >>> item_total_correlations(answers, "mfq30")  # doctest: +SKIP
    """
    inst = as_instrument(instrument)
    by = list(as_tuple(by))
    wide = respondent_table(answers, inst, respondent, by, value)
    rows = []
    for group, sub in group_iter(wide.reset_index(), by):
        for score_id, (items, flip, _) in _score_items(inst).items():
            present = [i for i in items if i in sub.columns]
            table = sub[present].dropna(how="all", axis=1).dropna()
            for item in flip:
                if item in table.columns:
                    scale = inst.scale_of(item)
                    table[item] = min(scale.codes) + max(scale.codes) - table[item]
            if table.shape[1] < 2:
                continue
            total = table.sum(axis=1)
            for item in table.columns:
                rest = total - table[item]
                x, y = table[item].to_numpy(), rest.to_numpy()
                ok = len(x) > 1 and np.std(x) > 0 and np.std(y) > 0
                r = float(np.corrcoef(x, y)[0, 1]) if ok else np.nan
                rows.append({
                    **group, "score_id": score_id, "item_id": item,
                    "n_respondents": int(table.shape[0]), "r_item_rest": r,
                    "alpha_if_deleted": cronbach_alpha(table.drop(columns=item))
                    if table.shape[1] > 2 else np.nan,
                })
    cols = [*by, "score_id", "item_id", "n_respondents", "r_item_rest", "alpha_if_deleted"]
    return pd.DataFrame(rows, columns=cols)


__all__ = [
    "cronbach_alpha",
    "item_total_correlations",
    "mcdonald_omega",
    "reliability_by_score",
    "respondent_table",
]
