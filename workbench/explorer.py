"""Interactive explorer: choose model, instrument, persona, language and prompt variant; see
the answer distributions as a live figure and a per-item table.

Why the split: :func:`explorer_view` is a pure function (frames in, figure and table out), so
it is tested without a browser or a kernel; :func:`build_explorer` only wires ipywidgets
dropdowns to it. The explorer reads the store once, read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from workbench.errors import WorkbenchError
from workbench.sections.base import sort_items
from workbench.sections.render import figure_bundle, safe_frame, style_figure, table_html
from workbench.store import ResultStore

ALL = "(all)"
#: Filters in display order; model and instrument always have one level chosen.
FILTERS = ("model", "instrument", "persona", "language", "order", "paraphrase")
REQUIRED = ("model", "instrument")
TABLE_COLUMNS = ["instrument", "item_id", "n_requests", "mean_expected", "sd_expected",
                 "top_answer", "p_top", "statuses", "example_text"]


@dataclass
class ExplorerData:
    """Distributions (one row per request x option) and answers (one row per request)."""

    distributions: pd.DataFrame
    answers: pd.DataFrame


def explorer_data(source: Any) -> ExplorerData:
    """Accept a results folder, a :class:`ResultStore`, ``ExplorerData``, a mapping with
    ``distributions``/``answers`` or a ``(distributions, answers)`` pair."""
    if isinstance(source, ExplorerData):
        return source
    if isinstance(source, str | Path):
        source = ResultStore(source, read_only=True)
    if isinstance(source, ResultStore):
        return ExplorerData(source.distributions(), source.answers())
    if isinstance(source, Mapping) and "distributions" in source:
        return ExplorerData(source["distributions"], source.get("answers", pd.DataFrame()))
    if isinstance(source, tuple | list) and len(source) == 2:
        return ExplorerData(source[0], source[1])
    raise WorkbenchError(
        f"cannot explore a {type(source).__name__}: pass a results folder, a ResultStore or "
        "(distributions, answers) frames")


def answer_bars(dist: pd.DataFrame, title: str) -> go.Figure:
    """Stacked bars: mean probability of each answer (label) per item."""
    d = safe_frame(dist)
    fig = go.Figure()
    if d.empty:
        fig.add_annotation(text="no answers for this selection", showarrow=False,
                           x=0.5, y=0.5, xref="paper", yref="paper")
        return style_figure(fig, title)
    name = "label" if "label" in d.columns else "code"
    for code, sub in d.groupby("code", sort=True):
        lbl = sub[name].iloc[0] if name in sub else code
        fig.add_bar(x=sub["item_id"], y=sub["prob"], name=f"{code}: {lbl}",
                    hovertemplate=f"%{{x}}<br>{code}: {lbl}<br>p = %{{y:.2f}}<extra></extra>")
    return style_figure(fig, title, barmode="stack", yaxis_title="probability",
                        yaxis_range=[0, 1])


def _levels(frame: pd.DataFrame, column: str) -> list:
    if column not in frame.columns or frame.empty:
        return []
    return sorted(frame[column].dropna().unique().tolist(), key=lambda v: (str(type(v)), v))


def _filter(frame: pd.DataFrame, selection: Mapping[str, Any]) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for col, value in selection.items():
        if value is None or value == ALL or col not in frame.columns:
            continue
        mask &= frame[col] == value
    return frame[mask]


def explorer_options(source: Any, model: str | None = None) -> dict[str, list]:
    """Levels of each filter; with ``model``, the levels that model was asked with."""
    data = explorer_data(source)
    frame = data.answers if not data.answers.empty else data.distributions
    if model is not None:
        frame = frame[frame["model"] == model]
    return {f: _levels(frame, f) for f in FILTERS}


def explorer_view(
    source: Any,
    model: str | None = None,
    instrument: str | None = None,
    persona: str | None = None,
    language: str | None = None,
    order: str | None = None,
    paraphrase: int | str | None = None,
) -> tuple[go.Figure, pd.DataFrame]:
    """Figure (mean answer distribution per item, stacked) and per-item table for a selection.

    ``None`` or ``"(all)"`` pools a factor; model and instrument default to the first stored
    ones. A selection with no answers gives an annotated empty figure and an empty table
    (never an exception), because a widget can produce any combination.
    """
    data = explorer_data(source)
    opts = explorer_options(data)
    model = model if model not in (None, ALL) else (opts["model"] or [None])[0]
    if instrument in (None, ALL):
        instrument = (explorer_options(data, model)["instrument"] or [None])[0]
    if isinstance(paraphrase, str) and paraphrase not in (ALL, "") and paraphrase.isdigit():
        paraphrase = int(paraphrase)
    selection = {"model": model, "instrument": instrument, "persona": persona,
                 "language": language, "order": order, "paraphrase": paraphrase}
    dists = _filter(data.distributions, selection)
    answers = _filter(data.answers, selection)
    shown = ", ".join(f"{k}={v}" for k, v in selection.items() if v not in (None, ALL))
    title = f"Answers: {shown}" if shown else "Answers"
    if dists.empty:
        fig = answer_bars(pd.DataFrame(columns=["item_id", "code", "prob"]), title)
    else:
        p = dists["prob"] / dists.groupby("request_id")["prob"].transform("sum")
        d = dists.assign(prob=p)
        n = d.groupby("item_id", sort=False)["request_id"].nunique()
        mean = d.groupby(["item_id", "code"], sort=False).agg(
            prob=("prob", "sum"), label=("label", "first")).reset_index()
        mean["prob"] = mean["prob"] / mean["item_id"].map(n)
        fig = answer_bars(sort_items(mean.assign(instrument=instrument), ["code"]), title)
    return fig, _item_table(dists, answers)


def _item_table(dists: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    if answers.empty:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    keys = ["instrument", "item_id"]
    tab = answers.groupby(keys, sort=False).agg(
        n_requests=("request_id", "size"), mean_expected=("expected", "mean"),
        sd_expected=("expected", "std"),
        statuses=("status", lambda s: ", ".join(f"{k}: {v}" for k, v in
                                                s.value_counts().items())),
        example_text=("generated_text", lambda s: next((t for t in s if isinstance(t, str)
                                                         and t), ""))).reset_index()
    if not dists.empty:
        p = dists["prob"] / dists.groupby("request_id")["prob"].transform("sum")
        mean = dists.assign(prob=p).groupby([*keys, "code"], sort=False).agg(
            prob=("prob", "mean"), label=("label", "first")).reset_index()
        top = mean.loc[mean.groupby(keys, sort=False)["prob"].idxmax()]
        top = top.assign(top_answer=top["code"].astype(str) + ": " + top["label"].astype(str),
                         p_top=top["prob"])[[*keys, "top_answer", "p_top"]]
        tab = tab.merge(top, on=keys, how="left")
    else:
        tab["top_answer"], tab["p_top"] = "", float("nan")
    return sort_items(tab[TABLE_COLUMNS])


@dataclass
class Explorer:
    """Dropdowns + output area; ``figure`` and ``table`` hold the current view."""

    data: ExplorerData
    dropdowns: dict[str, Any]
    output: Any
    widget: Any
    figure: go.Figure | None = None
    table: pd.DataFrame | None = None
    _busy: bool = field(default=False, repr=False)

    def selection(self) -> dict[str, Any]:
        return {name: dd.value for name, dd in self.dropdowns.items()}

    def refresh(self, *_: object) -> None:
        """Recompute the view from the dropdowns and redraw the output area."""
        if self._busy:
            return
        self._busy = True
        try:
            self._sync_options()
            self.figure, self.table = explorer_view(self.data, **self.selection())
            self._draw()
        finally:
            self._busy = False

    def _sync_options(self) -> None:
        opts = explorer_options(self.data, self.dropdowns["model"].value)
        for name, dd in self.dropdowns.items():
            if name == "model":
                continue
            levels = opts[name]
            choices = ([] if name in REQUIRED else [(ALL, ALL)]) + [(str(v), v) for v in levels]
            if list(dd.options) != choices:
                current = dd.value
                dd.options = choices
                values = [v for _, v in choices]
                dd.value = current if current in values else (values[0] if values else None)

    def _draw(self) -> None:
        """Replace the Output widget's contents by setting its ``outputs`` state.

        Why not ``with self.output: display(...)``: that routes the cell's display messages to
        the widget by message id, and papermill's headless client then mimics the front end by
        sending widget updates on the kernel's shell socket while it waits on that socket for
        the cell's reply; now and then that wait missed the reply and the report hung. A state
        update renders the same in JupyterLab and needs no reply from anyone.
        """
        table = table_html(self.table, "Items")
        self.output.outputs = (
            {"output_type": "display_data", "data": figure_bundle(self.figure), "metadata": {}},
            {"output_type": "display_data",
             "data": {"text/html": table, "text/plain": f"<table of {len(self.table)} items>"},
             "metadata": {}},
        )

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def build_explorer(results_dir: str | Path | Any, **initial: Any) -> Explorer:
    """An ipywidgets panel over the store at ``results_dir`` (or any :func:`explorer_data`
    source): one dropdown per filter, redrawn on every change. ``initial`` preselects
    values (e.g. ``model="smollm2-135m"``)."""
    import ipywidgets as widgets

    data = explorer_data(results_dir)
    opts = explorer_options(data)
    if not opts["model"]:
        raise WorkbenchError(f"no answers to explore in '{results_dir}': run a probe first")
    dropdowns = {}
    for name in FILTERS:
        levels = opts[name]
        choices = ([] if name in REQUIRED else [(ALL, ALL)]) + [(str(v), v) for v in levels]
        values = [v for _, v in choices]
        value = initial.get(name)
        dropdowns[name] = widgets.Dropdown(
            options=choices, value=value if value in values else values[0],
            description=name, layout=widgets.Layout(width="260px"))
    output = widgets.Output()
    box = widgets.VBox([widgets.HBox(list(dropdowns.values())[:3]),
                        widgets.HBox(list(dropdowns.values())[3:]), output])
    ex = Explorer(data=data, dropdowns=dropdowns, output=output, widget=box)
    for dd in dropdowns.values():
        dd.observe(ex.refresh, names="value")
    ex.refresh()
    return ex
