"""The section registry: key, title, description, reports and figures of every section.

Why: the reports' headings and their order are declared once, next to the section's code,
and notebooks read them from here (modelled on inspect_ai's ``@scorer`` registry, which
names a scorer and its metrics in one decorator). A section function is registered with::

    @section("hofstede", title="Hofstede dimensions (VSM 2013)", description="...",
             reports={"compare": 20}, figures=hofstede_figures)
    def hofstede_section(data: ReportData, settings: Settings) -> Section: ...

``reports`` maps a report kind to the section's position in that report (a section may sit
in several reports). ``lead`` optionally builds an escaped HTML block shown first, before the
section's notes (the validity section's executive summary). The decorated function stamps
``key`` and ``title`` on the :class:`~workbench.sections.base.Section` it returns, defaults
``settings`` to :class:`~workbench.sections.settings.Settings()` and hands the section the
data under the ``estimator`` setting (:meth:`~workbench.sections.base.ReportData.using`).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.errors import WorkbenchError
from workbench.sections.settings import Settings

if TYPE_CHECKING:  # only for annotations: base imports nothing from here either
    import plotly.graph_objects as go

    from workbench.sections.base import ReportData, Section

SectionFn = Callable[["ReportData", Settings], "Section"]
FiguresFn = Callable[["Section"], "list[go.Figure | None]"]
LeadFn = Callable[["Section"], str]


@dataclass(frozen=True)
class SectionSpec:
    """What the registry knows about one section."""

    key: str
    title: str
    description: str
    reports: Mapping[str, int]
    compute: SectionFn
    figures: FiguresFn | None
    module: str
    lead: LeadFn | None = None

    @property
    def anchor(self) -> str:
        """The heading's HTML id: the title with ``-`` for spaces, as nbconvert writes
        markdown headings (so links into earlier reports keep working)."""
        return self.title.replace(" ", "-")


_REGISTRY: dict[str, SectionSpec] = {}


def section(key: str, *, title: str, reports: Mapping[str, int], description: str = "",
            figures: FiguresFn | None = None, lead: LeadFn | None = None
            ) -> Callable[[Callable[..., Section]], SectionFn]:
    """Register a section function under ``key``; two sections with one key raise."""
    if not key or not title:
        raise WorkbenchError("a report section needs a key and a title")

    def register(fn: Callable[..., Section]) -> SectionFn:
        if key in _REGISTRY:
            raise WorkbenchError(
                f"report section '{key}' is registered twice ({_REGISTRY[key].module} and "
                f"{fn.__module__}): give the new section another key")
        for kind, position in reports.items():
            taken = [s.key for s in _REGISTRY.values() if s.reports.get(kind) == position]
            if taken:
                raise WorkbenchError(
                    f"report section '{key}' takes position {position} of the '{kind}' "
                    f"report, which '{taken[0]}' holds: choose a free position")

        @functools.wraps(fn)
        def compute(data: ReportData, settings: Settings | None = None) -> Section:
            settings = settings if settings is not None else Settings()
            if getattr(data, "estimator", "raw") != settings.estimator:
                data = data.using(settings.estimator)  # the score sections' distributions
            sec = fn(data, settings)
            sec.key, sec.title = key, title
            return sec

        _REGISTRY[key] = SectionSpec(key=key, title=title, description=description,
                                     reports=dict(reports), compute=compute, figures=figures,
                                     module=fn.__module__, lead=lead)
        compute.spec = _REGISTRY[key]  # type: ignore[attr-defined]
        return compute

    return register


def section_keys() -> list[str]:
    """Every registered section key, in registration order."""
    return list(_REGISTRY)


def get(key: str) -> SectionSpec:
    """The registered section ``key``; a clear error (with close matches) otherwise."""
    try:
        return _REGISTRY[key]
    except KeyError:
        close = difflib.get_close_matches(key, list(_REGISTRY), n=3)
        hint = (f"did you mean {', '.join(close)}?" if close
                else f"use one of {', '.join(_REGISTRY)}")
        raise WorkbenchError(f"no report section '{key}': {hint}") from None


def report_kinds() -> list[str]:
    """Every report kind some section is registered for."""
    return sorted({kind for spec in _REGISTRY.values() for kind in spec.reports})


def layout(report_kind: str) -> list[SectionSpec]:
    """The sections of one report, in order."""
    specs = [s for s in _REGISTRY.values() if report_kind in s.reports]
    if not specs:
        raise WorkbenchError(f"no report '{report_kind}' has sections: use one of "
                             f"{', '.join(report_kinds())}")
    return sorted(specs, key=lambda s: s.reports[report_kind])


def compute(key: str, data: ReportData, settings: Settings | None = None) -> Section:
    """Run one section on the report's data."""
    return get(key).compute(data, settings)


def figures(sec: Section) -> list[go.Figure]:
    """The figures of a computed section (built from its ``data`` frames)."""
    spec = get(sec.key)
    if spec.figures is None or not sec.data:
        return []
    return [f for f in spec.figures(sec) if f is not None]


def lead(sec: Section) -> str:
    """The escaped HTML block a computed section shows first ("" when it has none)."""
    if not sec.key or not sec.data:
        return ""
    spec = get(sec.key)
    return spec.lead(sec) if spec.lead is not None else ""
