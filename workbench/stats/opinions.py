"""Whose opinions does a model's answer distribution resemble? Per-country similarity over the
whole WVS-7 battery (or any block, or GlobalOpinionQA), and cultural prompting measured.

* :func:`item_similarity`: per item and country ``s = 1 - JSdist(p_model, p_country)`` (the
  Jensen-Shannon *distance*, base 2, so ``s`` is in [0, 1]), computed by
  :func:`workbench.stats.wvs_similarity`, next to the same similarity of the *uniform*
  answerer (equal probability on every answer option), the baseline every table shows.
* :func:`opinion_similarity`: GlobalOpinionQA's country score (Durmus et al. 2023, "Towards
  measuring the representation of subjective global opinions in language models", sec. 2.3):
  the mean of ``s`` over the items a country has, with a bootstrap interval over items, the
  uniform answerer's mean on the same items and the model's margin over it; countries ranked,
  for all items and per questionnaire block. :func:`extremes` picks the top and bottom five.
* :func:`cultural_prompting`: Durmus et al.'s cultural prompting experiment. With the persona
  ``country:T`` the change of similarity to country ``c`` is ``D_c = s(persona, c) -
  s(no persona, c)``; the persona's effect is ``D_T - mean_{c != T} D_c`` (does similarity to
  the target rise more than to the others?), with a bootstrap interval over items, the
  target's rank among all countries' ``D_c`` (its exact permutation p-value under shuffled
  target labels is rank / n_countries) and, over all personas, a randomisation test that
  shuffles the persona-target labels.

Intervals: the default is Hesterberg's expanded percentile interval (as in
:mod:`workbench.stats.intervals`): percentile interval at tail ``Phi(-sqrt(n / (n - 1)) *
t_{1 - alpha/2, n - 1})`` with ``n`` the number of items, which corrects the plain percentile
interval's under-coverage for small blocks (Hesterberg 2015, sec. 4.6). All resampling is seeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from workbench.errors import WorkbenchError
from workbench.instrument_files import load_instrument
from workbench.instruments import Instrument
from workbench.scoring import require_columns
from workbench.stats import wvs_similarity
from workbench.stats._common import as_tuple, counts, group_iter

ALL_ITEMS = "all"
UNIFORM = "uniform"
COUNTRY_PREFIX = "country:"
SIMILARITY_COLUMNS = ["block", "iso3", "country", "similarity", "ci_low", "ci_high", "uniform",
                      "vs_uniform", "vs_uniform_low", "vs_uniform_high", "n_items",
                      "n_model_items", "coverage", "rank", "n_countries"]
PROMPTING_COLUMNS = ["level", "persona", "target_iso3", "target_country", "delta_target",
                     "delta_others", "effect", "ci_low", "ci_high", "rank_of_target",
                     "n_countries", "n_items", "p_value", "test"]


@dataclass(frozen=True)
class ItemBootstrap:
    """How the intervals resample: ``n_boot`` resamples of the items with replacement (the same
    items for every country of a group), seeded; ``ci_method`` "expanded_percentile" (default)
    or "percentile"."""

    n_boot: int = 2000
    confidence: float = 0.95
    ci_method: str = "expanded_percentile"
    seed: int = 0


def uniform_distributions(country_dists: pd.DataFrame) -> pd.DataFrame:
    """The uniform answerer: ``[item_id, code, prob]`` with ``1 / k`` on each of an item's ``k``
    answer codes (the codes any country's substantive shares use for it)."""
    require_columns(country_dists, ["item_id", "code"], "country distributions")
    codes = country_dists[["item_id", "code"]].drop_duplicates()
    codes["prob"] = 1.0 / codes.groupby("item_id")["code"].transform("size")
    return codes.sort_values(["item_id", "code"]).reset_index(drop=True)


def _default_by(frame: pd.DataFrame, candidates: Sequence[str]) -> list[str]:
    return [c for c in candidates if c in frame.columns]


def item_similarity(
    model_dists: pd.DataFrame,
    country_dists: pd.DataFrame,
    by: Sequence[str] | None = None,
    base: float = 2.0,
) -> pd.DataFrame:
    """Per item and country: ``[*by, iso3, country, item_id, similarity, uniform]``.

    ``model_dists`` is a distributions frame (raw, with ``request_id``: averaged over requests
    within ``by``, i.e. over option orders and other variants; or already ``[*by, item_id,
    code, prob]``, e.g. debiased); ``country_dists`` holds substantive shares
    ``[iso3, country, item_id, code, share]``. ``by`` defaults to the model, persona and
    instrument columns present. ``uniform`` is the uniform answerer's similarity on the item.
    """
    require_columns(country_dists, ["iso3", "item_id", "code", "share"], "country distributions")
    if by is None:
        by = _default_by(model_dists, ("model", "persona", "instrument"))
    by = list(as_tuple(by))
    per = wvs_similarity(model_dists, country_dists, by=by, base=base, per_item=True)
    uni = wvs_similarity(uniform_distributions(country_dists).assign(_u=UNIFORM),
                         country_dists, by=["_u"], base=base, per_item=True)
    uni = uni.drop(columns="_u").rename(columns={"similarity": "uniform"})
    return per.merge(uni, on=["iso3", "country", "item_id"], how="left")


def _blocks_of(instrument: Instrument | str | None, items: Sequence[str],
               blocks: Sequence[str] | None, per_block: bool) -> dict[str, list[str]]:
    """Block id -> item ids (``"all"`` = every selected item)."""
    if instrument is None:
        if blocks or per_block:
            raise WorkbenchError("blocks need the instrument that defines them: pass instrument=")
        return {ALL_ITEMS: sorted(items)}
    inst = load_instrument(instrument) if isinstance(instrument, str) else instrument
    have = set(items)
    chosen = [it.id for it in (inst.block_items(list(blocks)) if blocks else inst.items)
              if it.id in have]
    if not chosen:
        raise WorkbenchError(f"none of the model's items is in instrument '{inst.id}'"
                             + (f" blocks {list(blocks)}" if blocks else "")
                             + ": check the instrument and the blocks")
    out = {ALL_ITEMS: chosen}
    if per_block:
        for block in (list(blocks) if blocks else list(inst.blocks)):
            ids = [it.id for it in inst.block_items(block) if it.id in have]
            if ids:
                out[block] = ids
    return out


def _tail(n: np.ndarray, confidence: float, method: str) -> np.ndarray:
    """Lower-tail probability of the interval for ``n`` resampled items (per row)."""
    alpha = 1.0 - confidence
    if method == "percentile":
        return np.full(np.shape(n), alpha / 2)
    if method != "expanded_percentile":
        raise WorkbenchError(f"ci_method must be 'expanded_percentile' or 'percentile', not "
                             f"'{method}'")
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = stats.t.ppf(1 - alpha / 2, n - 1)
        return np.where(n > 1, stats.norm.cdf(-np.sqrt(n / (n - 1)) * t), np.nan)


def _boot_means(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Means of each row of ``values`` (NaN = missing) under item resampling weights
    ``weights`` (n_boot x n_items): shape (rows, n_boot)."""
    mask = ~np.isnan(values)
    total = np.where(mask, values, 0.0) @ weights.T
    count = mask.astype(float) @ weights.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def _quantiles(draws: np.ndarray, tails: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.full(len(draws), np.nan), np.full(len(draws), np.nan)
    for r, (row, tail) in enumerate(zip(draws, tails, strict=True)):
        row = row[~np.isnan(row)]
        if len(row) and not np.isnan(tail):
            lo[r], hi[r] = np.quantile(row, [tail, 1 - tail])
    return lo, hi


def _resample(n_items: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Counts of each item in ``n_boot`` resamples of the items with replacement."""
    return counts(rng.integers(0, n_items, size=(n_boot, n_items)), n_items)


def opinion_similarity(
    model_dists: pd.DataFrame,
    country_dists: pd.DataFrame | None = None,
    *,
    instrument: Instrument | str | None = "wvs7_full",
    blocks: Sequence[str] | None = None,
    per_block: bool = False,
    by: Sequence[str] | None = None,
    min_coverage: float = 1.0,
    bootstrap: ItemBootstrap = ItemBootstrap(),
    base: float = 2.0,
) -> pd.DataFrame:
    """GlobalOpinionQA-style similarity of the model to each country, ranked.

    Per country the mean over its items of ``1 - JSdist`` (see :func:`item_similarity`), as in
    GlobalOpinionQA, which averages over the questions a country has. Countries differ in which
    items they have (``coverage = n_items / n_model_items``); items differ in how similar any
    answerer can be, so means over different item sets are not comparable. ``min_coverage``
    keeps countries with at least that fraction of the model's items: the default 1 compares
    every kept country on the same items (as :func:`~workbench.stats.wvs_similarity` does);
    0 keeps every country with one item (GlobalOpinionQA's choice). ``uniform`` is the uniform
    answerer's mean on the same items and
    ``vs_uniform = similarity - uniform`` (how far the model beats chance), both intervals
    bootstrapped over items (paired: the same resampled items for model and uniform).

    ``country_dists`` defaults to :func:`workbench.reference.wvs_full_distributions`;
    ``instrument`` maps items to blocks (``None`` for a file without blocks, e.g.
    GlobalOpinionQA); ``blocks`` restricts to those blocks; ``per_block`` adds one set of rows
    per block. Returns ``[*by, block, iso3, country, similarity, ci_low, ci_high, uniform,
    vs_uniform, vs_uniform_low, vs_uniform_high, n_items, n_model_items, coverage, rank,
    n_countries]`` (``block`` ``"all"`` for every selected item; rank 1 = most similar).
    """
    if country_dists is None:
        from workbench.reference import wvs_full_distributions

        country_dists = wvs_full_distributions()
    if not 0.0 <= min_coverage <= 1.0:
        raise WorkbenchError(f"min_coverage is a fraction of the model's items (0..1), got "
                             f"{min_coverage}")
    per = item_similarity(model_dists, country_dists, by=by, base=base)
    by = [c for c in per.columns if c not in ("iso3", "country", "item_id", "similarity",
                                              "uniform")]
    rng = np.random.default_rng(bootstrap.seed)
    out = []
    for key, sub in group_iter(per, by):
        for block, items in _blocks_of(instrument, sub["item_id"].unique(), blocks,
                                       per_block).items():
            part = sub[sub["item_id"].isin(items)]
            model = part.pivot_table(index=["iso3", "country"], columns="item_id",
                                     values="similarity")
            uni = part.pivot_table(index=["iso3", "country"], columns="item_id",
                                   values="uniform").reindex_like(model)
            n_items = model.notna().sum(axis=1).to_numpy()
            keep = n_items >= max(1.0, min_coverage * model.shape[1])
            model, uni, n_items = model[keep], uni[keep], n_items[keep]
            if model.empty:
                continue
            weights = _resample(model.shape[1], bootstrap.n_boot, rng)
            s, u = model.to_numpy(), uni.to_numpy()
            tails = _tail(n_items, bootstrap.confidence, bootstrap.ci_method)
            lo, hi = _quantiles(_boot_means(s, weights), tails)
            dlo, dhi = _quantiles(_boot_means(s - u, weights), tails)
            frame = model.index.to_frame(index=False)
            frame = frame.assign(block=block, similarity=np.nanmean(s, axis=1), ci_low=lo,
                                 ci_high=hi, uniform=np.nanmean(u, axis=1))
            frame = frame.assign(vs_uniform=frame["similarity"] - frame["uniform"],
                                 vs_uniform_low=dlo, vs_uniform_high=dhi, n_items=n_items,
                                 n_model_items=model.shape[1],
                                 coverage=n_items / model.shape[1])
            frame["rank"] = frame["similarity"].rank(ascending=False, method="min").astype(int)
            frame["n_countries"] = len(frame)
            for k, v in key.items():
                frame[k] = v
            out.append(frame)
    if not out:
        raise WorkbenchError(f"no country has at least {min_coverage:.0%} of the model's items: "
                             "lower min_coverage or check the item ids")
    result = pd.concat(out, ignore_index=True)[[*by, *SIMILARITY_COLUMNS]]
    order = {b: i for i, b in enumerate(result["block"].unique())}
    return result.sort_values([*by, "block", "rank"], key=lambda col: col.map(order)
                              if col.name == "block" else col).reset_index(drop=True)


def goqa_comparison(model_dists: pd.DataFrame, path: str, source: str | None = "WVS",
                    **options: object) -> pd.DataFrame:
    """The GlobalOpinionQA comparison in one call: ``global_opinions.csv`` at ``path`` read by
    :func:`workbench.reference.load_global_opinion_qa`, its shares matched to the model's
    items ``GOQA<row>`` (asked from the instrument :func:`workbench.goqa.write_goqa_instrument`
    wrote), then :func:`opinion_similarity` (``options`` are passed on)."""
    from workbench.goqa import goqa_country_distributions
    from workbench.reference import load_global_opinion_qa

    shares = goqa_country_distributions(load_global_opinion_qa(path, source=source))
    return opinion_similarity(model_dists, shares, instrument=None, **options)


def extremes(similarity: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The ``n`` most and least similar countries per group and block, with an ``end`` column
    ("most" / "least"); the uniform baseline columns come along."""
    require_columns(similarity, ["block", "similarity", "rank"], "similarity frame")
    by = [c for c in similarity.columns if c not in SIMILARITY_COLUMNS]
    parts = []
    for _, sub in group_iter(similarity, [*by, "block"]):
        sub = sub.sort_values("similarity", ascending=False)
        parts.append(sub.head(n).assign(end="most"))
        parts.append(sub.tail(n).iloc[::-1].assign(end="least"))
    return pd.concat(parts, ignore_index=True)


def _target(persona: str) -> str | None:
    return persona[len(COUNTRY_PREFIX):] if str(persona).startswith(COUNTRY_PREFIX) else None


def cultural_prompting(
    model_dists: pd.DataFrame,
    country_dists: pd.DataFrame | None = None,
    *,
    baseline: str = "none",
    instrument: Instrument | str | None = "wvs7_full",
    blocks: Sequence[str] | None = None,
    by: Sequence[str] | None = None,
    min_coverage: float = 1.0,
    bootstrap: ItemBootstrap = ItemBootstrap(),
    n_perm: int = 9999,
    base: float = 2.0,
) -> pd.DataFrame:
    """Does a country persona raise the model's similarity to that country more than to others?

    For each persona ``country:T`` and country ``c``: ``D_c`` = mean over items of the
    per-item change ``s(persona, c, i) - s(baseline, c, i)``; ``effect = D_T - mean_{c != T}
    D_c`` (Durmus et al. 2023's cultural prompting, measured as a difference in differences).
    ``ci_low``/``ci_high``: bootstrap over items (the same resampled items for every country).
    ``rank_of_target``: the target's rank among all countries' ``D_c`` (1 = largest gain);
    ``p_value`` = rank / n_countries, the exact permutation p-value when the target label is
    shuffled over the countries (one-sided: the target gains most). The ``overall`` row
    averages the personas' effects; its p-value is a randomisation test that assigns each
    persona a random distinct country as its target (``n_perm`` draws, seeded):
    ``(1 + #{T* >= T}) / (1 + n_perm)``.

    ``model_dists`` must hold the ``baseline`` persona and ``country:ISO3`` personas (other
    personas are ignored); ``by`` (default: model and instrument columns) separates models.
    ``min_coverage`` is as in :func:`opinion_similarity` (default 1: every country, the target
    included, compared on all the items both runs answered).
    Returns ``[*by, level, persona, target_iso3, target_country, delta_target, delta_others,
    effect, ci_low, ci_high, rank_of_target, n_countries, n_items, p_value, test]``.
    """
    require_columns(model_dists, ["persona"], "model distributions")
    if country_dists is None:
        from workbench.reference import wvs_full_distributions

        country_dists = wvs_full_distributions()
    if by is None:
        by = _default_by(model_dists, ("model", "instrument"))
    by = list(as_tuple(by))
    personas = model_dists["persona"].astype(str)
    if not personas.eq(baseline).any():
        raise WorkbenchError(f"no answers with the baseline persona '{baseline}': probe the "
                             "model without persona as well (persona 'none')")
    model_dists = model_dists[personas.eq(baseline) | personas.str.startswith(COUNTRY_PREFIX)]
    per = item_similarity(model_dists, country_dists, by=[*by, "persona"], base=base)
    if instrument is not None:
        items = _blocks_of(instrument, per["item_id"].unique(), blocks, False)[ALL_ITEMS]
        per = per[per["item_id"].isin(items)]
    rng = np.random.default_rng(bootstrap.seed)
    out = []
    for key, sub in group_iter(per, by):
        out.append(_prompting_group(sub, baseline, min_coverage, bootstrap, n_perm, rng)
                   .assign(**key))
    return pd.concat(out, ignore_index=True)[[*by, *PROMPTING_COLUMNS]]


def _prompting_group(per: pd.DataFrame, baseline: str, min_coverage: float,
                     bootstrap: ItemBootstrap, n_perm: int,
                     rng: np.random.Generator) -> pd.DataFrame:
    wide = per.pivot_table(index=["iso3", "country"], columns=["persona", "item_id"],
                           values="similarity")
    base = wide[baseline]
    items = list(base.columns)
    targets = [p for p in wide.columns.get_level_values(0).unique() if _target(p)]
    if not targets:
        raise WorkbenchError("no country personas (persona ids 'country:ISO3') in the data")
    weights = _resample(len(items), bootstrap.n_boot, rng)
    rows, effects, draws, deltas = [], [], [], {}
    for persona in targets:
        diff = wide[persona].reindex(columns=items) - base
        n = diff.notna().sum(axis=1)
        diff = diff[n >= max(1.0, min_coverage * len(items))]
        t = _target(persona)
        names = diff.index.get_level_values("iso3")
        row = {"level": "persona", "persona": persona, "target_iso3": t,
               "n_countries": len(diff), "test": "target label shuffled over countries"}
        if t not in set(names) or len(diff) < 2:
            rows.append({**row, "target_country": None, "n_items": 0})
            continue
        d = diff.to_numpy()
        delta = np.nanmean(d, axis=1)
        at = int(np.flatnonzero(names == t)[0])
        others = np.delete(np.arange(len(d)), at)
        boot = _boot_means(d, weights)
        boot_effect = boot[at] - np.nanmean(boot[others], axis=0)
        n_items = int(diff.iloc[at].notna().sum())
        lo, hi = _quantiles(boot_effect[None, :], _tail(np.array([n_items]),
                                                        bootstrap.confidence,
                                                        bootstrap.ci_method))
        rank = int((delta > delta[at]).sum() + 1)
        effect = delta[at] - delta[others].mean()
        rows.append({**row, "target_country": diff.index[at][1], "delta_target": delta[at],
                     "delta_others": delta[others].mean(), "effect": effect,
                     "ci_low": lo[0], "ci_high": hi[0], "rank_of_target": rank,
                     "n_items": n_items, "p_value": rank / len(d)})
        effects.append(effect)
        draws.append(boot_effect)
        deltas[persona] = pd.Series(delta, index=names)
    if effects:
        rows.append(_overall(effects, draws, deltas, len(items), n_perm, bootstrap, rng))
    return pd.DataFrame(rows)


def _overall(effects: list[float], draws: list[np.ndarray], deltas: dict[str, pd.Series],
             n_items: int, n_perm: int, bootstrap: ItemBootstrap,
             rng: np.random.Generator) -> dict:
    """Mean effect over personas, its bootstrap interval, and the label-shuffling test."""
    observed = float(np.mean(effects))
    mean_draws = np.nanmean(np.vstack(draws), axis=0)
    lo, hi = _quantiles(mean_draws[None, :], _tail(np.array([n_items]), bootstrap.confidence,
                                                   bootstrap.ci_method))
    common = sorted(set.intersection(*(set(s.index) for s in deltas.values())))
    k = len(deltas)
    p_value = np.nan
    if len(common) >= k:
        # E(c) = D_c - mean_{c' != c} D_c' for every persona and candidate target c
        table = np.vstack([(s[common] * len(s) - s.sum()).to_numpy() / (len(s) - 1)
                           for s in deltas.values()])
        picks = np.argsort(rng.random((n_perm, len(common))), axis=1)[:, :k]
        shuffled = table[np.arange(k)[None, :], picks].mean(axis=1)
        p_value = (1 + int((shuffled >= observed - 1e-12).sum())) / (1 + n_perm)
    return {"level": "overall", "persona": "all country personas", "target_iso3": None,
            "target_country": None, "delta_target": None, "delta_others": None,
            "effect": observed, "ci_low": lo[0], "ci_high": hi[0], "rank_of_target": None,
            "n_countries": len(common), "n_items": None, "p_value": p_value,
            "test": f"persona-target labels shuffled ({n_perm} random assignments)"}
