"""Model-vs-model permutation tests with Holm and BH corrections."""

from __future__ import annotations

from workbench.sections.comparison import comparison_section
from workbench.sections.settings import Settings


def test_comparison_tests(data):
    tests = comparison_section(data, Settings(n_perm=200))
    t = tests.data["tests"]
    assert set(t["instrument"]) == {"mfq2", "mfq30", "vsm2013", "wvs7"}
    assert (t["p_holm"] >= t["p_value"] - 1e-12).all()
    assert (t["p_bh"] <= t["p_holm"] + 1e-12).all()
    assert any("scripted has a single respondent unit" in n for n in tests.notes)
