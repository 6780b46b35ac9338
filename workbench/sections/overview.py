"""Overview sections: the report header, data coverage, generated answers, provenance and
the probe report's overview.

Why: before any score, a reader needs to know what was asked of which model, what came back
(statuses, refusals) and what produced it (weights, templates, reference data, software).
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from importlib import metadata

import pandas as pd

from workbench import reference
from workbench.paths import display_path
from workbench.sections.base import (
    NOT_AVAILABLE,
    SAMPLE_NOTE,
    VARIANT_FACTORS,
    ReportData,
    Section,
    attempt,
)
from workbench.sections.registry import section
from workbench.sections.settings import Settings

#: Packages whose versions the provenance section lists.
PACKAGES = ("workbench", "numpy", "pandas", "scipy", "statsmodels", "duckdb", "plotly",
            "papermill", "nbconvert", "nbformat", "ipykernel", "ipywidgets", "transformers",
            "torch")
#: Settings the "About this report" table always lists (the validity verdicts use them in
#: every report); any other setting is listed when it differs from its default.
ABOUT_ALWAYS = ("estimator", "n_boot", "n_perm", "ci", "seed")
#: Settings shown as the data rows of the header instead (the selection).
_SELECTION = ("results_dir", "models", "model", "instruments", "personas")


def header(data: ReportData, settings: Settings | None = None,
           shown: Sequence[str] = ()) -> pd.DataFrame:
    """What this report is about: store, selection and the settings named in ``shown``
    (one row per setting)."""
    settings = settings or Settings()
    rows = [("results", display_path(data.results_dir)),
            ("generated", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
            ("models", ", ".join(data.models)), ("instruments", ", ".join(data.instruments)),
            ("answers", str(len(data.answers)))]
    rows += [(name, str(settings.value(name))) for name in shown]
    return pd.DataFrame(rows, columns=["setting", "value"])


def about_settings(settings: Settings) -> list[str]:
    """The settings the "About this report" table lists: :data:`ABOUT_ALWAYS`, then every
    other setting whose value differs from its default (selection settings excepted)."""
    default = Settings()
    changed = [f.name for f in fields(Settings) if f.name not in (*ABOUT_ALWAYS, *_SELECTION)
               and settings.value(f.name) != default.value(f.name)]
    return [*ABOUT_ALWAYS, *changed]


@section("about", title="About this report", reports={"compare": 2, "probe": 2, "culture": 2},
         description="What was read (the results folder, as given or relative to the report "
                     "folder), the settings, and how scores are computed.")
def about_section(data: ReportData, settings: Settings) -> Section:
    """The settings table (:func:`header` with :func:`about_settings`) and the sample note."""
    sec = Section(notes=[SAMPLE_NOTE])
    sec.tables["Report settings"] = header(data, settings, about_settings(settings))
    if data.estimation is not None and data.estimation.note:  # the estimator fell back to raw
        sec.notes.append(data.estimation.note)
    return sec


def _shown_id(model_id: object) -> object:
    """A model id that is a local path (a model directory) without the machine's layout."""
    text = str(model_id)
    return display_path(text) if text.startswith("/") else model_id


def _versions(packages: Sequence[str]) -> pd.DataFrame:
    rows = [{"package": "python", "version": platform.python_version()}]
    for name in packages:
        try:
            rows.append({"package": name, "version": metadata.version(name)})
        except metadata.PackageNotFoundError:
            rows.append({"package": name, "version": "not installed"})
    return pd.DataFrame(rows)


@section("coverage", title="Data coverage", reports={"compare": 10},
         description="What is stored for each model: requests, items, design factors and the "
                     "share of parseable answers.")
def coverage_section(data: ReportData, settings: Settings) -> Section:
    """Requests per model x instrument x mode, with answer statuses and design factors."""
    sec = Section(notes=list(data.notes))
    a = data.answers
    if a.empty:
        sec.notes.append(f"{NOT_AVAILABLE}: no answers for this selection")
        return sec
    keys = ["model", "instrument", "mode"]
    cov = a.groupby(keys).agg(
        n_requests=("request_id", "size"), n_items=("item_id", "nunique"),
        personas=("persona", "nunique"), languages=("language", "nunique"),
        orders=("order", "nunique"), paraphrases=("paraphrase", "nunique"),
        repeats=("repeat", "nunique"),
        share_ok=("status", lambda s: float((s == "ok").mean())),
    ).reset_index()
    sec.tables["Requests per model and instrument"] = cov
    sec.data["coverage"] = cov
    if not data.personas.empty:
        sec.tables["Personas (system texts as stored)"] = data.personas
    return sec


@section("probe_overview", title="Overview", reports={"probe": 10})
def probe_overview_section(data: ReportData, settings: Settings) -> Section:
    """Requests by instrument, mode and status, and the factor levels used."""
    sec = Section(notes=list(data.notes))
    a = data.answers
    if a.empty:
        sec.notes.append(f"{NOT_AVAILABLE}: no answers for this selection")
        return sec
    status = a.groupby(["instrument", "mode", "status"]).size().rename("n").reset_index()
    sec.tables["Requests by instrument, mode and status"] = status
    levels = [{"factor": f, "levels": ", ".join(map(str, sorted(a[f].unique(), key=str))),
               "n_levels": int(a[f].nunique())} for f in VARIANT_FACTORS if f in a.columns]
    sec.tables["Design factors"] = pd.DataFrame(levels)
    return sec


@section("generation", title="Generated answers", reports={"compare": 100, "probe": 70},
         description="Generation-mode answers: parse statuses and examples of the text models "
                     "wrote (escaped, shown as text).")
def generation_section(data: ReportData, settings: Settings) -> Section:
    """Statuses of generated answers and examples of refusals / unparseable text
    (``settings.max_examples`` per model and status)."""
    sec = Section()
    max_examples = settings.max_examples
    a = data.answers[data.answers["mode"] == "generate"]
    if a.empty:
        sec.notes.append(f"{NOT_AVAILABLE}: no generation-mode results in this selection "
                         "(log-probability answers have no text)")
        return sec
    status = a.groupby(["model", "instrument", "status"]).size().rename("n").reset_index()
    sec.data["status"] = status
    sec.tables["Answer status"] = status.pivot_table(
        index=["model", "instrument"], columns="status", values="n", fill_value=0
    ).reset_index()
    cols = ["model", "instrument", "item_id", "persona", "status", "generated_text"]
    examples = (a[a["status"] != "ok"].groupby(["model", "status"]).head(max_examples)[cols]
                .head(max_examples))
    ok = a[a["status"] == "ok"].groupby("model").head(3)[[*cols[:5], "answer_code",
                                                            "generated_text"]]
    if not examples.empty:
        sec.tables["Refused or unparseable answers (text as generated)"] = examples
    if not ok.empty:
        sec.tables["Parsed answers (examples)"] = ok
    return sec


@section("provenance", title="Provenance",
         reports={"compare": 110, "probe": 80, "culture": 60},
         description="What produced these numbers: model files and hashes, templates, "
                     "reference data and software versions.")
def provenance_section(data: ReportData, settings: Settings) -> Section:
    """Which models, weights, templates and reference data produced these numbers."""
    sec = Section()
    prov = attempt(sec, "model provenance", data.store.provenance)
    if prov is not None:
        models = {m.split(" [")[0] for m in data.models}
        prov = prov[prov["model"].isin(models)].copy()
        prov["model_id"] = prov["model_id"].map(_shown_id)
        sec.tables["Models and answers (from the result store)"] = prov
    sources = attempt(sec, "reference sources", reference.reference_sources)
    if sources is not None:
        sec.tables["Human reference data"] = sources
    sec.tables["Software"] = _versions(PACKAGES)
    return sec
