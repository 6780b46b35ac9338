"""Tests for differences between models and prompt conditions, each with an effect size.

* :func:`ordinal_regression`: proportional-odds (or probit) regression of answer codes on
  factors with statsmodels ``OrderedModel``, item fixed effects and optional cluster-robust
  SEs; effect size = odds ratio.
* :func:`mixed_model`: linear mixed model of expected values with a random intercept per
  item (statsmodels ``MixedLM``); effect size = coefficient / total SD.
* :func:`permutation_test_scores`: difference in an instrument score between two levels of
  a factor (e.g. two models): a paired sign-flip test when the same respondent units were
  asked at both levels, else an independent permutation test of units
  (``scipy.stats.permutation_test``); effect size = difference / pooled SD of unit scores.
* :func:`correct_pvalues`: Holm / Benjamini-Hochberg correction with statsmodels
  ``multipletests``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from math import comb

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.miscmodels.ordinal_model import OrderedModel
from statsmodels.regression.mixed_linear_model import MixedLM
from statsmodels.stats.multitest import multipletests
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from workbench.errors import WorkbenchError
from workbench.scoring import UNIT, InstrumentLike, score_terms
from workbench.stats._common import (
    answer_values,
    as_instrument,
    as_tuple,
    check_by,
    cluster_sums,
    counts,
    group_iter,
    per_request_values,
    score_from_means,
)

COEF_COLUMNS = ["term", "coef", "se", "z", "p_value", "ci_low", "ci_high"]


def _design(
    frame: pd.DataFrame, terms: Sequence[str], reference: Mapping[str, object]
) -> pd.DataFrame:
    """Treatment-coded design matrix without intercept; names like patsy's ``x[T.level]``."""
    cols = []
    for term in terms:
        col = frame[term]
        if pd.api.types.is_numeric_dtype(col) and term not in reference:
            cols.append(col.astype(float).rename(term))
            continue
        levels = sorted(pd.unique(col.astype(str)))
        ref = str(reference.get(term, levels[0]))
        if ref not in levels:
            raise WorkbenchError(
                f"reference level {ref!r} for '{term}' does not occur; levels: {levels}"
            )
        for lvl in levels:
            if lvl != ref:
                cols.append((col.astype(str) == lvl).astype(float).rename(f"{term}[T.{lvl}]"))
    if not cols:
        raise WorkbenchError("formula_terms is empty: name at least one factor column")
    design = pd.concat(cols, axis=1)
    constant = [c for c in design.columns if design[c].nunique() < 2]
    if constant:
        raise WorkbenchError(
            f"term(s) {constant} do not vary in the data: drop them from formula_terms"
        )
    return design


def _tidy(params: pd.Series, bse: pd.Series, pvalues: pd.Series, conf: pd.DataFrame,
          names: Sequence[str]) -> pd.DataFrame:
    names = list(names)
    out = pd.DataFrame({
        "term": names,
        "coef": params[names].to_numpy(),
        "se": bse[names].to_numpy(),
    })
    out["z"] = out["coef"] / out["se"]
    out["p_value"] = pvalues[names].to_numpy()
    out["ci_low"] = conf.loc[names].iloc[:, 0].to_numpy()
    out["ci_high"] = conf.loc[names].iloc[:, 1].to_numpy()
    return out


def ordinal_regression(
    answers: pd.DataFrame,
    formula_terms: Sequence[str] = ("model", "order"),
    value: str = "argmax",
    reference: Mapping[str, object] | None = None,
    distr: str = "logit",
    alpha: float = 0.05,
    item_effects: bool | None = None,
    cluster: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Proportional-odds regression of answer codes on factors (statsmodels ``OrderedModel``).

    Why: Likert answers are ordered categories, not interval numbers; the ordinal model tests
    whether a factor (model, option order, persona...) shifts answers up or down the scale.
    ``value`` is ``"argmax"`` (``argmax_code``) or ``"sampled"`` (``answer_code``; only
    ``status == "ok"``). Categorical terms are treatment-coded against ``reference[term]``
    (default: first level in sorted order); numeric columns enter linearly. Positive
    ``coef`` = higher codes (P(code <= j) = F(cut_j - x'b)).

    Rows are not independent replicates: items differ in level, and the same persona or
    prompt variant answers many items. Therefore:

    * ``item_effects`` (default: on when the answers span several items): ``item_id`` enters
      as a fixed effect (treatment-coded), so factor effects are within-item shifts and
      item differences are not pooled into the thresholds. Its coefficients are not
      returned (``n_items`` says how many items were absorbed).
    * ``cluster``: column(s) whose combinations are clusters for cluster-robust (sandwich)
      standard errors, e.g. ``"persona"`` or ``["persona", "paraphrase"]``, so answers of one
      respondent unit count as correlated (statsmodels ``cov_type="cluster"``, with its
      small-sample correction; use at least ~20 clusters). Default: model-based SEs
      (``se_type`` says which).

    Returns ``[term, coef, se, z, p_value, ci_low, ci_high, odds_ratio, or_ci_low,
    or_ci_high, n_obs, n_items, item_effects, se_type, n_clusters]`` (odds ratios NaN for
    ``distr="probit"``).

    >>> ordinal_regression(answers, ["model", "order"], reference={"order": "original"},
    ...                    cluster="persona")  # doctest: +SKIP
    """
    if value not in ("argmax", "sampled"):
        raise WorkbenchError(
            f"ordinal_regression needs discrete codes: value='argmax' or 'sampled', not "
            f"'{value}' (use mixed_model for expected values)"
        )
    if distr not in ("logit", "probit"):
        raise WorkbenchError(f"distr must be 'logit' or 'probit', not '{distr}'")
    terms = list(as_tuple(formula_terms))
    clusters = list(as_tuple(cluster))
    frame = answer_values(answers, value)
    check_by(frame, [*terms, *clusters], "answers frame")
    frame = frame.dropna(subset=[*terms, *clusters])
    codes = np.sort(frame["value"].unique())
    if len(codes) < 2:
        raise WorkbenchError("all answers have the same code: nothing to model")
    n_items = int(frame["item_id"].nunique())
    if item_effects is None:
        item_effects = n_items > 1 and "item_id" not in terms
    fit_terms = [*terms, "item_id"] if item_effects and "item_id" not in terms else terms
    y = pd.Series(pd.Categorical(frame["value"], categories=codes, ordered=True),
                  index=frame.index)
    x = _design(frame, fit_terms, dict(reference or {}))
    names = [c for c in x.columns if c in _design(frame, terms, dict(reference or {})).columns]
    fit_kw: dict[str, object] = {}
    n_clusters = np.nan
    if clusters:
        groups = frame.groupby(clusters, sort=False, dropna=False).ngroup().to_numpy()
        n_clusters = int(groups.max()) + 1
        if n_clusters < 2:
            raise WorkbenchError(f"cluster {clusters} has a single level: nothing to cluster")
        fit_kw = {"cov_type": "cluster", "cov_kwds": {"groups": groups}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = OrderedModel(y, x, distr=distr).fit(method="bfgs", disp=False, maxiter=2000,
                                                  **fit_kw)
    out = _tidy(res.params, res.bse, res.pvalues, res.conf_int(alpha), names)
    if distr == "logit":
        out["odds_ratio"] = np.exp(out["coef"])
        out["or_ci_low"] = np.exp(out["ci_low"])
        out["or_ci_high"] = np.exp(out["ci_high"])
    else:
        out["odds_ratio"] = out["or_ci_low"] = out["or_ci_high"] = np.nan
    out["n_obs"] = int(res.nobs)
    out["n_items"] = n_items
    out["item_effects"] = bool(item_effects)
    out["se_type"] = f"cluster-robust by {'×'.join(clusters)}" if clusters else "model-based"
    out["n_clusters"] = n_clusters
    return out


def mixed_model(
    answers: pd.DataFrame,
    fixed: str = "model * order",
    group: str = "item_id",
    value: str = "expected",
    re_formula: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Linear mixed model of answer values with random effects per ``group`` (MixedLM).

    Why: items differ in level; a random intercept per item lets fixed effects (model, order,
    their interaction) be estimated across items without treating items as independent
    replicates. ``fixed`` is the right-hand side of a patsy formula (string columns are
    treatment-coded; e.g. ``"C(order, Treatment('original'))"``); the response is
    ``expected`` (default), ``answer_code`` or ``argmax_code``. Fitted by REML.
    ``effect_size_d`` = coef / sqrt(random-intercept variance + residual variance)
    (Westfall, Kenny & Judd 2014), given with that ``sd_total`` (NaN for the intercept).

    Returns ``[term, coef, se, z, p_value, ci_low, ci_high, effect_size_d, sd_total, n_obs,
    n_groups, converged]``.

    >>> mixed_model(answers, fixed="model * order", group="item_id")  # doctest: +SKIP
    """
    frame = answer_values(answers, value)
    check_by(frame, [group], "answers frame")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = MixedLM.from_formula(
            f"value ~ {fixed}", groups=group, re_formula=re_formula, data=frame
        )
        res = model.fit(reml=True)
    converged = bool(res.converged) and not any(
        issubclass(w.category, ConvergenceWarning) for w in caught
    )
    names = list(res.fe_params.index)
    conf = res.conf_int(alpha)
    out = _tidy(res.fe_params, res.bse_fe, res.pvalues, conf, names)
    sd_total = float(np.sqrt(np.trace(np.atleast_2d(res.cov_re.to_numpy())) + res.scale))
    out["effect_size_d"] = (out["coef"] / sd_total).where(out["term"] != "Intercept")
    out["sd_total"] = sd_total
    out["n_obs"] = int(res.nobs)
    out["n_groups"] = len(res.model.group_labels)
    out["converged"] = converged
    return out


def permutation_test_scores(
    distributions: pd.DataFrame,
    instrument: InstrumentLike,
    a: object,
    b: object,
    factor: str = "model",
    unit: Sequence[str] = UNIT,
    by: Sequence[str] | None = None,
    n_perm: int = 2000,
    seed: int = 0,
    value: str = "expected",
    constants: Mapping[str, float] | None = None,
    paired: bool | None = None,
) -> pd.DataFrame:
    """Permutation test of the difference in each score between ``a`` and ``b`` of ``factor``.

    Why: tests "do models A and B differ on PDI / Care / ...?" without distributional
    assumptions. Respondent units are the combinations of the ``unit`` columns present
    other than ``factor`` and ``by`` (e.g. persona × order × paraphrase × repeat); scores
    are computed officially (item means over the group's units), two-sided.

    * Matched units (every unit occurs at both ``a`` and ``b``, e.g. the same personas and
      prompt variants asked of two models): a **paired sign-flip** test, swapping ``a`` and
      ``b`` within each unit (scipy ``permutation_test``, ``permutation_type="samples"``),
      so that what the units share (a persona's effect on both models) is not mistaken for
      noise. ``paired=None`` (default) chooses it whenever units match; ``False`` forces
      the independent test; ``True`` requires matched units.
    * Otherwise an **independent** permutation test reassigns units between ``a`` and ``b``
      (``permutation_type="independent"``).

    ``test`` says which. Both are exact when ``n_perm`` exceeds the number of distinct
    reassignments. With one unit per side there is no permutation distribution: ``p_value``
    is NaN and ``note`` says so; ``note`` also warns when the smallest attainable p exceeds
    0.05. With ``factor`` other than ``"model"`` and ``by=None``, tests are run per model
    (``by=["model"]``) rather than pooling models. ``effect_size`` is the difference
    divided by the pooled SD of unit-level scores (Cohen's d over units; NaN with one unit
    per side), the same for both tests.

    Returns ``[*by, score_id, factor, a, b, score_a, score_b, difference, p_value, test,
    n_units_a, n_units_b, n_pairs, n_perm, effect_size, effect_size_kind, note]``.

    >>> permutation_test_scores(dists, "vsm2013", a="model-a", b="model-b", factor="model")
    ... # doctest: +SKIP
    """
    inst = as_instrument(instrument)
    data = distributions
    check_by(data, [factor], "data")
    data = data[data[factor].isin([a, b])]
    for lvl in (a, b):
        if not (data[factor] == lvl).any():
            raise WorkbenchError(f"level {lvl!r} of '{factor}' does not occur in the data")
    if by is None:
        by = ["model"] if factor != "model" and "model" in data.columns else []
    by = list(as_tuple(by))
    check_by(data, by, "data")
    match = [c for c in unit if c in data.columns and c != factor and c not in by]
    cluster_cols = [factor, *match]
    values = per_request_values(data, inst, value)
    key = score_terms(inst, constants)
    rng = np.random.default_rng(seed)
    rows = []
    for group, sub in group_iter(values, by):
        for score_id, terms in key.groupby("score_id", sort=False):
            method = terms["method"].iloc[0]
            w = terms["weight"].to_numpy()
            const = float(terms["constant"].iloc[0])
            comps = list(zip(terms["item_id"], terms["quantity"], strict=True))
            s, n, labels = cluster_sums(sub, comps, cluster_cols)
            res = _test_one(s, n, labels, factor, match, a, b, method, w, const,
                            paired=paired, n_perm=n_perm, rng=rng)
            rows.append({**group, "score_id": score_id, "factor": factor, "a": a, "b": b,
                         **res, "n_perm": n_perm})
    cols = [*by, "score_id", "factor", "a", "b", "score_a", "score_b", "difference",
            "p_value", "test", "n_units_a", "n_units_b", "n_pairs", "n_perm", "effect_size",
            "effect_size_kind", "note"]
    return pd.DataFrame(rows, columns=cols)


PAIRED = "paired sign-flip"
INDEPENDENT = "independent permutation"


def _test_one(
    s: np.ndarray, n: np.ndarray, labels: pd.DataFrame, factor: str, match: list[str],
    a: object, b: object, method: str, w: np.ndarray, const: float, *,
    paired: bool | None, n_perm: int, rng: np.random.Generator,
) -> dict[str, object]:
    n_units = len(labels)
    is_a = (labels[factor] == a).to_numpy()
    idx_a, idx_b = np.flatnonzero(is_a), np.flatnonzero(~is_a)

    def score(idx: np.ndarray) -> np.ndarray:
        cw = counts(idx, n_units)
        with np.errstate(invalid="ignore", divide="ignore"):
            return score_from_means((cw @ s) / (cw @ n), method, w, const)

    def statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return score(x) - score(y)

    sa, sb = float(score(idx_a)), float(score(idx_b))
    notes: list[str] = []
    # unit keys (match columns) of each cluster, to pair a's units with b's
    keys = (labels[match].astype(str).agg("\x1f".join, axis=1) if match
            else pd.Series("", index=labels.index)).to_numpy()
    ka, kb = keys[idx_a], keys[idx_b]
    matched = (len(set(ka)) == len(ka) and len(set(kb)) == len(kb)
               and set(ka) == set(kb))
    if paired and not matched:
        raise WorkbenchError(
            f"paired=True needs the same units at '{a}' and '{b}' (columns {match}); they "
            f"differ: use paired=None or False"
        )
    use_paired = matched if paired is None else bool(paired)
    if not use_paired and (set(ka) & set(kb)) and paired is None:
        notes.append(f"units only partly matched ({len(set(ka) & set(kb))} shared): "
                     "independent test")
    test = PAIRED if use_paired else INDEPENDENT
    n_pairs = len(ka) if use_paired else 0
    p = np.nan
    if len(idx_a) < 2 or len(idx_b) < 2:
        notes.append("one unit per side: no permutation distribution, p is NaN")
    elif np.isfinite(sa - sb):
        if use_paired:
            order_b = pd.Series(idx_b, index=kb).reindex(ka).to_numpy()
            samples, kind = (idx_a, order_b), "samples"
            min_p = 2.0 / 2 ** len(idx_a)
        else:
            samples, kind = (idx_a, idx_b), "independent"
            min_p = 2.0 / comb(len(idx_a) + len(idx_b), len(idx_a))
        res = stats.permutation_test(samples, statistic, permutation_type=kind,
                                     vectorized=True, n_resamples=n_perm, rng=rng)
        p = float(res.pvalue)
        if min_p > 0.05:
            notes.append(f"smallest attainable p is {min(min_p, 1.0):.3g} with these units")
    with np.errstate(invalid="ignore", divide="ignore"):
        unit_scores = score_from_means(s / n, method, w, const)
    return {
        "score_a": sa, "score_b": sb, "difference": sa - sb, "p_value": p, "test": test,
        "n_units_a": len(idx_a), "n_units_b": len(idx_b), "n_pairs": n_pairs,
        "effect_size": _cohens_d(unit_scores[is_a], unit_scores[~is_a], sa - sb),
        "effect_size_kind": "d = difference / pooled SD of unit scores",
        "note": "; ".join(notes),
    }


def _cohens_d(x: np.ndarray, y: np.ndarray, diff: float) -> float:
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if len(x) < 2 or len(y) < 2:
        return float("nan")
    pooled = ((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / (
        len(x) + len(y) - 2
    )
    return float(diff / np.sqrt(pooled)) if pooled > 0 else float("nan")


def correct_pvalues(
    frame: pd.DataFrame,
    method: str = "holm",
    p_col: str = "p_value",
    alpha: float = 0.05,
    by: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Adjust p-values for multiple testing (statsmodels ``multipletests``).

    Why: comparing six dimensions or many items inflates false positives. ``method`` is any
    ``multipletests`` method (``"holm"`` controls the family-wise error, ``"fdr_bh"`` the
    false discovery rate). The family is all rows, or each ``by`` group; NaN p-values are left
    out of the family and stay NaN. Adds ``p_adjusted``, ``reject`` and ``correction``.

    >>> correct_pvalues(permutation_test_scores(...), method="fdr_bh")  # doctest: +SKIP
    """
    if p_col not in frame.columns:
        raise WorkbenchError(f"the frame has no p-value column '{p_col}': pass p_col=...")
    out = frame.copy()
    out["p_adjusted"] = np.nan
    out["reject"] = False
    families = [out.index] if not by else [
        sub.index for _, sub in out.groupby(list(as_tuple(by)), dropna=False)
    ]
    for idx in families:
        p = out.loc[idx, p_col].astype(float)
        ok = p.notna()
        if not ok.any():
            continue
        try:
            reject, adj, _, _ = multipletests(p[ok].to_numpy(), alpha=alpha, method=method)
        except ValueError as exc:
            raise WorkbenchError(f"unknown correction method '{method}': {exc}") from exc
        out.loc[p[ok].index, "p_adjusted"] = adj
        out.loc[p[ok].index, "reject"] = reject
    out["correction"] = method
    return out


__all__ = [
    "correct_pvalues",
    "mixed_model",
    "ordinal_regression",
    "permutation_test_scores",
]
