"""Human reference data: loaders that return tidy frames keyed by ISO3 country codes.

Every file under ``data/reference/`` has a YAML sidecar naming its source, version and terms;
:func:`reference_sources` collects them for provenance tables in reports.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from workbench.errors import WorkbenchError
from workbench.paths import data_dir

HOFSTEDE_DIMS = ["pdi", "idv", "mas", "uai", "lto", "ivr"]
#: VSM 2013 score ids -> columns of the Hofstede country table
HOFSTEDE_SCORE_TO_COLUMN = {"PDI": "pdi", "IDV": "idv", "MAS": "mas", "UAI": "uai",
                            "LTO": "lto", "IVR": "ivr"}


def _ref(name: str) -> Path:
    path = data_dir() / "reference" / name
    if not path.is_file():
        raise WorkbenchError(f"reference file '{path}' is missing: reinstall or restore data/")
    return path


@cache
def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(_ref(name), keep_default_na=True, na_values=["", "#NULL!"])


def countries() -> pd.DataFrame:
    """``iso3, iso2, name`` for every country the workbench knows."""
    return _csv("countries.csv").copy()


def hofstede_scores(kind: str | None = "country") -> pd.DataFrame:
    """Hofstede's published six-dimension scores, one row per country (missing kept as NaN).

    ``kind=None`` also returns regions and sub-national groups.
    """
    frame = _csv("hofstede_6d.csv").copy()
    if kind is not None:
        frame = frame[frame["kind"] == kind]
    return frame.reset_index(drop=True)


def hofstede_long(kind: str | None = "country") -> pd.DataFrame:
    """Tidy form: ``iso3, country, dimension (PDI..IVR), score``."""
    wide = hofstede_scores(kind)
    long = wide.melt(id_vars=["hofstede_code", "country", "iso3", "kind"],
                     value_vars=HOFSTEDE_DIMS, var_name="dimension", value_name="score")
    long["dimension"] = long["dimension"].str.upper()
    return long


def wvs_map() -> pd.DataFrame:
    """Country positions on the Inglehart-Welzel map (latest point from 2017 on).

    Columns ``iso3, country, year, traditional_secular, survival_self_expression``; higher
    ``survival_self_expression`` means more self-expression (the source's sign is flipped).
    """
    return _csv("wvs7_map.csv").copy()


def wvs_distributions() -> pd.DataFrame:
    """Per-country answer shares for WVS-7 items: ``iso3, country, item_id, code, label, share``."""
    return _csv("wvs7_item_distributions.csv").copy()


def wvs_full_distributions(substantive: bool = True) -> pd.DataFrame:
    """Per-country answer percentages for every item of ``wvs7_full`` (WVS-7, Q1-Q259).

    Columns ``iso3, country, item_id, code, label, percent, share, substantive``. With
    ``substantive=True`` (default) only the answer options, whose ``share`` sums to 1 per
    country and item; ``False`` also returns "don't know", "no answer", other missing codes
    and volunteered answers (``share`` empty), kept as published facts.
    """
    d = _csv("wvs7_full_distributions.csv").copy()
    d["substantive"] = d["substantive"].astype(str).eq("True")
    if substantive:
        d = d[d["substantive"]].reset_index(drop=True)
    return d


def wvs_item_means() -> pd.DataFrame:
    """Country mean code per WVS-7 item (from the answer shares): ``iso3, item_id, mean``."""
    d = wvs_distributions()
    d["weighted"] = d["code"] * d["share"]
    means = d.groupby(["iso3", "item_id"], as_index=False).agg(
        weighted=("weighted", "sum"), share=("share", "sum"))
    means["mean"] = means["weighted"] / means["share"]
    return means[["iso3", "item_id", "mean"]]


def mfq30_norms() -> pd.DataFrame:
    """MFQ-30 group norms (group, foundation, mean, sd, n, source); NaN where unpublished."""
    return _csv("mfq30_norms.csv").copy()


def mfq2_country_norms() -> pd.DataFrame:
    """MFQ-2 country means and SDs (``iso3, country, foundation, mean, sd, n, source``)."""
    return _csv("mfq2_country_norms.csv").copy()


ESS_VALUES_COLUMNS = ["iso3", "country", "essround", "score_id", "mean", "n", "source"]


def ess_human_values(path: str | Path | None = None) -> pd.DataFrame:
    """ESS country means of the ``pvq21`` scores: ``iso3, country, essround, score_id, mean, n,
    source``.

    The shipped table is empty (no citable ESS country means were reachable; see
    ``data/reference/ess_human_values.yaml``); pass ``path`` to a table built with
    :func:`workbench.stats.schwartz.ess_country_values` from ESS microdata.
    """
    if path is None:
        frame = _csv("ess_human_values.csv").copy()
    else:
        path = Path(path)
        if not path.is_file():
            raise WorkbenchError(f"ESS values table '{path}' does not exist: build it with "
                                 "workbench.stats.schwartz.ess_country_values")
        frame = pd.read_csv(path)
    missing = [c for c in ESS_VALUES_COLUMNS if c not in frame.columns]
    if missing:
        raise WorkbenchError(f"ESS values table lacks column(s) {missing}; expected "
                             f"{ESS_VALUES_COLUMNS}")
    return frame


def ess_variables() -> dict[str, str]:
    """pvq21 item id -> ESS variable name (``ess_variables`` of the ESS values sidecar)."""
    raw = yaml.safe_load(_ref("ess_human_values.yaml").read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in raw["ess_variables"].items()}


def reference_sources() -> pd.DataFrame:
    """One row per reference file: file, citation, url, version, terms (for provenance tables)."""
    rows = []
    for sidecar in sorted((data_dir() / "reference").glob("*.yaml")):
        raw = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
        src = raw.get("source", raw)
        if isinstance(src, str):
            src = {"citation": src}
        rows.append({
            "file": sidecar.with_suffix(".csv").name,
            "citation": src.get("citation") or raw.get("citation"),
            "url": src.get("url") or raw.get("url"),
            "version": src.get("version") or raw.get("version"),
            "terms": src.get("terms") or raw.get("terms") or raw.get("license"),
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- GlobalOpinionQA
def load_global_opinion_qa(path: str | Path, source: str | None = "WVS") -> pd.DataFrame:
    """Read Anthropic's GlobalOpinionQA CSV (``question, selections, options, source``) into
    tidy per-country answer shares: ``question_id, question, source, country, option_index,
    option, share``.

    The dataset (CC BY-NC-SA 4.0) is on the Hugging Face hub only: download
    ``Anthropic/llm_global_opinions`` ``data/global_opinions.csv`` yourself and pass its path.
    ``selections`` holds a Python-literal dict inside ``defaultdict(...)``; it is parsed with
    ``ast.literal_eval`` (literals only, never evaluated as code).
    """
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(
            f"GlobalOpinionQA file '{path}' does not exist: download data/global_opinions.csv "
            "from the Anthropic/llm_global_opinions dataset and pass its path"
        )
    raw = pd.read_csv(path)
    missing = {"question", "selections", "options", "source"} - set(raw.columns)
    if missing:
        raise WorkbenchError(
            f"'{path.name}' lacks column(s) {sorted(missing)}: expected the GlobalOpinionQA "
            "format (question, selections, options, source)"
        )
    rows = []
    for qid, rec in raw.iterrows():
        if not isinstance(rec["question"], str) or not rec["question"].strip():
            continue
        if source is not None and rec["source"] != source:
            continue
        try:
            options = ast.literal_eval(str(rec["options"]))
            match = re.search(r"\{.*\}", str(rec["selections"]), re.S)
            selections = ast.literal_eval(match.group(0)) if match else {}
        except (ValueError, SyntaxError) as exc:
            raise WorkbenchError(
                f"'{path.name}' row {qid}: cannot parse options/selections ({exc}); the file "
                "may be damaged"
            ) from exc
        for country, shares in selections.items():
            if len(shares) != len(options):
                continue
            for i, (opt, share) in enumerate(zip(options, shares, strict=True)):
                rows.append({"question_id": int(qid), "question": rec["question"],
                             "source": rec["source"], "country": country, "option_index": i,
                             "option": str(opt), "share": float(share)})
    return pd.DataFrame(rows, columns=["question_id", "question", "source", "country",
                                       "option_index", "option", "share"])
