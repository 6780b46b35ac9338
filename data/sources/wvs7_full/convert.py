"""Rebuild the full WVS-7 battery and its per-country answer shares from the source json.

    python data/sources/wvs7_full/convert.py PATH/TO/wvsResults.json

reads a local copy of ``src/data/wvsResults.json`` of github.com/wladimirchagas/Hana-s-flag-game
(commit 2f117a96163b52e913142c14d54f226d2fa056cc; per-country percentages from the WVSA "WVS-7
Results by Country v6.0.0" tables) and ``spec.yaml`` next to this script (every item, block, scale
and column decision), and writes

- ``data/instruments/wvs7_full.yaml`` (the instrument; the 14 items of ``wvs7.yaml`` copied
  unchanged),
- ``data/reference/wvs7_full_distributions.csv`` (``iso3, country, item_id, code, label,
  percent, share, substantive``: the published percentages of every answer category, including
  "don't know" / "no answer" / other missing codes, and the shares of the substantive answers,
  renormalised to sum to 1),
- ``data/reference/wvs7_full_distributions.yaml`` (the sidecar).

Not part of the ``workbench`` package: a one-off, reproducible data build. Any problem stops it
with a message naming the question and the spec entry to fix.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SOURCE = {"repo": "wladimirchagas/Hana-s-flag-game",
          "commit": "2f117a96163b52e913142c14d54f226d2fa056cc", "path": "src/data/wvsResults.json"}
#: WVS missing-data codes for the trailing (non-substantive) columns of a results-table row.
DONT_KNOW, NO_ANSWER, NOT_APPLICABLE, OTHER_MISSING = -1, -2, -3, -5
#: A source row is a full distribution when its percentages sum to 100 within this (rounding).
ROW_SUM_TOLERANCE = 0.6


class SpecError(Exception):
    """The source and the spec disagree; the message names what to fix."""


def qnum(qid: str) -> tuple[int, str]:
    m = re.fullmatch(r"Q(\d+)([A-Z]?)", qid)
    if not m:
        raise SpecError(f"'{qid}' is not a WVS question id (Q<number>[letter])")
    return int(m.group(1)), m.group(2)


def expand(ids: str, known: list[str]) -> list[str]:
    """``Q1-Q6`` -> the known ids Q1..Q6 (letter suffixes between included); ``Q234A`` -> itself."""
    if "-" not in ids:
        return [ids] if ids in known else []
    lo, hi = (qnum(x) for x in ids.split("-"))
    return [q for q in known if lo <= qnum(q) <= hi or (qnum(q)[0] == hi[0] and hi[1] == "")]


def clean(text: str, replacements: list[list[str]]) -> str:
    for old, new in replacements:
        text = text.replace(old, new)
    return " ".join(text.split())


def item_specs(spec: dict, questions: dict) -> dict[str, dict]:
    """Merge the spec's item entries per question id (later entries refine earlier ones)."""
    known = list(questions)
    merged: dict[str, dict] = {}
    for entry in spec["items"]:
        ids = expand(entry["ids"], known)
        if not ids:
            raise SpecError(f"spec item entry {entry['ids']} matches no question of the source")
        for qid in ids:
            target = merged.setdefault(qid, {})
            for key, value in entry.items():
                if key == "note" and "note" in target:
                    target["note"] = f"{target['note']} {value}"
                elif key != "ids":
                    target[key] = value
    excluded = [q for rng in spec["excluded"] for q in expand(rng, known)]
    both = sorted(set(excluded) & set(merged), key=qnum)
    if both:
        raise SpecError(f"questions {both} are both excluded and items: fix spec.yaml")
    left = [q for q in known if q not in merged and q not in excluded]
    if left:
        raise SpecError(f"questions {left} are neither items nor excluded in spec.yaml")
    return dict(sorted(merged.items(), key=lambda kv: qnum(kv[0])))


def split_battery(prompt: str, battery: dict, qid: str) -> str:
    for marker in battery["split"]:
        if marker in prompt:
            return prompt.split(marker, 1)[1].strip(" :.")
    raise SpecError(f"{qid}: none of the battery's split markers {battery['split']} occurs in "
                    f"its prompt {prompt[:120]!r}...")


def build_items(spec: dict, questions: dict, wvs7: dict) -> tuple[list[dict], dict, set, set]:
    """Instrument items (plus per-item column rules) in questionnaire order."""
    reps = spec["replacements"]
    wvs7_items = {it["id"]: it for it in wvs7["items"]}
    items, rules, scales_used, batteries_used = [], {}, set(), set()
    for qid, s in item_specs(spec, questions).items():
        q = questions[qid]
        if s.get("from_wvs7"):
            item = dict(wvs7_items[qid])
            item["block"] = s["block"]
        else:
            if "scale" not in s or "block" not in s:
                raise SpecError(f"{qid}: the spec gives no scale or block")
            battery = s.get("battery")
            if "text" in s:
                text = s["text"]
            elif battery:
                text = split_battery(q["prompt"], spec["batteries"][battery], qid)
            else:
                text = q["prompt"]
            item = {"id": qid, "text": {"en": clean(text, reps)}, "scale": s["scale"]}
            if battery:
                item["instruction"] = battery
            item["block"] = s["block"]
            if "follows" in s:
                item["follows"] = {"item": s["follows"], "exclude_answer": True}
            if s.get("note"):
                item["notes"] = s["note"]
        # keep wvs7's key order with the block after the instruction
        order = ["id", "text", "scale", "instruction", "block", "dimension", "role", "follows",
                 "paraphrases", "notes"]
        item = {k: item[k] for k in order if k in item}
        scales_used.add(item["scale"])
        if item.get("instruction"):
            batteries_used.add(item["instruction"])
        codes = spec["scales"][item["scale"]]["codes"]
        column_codes = s.get("column_codes") or (
            list(reversed(codes)) if s.get("columns") == "reversed" else list(codes))
        nonsub = {int(k): v for k, v in (s.get("nonsubstantive") or {}).items()}
        stray = [c for c in column_codes if c not in codes and c not in nonsub]
        if stray or sorted(c for c in column_codes if c in codes) != sorted(codes):
            raise SpecError(f"{qid}: column_codes {column_codes} must hold every code of scale "
                            f"'{item['scale']}' ({codes}) plus declared nonsubstantive codes")
        rules[qid] = {"column_codes": column_codes, "nonsubstantive": nonsub,
                      "drop": set(s.get("drop", [])),
                      "ends_check": bool(spec["scales"][item["scale"]].get("drop_if_ends_empty")),
                      "dedupe": bool(s.get("drop_duplicate_rows"))}
        items.append(item)
    return items, rules, scales_used, batteries_used


def tail_codes(labels: list[str], qid: str) -> list[tuple[int, str]]:
    """Codes and labels of a row's trailing missing-data columns (WVS order: DK, NA, other).

    The tables' label strings are often garbled by PDF extraction ("Don't know No", "answer
    Mail"), so the position decides; only an explicit INAP column is recognised by its text.
    """
    out = []
    for i, raw in enumerate(labels):
        if raw.startswith("INAP") or raw.startswith("Not applicable"):
            out.append((NOT_APPLICABLE, clean(raw, [])))
        elif i == 0:
            out.append((DONT_KNOW, "Don't know"))
        elif i == 1:
            out.append((NO_ANSWER, "No answer"))
        elif i == 2:
            out.append((OTHER_MISSING, "Other missing (also multiple answers, mail; EVS)"))
        else:
            raise SpecError(f"{qid}: {len(labels)} trailing missing-data columns; expected at "
                            "most three (don't know, no answer, other missing)")
    return out


def build_shares(questions: dict, rules: dict, labels: dict, societies: dict,
                 iso3_of: dict) -> tuple[list[dict], dict]:
    """Tidy rows per country x item x answer code, and counts of what was dropped and why."""
    dropped: dict[str, list[str]] = defaultdict(list)
    rows = []
    repeats = Counter((iso2, tuple(v)) for q in questions.values()
                      for iso2, v in q["values"].items())
    for qid, rule in rules.items():
        q = questions[qid]
        cols = rule["column_codes"]
        tail = tail_codes(q["answers"][len(cols):], qid)
        for iso2, values in q["values"].items():
            where = f"{qid} {iso2}"
            if len(values) != len(q["answers"]):
                raise SpecError(f"{where}: {len(values)} values for {len(q['answers'])} answers")
            total = sum(v or 0.0 for v in values)
            if abs(total - 100) > ROW_SUM_TOLERANCE:
                raise SpecError(f"{where}: percentages sum to {total:.2f}, not 100")
            iso3 = iso3_of.get(iso2)
            if iso3 is None:
                dropped["no ISO3 code in data/reference/countries.csv"].append(where)
                continue
            if iso3 in rule["drop"]:
                dropped["listed under the item's `drop` in spec.yaml"].append(where)
                continue
            if rule["dedupe"] and repeats[(iso2, tuple(values))] > 1:
                dropped["row repeated verbatim under other questions (merge by short title)"] \
                    .append(where)
                continue
            lead = values[:len(cols)]
            subst = [(c, v) for c, v in zip(cols, lead, strict=True)
                     if c not in rule["nonsubstantive"]]
            if rule["ends_check"] and subst[0][1] is None and subst[-1][1] is None:
                dropped["both end categories empty: the table printed a collapsed scale"] \
                    .append(where)
                continue
            sub_total = sum(v or 0.0 for _, v in subst)
            if sub_total <= 0:
                dropped["no substantive answers"].append(where)
                continue
            country = societies[iso2]["name"]
            for code, value in zip(cols, lead, strict=True):
                substantive = code not in rule["nonsubstantive"]
                if not substantive and value is None:
                    continue
                rows.append({"iso3": iso3, "country": country, "item_id": qid, "code": code,
                             "label": labels[qid][code] if substantive
                             else rule["nonsubstantive"][code],
                             "percent": value or 0.0,
                             "share": round((value or 0.0) / sub_total, 5) if substantive else None,
                             "substantive": substantive})
            for (code, label), value in zip(tail, values[len(cols):], strict=True):
                if value is not None:
                    rows.append({"iso3": iso3, "country": country, "item_id": qid, "code": code,
                                 "label": label, "percent": value, "share": None,
                                 "substantive": False})
    return rows, dropped


def check_against_wvs7(rows: list[dict], wvs7_csv: Path) -> float:
    """Largest share difference to the 14-item reference file on the rows both hold."""
    mine = {(r["iso3"], r["item_id"], r["code"]): r["share"] for r in rows if r["substantive"]}
    worst = 0.0
    with wvs7_csv.open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            key = (r["iso3"], r["item_id"], int(r["code"]))
            if key in mine:
                worst = max(worst, abs(mine[key] - float(r["share"])))
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", type=Path, help="local copy of src/data/wvsResults.json")
    parser.add_argument("--root", type=Path, default=ROOT, help="project root to write into")
    args = parser.parse_args(argv)
    data = json.loads(args.json.read_text(encoding="utf-8"))
    spec = yaml.safe_load((HERE / "spec.yaml").read_text(encoding="utf-8"))
    wvs7 = yaml.safe_load((args.root / "data/instruments/wvs7.yaml").read_text(encoding="utf-8"))
    questions = {q["id"]: q for q in data["questions"] if qnum(q["id"]) < (260, "")}
    with (args.root / "data/reference/countries.csv").open(encoding="utf-8") as fh:
        iso3_of = {r["iso2"]: r["iso3"] for r in csv.DictReader(fh)}

    items, rules, scales_used, batteries_used = build_items(spec, questions, wvs7)
    scales = {}
    for name, sc in spec["scales"].items():
        if name in scales_used:
            scales[name] = {"type": sc["type"], "codes": sc["codes"],
                            "labels": {"en": sc["labels"]}}
            if name in wvs7["scales"] and wvs7["scales"][name] != scales[name]:
                raise SpecError(f"scale '{name}' differs from wvs7.yaml's: keep them identical")
    instructions = {}
    for name, bat in spec["batteries"].items():
        if name in batteries_used:
            instructions[name] = {"en": " ".join(bat["stem"].split())}
            if name in wvs7["instructions"] and wvs7["instructions"][name] != instructions[name]:
                raise SpecError(f"instruction '{name}' differs from wvs7.yaml's: keep identical")
    labels = {it["id"]: dict(zip(scales[it["scale"]]["codes"], scales[it["scale"]]["labels"]["en"],
                                  strict=True)) for it in items}
    rows, dropped = build_shares(questions, rules, labels, data["societies"], iso3_of)
    drift = check_against_wvs7(rows, args.root / "data/reference/wvs7_item_distributions.csv")
    if drift > 1e-4:
        raise SpecError(f"shares differ from wvs7_item_distributions.csv by up to {drift:.5f}")

    instrument = instrument_doc(spec, wvs7, scales, instructions, items)
    write_yaml(args.root / "data/instruments/wvs7_full.yaml", instrument, INSTRUMENT_HEADER)
    write_csv(args.root / "data/reference/wvs7_full_distributions.csv", rows)
    write_yaml(args.root / "data/reference/wvs7_full_distributions.yaml",
               sidecar_doc(spec, data, rows, dropped, items), SIDECAR_HEADER)
    blocks = Counter(it["block"] for it in items)
    print(f"{len(items)} items in {len(blocks)} blocks; {len(rows)} rows, "
          f"{len({r['iso3'] for r in rows})} countries; largest difference to the 14-item file "
          f"{drift:.1e}")
    for reason, where in dropped.items():
        print(f"  dropped {len(where)} country x item rows: {reason}")
    return 0


INSTRUMENT_HEADER = """\
# World Values Survey, wave 7 (2017-2022): every attitude, value and belief question (Q1-Q259).
# GENERATED by data/sources/wvs7_full/convert.py from data/sources/wvs7_full/spec.yaml and the
# source json; edit the spec and rerun the converter instead of editing this file.
# Item wording (c) World Values Survey Association; free for non-profit use with citation.
"""
SIDECAR_HEADER = """\
# Sidecar for wvs7_full_distributions.csv (GENERATED by data/sources/wvs7_full/convert.py).
"""


def instrument_doc(spec: dict, wvs7: dict, scales: dict, instructions: dict,
                   items: list[dict]) -> dict:
    source = dict(wvs7["source"])
    source["notes"] = wvs7["source"]["notes"].split("Human reference data:")[0] + (
        "Human reference data: data/reference/wvs7_full_distributions.csv (per-country percentages "
        "of every answer code of these items and the shares of the substantive answers); the map "
        "items' shares equal data/reference/wvs7_item_distributions.csv's.")
    source["retrieved_from"] = (
        "Question wording, answer categories and their order read from the official WVS-7 Results "
        "by Country v6.0.0 tables (WVSA document F00010763) as extracted in "
        f"github.com/{SOURCE['repo']}, commit {SOURCE['commit']}, path {SOURCE['path']} (fields "
        "'prompt' and 'answers'), split into battery stems and sub-items and mapped to WVS codes "
        "by data/sources/wvs7_full/convert.py with the decisions in data/sources/wvs7_full/"
        "spec.yaml. Where the tables shorten or garble a question or its answer labels, the WVS-7 "
        "master questionnaire wording is used and the item notes say so. The 14 map items are "
        "copied unchanged from data/instruments/wvs7.yaml (see its source).")
    blocks = {name: {"label": b["label"],
                     "notes": f"WVS-7 master questionnaire section, questions {b['questions']}"}
              for name, b in spec["blocks"].items()}
    excluded = "; ".join(f"{k}: {v}" for k, v in spec["excluded"].items())
    return {
        "id": "wvs7_full",
        "name": "World Values Survey wave 7 - full value battery (attitudes, values and beliefs, "
                "Q1-Q259)",
        "family": "wvs",
        "source": source,
        "languages": wvs7["languages"],
        "scales": scales,
        "instructions": instructions,
        "blocks": blocks,
        "items": items,
        "scores": wvs7["scores"],
        "paraphrase_source": wvs7["paraphrase_source"] + " (the 14 map items only)",
        "notes": (
            "Every question of the WVS-7 core questionnaire that asks for an attitude, value or "
            "belief, grouped by the questionnaire's own sections (blocks). Left out: " + excluded +
            ". Item ids are the WVS-7 question numbers; codes are the WVS-7 codes; the "
            "missing-data codes (-1 don't know, -2 no answer, -3 not applicable, -5 other "
            "missing) and answers recorded only when volunteered are not answer options, and the "
            "per-country reference shares (data/reference/wvs7_full_distributions.csv) exclude "
            "them, as for wvs7. The items, scales, instructions and scores of "
            "data/instruments/wvs7.yaml are included unchanged, so wvs7 is the subset Q8, Q14, "
            "Q15, Q17, Q45, Q46, Q57, Q154, Q155, Q164, Q182, Q184, Q209, Q254 of this file. "
            "Follow-ups (Q153, Q155, Q157) are asked once per answer of the question they follow "
            "(see workbench.followups)."),
    }


def sidecar_doc(spec: dict, data: dict, rows: list[dict], dropped: dict,
                items: list[dict]) -> dict:
    sub = [r for r in rows if r["substantive"]]
    cells = {(r["iso3"], r["item_id"]) for r in sub}
    countries = sorted({r["iso3"] for r in sub})
    per_country = Counter(iso3 for iso3, _ in cells)
    most = sum(v >= len(items) * 0.9 for v in per_country.values())
    src = data["source"]
    return {
        "file": "wvs7_full_distributions.csv",
        "instrument": "wvs7_full",
        "description": (
            "Weighted per-country answer percentages for the items of data/instruments/"
            "wvs7_full.yaml (WVS wave 7, 2017-2022), one row per country x item x answer code, "
            "with the shares of the substantive answers."),
        "citation": (
            "World Values Survey Association (2022). WVS Wave 7 (2017-2022) Results by Country, "
            "v6.0.0 (WVSA document F00010763, WVS_Results_By_Country_2017-2022_v6.0.0.pdf), based "
            "on Haerpfer, C., Inglehart, R., Moreno, A., Welzel, C., Kizilova, K., "
            "Diez-Medrano, J., Lagos, M., Norris, P., Ponarin, E. & Puranen, B. et al. (eds.) "
            "(2022). World Values Survey: Round Seven - Country-Pooled Datafile. Madrid, Spain & "
            "Vienna, Austria: JD Systems Institute & WVSA Secretariat. France only: EVS/WVS "
            "(2022). European Values Study and World Values Survey: Joint EVS/WVS 2017-2022 "
            "Dataset, Results by Country v5.0.0 (WVSA document F00011082), doi:10.14281/18241.26"),
        "url": "https://www.worldvaluessurvey.org/WVSDocumentationWV7.jsp",
        "retrieved_from": {**SOURCE, "source_pdf_sha256": src.get("sha256")},
        "version": "WVS-7 Results by Country v6.0.0",
        "weighting": "percentages weighted by W_WEIGHT (as published in the Results by Country "
                     "tables)",
        "terms": (
            "WVS/EVS: free for non-profit use; cite the WVS Association (and EVS for France); "
            "micro-data are not redistributed here, only published country percentages. The source "
            "repository has no LICENSE file; only figures (published survey percentages) are taken "
            "from it, no code or prose."),
        "columns": {
            "iso3": "ISO 3166-1 alpha-3 code (the json's ISO alpha-2 society key mapped through "
                    "data/reference/countries.csv)",
            "country": "society name as in the json's 'societies' table",
            "item_id": "item id as in data/instruments/wvs7_full.yaml (WVS-7 question number)",
            "code": "WVS-7 answer code; -1 don't know, -2 no answer, -3 not applicable (INAP), "
                    "-5 other missing / multiple answers / mail (EVS); answers recorded only when "
                    "volunteered keep their WVS code (Q111 3, Q241-Q249 0, Q254 5)",
            "label": "English answer label (the instrument's label for substantive codes)",
            "percent": "published percentage of all respondents (empty cells = 0 for substantive "
                       "codes; non-substantive categories with an empty cell have no row)",
            "share": "substantive rows only: percent / sum of the item's substantive percents, "
                     "rounded to 5 decimals (sums to 1 +- 0.0001 per iso3 x item_id)",
            "substantive": "True for the instrument's answer options; False for missing-data "
                           "codes and volunteered answers (kept as stored facts)",
        },
        "transformations": [
            "json answer columns -> codes by data/sources/wvs7_full/spec.yaml: the leading columns "
            "are the answer categories in the order the tables print them (WVS code order, "
            "reversed for Q48, Q49, Q50 and Q121; Q119 prints code 0 'hard to say' first); the "
            "trailing columns are don't know, no answer and other missing, in that order",
            "every source row was checked to sum to 100 +- 0.6 over all its columns",
            "shares renormalised over the substantive answers; empty substantive cells = 0",
            "the shares of the 14 map items equal data/reference/wvs7_item_distributions.csv's "
            "(checked by the converter)",
        ] + [f"dropped {len(where)} country x item rows: {reason} ({', '.join(where[:25])}"
             + (", ..." if len(where) > 25 else "") + ")" for reason, where in dropped.items()],
        "notes": (
            f"{len(items)} items, {len(cells)} country x item distributions, {len(rows)} rows "
            f"({len(sub)} substantive), {len(countries)} societies ({most} with at least 90% "
            "of the items). The source json holds per-society percentages "
            "extracted from the official WVSA Results by Country PDF; its answer-label strings are "
            "often garbled by PDF text extraction but the values follow the printed category "
            "order. Coverage is uneven: the United States, Great Britain, Egypt, Uruguay and "
            "Venezuela appear for only a few items, Turkey, Tunisia, Thailand and Ukraine for "
            "some blocks, and France (the EVS 2018 sample of the joint EVS/WVS tables) for some. "
            "The json was read through the code-search file index (the repository could not be "
            "fetched) and copied page by page (16,000 characters each, every page's length "
            "checked) up to question Q259; the demography section and the country-specific "
            "questions after it were not needed. The copy parses as JSON, every row sums to 100 "
            "+- 0.6, and the 14 map items' shares equal the separately read 14-item file's."),
    }


class _Dumper(yaml.SafeDumper):
    """Lists of numbers (scale codes) in flow style: ``codes: [1, 2, 3, 4]``."""


_Dumper.add_representer(list, lambda dumper, data: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", data,
    flow_style=bool(data) and all(isinstance(x, int | float) for x in data)))


def write_yaml(path: Path, doc: dict, header: str) -> None:
    text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(header + text, encoding="utf-8")


def write_csv(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    cols = ["iso3", "country", "item_id", "code", "label", "percent", "share", "substantive"]
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for r in sorted(rows, key=lambda r: (r["iso3"], qnum(r["item_id"]), not r["substantive"],
                                         r["code"] if r["substantive"] else -r["code"])):
        writer.writerow({**r, "share": "" if r["share"] is None else f"{r['share']:.5f}"})
    path.write_text(buf.getvalue(), encoding="utf-8")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SpecError as exc:
        sys.exit(f"convert.py: {exc}")
