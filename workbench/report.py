"""Run a report notebook with papermill and export it to one offline HTML file.

Why: a report is a parameterised notebook (``notebooks/*.ipynb``) so it can be opened, rerun
and extended in Jupyter, and the same notebook runs headless from ``workbench report``.
:func:`run_report`

* checks the parameters against the notebook's ``parameters`` cell before starting a kernel
  (names and types, as ``papermill.inspect_notebook`` reads them) and passes them through
  papermill's parameter injection, never by pasting text into code;
* runs the kernel with *this* interpreter (so the venv's packages are used whatever kernels
  are registered; see :class:`ThisPythonKernelManager`);
* keeps the executed notebook next to the HTML, also when a cell fails;
* writes HTML with nbconvert's lab template minus every CDN script (require.js, MathJax,
  mermaid, widget manager): plotly.js is embedded once by the notebook itself
  (:func:`workbench.sections.render.setup_offline_plotly`), so the file works without a network.

Reports only read the result store (``read_only=True``); they never compute answers.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from traitlets import default

from workbench import phases
from workbench.assignments import parse_assignments
from workbench.errors import WorkbenchError
from workbench.paths import display_path, project_root

#: Report kinds of ``workbench report`` and their notebooks.
NOTEBOOKS = {
    "compare": "compare_models.ipynb",
    "probe": "probe_model.ipynb",
    "culture": "culture_personas.ipynb",
    "explore": "explore.ipynb",
}
#: Notebook parameters that are file paths given relative to where the report is started.
PATH_PARAMETERS = ("ess_values",)
HTML_TEMPLATE_NAME = "workbench_offline.html.j2"
#: nbconvert's lab template without scripts loaded from CDNs (the report must work offline).
HTML_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
"""
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
]


# ---------------------------------------------------------------------- kernel
class ThisPythonSpecs(KernelSpecManager):
    """Every kernel name resolves to an IPython kernel of the running interpreter.

    Why: papermill picks a kernel by name and ``python3`` may be registered by another
    Python (a user-level kernelspec wins over the venv's); reports must import this
    workbench with its pinned dependencies. No kernelspec registration is needed.
    """

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(
            argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            display_name=f"Python ({sys.prefix})", language="python", env={},
            resource_dir="")


class ThisPythonKernelManager(AsyncKernelManager):
    """papermill/nbclient kernel manager that always starts :class:`ThisPythonSpecs`."""

    @default("kernel_spec_manager")
    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        return ThisPythonSpecs()

    # Plain ZMQ on 127.0.0.1, as Jupyter has always used: with CurveZMQ transport encryption
    # on (jupyter_client 8.10 "auto"), papermill hung twice in this project's test runs (the
    # client's first send blocked for ever: the handshake never completed).


# ---------------------------------------------------------------------- notebooks
def notebooks_dir() -> Path:
    """Folder of the report notebooks; ``WORKBENCH_NOTEBOOKS`` overrides it."""
    override = os.environ.get("WORKBENCH_NOTEBOOKS")
    return Path(override) if override else project_root() / "notebooks"


def resolve_notebook(kind: str | Path) -> Path:
    """A report kind (compare, probe, culture, explore) or a path to a ``.ipynb``."""
    if str(kind) in NOTEBOOKS:
        path = notebooks_dir() / NOTEBOOKS[str(kind)]
    else:
        path = Path(kind)
        if path.suffix != ".ipynb":
            raise WorkbenchError(
                f"unknown report '{kind}': use one of {', '.join(NOTEBOOKS)} or a path to a "
                ".ipynb notebook")
    if not path.is_file():
        raise WorkbenchError(f"report notebook '{path}' does not exist: restore notebooks/ "
                             "or set WORKBENCH_NOTEBOOKS to the folder that holds it")
    return path


def notebook_parameters(path: str | Path) -> dict[str, dict[str, Any]]:
    """Parameters declared in the notebook's ``parameters`` cell: name -> type and default."""
    import papermill as pm

    try:
        declared = pm.inspect_notebook(str(path))
    except Exception as exc:
        raise WorkbenchError(f"cannot read the parameters of '{path}' ({exc}): check that it "
                             "is a valid notebook with a cell tagged 'parameters'") from exc
    out = {}
    for name, info in declared.items():
        out[name] = {"type": _declared_type(info), "default": info.get("default"),
                     "help": info.get("help", "")}
    return out


def _declared_type(info: Mapping[str, Any]) -> str:
    """The annotation, or the type of the default literal when there is none."""
    name = str(info.get("inferred_type_name") or "None")
    if name != "None":
        return name.replace(" ", "")
    try:
        value = ast.literal_eval(str(info.get("default")))
    except (ValueError, SyntaxError):
        return "Any"
    return "Any" if value is None else type(value).__name__


_BASIC: dict[str, type | tuple[type, ...]] = {
    "str": str, "int": int, "float": (int, float), "bool": bool, "list": (list, tuple),
    "dict": dict, "tuple": (list, tuple),
}


def _type_ok(value: Any, type_name: str) -> bool:
    t = type_name.replace(" ", "")
    if t in ("Any", "None", "object", ""):
        return True
    if t.startswith("Optional[") and t.endswith("]"):
        return value is None or _type_ok(value, t[9:-1])
    if "|" in t:
        return any(value is None if p == "None" else _type_ok(value, p) for p in t.split("|"))
    m = re.fullmatch(r"(list|tuple|dict)\[(.*)\]", t)
    if m:
        base, inner = m.groups()
        if not _type_ok(value, base):
            return False
        if base == "dict":
            return True
        return all(_type_ok(v, inner) for v in value) if "," not in inner else True
    expected = _BASIC.get(t)
    if expected is None:
        return True  # an annotation we do not know: papermill will pass the value as is
    if t in ("int", "float") and isinstance(value, bool):
        return False
    return isinstance(value, expected)


def check_parameters(params: Mapping[str, Any], declared: Mapping[str, Mapping[str, Any]],
                     notebook: str) -> dict[str, Any]:
    """Names and types against the parameters cell; ints become floats where floats are
    declared and tuples become lists. Raises :class:`WorkbenchError` naming the parameter."""
    out = {}
    for name, value in params.items():
        if name not in declared:
            raise WorkbenchError(
                f"unknown parameter '{name}' for {notebook}: it declares "
                f"{', '.join(sorted(declared)) or 'no parameters'}")
        t = declared[name]["type"]
        if not _type_ok(value, t):
            raise WorkbenchError(
                f"parameter '{name}' of {notebook} must be {t} (default "
                f"{declared[name]['default']}), got {type(value).__name__} {value!r}: pass a "
                f"value of type {t}, e.g. -p {name}={declared[name]['default']}")
        if t == "float" and isinstance(value, int):
            value = float(value)
        if isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


def parse_extra(extra: Sequence[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """``["n_boot=500", "countries=[USA, JPN]"]`` -> values parsed with ``yaml.safe_load``."""
    if not extra:
        return {}
    if isinstance(extra, Mapping):
        return dict(extra)
    return parse_assignments(
        extra,
        malformed="parameter '{item}' is not NAME=VALUE: write e.g. -p n_boot=500",
        unparseable="parameter '{name}': cannot parse value {raw} as YAML ({first}); quote "
                    "strings, write lists as [a, b]")


def _selection(declared: Mapping[str, Any], models: Sequence[str] | None,
               instruments: Sequence[str] | None, notebook: str) -> dict[str, Any]:
    """Map --models / --instruments onto the notebook's list or single-value parameters."""
    out: dict[str, Any] = {}
    for values, plural in ((models, "models"), (instruments, "instruments")):
        if values is None:
            continue
        values = [values] if isinstance(values, str) else list(values)
        single = plural[:-1]
        if plural in declared:
            out[plural] = values
        elif single in declared:
            if len(values) != 1:
                raise WorkbenchError(f"{notebook} takes one {single}, got {values}: pass one "
                                     f"--{plural} value")
            out[single] = values[0]
        elif values:
            raise WorkbenchError(f"{notebook} has no '{plural}' parameter: drop --{plural}")
    return out


# ---------------------------------------------------------------------- running
def run_report(
    kind: str | Path,
    models: Sequence[str] | None = None,
    instruments: Sequence[str] | None = None,
    results: str | Path = "results",
    out: str | Path = "reports",
    extra: Sequence[str] | Mapping[str, Any] | None = None,
    show_code: bool = False,
    *,
    cell_timeout: int | None = None,
    start_timeout: int = 120,
) -> Path:
    """Execute a report notebook on stored results; return the path of its HTML export.

    Writes ``<out>/<notebook-stem>.ipynb`` (executed, kept even when a cell fails) and
    ``<out>/<notebook-stem>.html`` (inputs hidden unless ``show_code``). ``extra`` holds
    ``NAME=VALUE`` strings (values parsed as YAML) for any other parameter. ``cell_timeout``
    (seconds, default ``$WORKBENCH_CELL_TIMEOUT`` or 1800) bounds each cell: reports only read
    stored answers, so a cell that runs longer is stuck (a lost kernel message), and failing
    with the partial notebook kept beats hanging a CI job forever.

    >>> run_report("compare", models=["smollm2-135m"], results="results", out="reports")
    ... # doctest: +SKIP
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from workbench.store import ResultStore

    notebook = resolve_notebook(kind)
    stem = notebook.stem
    if cell_timeout is None:
        cell_timeout = _env_seconds("WORKBENCH_CELL_TIMEOUT", 1800)
    declared = notebook_parameters(notebook)
    results_path = Path(results).resolve()
    store = ResultStore(results, read_only=True)  # clear error now if there are no results
    if models:
        stored = set(store.query("SELECT DISTINCT model FROM requests")["model"])
        if not set(models) & stored:
            raise WorkbenchError(
                f"none of the models {list(models)} has results in "
                f"'{display_path(results_path)}' (stored: {', '.join(sorted(stored)) or 'none'}): "
                "pass --models from that list")
    params: dict[str, Any] = {}
    if "results_dir" in declared:
        # relative to the kernel's working directory (the report folder): the report shows
        # the folder it read, and an absolute machine path must not end up in it
        params["results_dir"] = _relative(results_path, Path(out).resolve())
    params.update(_selection(declared, models, instruments, stem))
    params.update(parse_extra(extra))
    params = check_parameters(params, declared, notebook.name)
    for name in PATH_PARAMETERS:  # the notebook runs in --out: keep the caller's relative paths
        if params.get(name):
            params[name] = str(Path(params[name]).resolve())

    out_dir = Path(out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WorkbenchError(f"cannot create report folder '{out_dir}' ({exc.strerror}): "
                             "choose a writable --out") from exc
    ipynb = (out_dir / f"{stem}.ipynb").resolve()
    html = (out_dir / f"{stem}.html").resolve()
    html.unlink(missing_ok=True)  # never leave an older HTML that looks like this run's
    try:
        with phases.timed("notebook execution", stem):
            _execute_with_one_retry(
                lambda: pm.execute_notebook(
                    str(notebook), str(ipynb), parameters=params, kernel_name="python3",
                    language="python", progress_bar=False, log_output=False, cwd=str(out_dir),
                    start_timeout=start_timeout, execution_timeout=cell_timeout,
                    kernel_manager_class=ThisPythonKernelManager,
                ), stem, cell_timeout)
    except PapermillExecutionError as exc:
        evalue = (str(exc.evalue).strip().splitlines() or [""])[0][:300]
        raise WorkbenchError(
            f"report {stem} failed in cell {exc.exec_count} (cell index {exc.cell_index}) with "
            f"{exc.ename}: {evalue}; the partial executed notebook is kept at "
            f"{display_path(ipynb)}: open it to see the traceback") from exc
    except WorkbenchError:
        raise
    except Exception as exc:  # kernel died, timed out or could not start
        kept = (f"; the partial executed notebook is kept at {display_path(ipynb)}"
                if ipynb.exists() else "")
        from nbclient.exceptions import CellTimeoutError

        if isinstance(exc, CellTimeoutError):
            raise WorkbenchError(
                f"report {stem}: a cell gave no reply within {cell_timeout}s, twice, each time "
                f"with a fresh kernel{kept}: if a cell really needs longer, set "
                "--cell-timeout SECONDS (or WORKBENCH_CELL_TIMEOUT)") from exc
        first_line = (str(exc).strip().splitlines() or [""])[0][:300]
        raise WorkbenchError(
            f"report {stem} could not run ({type(exc).__name__}: {first_line})"
            f"{kept}: check that ipykernel is installed in {display_path(sys.prefix)} and the "
            "cell limits"
        ) from exc
    with phases.timed("HTML export", stem):
        export_html(ipynb, html, show_code=show_code)
    return html


def _relative(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` (``..`` steps allowed); absolute only when there is no
    relative form (another drive on Windows)."""
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return str(path)


def _execute_with_one_retry(execute: Callable[[], Any], stem: str, cell_timeout: int) -> None:
    """Run ``execute``; once more with a fresh kernel if a cell timed out.

    Why: reports only read stored answers, so a cell that outlives ``cell_timeout`` is almost
    always a lost kernel message (seen once in this project's CI runs: the kernel idle, the
    client still waiting for its reply), not slow work. A Python error in a
    cell is never retried; a second timeout is reported as such.
    """
    from nbclient.exceptions import CellTimeoutError

    try:
        execute()
    except CellTimeoutError:
        print(f"warning: report {stem}: a cell gave no reply within {cell_timeout}s; "
              "running the notebook once more with a fresh kernel", file=sys.stderr)
        execute()


def _env_seconds(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise WorkbenchError(f"{name}={raw!r} is not a positive number of seconds: set it to "
                             f"e.g. {default} or unset it")
    return value


def export_html(ipynb: str | Path, html: str | Path, show_code: bool = False) -> Path:
    """Export an executed notebook to self-contained HTML (no CDN scripts, no prompts).

    Code cells are hidden unless ``show_code``; stderr streams (library warnings) are left
    out of the HTML unless ``show_code`` (they stay in the .ipynb).
    """
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    try:
        nb = nbformat.read(str(ipynb), as_version=4)
    except OSError as exc:
        raise WorkbenchError(f"cannot read notebook '{ipynb}' ({exc.strerror or exc}): check "
                             "the path") from exc
    except ValueError as exc:  # nbformat.reader.NotJSONError and invalid JSON
        raise WorkbenchError(f"'{ipynb}' is not a readable notebook "
                             f"({str(exc).strip()[:200]}): export an executed .ipynb") from exc
    if not show_code:
        for cell in nb.cells:
            if cell.get("cell_type") == "code":
                cell["outputs"] = [o for o in cell.get("outputs", [])
                                   if not (o.get("output_type") == "stream"
                                           and o.get("name") == "stderr")]
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({HTML_TEMPLATE_NAME: HTML_TEMPLATE})],
        template_file=HTML_TEMPLATE_NAME,
    )
    exporter.exclude_input = not show_code
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    title = nb.metadata.get("title") or Path(ipynb).stem.replace("_", " ")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    html = Path(html)
    try:
        html.write_text(body, encoding="utf-8")
    except OSError as exc:
        raise WorkbenchError(f"cannot write the report '{html}' ({exc.strerror or exc}): "
                             "choose a writable --out with free space") from exc
    return html


# ---------------------------------------------------------------------- headless browser
def chromium_path() -> str | None:
    """A Chromium/Chrome executable (``WORKBENCH_CHROMIUM`` overrides), or None."""
    override = os.environ.get("WORKBENCH_CHROMIUM")
    if override:
        return override if Path(override).exists() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _chromium(args: list[str], timeout: int) -> subprocess.CompletedProcess:
    exe = chromium_path()
    if exe is None:
        raise WorkbenchError("chromium not found: install it (apt-get install chromium, or "
                             "`make browser`) or set WORKBENCH_CHROMIUM to a Chrome binary")
    with tempfile.TemporaryDirectory(prefix="wb-chromium-") as profile:
        cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except subprocess.TimeoutExpired as exc:
            raise WorkbenchError(f"chromium did not finish within {timeout}s: retry, or "
                                 "raise the timeout") from exc


def rendered_dom(html: str | Path, budget_ms: int = 10000, timeout: int = 120,
                 window: tuple[int, int] | None = None) -> str:
    """The DOM of an HTML file after scripts ran in headless Chromium (``--dump-dom``), in a
    ``window`` = (width, height) viewport when given (for layout checks)."""
    uri = Path(html).resolve().as_uri()
    size = [f"--window-size={window[0]},{window[1]}"] if window else []
    proc = _chromium([*size, f"--virtual-time-budget={budget_ms}", "--dump-dom", uri], timeout)
    if proc.returncode != 0 and not proc.stdout:
        raise WorkbenchError(f"chromium failed on {html} (exit {proc.returncode}): "
                             f"{proc.stderr.strip().splitlines()[-1:]}")
    return proc.stdout


def screenshot(html: str | Path, png: str | Path, width: int = 1280, height: int = 2400,
               budget_ms: int = 10000, timeout: int = 120) -> Path:
    """A PNG of an HTML report rendered by headless Chromium (e.g. for the README)."""
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    uri = Path(html).resolve().as_uri()
    proc = _chromium([f"--window-size={width},{height}", f"--virtual-time-budget={budget_ms}",
                      f"--screenshot={png}", uri], timeout)
    if not png.is_file():
        raise WorkbenchError(f"chromium wrote no screenshot for {html} (exit "
                             f"{proc.returncode}): {proc.stderr.strip()[-300:]}")
    return png
