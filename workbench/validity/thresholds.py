"""The validity cut-offs as a validated data file (``data/validity/thresholds.yaml``).

Why: a verdict such as "position-driven" rests on cut-offs (how high must the order agreement
be?), and a reader must be able to see and change every one of them, with the reason or
citation behind it. Code holds no cut-off: this module is the schema (pydantic) and the loader,
in the same style as :mod:`workbench.instruments`.
"""

from __future__ import annotations

import math
import operator
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from workbench.datafiles import invalid, read_mapping
from workbench.errors import WorkbenchError
from workbench.paths import data_dir

Op = Literal["gt", "ge", "lt", "le"]
Role = Literal["core", "caution", "info"]
Verdict = Literal["content-driven", "mixed", "position-driven", "insufficient data"]
Status = Literal["interpretable", "caution", "not interpretable"]
VERDICTS: tuple[str, ...] = ("content-driven", "mixed", "position-driven", "insufficient data")
_OPS = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}
_SYMBOLS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
#: Statistics the package computes; the file must configure each (and nothing else).
STATISTICS: tuple[str, ...] = (
    "order_agreement", "position_vs_content", "item_discrimination", "answer_entropy",
    "catch_items", "first_position_excess", "position_prior", "reliability",
)
GATES: tuple[str, ...] = ("min_orders", "min_items")
#: Cut-offs a statistic cannot do without (beyond what its role requires).
NEEDS: dict[str, str] = {"answer_entropy": "caution"}
VERDICT_RULES: tuple[str, ...] = ("position_min", "content_max_for_position")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Cutoff(_Strict):
    """One cut-off: ``value op threshold`` holds, e.g. ``r >= 0.5``; always with a reason."""

    op: Op
    value: float
    reason: str = Field(min_length=1)
    citation: str | None = None

    def holds(self, x: float) -> bool:
        """Whether ``x`` satisfies the cut-off (a missing value never does)."""
        return bool(x is not None and not math.isnan(x) and _OPS[self.op](x, self.value))

    def describe(self) -> str:
        return f"{_SYMBOLS[self.op]} {self.value:g}"


class Setting(_Strict):
    """A number that shapes a verdict (a gate or a vote count), with its reason."""

    value: float
    reason: str = Field(min_length=1)
    citation: str | None = None


class StatisticRule(_Strict):
    """How one statistic enters the verdict.

    ``core`` statistics vote: ``content`` and ``position`` cut-offs (a value in between votes
    for neither). ``caution`` ones can only keep a cell from being content-driven (``caution``
    cut-off, or a rule taken from elsewhere with a ``reason``); ``info`` ones are reported,
    optionally with a ``pass`` cut-off.
    """

    role: Role
    content: Cutoff | None = None
    position: Cutoff | None = None
    caution: Cutoff | None = None
    pass_: Cutoff | None = Field(default=None, alias="pass")
    min_units: Setting | None = None
    reason: str | None = None
    citation: str | None = None

    @model_validator(mode="after")
    def _check(self) -> StatisticRule:
        if self.role == "core" and (self.content is None or self.position is None):
            raise ValueError("a core statistic needs both a 'content' and a 'position' cut-off")
        if self.role != "core" and (self.content is not None or self.position is not None):
            raise ValueError(f"only core statistics vote: remove 'content'/'position' from "
                             f"this {self.role} statistic")
        if self.role == "caution" and self.caution is None and not self.reason:
            raise ValueError("a caution statistic needs a 'caution' cut-off or a 'reason' "
                             "naming where its rule comes from")
        if not self.reason and not any((self.content, self.position, self.caution, self.pass_)):
            raise ValueError("give a 'reason' for this statistic")
        return self


class Thresholds(_Strict):
    """The whole file: gates, one rule per statistic, the vote counts and the status map."""

    version: str
    gates: dict[str, Setting]
    statistics: dict[str, StatisticRule]
    verdict: dict[str, Setting]
    status: dict[Verdict, Status]
    notes: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Thresholds:
        for section, names in (("gates", GATES), ("statistics", STATISTICS),
                               ("verdict", VERDICT_RULES)):
            have = getattr(self, section)
            missing = [n for n in names if n not in have]
            unknown = [n for n in have if n not in names]
            if missing:
                raise ValueError(f"'{section}' lacks {missing}: every one must be configured")
            if unknown:
                raise ValueError(f"'{section}' has unknown entries {unknown}; known: "
                                 f"{list(names)}")
        for name, cut in NEEDS.items():
            if getattr(self.statistics[name], cut) is None:
                raise ValueError(f"statistic '{name}' needs a '{cut}' cut-off")
        missing = [v for v in VERDICTS if v not in self.status]
        if missing:
            raise ValueError(f"'status' lacks verdict(s) {missing}")
        return self

    def rule(self, statistic: str) -> StatisticRule:
        return self.statistics[statistic]

    def gate(self, name: str) -> float:
        return self.gates[name].value


def default_path() -> Path:
    return data_dir() / "validity" / "thresholds.yaml"


def load_thresholds(path: str | Path | None = None) -> Thresholds:
    """Load and validate a thresholds file (the shipped one by default) with one clear error."""
    if path is None:
        return _default()
    return _load(Path(path))


@cache
def _default() -> Thresholds:
    return _load(default_path())


def _load(path: Path) -> Thresholds:
    if not path.is_file():
        raise WorkbenchError(f"thresholds file '{path}' does not exist: check the path "
                             "(the shipped one is data/validity/thresholds.yaml)")
    raw = read_mapping(path, "thresholds file", "version, gates, statistics, verdict, status")
    try:
        return Thresholds.model_validate(raw)
    except ValidationError as exc:
        raise invalid(exc, "thresholds file", path, "data/validity/thresholds.yaml") from exc


__all__ = ["Cutoff", "Setting", "StatisticRule", "Thresholds", "VERDICTS", "load_thresholds"]
