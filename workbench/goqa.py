"""GlobalOpinionQA (Durmus et al. 2023) as an askable instrument and as country reference shares.

The dataset (Anthropic/llm_global_opinions, CC BY-NC-SA 4.0) is not shipped; a user downloads
``data/global_opinions.csv`` and runs, for the full comparison:

1. ``write_goqa_instrument("global_opinions.csv", "goqa.yaml")``: every question becomes an
   item ``GOQA<row>`` (the CSV row number, so ids are stable for one file) with its options
   as a nominal scale, in the options' order;
2. ``workbench probe --instrument goqa.yaml ...``: the model answers those items;
3. :func:`workbench.stats.opinions.goqa_comparison` (or
   :func:`goqa_country_distributions` + :func:`~workbench.stats.opinions.opinion_similarity`
   with ``instrument=None``): per-country similarity with bootstrap intervals and the uniform
   baseline.

The mapping model answer -> GOQA answer is by position: the model's code ``k`` is the ``k``-th
option of that question (code = option index + 1) in both the instrument and the reference
frame. Countries are matched to ISO3 codes by name (``data/reference/countries.csv`` and the
WVS society names of ``wvs7_full_distributions.csv``); an unmatched name is kept as its own key
(it is ranked but has no place on the world map).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import yaml

from workbench.errors import WorkbenchError
from workbench.instruments import Instrument
from workbench.prompts import load_template
from workbench.reference import countries, load_global_opinion_qa, wvs_full_distributions

CITATION = ("Durmus, E., Nguyen, K., Liao, T. I., Schiefer, N., Askell, A., Bakhtin, A., Chen, C., "
            "et al. (2023). Towards measuring the representation of subjective global opinions in "
            "language models. arXiv:2306.16388")
URL = "https://huggingface.co/datasets/Anthropic/llm_global_opinions"
TERMS = ("GlobalOpinionQA: CC BY-NC-SA 4.0 (non-commercial, share alike, attribution); the "
         "questions come from the Pew Global Attitudes Survey and the World Values Survey, whose "
         "terms also apply. Not redistributed here: the file is read from the user's copy.")


def goqa_item_id(question_id: int) -> str:
    """The item id of a GlobalOpinionQA row (``GOQA0042`` for CSV row 42)."""
    return f"GOQA{int(question_id):04d}"


def _name_to_iso3() -> dict[str, str]:
    table = {row.name.casefold(): row.iso3 for row in countries().itertuples()}
    wvs = wvs_full_distributions()[["iso3", "country"]].drop_duplicates()
    table.update({c.casefold(): i for i, c in zip(wvs["iso3"], wvs["country"], strict=True)})
    return table


def goqa_country_distributions(tidy: pd.DataFrame) -> pd.DataFrame:
    """Country shares in the similarity code's format: ``iso3, country, item_id, code, label,
    share`` from :func:`workbench.reference.load_global_opinion_qa`'s tidy frame."""
    need = {"question_id", "country", "option_index", "option", "share"}
    if need - set(tidy.columns):
        raise WorkbenchError(f"GlobalOpinionQA frame lacks {sorted(need - set(tidy.columns))}: "
                             "pass the output of workbench.reference.load_global_opinion_qa")
    names = _name_to_iso3()
    out = pd.DataFrame({
        "iso3": [names.get(str(c).casefold(), str(c)) for c in tidy["country"]],
        "country": tidy["country"].astype(str),
        "item_id": [goqa_item_id(q) for q in tidy["question_id"]],
        "code": tidy["option_index"].astype(int) + 1,
        "label": tidy["option"].astype(str),
        "share": tidy["share"].astype(float),
    })
    total = out.groupby(["iso3", "country", "item_id"])["share"].transform("sum")
    out = out[total > 0].copy()
    out["share"] = out["share"] / total[total > 0]
    return out.reset_index(drop=True)


def goqa_instrument_doc(tidy: pd.DataFrame, *, source_file: str | None = None,
                        template: str = "default") -> tuple[dict, pd.DataFrame]:
    """An instrument document (YAML-ready, validated) asking every question, and the questions
    that cannot be asked (``question_id, reason``: more options than the prompt template has
    answer keys, or fewer than two)."""
    max_keys = min(len(keys) for keys in load_template(template).answer_formats.values())
    questions = (tidy.sort_values(["question_id", "option_index"])
                 .groupby("question_id", sort=True)
                 .agg(question=("question", "first"), source=("source", "first"),
                      options=("option", lambda s: tuple(dict.fromkeys(s)))))
    scales: dict[tuple[str, ...], str] = {}
    items, skipped = [], []
    for qid, row in questions.iterrows():
        options = row["options"]
        if not 2 <= len(options) <= max_keys:
            skipped.append({"question_id": qid, "reason": f"{len(options)} options (an item "
                            f"needs 2..{max_keys}: the prompt template's answer keys)"})
            continue
        name = scales.setdefault(options, f"options{len(scales) + 1}")
        items.append({"id": goqa_item_id(qid), "text": {"en": str(row["question"]).strip()},
                      "scale": name, "notes": f"GlobalOpinionQA row {qid} ({row['source']})"})
    if not items:
        raise WorkbenchError("no GlobalOpinionQA question can be asked: every one has fewer "
                             f"than 2 or more than {max_keys} options")
    doc = {
        "id": "goqa", "name": "GlobalOpinionQA (Durmus et al. 2023) questions", "family": "goqa",
        "source": {"citation": CITATION, "url": URL, "terms": TERMS,
                   "retrieved_from": source_file or "a user-supplied global_opinions.csv"},
        "languages": {"en": {"source": "GlobalOpinionQA question and option text (English)"}},
        "scales": {name: {"type": "nominal", "codes": list(range(1, len(opts) + 1)),
                          "labels": {"en": list(opts)}} for opts, name in scales.items()},
        "items": items,
        "notes": ("Generated by workbench.goqa.write_goqa_instrument. Codes are option positions "
                  "(1 = first option); the options are shown as the dataset lists them."),
    }
    Instrument.model_validate(doc)
    return doc, pd.DataFrame(skipped, columns=["question_id", "reason"])


def write_goqa_instrument(csv_path: str | Path, yaml_path: str | Path,
                          source: str | None = "WVS") -> pd.DataFrame:
    """Write the GlobalOpinionQA questions (``source`` "WVS", "GAS" (Pew) or None for all) as an
    instrument file; returns the questions left out and why."""
    csv_path, yaml_path = Path(csv_path), Path(yaml_path)
    tidy = load_global_opinion_qa(csv_path, source=source)
    if tidy.empty:
        raise WorkbenchError(f"'{csv_path.name}' has no questions with source {source!r}: use "
                             "source='WVS', 'GAS' or None")
    digest = hashlib.sha256(csv_path.read_bytes()).hexdigest()
    doc, skipped = goqa_instrument_doc(tidy, source_file=f"{csv_path.name} (sha256 {digest}; "
                                                         f"source filter {source!r})")
    yaml_path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100),
                         encoding="utf-8")
    return skipped
