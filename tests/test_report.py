"""Report notebooks run through papermill on small synthetic results: offline HTML, escaping,
parameter checks, failure handling, and a store that is only read."""

from __future__ import annotations

import hashlib
import html
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pandas as pd
import pytest

from tests.fakes import HashBackend, ScriptedTextBackend
from workbench import sections
from workbench.design import Design
from workbench.errors import WorkbenchError
from workbench.instrument_files import load_instrument
from workbench.paths import display_path
from workbench.probe import run_probe
from workbench.report import (
    export_html,
    notebook_parameters,
    parse_extra,
    resolve_notebook,
    run_report,
)
from workbench.store import DB_NAME, ResultStore

HOSTILE_TEXT = "<script>alert(1)</script>"
HOSTILE_PERSONA = "<img src=x onerror=alert(2)> You answer as a test persona."
COUNTRIES = ["USA", "DEU", "JPN", "BRA", "CHN", "SWE", "NGA", "IND"]
FAST = ["n_boot=200", "n_perm=200"]
#: The explore notebook's one heading (a widget panel, not a registered section).
EXPLORE_HEADINGS = ["Explorer"]


def build_store(root: Path) -> Path:
    """Two log-prob models on all four instruments (two personas incl. one with HTML in its
    text, two orders, two wordings), country personas on VSM/WVS, and a generation model
    whose texts include a script tag."""
    backends = {"alpha": HashBackend("alpha"), "beta": HashBackend("beta", tilt=1.0)}
    run_probe(Design(models=["alpha", "beta"], instruments=["vsm2013", "mfq30", "mfq2", "wvs7"],
                     personas=["none", "custom:hostile"],
                     custom_personas={"hostile": HOSTILE_PERSONA},
                     orders=["original", "reversed"], paraphrases=[0, 1]),
              root, backends=backends, progress=False)
    run_probe(Design(models=["alpha", "beta"], instruments=["vsm2013", "wvs7"],
                     personas=["none"] + [f"country:{c}" for c in COUNTRIES]),
              root, backends=backends, progress=False)
    texts = ["I would choose 2.", HOSTILE_TEXT, "As an AI, I don't have opinions.", "3"]
    run_probe(Design(models=["scripted"], instruments=["mfq30"], mode="generate",
                     items=["q01", "q02", "q03", "q04", "q05", "q06"]),
              root, backends={"scripted": ScriptedTextBackend(texts)}, progress=False)
    return root


@pytest.fixture(scope="session")
def report_store(tmp_path_factory) -> Path:
    """Built once per session (shared by the report, explorer and browser tests)."""
    root = tmp_path_factory.getbasetemp() / "report-store"
    if not (root / DB_NAME).is_file():
        build_store(root)
    return root


def _fingerprint(directory: Path) -> dict:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns,
                     hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.fixture(scope="session")
def compare_report(report_store, tmp_path_factory) -> SimpleNamespace:
    """The compare report, run once; store fingerprints taken before and after the run."""
    out = tmp_path_factory.getbasetemp() / "compare-report"
    html_path = out / "compare_models.html"
    if (out / "result.json").is_file():
        saved = json.loads((out / "result.json").read_text())
        return SimpleNamespace(html=html_path, ipynb=out / "compare_models.ipynb", **saved)
    before = _fingerprint(report_store)
    count = ResultStore(report_store, read_only=True).count()
    produced = run_report("compare", results=report_store, out=out,
                          extra=[*FAST, "countries=[USA, JPN, NGA, EGY]"])
    after = _fingerprint(report_store)
    saved = {"before": before, "after": after, "count_before": count,
             "count_after": ResultStore(report_store, read_only=True).count(),
             "returned": str(produced)}
    (out / "result.json").write_text(json.dumps(saved))
    return SimpleNamespace(html=html_path, ipynb=out / "compare_models.ipynb", **saved)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def assert_offline_html(text: str) -> None:
    """plotly.js inline exactly once, and no script loaded from anywhere."""
    assert text.count('id="workbench-plotlyjs"') == 1
    assert len(re.findall(r"\* plotly\.js v\d", text)) == 1  # the library's own banner
    assert not re.findall(r"<script[^>]+src=", text)
    assert 'src="https://cdn.plot.ly' not in text


def section_titles(kind: str) -> list[str]:
    return [spec.title for spec in sections.layout(kind)]


def assert_section_headings(text: str, kind: str) -> None:
    """Every section of the report as an h2 heading with nbconvert's id, in layout order."""
    found = re.findall(r'<h2 id="([^"]*)">([^<]*)<a class="anchor-link" href="#([^"]*)">',
                       text)
    assert [html.unescape(title) for _, title, _ in found] == section_titles(kind)
    anchors = [spec.anchor for spec in sections.layout(kind)]
    assert [html.unescape(i) for i, _, _ in found] == anchors
    assert [html.unescape(h) for _, _, h in found] == anchors


def notes_in(text: str) -> list[str]:
    return [html.unescape(n) for n in re.findall(r'<div class="wb-note"[^>]*>([^<]*)</div>',
                                                 text)]


# ---------------------------------------------------------------------- compare report
def test_compare_report_sections_figures_and_offline_plotly(compare_report):
    assert compare_report.returned == str(compare_report.html.resolve())
    text = _text(compare_report.html)
    plain = html.unescape(text)
    for title in section_titles("compare"):
        assert title in plain, title
    assert_section_headings(text, "compare")
    assert text.count('class="plotly-graph-div"') >= 8
    assert_offline_html(text)
    notes = notes_in(text)
    assert any(n.startswith("no published SD for moderate") for n in notes)
    assert "Model minus human mean, groups without a published SD" in plain
    assert any("Approximation" in n and "R²" in n for n in notes)
    assert not [n for n in notes if "it failed" in n]  # no stats helper broke
    assert "LOW" in text  # the low-reliability flag is visible
    assert "p_holm" in text and "p_bh" in text and "effect_size" in text
    assert "How scores are computed" in plain


ABSOLUTE = ("/tmp/", "/root/", "/home/", "/work/")


def assert_no_machine_paths(text: str) -> None:
    """No absolute path of this machine (the store and the report live under /tmp here)."""
    found = {p: text.count(p) for p in ABSOLUTE if p in text}
    assert not found, found


def test_compare_report_opens_with_the_validity_summary(compare_report):
    text = _text(compare_report.html)
    verdicts = text.index('id="wb-verdicts"')
    assert verdicts < text.index("Report settings") < text.index('id="Data-coverage"')
    assert text.index('id="Validity:-are-the-answers-about-the-content?"') < verdicts
    assert text.index("About-this-report") < text.index("How scores are computed")
    assert "✘ position-driven" in text and 'class="wb-sentences"' in text
    # the later score tables carry the mark, and their sections say so in words
    assert text.count("<th>validity</th>") >= 4
    assert any(n.startswith("Not interpretable: the mfq30 foundation scores")
               for n in notes_in(text))


def test_reports_show_no_absolute_machine_paths(compare_report, report_store, tmp_path):
    text = _text(compare_report.html)
    assert_no_machine_paths(text)
    assert "<td>../report-store</td>" in text  # the results folder, relative to the report
    shown = _text(export_html(compare_report.ipynb, tmp_path / "code.html", show_code=True))
    assert_no_machine_paths(shown)  # the injected parameters too
    probe = run_report("probe", models=["alpha"], results=report_store, out=tmp_path / "p")
    assert_no_machine_paths(_text(probe))


def test_compare_report_escapes_model_and_persona_text(compare_report):
    text = _text(compare_report.html)
    assert HOSTILE_TEXT not in text
    assert html.escape(HOSTILE_TEXT, quote=False) in text
    assert "<img src=x onerror" not in text
    assert "&lt;img src=x onerror=alert(2)&gt;" in text


def test_compare_report_keeps_the_executed_notebook(compare_report):
    nb = nbformat.read(compare_report.ipynb, as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert ["parameters"] in tags and ["injected-parameters"] in tags
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "n_boot = 200" in injected.source
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def test_show_code_keeps_the_code_cells(compare_report, tmp_path):
    hidden = _text(compare_report.html)
    shown = _text(export_html(compare_report.ipynb, tmp_path / "code.html", show_code=True))
    assert "show_report" not in hidden and "show_report" in shown
    assert "injected-parameters" not in shown or "n_boot" in shown
    assert_offline_html(shown)


def test_export_html_to_an_unwritable_place_is_a_clear_error(compare_report, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(WorkbenchError, match="cannot write the report .*choose a writable"):
        export_html(compare_report.ipynb, blocker / "report.html")
    with pytest.raises(WorkbenchError, match="cannot read notebook"):
        export_html(tmp_path / "missing.ipynb", tmp_path / "x.html")
    blocker.write_text("{not json")
    with pytest.raises(WorkbenchError, match="not a readable notebook"):
        export_html(blocker, tmp_path / "x.html")


def test_report_does_not_write_to_the_store(compare_report):
    assert compare_report.before == compare_report.after
    assert compare_report.count_before == compare_report.count_after


# ---------------------------------------------------------------------- other reports
def test_probe_report(report_store, tmp_path):
    out = run_report("probe", models=["alpha"], results=report_store, out=tmp_path)
    text = _text(out)
    plain = html.unescape(text)
    for title in section_titles("probe"):
        assert title in plain, title
    assert_section_headings(text, "probe")
    assert_offline_html(text)
    assert text.count('class="plotly-graph-div"') >= 6
    assert "<img src=x onerror" not in text and "&lt;img src=x onerror" in text
    notes = notes_in(text)
    assert any(n.startswith("Language effects") or "same language" in n for n in notes)
    assert not [n for n in notes if "it failed" in n]
    assert (tmp_path / "probe_model.ipynb").is_file()


def test_probe_report_shows_schwartz_values_and_language_effects(tmp_path, monkeypatch):
    """PVQ-21 values with a hand-made ESS table given by a relative path (the notebook runs in
    --out), and MFQ-2 in English and Spanish with the wording status beside the numbers."""
    root = tmp_path / "store"
    backends = {"alpha": HashBackend("alpha")}
    for instrument, languages in (("pvq21", ["en"]), ("mfq2", ["en", "es"])):
        run_probe(Design(models=["alpha"], instruments=[instrument], languages=languages,
                         orders=["original", "reversed"]),
                  root, backends=backends, progress=False)
    profile = list(load_instrument("pvq21").profile)
    rows = [{"iso3": iso3, "country": name, "essround": 10, "score_id": sid,
             "mean": shift + 0.1 * i, "n": 10, "source": "hand-made test table"}
            for iso3, name, shift in (("DEU", "Germany", 0.0), ("FRA", "France", 0.5))
            for i, sid in enumerate(profile)]
    pd.DataFrame(rows).to_csv(tmp_path / "ess.csv", index=False)
    monkeypatch.chdir(tmp_path)
    out = run_report("probe", models=["alpha"], results=root, out=tmp_path / "out",
                     extra=["n_boot=200", "ess_values=ess.csv"])
    text = _text(out)
    assert_section_headings(text, "probe")
    assert_offline_html(text)
    assert "scatterpolar" in text  # the circumplex
    notes = notes_in(text)
    assert any(n.startswith("ESS reference: 2 countries") for n in notes)
    assert "Nearest ESS countries on centred values" in html.unescape(text)
    plain = html.unescape(text)
    assert "Language effect per score: score(language) - score(en)" in plain
    assert "items: en official, es official; prompt frame written here (not official)" in plain
    assert any(n.startswith("mfq2 in es: items: official") for n in notes)
    assert not [n for n in notes if "it failed" in n or ("ESS" in n and "not available" in n)]


def test_probe_report_of_a_generation_model_escapes_its_text(report_store, tmp_path):
    text = _text(run_report("probe", models=["scripted"], results=report_store, out=tmp_path))
    assert HOSTILE_TEXT not in text
    assert html.escape(HOSTILE_TEXT, quote=False) in text
    assert_offline_html(text)


def test_culture_report(report_store, tmp_path):
    text = _text(run_report("culture", results=report_store, out=tmp_path))
    plain = html.unescape(text)
    for title in section_titles("culture"):
        assert title in plain, title
    assert_section_headings(text, "culture")
    assert_offline_html(text)
    assert "ci_low" in text and "spearman_rho" in text and "closer_than_baseline" in text
    assert HOSTILE_TEXT not in text and "<img src=x onerror" not in text
    assert text.count('class="plotly-graph-div"') >= 2
    assert not [n for n in notes_in(text) if "it failed" in n]


def test_culture_report_escapes_a_hostile_model_name(tmp_path):
    """Stored text reaches the culture report through model names (its tables and figures);
    the intro's `<country>` is code, not a swallowed HTML tag."""
    root = tmp_path / "store"
    backends = {HOSTILE_TEXT: HashBackend(HOSTILE_TEXT), "alpha": HashBackend("alpha")}
    run_probe(Design(models=[HOSTILE_TEXT, "alpha"], instruments=["vsm2013", "wvs7"],
                     personas=["none"] + [f"country:{c}" for c in COUNTRIES]),
              root, backends=backends, progress=False)
    text = _text(run_report("culture", results=root, out=tmp_path / "out"))
    assert HOSTILE_TEXT not in text
    assert html.escape(HOSTILE_TEXT, quote=False) in text
    assert "<code>&lt;country&gt;</code>" in text
    assert_offline_html(text)


def test_explore_report_escapes_generated_text(report_store, tmp_path):
    text = _text(run_report("explore", models=["scripted"], results=report_store,
                            out=tmp_path))
    plain = html.unescape(text)
    for title in EXPLORE_HEADINGS:
        assert title in plain, title
    assert HOSTILE_TEXT not in text
    assert html.escape(HOSTILE_TEXT, quote=False) in text
    assert_offline_html(text)


def test_report_with_absent_instruments_shows_notes(report_store, tmp_path):
    out = run_report("compare", models=["alpha"], instruments=["mfq30"], results=report_store,
                     out=tmp_path, extra=FAST)
    notes = notes_in(_text(out))
    assert any("no 'vsm2013' results" in n for n in notes)
    assert any("no 'wvs7' results" in n for n in notes)
    assert any("only one model selected" in n for n in notes)


# ---------------------------------------------------------------------- parameters
def test_wrong_parameter_type_is_a_clear_error(report_store, tmp_path):
    with pytest.raises(WorkbenchError, match=r"parameter 'n_boot' .* must be int .* got str"):
        run_report("compare", results=report_store, out=tmp_path, extra=["n_boot=many"])
    with pytest.raises(WorkbenchError, match=r"'countries' .* must be list .* got str"):
        run_report("compare", results=report_store, out=tmp_path, extra=["countries=USA"])
    with pytest.raises(WorkbenchError, match="unknown parameter 'nboot'"):
        run_report("compare", results=report_store, out=tmp_path, extra=["nboot=5"])
    with pytest.raises(WorkbenchError, match=r"none of the models \['ghost'\]"):
        run_report("probe", models=["ghost"], results=report_store, out=tmp_path)
    with pytest.raises(WorkbenchError, match="takes one model"):
        run_report("probe", models=["alpha", "beta"], results=report_store, out=tmp_path)
    assert not list(tmp_path.iterdir())  # nothing ran


def test_extra_parameters_are_yaml_values():
    assert parse_extra(["n_boot=500", "ci=0.9", "countries=[USA, JPN]", 'name="a=b"',
                        "vsm_constants={C_pd: 20}", "flag=true"]) == {
        "n_boot": 500, "ci": 0.9, "countries": ["USA", "JPN"], "name": "a=b",
        "vsm_constants": {"C_pd": 20}, "flag": True}
    with pytest.raises(WorkbenchError, match="NAME=VALUE"):
        parse_extra(["n_boot"])


def test_missing_results_folder_fails_before_running(tmp_path):
    with pytest.raises(WorkbenchError, match="no results in"):
        run_report("compare", results=tmp_path / "nowhere", out=tmp_path / "out")


@pytest.mark.parametrize("kind", ["compare", "probe", "culture", "explore"])
def test_notebooks_declare_parseable_parameters_and_stable_headings(kind):
    path = resolve_notebook(kind)
    nb = nbformat.read(path, as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    assigned = re.findall(r"^(\w+)\s*(?::[^=]+)?=", params[0].source, flags=re.M)
    declared = notebook_parameters(path)
    assert sorted(declared) == sorted(assigned)  # papermill can read every parameter line
    assert "results_dir" in declared
    headings = [line[3:].strip() for c in nb.cells if c.cell_type == "markdown"
                for line in c.source.splitlines() if line.startswith("## ")]
    code = "\n".join(c.source for c in nb.cells
                     if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", []))
    if kind == "explore":
        assert headings == EXPLORE_HEADINGS
    else:  # headings and order come from the registry, never typed in the notebook
        assert headings == []
        assert f'sections.show_report("{kind}", data, settings)' in code
        assert "settings = sections.Settings.from_parameters(globals())" in code
    assert "setup_offline_plotly()" in code
    for statement in ("for ", "if ", "def ", "lambda"):  # notebooks hold calls, not logic
        assert statement not in code


# ---------------------------------------------------------------------- failures
def _notebook(path: Path, parameters: str, *cells: str) -> Path:
    """A python3 notebook at ``path``: a tagged parameters cell, then ``cells``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    params = nbformat.v4.new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nbformat.write(nb, path)
    return path


def _failing_notebook(path: Path) -> Path:
    return _notebook(path, 'results_dir: str = ""\nlimit: int = 1',
                     "import sys\nprint(sys.executable)",
                     "raise ValueError(f'boom {limit}')",
                     "print('never')")


def test_failing_cell_keeps_the_partial_notebook(report_store, tmp_path):
    notebook = _failing_notebook(tmp_path / "broken.ipynb")
    out = tmp_path / "out"
    with pytest.raises(WorkbenchError) as info:
        run_report(notebook, results=report_store, out=out, extra=["limit=7"])
    message = str(info.value)
    kept = (out / "broken.ipynb").resolve()
    assert "ValueError: boom 7" in message and "cell" in message
    assert f"partial executed notebook is kept at {display_path(kept)}" in message
    assert "\n" not in message
    nb = nbformat.read(kept, as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert sys.executable in printed  # the kernel ran with this interpreter (the venv)
    assert "never" not in printed
    assert not (out / "broken.html").exists()


def _sleeping_notebook(path: Path) -> Path:
    """Its second cell hangs (sleeps past the cell limit) while ``marker`` does not exist,
    as a lost kernel message would, and creates the marker, so only the first run hangs."""
    return _notebook(path, 'results_dir: str = ""\nmarker: str = ""',
                     "import os, time\n"
                     "if marker and os.path.exists(marker):\n"
                     "    print('second run')\n"
                     "else:\n"
                     "    if marker:\n"
                     "        open(marker, 'w').close()\n"
                     "    time.sleep(60)")


def test_a_cell_that_never_replies_is_retried_once_with_a_fresh_kernel(report_store, tmp_path,
                                                                          capsys):
    notebook = _sleeping_notebook(tmp_path / "stuck.ipynb")
    marker = tmp_path / "first-run-hung"
    html_path = run_report(notebook, results=report_store, out=tmp_path / "out",
                           extra=[f"marker={marker}"], cell_timeout=4)
    assert "second run" in _text(html_path)
    assert "no reply within 4s" in capsys.readouterr().err


def test_a_cell_that_times_out_twice_is_a_clear_error(report_store, tmp_path):
    notebook = _sleeping_notebook(tmp_path / "stuck.ipynb")
    with pytest.raises(WorkbenchError, match="no reply within 4s, twice") as info:
        run_report(notebook, results=report_store, out=tmp_path / "out", cell_timeout=4)
    assert "\n" not in str(info.value)
