"""The section registry: one key per section, ordered layouts, headings from one place."""

from __future__ import annotations

import pytest

from workbench import sections
from workbench.errors import WorkbenchError
from workbench.report import NOTEBOOKS
from workbench.sections import registry
from workbench.sections.base import Section
from workbench.sections.render import heading_html


@pytest.fixture
def scratch(monkeypatch):
    """A copy of the registry that tests may add to without touching the real one."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    return registry


def test_every_report_has_an_ordered_layout_of_distinct_titles():
    assert set(sections.report_kinds()) == set(NOTEBOOKS) - {"explore"}
    for kind in sections.report_kinds():
        specs = sections.layout(kind)
        positions = [s.reports[kind] for s in specs]
        assert positions == sorted(positions) and len(set(positions)) == len(positions)
        assert len({s.title for s in specs}) == len(specs)
    for kind in sections.report_kinds():  # validity first, then what the report is about
        assert [s.key for s in sections.layout(kind)][:2] == ["validity", "about"]
    keys = [s.key for s in sections.layout("compare")]
    assert keys.index("about") < keys.index("coverage") < keys.index("debias") < keys.index(
        "hofstede") < keys.index("mfq30")  # position bias and debiased scores before scores
    assert sections.layout("culture")[-1].key == "provenance"  # shared by three reports
    assert set(sections.get("provenance").reports) == {"compare", "probe", "culture"}


def test_compute_stamps_key_and_title_and_figures_follow_the_spec(data):
    sec = sections.compute("hofstede", data, sections.Settings(n_boot=50, countries=["JPN"]))
    assert (sec.key, sec.title) == ("hofstede", "Hofstede dimensions (VSM 2013)")
    figs = sections.figures(sec)
    assert len(figs) == 1 and figs[0].layout.title.text.startswith("Hofstede dimensions")
    assert sections.figures(sections.compute("provenance", data)) == []  # no figures


def test_a_new_section_is_one_decorated_function(scratch, data):
    @scratch.section("extra", title="Extra <b>section</b>", reports={"compare": 55},
                     description="Why it is here & what it shows.")
    def extra_section(d, settings):
        return Section(tables={"Models": d.answers[["model"]].drop_duplicates()})

    keys = [s.key for s in sections.layout("compare")]
    assert keys.index("extra") == keys.index("wvs") + 1  # position 55: after wvs (50)
    sec = extra_section(data)  # settings default to Settings()
    assert (sec.key, sec.title) == ("extra", "Extra <b>section</b>") and sec.available
    head = heading_html(scratch.get("extra"))
    assert head.startswith('<h2 id="Extra-&lt;b&gt;section&lt;/b&gt;">Extra &lt;b&gt;')
    assert "<p>Why it is here &amp; what it shows.</p>" in head


def test_two_sections_with_one_key_or_one_position_raise(scratch):
    with pytest.raises(WorkbenchError, match="'hofstede' is registered twice"):
        scratch.section("hofstede", title="Again", reports={"compare": 999})(
            lambda d, s: Section())
    with pytest.raises(WorkbenchError, match="position 20 of the 'compare' report, which "
                                             "'hofstede' holds"):
        scratch.section("other", title="Other", reports={"compare": 20})(
            lambda d, s: Section())
    assert "other" not in scratch.section_keys()


def test_unknown_keys_and_reports_are_clear_errors():
    with pytest.raises(WorkbenchError, match="no report section 'hofstde': did you mean "
                                             "hofstede"):
        sections.get("hofstde")
    with pytest.raises(WorkbenchError, match="no report 'comparison' has sections: use one of "
                                             "compare, culture, probe"):
        sections.layout("comparison")


def test_headings_use_the_ids_nbconvert_gave_markdown_headings():
    spec = sections.get("hofstede")
    assert spec.anchor == "Hofstede-dimensions-(VSM-2013)"
    assert heading_html(spec).startswith(
        '<h2 id="Hofstede-dimensions-(VSM-2013)">Hofstede dimensions (VSM 2013)<a '
        'class="anchor-link" href="#Hofstede-dimensions-(VSM-2013)">¶</a></h2><p>VSM 2013')
    assert heading_html(sections.get("country_personas")).endswith("</h2>")  # no description
