"""The Schwartz value circumplex as a plotly figure.

The ten values go around the circle in the order the instrument's ``profile`` lists them
(Schwartz's circular structure for ``pvq21``); each model profile is a closed polygon of its
centred scores (value - MRAT), with its bootstrap interval in the hover text, and reference
countries, when given, are a grey band from the lowest to the highest country mean of each
value (or a chosen quantile range). Labels come from the data and model names from the user,
so every text is HTML-escaped (plotly.js renders some tags).
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from workbench.errors import WorkbenchError
from workbench.instrument_files import load_instrument
from workbench.instruments import Instrument


def _safe(value: object) -> str:
    return html.escape(str(value), quote=False)


def _axis_labels(inst: Instrument) -> list[str]:
    labels = {s.id: s.label.replace(" (centred)", "") for s in inst.scores}
    return [_safe(labels[sid]) for sid in inst.profile]


def circumplex_figure(profiles: pd.DataFrame, reference: pd.DataFrame | None = None,
                      instrument: Instrument | str = "pvq21", label: str = "model",
                      band: tuple[float, float] = (0.0, 1.0),
                      title: str = "Schwartz values: centred scores (value - MRAT)"
                      ) -> go.Figure:
    """Model profiles as polygons around the value circle, countries as a reference band.

    Why: the circumplex shows at a glance which values a model ranks above its own mean and
    which opposite values it trades them against. ``profiles`` is tidy, one row per (profile,
    score): the ``label`` column, ``score_id`` and ``estimate`` (or ``score``), optionally
    ``ci_low``/``ci_high`` (e.g. :func:`workbench.stats.schwartz.value_profile`). ``reference``
    is the ESS country table (``score_id, mean``, e.g.
    :func:`workbench.reference.ess_human_values`); ``band`` are the quantiles of the country
    means drawn as the band (default: lowest to highest). An empty reference draws no band.

    >>> circumplex_figure(value_profile(dists))  # doctest: +SKIP
    """
    inst = instrument if isinstance(instrument, Instrument) else load_instrument(instrument)
    if not inst.profile:
        raise WorkbenchError(f"instrument '{inst.id}' declares no 'profile' to draw")
    value = "estimate" if "estimate" in profiles.columns else "score"
    missing = [c for c in (label, "score_id", value) if c not in profiles.columns]
    if missing:
        raise WorkbenchError(f"profiles frame lacks column(s) {missing}: pass value_profile() "
                             "or score_instrument() output with a label column")
    if not 0 <= band[0] < band[1] <= 1:
        raise WorkbenchError(f"band must be two quantiles 0 <= low < high <= 1, not {band}")
    theta = _axis_labels(inst)
    fig = go.Figure()
    shown = [profiles.loc[profiles["score_id"].isin(inst.profile), value]]
    if reference is not None and not reference.empty:
        ref = reference[reference["score_id"].isin(inst.profile)]
        q = ref.groupby("score_id")["mean"].quantile(list(band)).unstack()
        q = q.reindex(inst.profile)
        n = ref.groupby("score_id")["iso3"].nunique().reindex(inst.profile).fillna(0)
        outer, inner = q[band[1]].tolist(), q[band[0]].tolist()
        shown.append(pd.Series(outer + inner))
        # outer ring forwards, inner ring backwards: "toself" fills the ring between them
        fig.add_trace(go.Scatterpolar(
            r=outer + outer[:1] + inner[:1] + inner[::-1], fill="toself", mode="lines",
            theta=theta + theta[:1] + theta[:1] + theta[::-1], line={"width": 0},
            fillcolor="rgba(120,120,120,0.25)", hoverinfo="skip",
            name=_safe(f"countries ({int(n.max())}; quantiles {band[0]:g}-{band[1]:g})")))
    for name, sub in profiles[profiles["score_id"].isin(inst.profile)].groupby(label,
                                                                               sort=True):
        sub = sub.set_index("score_id").reindex(inst.profile)
        r = sub[value].tolist()
        hover = [f"{t}: {v:.3f}" for t, v in zip(theta, r, strict=True)]
        if {"ci_low", "ci_high"} <= set(sub.columns):
            hover = [f"{h} [{lo:.3f}, {hi:.3f}]" for h, lo, hi in
                     zip(hover, sub["ci_low"], sub["ci_high"], strict=True)]
        fig.add_trace(go.Scatterpolar(r=r + r[:1], theta=theta + theta[:1], mode="lines+markers",
                                      name=_safe(name), text=hover + hover[:1],
                                      hoverinfo="text"))
    # centred scores are negative below the respondent's mean: the centre is the lowest value
    values = pd.concat(shown).dropna()
    low, high = (float(values.min()), float(values.max())) if len(values) else (-1.0, 1.0)
    pad = 0.1 * (high - low) or 0.5
    fig.update_layout(title=_safe(title), height=520, legend={"orientation": "h"},
                      polar={"radialaxis": {"range": [low - pad, high + pad],
                                            "title": {"text": "centred score"}}})
    return fig


__all__ = ["circumplex_figure"]
