"""Report sections: one module per report concern, each holding its data function and its
figures, registered with :func:`~workbench.sections.registry.section`.

A notebook reads its headings and their order from the registry::

    from workbench import sections

    sections.setup_offline_plotly()
    settings = sections.Settings.from_parameters(globals())
    data = sections.load(results_dir, models=models)
    sections.show_report("compare", data, settings)

API: :func:`get` (one :class:`SectionSpec`), :func:`layout` (the ordered sections of a
report kind), :func:`compute` (one :class:`Section`), :func:`show` / :func:`show_report`
(heading, description, notes, figures, tables) and :func:`figures`. Importing this package
imports every section module below, so the registry is complete; adding a section is one
new module and one import line here (see docs/architecture.md). Every section that shows
scores marks them with their cell's validity verdict (:func:`mark_scores`, computed once per
report by :func:`report_validity`).
"""

# Section modules: importing one registers its sections. A new section is a new module and
# one line here.
from workbench.sections import (
    comparison,
    culture,
    debias,
    hofstede,
    languages,
    mfq,
    opinions,
    overview,
    robustness,
    schwartz,
    validity,
    wvs,
)
from workbench.sections.base import (
    NOT_AVAILABLE,
    SAMPLE_NOTE,
    ReportData,
    Section,
    load,
    pick_model,
    sort_items,
)
from workbench.sections.marks import mark_scores, report_validity
from workbench.sections.overview import header
from workbench.sections.registry import (
    SectionSpec,
    compute,
    figures,
    get,
    layout,
    report_kinds,
    section,
    section_keys,
)
from workbench.sections.render import (
    section_html,
    setup_offline_plotly,
    show,
    show_figure,
    show_note,
    show_report,
    show_section,
    show_table,
    table_html,
)
from workbench.sections.settings import Settings

__all__ = [
    "NOT_AVAILABLE", "SAMPLE_NOTE", "ReportData", "Section", "SectionSpec", "Settings",
    "comparison", "compute", "culture", "debias", "figures", "get", "header", "hofstede",
    "languages", "layout", "load", "mark_scores", "mfq", "opinions", "overview", "pick_model",
    "report_kinds", "report_validity", "robustness", "schwartz", "section", "section_html",
    "section_keys", "setup_offline_plotly", "show", "show_figure", "show_note",
    "show_report", "show_section", "show_table", "sort_items", "table_html", "validity", "wvs",
]
