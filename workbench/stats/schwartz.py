"""Schwartz basic values: centred value profiles, country distances and ESS country means.

The ESS Human Values Scale (``pvq21``) is scored the way Schwartz prescribes for comparisons:
each value score minus the respondent's mean rating over all items (MRAT), per respondent
(Schwartz, "Computing scores for the 10 human values", ESS EduNet; Schwartz 2003, ch. 7 of the
ESS questionnaire development package). For a model, a respondent is one request unit
(:data:`workbench.scoring.UNIT`: persona x order x paraphrase x ... x repeat), so a profile is
the mean of its units' centred scores, and its uncertainty comes from resampling those units.

* :func:`unit_profiles` - one row per (unit, value): the centred scores before averaging;
* :func:`value_profile` - the model profile with bootstrap intervals over units;
* :func:`nearest_value_countries` - distance of the profile to every reference country, with
  bootstrap intervals and the share of resamples in which each country is the nearest;
* :func:`ess_country_values` - country means of the same scores from ESS microdata (which
  users download themselves; no country means are shipped, see
  ``data/reference/ess_human_values.yaml``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from workbench import reference as refdata
from workbench.errors import WorkbenchError
from workbench.scoring import DEFAULT_BY, UNIT, InstrumentLike, score_instrument
from workbench.stats._common import as_instrument, as_tuple, check_by, group_iter
from workbench.stats.intervals import expanded_tail

METRICS = ("euclidean", "correlation_distance")
PROFILE_COLUMNS = ["score_id", "score_label", "estimate", "ci_low", "ci_high", "n_units",
                   "n_boot", "ci_tail"]
NEAREST_COLUMNS = ["iso3", "country", "metric", "distance", "ci_low", "ci_high", "rank",
                   "p_nearest", "n_values", "n_units", "n_boot", "ci_tail", "resampled"]


def _profile_ids(instrument: InstrumentLike) -> list[str]:
    inst = as_instrument(instrument)
    if not inst.profile:
        raise WorkbenchError(
            f"instrument '{inst.id}' declares no 'profile' (the scores of its value circle): "
            "add one to its file (pvq21 lists the ten centred values)")
    return list(inst.profile)


def unit_profiles(distributions: pd.DataFrame, instrument: InstrumentLike = "pvq21",
                  by: Sequence[str] = DEFAULT_BY) -> pd.DataFrame:
    """Centred profile scores per respondent unit: ``[*by, *unit, score_id, score]``.

    Why: Schwartz centres each respondent on their own MRAT; a model's respondents are its
    request units, so intervals resample these rows. Units are the :data:`UNIT` columns
    present and not in ``by``.

    >>> unit_profiles(dists, "pvq21", by=["model"])  # doctest: +SKIP
    """
    inst = as_instrument(instrument)
    by = check_by(distributions, by, "distributions frame")
    unit = [c for c in UNIT if c in distributions.columns and c not in by]
    scores = score_instrument(distributions, inst, by=[*by, *unit])
    keep = scores["score_id"].isin(_profile_ids(inst))
    return scores.loc[keep, [*by, *unit, "score_id", "score"]].reset_index(drop=True)


def _unit_matrix(sub: pd.DataFrame, ids: list[str], unit: list[str]) -> np.ndarray:
    """(n_units, n_values) centred scores of one group, columns in ``ids`` order."""
    if not unit:
        return sub.set_index("score_id")["score"].reindex(ids).to_numpy()[None, :]
    wide = sub.pivot_table(index=unit, columns="score_id", values="score", dropna=False)
    return wide.reindex(columns=ids).to_numpy(dtype=float)


def _boot_means(units: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_values) profile means over resampled units (with replacement)."""
    draws = rng.integers(0, len(units), size=(n_boot, len(units)))
    with np.errstate(invalid="ignore"):
        return np.nanmean(units[draws], axis=1)


def _tail(ci: float, n_units: int, expanded: bool) -> float:
    return expanded_tail(ci, [(n_units, 1.0)])[0] if expanded else (1 - ci) / 2


def value_profile(distributions: pd.DataFrame, instrument: InstrumentLike = "pvq21",
                  by: Sequence[str] = DEFAULT_BY, n_boot: int = 2000, ci: float = 0.95,
                  seed: int = 0, expanded: bool = True) -> pd.DataFrame:
    """The centred value profile with bootstrap intervals over respondent units.

    Why: the circumplex figure and the country distances need the profile and how much it
    would move with other personas/orders/variants. ``estimate`` is the mean of the units'
    centred scores (= :func:`workbench.scoring.score_instrument`); the interval is the
    percentile interval of that mean over ``n_boot`` resamples of units, expanded for small
    numbers of units (Hesterberg 2015; :func:`workbench.stats.intervals.expanded_tail`) unless
    ``expanded=False``. One unit gives NaN intervals. Returns ``[*by, score_id, score_label,
    estimate, ci_low, ci_high, n_units, n_boot, ci_tail]`` in profile (circumplex) order.

    >>> value_profile(dists, "pvq21", by=["model"], n_boot=2000)  # doctest: +SKIP
    """
    inst = as_instrument(instrument)
    ids = _profile_ids(inst)
    by = check_by(distributions, by, "distributions frame")
    unit = [c for c in UNIT if c in distributions.columns and c not in by]
    labels = {s.id: s.label for s in inst.scores}
    rng = np.random.default_rng(seed)
    rows = []
    for group, sub in group_iter(unit_profiles(distributions, inst, by), by):
        units = _unit_matrix(sub, ids, unit)
        with np.errstate(invalid="ignore"):
            est = np.nanmean(units, axis=0)
        lo = hi = np.full(len(ids), np.nan)
        tail = np.nan
        if len(units) > 1:
            tail = _tail(ci, len(units), expanded)
            lo, hi = np.nanquantile(_boot_means(units, n_boot, rng), [tail, 1 - tail], axis=0)
        for j, sid in enumerate(ids):
            rows.append({**group, "score_id": sid, "score_label": labels[sid],
                         "estimate": est[j], "ci_low": lo[j], "ci_high": hi[j],
                         "n_units": len(units), "n_boot": n_boot, "ci_tail": tail})
    return pd.DataFrame(rows, columns=[*by, *PROFILE_COLUMNS])


def _distances(profiles: np.ndarray, countries: np.ndarray, metric: str) -> np.ndarray:
    """(n_profiles, n_countries) distances over the values both have.

    Euclidean: sqrt(sum_v (p_v - c_v)^2); correlation distance: 1 - Pearson r(p, c) over
    the values (as :func:`workbench.stats.profiles.hofstede_distance`).
    """
    p = profiles[:, None, :]
    c = countries[None, :, :]
    ok = np.isfinite(p) & np.isfinite(c)
    if metric == "euclidean":
        return np.sqrt(np.where(ok, (p - c) ** 2, 0.0).sum(axis=-1))
    n = ok.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pm = np.where(ok, p, 0.0).sum(axis=-1, keepdims=True) / n[..., None]
        cm = np.where(ok, c, 0.0).sum(axis=-1, keepdims=True) / n[..., None]
        dp, dc = np.where(ok, p - pm, 0.0), np.where(ok, c - cm, 0.0)
        r = (dp * dc).sum(-1) / np.sqrt((dp**2).sum(-1) * (dc**2).sum(-1))
    return 1.0 - r


def _reference_matrix(reference: pd.DataFrame, ids: list[str]) -> pd.DataFrame:
    need = {"iso3", "country", "score_id", "mean"}
    missing = sorted(need - set(reference.columns))
    if missing:
        raise WorkbenchError(
            f"reference frame lacks column(s) {missing}: pass workbench.reference."
            "ess_human_values() or the output of ess_country_values()")
    ref = reference[reference["score_id"].isin(ids)]
    if ref.empty:
        raise WorkbenchError(
            "the reference frame has no country means for the profile scores "
            f"{ids[:3]}...: the shipped ESS table is empty (see data/reference/"
            "ess_human_values.yaml); build one from ESS microdata with ess_country_values()")
    wide = ref.pivot_table(index=["iso3", "country"], columns="score_id", values="mean")
    return wide.reindex(columns=ids)


def nearest_value_countries(distributions: pd.DataFrame, reference: pd.DataFrame,
                            instrument: InstrumentLike = "pvq21",
                            by: Sequence[str] = DEFAULT_BY, metric: str = "euclidean",
                            k: int | None = None, n_boot: int = 2000, ci: float = 0.95,
                            seed: int = 0, expanded: bool = True) -> pd.DataFrame:
    """Reference countries ranked by distance to the model's centred value profile.

    Why: "which country's value priorities does the model resemble" on the scores Schwartz
    recommends for comparisons (centred, so a model that rates everything high is not far
    from everyone). ``metric`` is ``"euclidean"`` (scale points) or
    ``"correlation_distance"`` (1 - r, shape only). Only countries with every profile value
    are ranked (``n_values`` says how many they have). The interval of each distance and
    ``p_nearest`` (share of resamples in which the country is the nearest) come from
    resampling the model's respondent units; the countries' own sampling error is not
    included. Returns ``[*by, iso3, country, metric, distance, ci_low, ci_high, rank,
    p_nearest, n_values, n_units, n_boot, ci_tail, resampled]``, nearest first, ``k`` per
    group (all when None).

    >>> nearest_value_countries(dists, ess_country_values(ess_microdata))  # doctest: +SKIP
    """
    if metric not in METRICS:
        raise WorkbenchError(f"metric must be one of {list(METRICS)}, not '{metric}'")
    inst = as_instrument(instrument)
    ids = _profile_ids(inst)
    by = list(as_tuple(by))
    ref = _reference_matrix(reference, ids)
    complete = ref.notna().all(axis=1).to_numpy()
    names = ref.index.to_frame(index=False)
    countries = ref.to_numpy(dtype=float)
    unit = [c for c in UNIT if c in distributions.columns and c not in by]
    rng = np.random.default_rng(seed)
    frames = []
    for group, sub in group_iter(unit_profiles(distributions, inst, by), by):
        units = _unit_matrix(sub, ids, unit)
        with np.errstate(invalid="ignore"):
            est = np.nanmean(units, axis=0)[None, :]
        dist = _distances(est, countries, metric)[0]
        out = names.assign(**group, metric=metric, distance=dist,
                           n_values=ref.notna().sum(axis=1).to_numpy(), n_units=len(units),
                           n_boot=n_boot, ci_low=np.nan, ci_high=np.nan, p_nearest=np.nan,
                           ci_tail=np.nan, resampled="none (one unit)")
        if len(units) > 1:
            boot = _distances(_boot_means(units, n_boot, rng), countries, metric)
            tail = _tail(ci, len(units), expanded)
            out["ci_low"], out["ci_high"] = np.nanquantile(boot, [tail, 1 - tail], axis=0)
            nearest = np.nanargmin(np.where(complete, boot, np.inf), axis=1)
            out["p_nearest"] = np.bincount(nearest, minlength=len(countries)) / n_boot
            out["ci_tail"], out["resampled"] = tail, "×".join(unit) + " units"
        out = out[complete].sort_values("distance")
        out["rank"] = np.arange(1, len(out) + 1)
        frames.append(out.head(k) if k else out)
    if not frames:
        raise WorkbenchError(f"the distributions frame holds no '{inst.id}' answers to compare")
    return pd.concat(frames, ignore_index=True)[[*by, *NEAREST_COLUMNS]]


def ess_country_values(microdata: pd.DataFrame, instrument: InstrumentLike = "pvq21",
                       variables: dict[str, str] | None = None, weight: str | None = "anweight",
                       by: Sequence[str] = ("essround", "cntry")) -> pd.DataFrame:
    """Weighted country means of the instrument's scores from ESS microdata.

    Why: no ESS country means could be shipped (see ``data/reference/ess_human_values.yaml``);
    users with the ESS data (CC BY-NC-SA 4.0) build the reference table themselves, scored
    exactly like the model. ``variables`` maps item ids to ESS variable names (default: the
    sidecar's ``ess_variables``). Codes 1-6 are kept, anything else (7 refusal, 8 don't know,
    9 no answer) is missing; items are reverse-keyed as in the instrument (7 - code). Per
    respondent, a ``mean`` score is the mean of the answered items (SPSS ``MEAN``, as in ESS
    EduNet's syntax) and a ``centred`` score its value minus the respondent's centre score;
    then the ``weight``-weighted mean per ``by`` group (ESS recommends ``anweight`` from
    round 9 on, ``pspwght`` before; None = unweighted). Returns ``[*by, iso3, country,
    score_id, mean, n]`` with ``n`` the respondents with a score.

    >>> ess_country_values(pd.read_csv("ESS10.csv"), weight="anweight")  # doctest: +SKIP
    """
    inst = as_instrument(instrument)
    variables = variables or refdata.ess_variables()
    by = list(as_tuple(by))
    cols = [*by, *variables.values(), *([weight] if weight else [])]
    missing = [c for c in cols if c not in microdata.columns]
    if missing:
        raise WorkbenchError(
            f"ESS microdata lacks column(s) {missing}: pass the ESS file with the 21 human "
            "values variables, the grouping columns and the weight (or weight=None)")
    raw = microdata[list(variables.values())].apply(pd.to_numeric, errors="coerce")
    raw = raw.where(raw.isin(range(1, 7)))
    x = pd.DataFrame({item_id: raw[var] for item_id, var in variables.items()})
    for item_id in x.columns:
        item = inst.item(item_id)
        if item.reverse:
            codes = inst.scale_of(item_id).codes
            x[item_id] = min(codes) + max(codes) - x[item_id]
    per = {s.id: x[list(s.items)].mean(axis=1) for s in inst.scores if s.method == "mean"}
    for s in inst.scores:
        if s.method == "centred":
            per[s.id] = x[list(s.items)].mean(axis=1) - per[str(s.centre)]
    w = microdata[weight].astype(float) if weight else pd.Series(1.0, index=microdata.index)
    rows = []
    for key, idx in microdata.groupby(by, sort=True).groups.items():
        key = key if isinstance(key, tuple) else (key,)
        for score_id, values in per.items():
            v, ww = values.loc[idx], w.loc[idx]
            ok = v.notna() & ww.notna() & (ww > 0)
            mean = float(np.average(v[ok], weights=ww[ok])) if ok.any() else np.nan
            rows.append({**dict(zip(by, key, strict=True)), "score_id": score_id,
                         "mean": mean, "n": int(ok.sum())})
    out = pd.DataFrame(rows)
    if "cntry" in out.columns:
        codes = refdata.countries().set_index("iso2")
        out["iso3"] = out["cntry"].map(codes["iso3"])
        out["country"] = out["cntry"].map(codes["name"])
    return out


__all__ = ["ess_country_values", "nearest_value_countries", "unit_profiles", "value_profile"]
