"""The thresholds file: the shipped one is complete and every cut-off says why; a broken file
gives one error naming where and what to fix."""

from __future__ import annotations

import math

import pytest
import yaml

from workbench.errors import WorkbenchError
from workbench.validity.thresholds import (
    STATISTICS,
    VERDICTS,
    Cutoff,
    default_path,
    load_thresholds,
)


def test_shipped_file_configures_every_statistic_with_reasons():
    th = load_thresholds()
    assert set(th.statistics) == set(STATISTICS)
    assert set(th.status) == set(VERDICTS)
    cutoffs = [c for rule in th.statistics.values()
               for c in (rule.content, rule.position, rule.caution, rule.pass_) if c]
    assert len(cutoffs) >= 8
    for c in cutoffs:
        assert len(c.reason.split()) >= 8  # a written reason, not a label
    core = [n for n, r in th.statistics.items() if r.role == "core"]
    assert sorted(core) == ["item_discrimination", "order_agreement", "position_vs_content"]
    for name in core:  # content and position cut-offs must not overlap
        rule = th.rule(name)
        between = (rule.content.value + rule.position.value) / 2
        assert not (rule.content.holds(between) and rule.position.holds(between))
    assert th.status["content-driven"] == "interpretable"


def test_cutoff_holds_and_describes():
    c = Cutoff(op="ge", value=0.5, reason="because")
    assert c.holds(0.5) and not c.holds(0.49) and not c.holds(math.nan)
    assert c.describe() == ">= 0.5"


def _broken(tmp_path, edit):
    doc = yaml.safe_load(default_path().read_text(encoding="utf-8"))
    edit(doc)
    path = tmp_path / "thresholds.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["statistics"].pop("order_agreement"), r"'statistics' lacks \['order_agreement'\]"),
    (lambda d: d["statistics"].update(typo={"role": "info", "reason": "x"}), "unknown entries"),
    (lambda d: d["statistics"]["order_agreement"].pop("position"), "needs both"),
    (lambda d: d["statistics"]["order_agreement"]["content"].pop("reason"),
     "statistics.order_agreement.content.reason.*required key 'reason' is missing"),
    (lambda d: d["statistics"]["order_agreement"]["content"].update(op="above"),
     "statistics.order_agreement.content.op"),
    (lambda d: d["statistics"]["answer_entropy"].update(content=d["statistics"][
        "answer_entropy"]["caution"]), "only core statistics vote"),
    (lambda d: d["status"].pop("mixed"), "lacks verdict"),
    (lambda d: d["statistics"]["answer_entropy"].update(caution=None, reason="r"),
     "'answer_entropy' needs a 'caution' cut-off"),
    (lambda d: d.update(colour="red"), "unknown key 'colour'"),
    (lambda d: d["gates"].pop("min_items"), r"'gates' lacks \['min_items'\]"),
])
def test_broken_files_fail_with_one_clear_error(tmp_path, edit, message):
    with pytest.raises(WorkbenchError, match=message):
        load_thresholds(_broken(tmp_path, edit))


def test_unreadable_files(tmp_path):
    with pytest.raises(WorkbenchError, match="does not exist"):
        load_thresholds(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("gates: [unclosed", encoding="utf-8")
    with pytest.raises(WorkbenchError, match="not valid YAML at line 1: fix the syntax"):
        load_thresholds(bad)
    bad.write_text("- a list", encoding="utf-8")
    with pytest.raises(WorkbenchError, match="must hold a mapping"):
        load_thresholds(bad)


def test_a_changed_cutoff_changes_the_verdict(tmp_path, toy):
    from workbench.validity import validity_table, verdicts

    path = toy.write()
    reqs = []
    for j, (a, b) in enumerate(zip([1, 2, 3, 4, 5], [2, 1, 4, 3, 5], strict=True), start=1):
        reqs += [{"item_id": f"i{j}", "order": "original", "probs": toy.one_hot(a)},
                 {"item_id": f"i{j}", "order": "reversed", "probs": toy.one_hot(b)}]
    frame = toy.frame(reqs)
    table = validity_table(frame, instruments={"toy": path}, n_boot=200, n_perm=199)
    assert table.set_index("statistic").loc["order_agreement", "outcome"] == "content"
    strict = _broken(tmp_path, lambda d: d["statistics"]["order_agreement"]["content"].update(
        value=0.9))
    table = validity_table(frame, instruments={"toy": path}, n_boot=200, n_perm=199,
                           thresholds=str(strict))
    row = table.set_index("statistic").loc["order_agreement"]
    assert row["outcome"] == "neutral" and row["threshold"] == 0.9
    assert verdicts(table, thresholds=str(strict))["verdict"].iloc[0] == "mixed"
