"""One frozen settings object for a report, built once from its notebook's parameters cell.

Why: every section takes ``(data, settings)``, so the bootstrap size, seed, interval level,
countries and thresholds are named once (in the notebook's ``parameters`` cell, where
papermill injects new values) instead of being renamed and repeated at every call. The
defaults are those of the compare notebook; reports set every value they use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from workbench.errors import WorkbenchError
from workbench.stats.debias import METHODS

_SEQUENCES = ("models", "instruments", "personas", "countries", "mfq30_norm_groups")
_POSITIVE = ("k_nearest", "n_boot", "n_perm", "max_examples", "max_items")
_PROBABILITIES = ("ci", "alpha")
_OPTIONAL_POSITIVE = ("wvs_min_items", "hofstede_min_dims")


@dataclass(frozen=True)
class Settings:
    """Report parameters shared by every section (names as in the notebooks)."""

    results_dir: str = "results"
    models: tuple[str, ...] = ()
    model: str = ""  # the probe report's one model (empty: first stored)
    instruments: tuple[str, ...] = ()
    personas: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()  # ISO3 codes shown next to the models
    k_nearest: int = 10
    vsm_constants: Mapping[str, float] = field(default_factory=dict)
    mfq30_norm_groups: tuple[str, ...] = ("liberal", "moderate", "conservative")
    n_boot: int = 2000
    n_perm: int = 2000
    ci: float = 0.95
    alpha: float = 0.05
    reliability_threshold: float = 0.7
    wvs_min_items: int | None = None  # None: countries must have every answered item
    hofstede_min_dims: int | None = None  # None: countries must have every dimension
    max_examples: int = 20
    max_items: int = 60
    seed: int = 0
    baseline: str = "none"  # the culture report's persona without a country
    persona_reference: str = "none"  # the probe report's reference persona
    estimator: str = "raw"  # distributions the score sections show (workbench.stats.debias)
    ess_values: str = ""  # an ESS country table (ess_country_values output); "" = the shipped one

    def __post_init__(self) -> None:
        for name in _SEQUENCES:
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, Sequence):
                raise WorkbenchError(f"setting '{name}' must be a list, got "
                                     f"{type(value).__name__} {value!r}: write [{value!r}]")
            object.__setattr__(self, name, tuple(value))
        if not isinstance(self.vsm_constants, Mapping):
            raise WorkbenchError("setting 'vsm_constants' must be a mapping such as "
                                 f"{{'C_pd': 20}}, got {self.vsm_constants!r}")
        object.__setattr__(self, "vsm_constants", dict(self.vsm_constants))
        if not isinstance(self.ess_values, str):
            raise WorkbenchError("setting 'ess_values' must be a path to an ESS country table "
                                 f"(or \"\" for the shipped one), got {self.ess_values!r}")
        for name in _POSITIVE:
            _check_int(name, getattr(self, name))
        for name in _OPTIONAL_POSITIVE:
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name))
        if self.estimator not in METHODS:
            raise WorkbenchError(f"setting 'estimator' must be one of {', '.join(METHODS)}, "
                                 f"got {self.estimator!r}")
        for name in _PROBABILITIES:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                    0 < value < 1):
                raise WorkbenchError(f"setting '{name}' must be a number between 0 and 1 "
                                     f"(exclusive), got {value!r}")

    @classmethod
    def from_parameters(cls, namespace: Mapping[str, Any]) -> Settings:
        """The settings named in ``namespace`` (a notebook's ``globals()``); others ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in namespace.items() if k in known})

    def value(self, name: str) -> object:
        """One setting by its parameter name, as the report header shows it."""
        if name not in {f.name for f in fields(self)}:
            raise WorkbenchError(f"unknown setting '{name}': use one of "
                                 f"{', '.join(f.name for f in fields(self))}")
        value = getattr(self, name)
        return list(value) if isinstance(value, tuple) else value


def _check_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise WorkbenchError(f"setting '{name}' must be a positive whole number, got "
                             f"{value!r}")
