"""Reasons: one statistic of one cell, judged against its cut-off and put into words.

Why a record: a verdict is only as good as the reasons a reader can check, so every statistic
becomes a :class:`Reason` with its value, interval, the cut-off it was judged by, the outcome
and a generated sentence; the verdict counts outcomes, and the report prints the sentences.
A new check (e.g. an estimated position prior) is one more function returning Reasons plus
its entry in ``data/validity/thresholds.yaml``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from workbench.validity.thresholds import Cutoff, StatisticRule

#: Outcomes: core statistics vote ``content`` / ``position`` (or ``neutral`` in between);
#: caution ones are ``ok`` or ``caution``; ``info`` is reported only; ``n/a`` does not apply;
#: ``insufficient`` is a failed gate.
OUTCOMES = ("content", "position", "neutral", "ok", "caution", "info", "n/a", "insufficient")
NAN = float("nan")


@dataclass(frozen=True)
class Reason:
    """One statistic of one cell, with its interval, cut-off, outcome and sentence."""

    statistic: str
    rule: str
    role: str
    estimate: float = NAN
    ci_low: float = NAN
    ci_high: float = NAN
    threshold: float = NAN
    passes: bool | None = None
    outcome: str = "info"
    p_value: float = NAN
    n_units: int = 0
    sentence: str = ""
    basis: str = ""
    detail: str = ""

    def as_row(self) -> dict[str, object]:
        return asdict(self)


def basis(rule: StatisticRule, cutoff: Cutoff | None = None) -> str:
    """The reason and citation behind a cut-off (or behind the rule), for footnotes."""
    parts = [cutoff.reason, cutoff.citation] if cutoff is not None else [rule.reason,
                                                                          rule.citation]
    return " ".join(" ".join(str(p).split()) for p in parts if p)


def vote(name: str, statistic: str, rule: StatisticRule, value: float, **fields) -> Reason:
    """A core statistic's vote: ``content`` if the content cut-off holds, ``position`` if the
    position cut-off holds, ``neutral`` otherwise; ``threshold`` is the content cut-off."""
    assert rule.content is not None and rule.position is not None
    if rule.content.holds(value):
        outcome, cut = "content", rule.content
    elif rule.position.holds(value):
        outcome, cut = "position", rule.position
    else:
        outcome, cut = "neutral", rule.content
    fields.setdefault("threshold", rule.content.value)
    return Reason(statistic=statistic, rule=name, role=rule.role, estimate=value,
                  passes=outcome == "content", outcome=outcome, basis=basis(rule, cut),
                  **fields)


def fmt(x: float, digits: int = 2) -> str:
    """A number for a sentence: fixed digits, a true minus sign, 'n/a' when missing.

    >>> fmt(-0.1234)
    '\u22120.12'
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    text = f"{x:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", "\u2212")


def interval(low: float, high: float, digits: int = 2, pct: bool = False) -> str:
    """``[low, high]`` for a sentence (empty when the interval is missing)."""
    if any(v is None or math.isnan(v) for v in (low, high)):
        return ""
    if pct:
        return f" [{pct_text(low)}, {pct_text(high)}]"
    return f" [{fmt(low, digits)}, {fmt(high, digits)}]"


def pct_text(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{100 * x:.0f}%"


def p_text(p: float) -> str:
    """``p = 0.41`` or ``p < 0.001``."""
    if p is None or math.isnan(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


__all__ = ["OUTCOMES", "Reason", "basis", "fmt", "interval", "p_text", "pct_text", "vote"]
