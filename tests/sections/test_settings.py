"""One frozen settings object from a notebook's parameters."""

from __future__ import annotations

import dataclasses

import pytest

from workbench.errors import WorkbenchError
from workbench.sections.settings import Settings


def test_from_parameters_takes_known_names_and_ignores_the_rest():
    namespace = {"results_dir": "r", "countries": ["USA", "JPN"], "n_boot": 300,
                 "vsm_constants": {"C_pd": 20}, "sections": object(), "In": [], "_": None}
    s = Settings.from_parameters(namespace)
    assert (s.results_dir, s.countries, s.n_boot) == ("r", ("USA", "JPN"), 300)
    assert s.vsm_constants == {"C_pd": 20} and s.vsm_constants is not namespace["vsm_constants"]
    assert s.n_perm == Settings().n_perm  # not given: the default
    assert s.value("countries") == ["USA", "JPN"]  # shown as the notebook wrote it
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.n_boot = 5  # type: ignore[misc]


@pytest.mark.parametrize(("name", "value", "message"), [
    ("countries", "USA", r"setting 'countries' must be a list, got str 'USA'"),
    ("ci", 95, r"setting 'ci' must be a number between 0 and 1"),
    ("alpha", True, r"setting 'alpha' must be a number between 0 and 1"),
    ("n_boot", 0, r"setting 'n_boot' must be a positive whole number, got 0"),
    ("k_nearest", 2.5, r"setting 'k_nearest' must be a positive whole number"),
    ("wvs_min_items", -1, r"setting 'wvs_min_items' must be a positive whole number"),
    ("vsm_constants", [20], r"setting 'vsm_constants' must be a mapping"),
])
def test_bad_values_are_one_clear_error(name, value, message):
    with pytest.raises(WorkbenchError, match=message):
        Settings(**{name: value})


def test_unknown_setting_names_are_refused_by_value():
    with pytest.raises(WorkbenchError, match="unknown setting 'nboot'"):
        Settings().value("nboot")
