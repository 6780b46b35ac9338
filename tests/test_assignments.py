"""NAME=VALUE assignments shared by ``-p`` (report parameters) and ``--backend-option``."""

from __future__ import annotations

import pytest

from workbench.assignments import parse_assignments
from workbench.cli import _backend_options
from workbench.errors import WorkbenchError
from workbench.report import parse_extra

ERRORS = {"malformed": "bad {item}", "unparseable": "{name}: {raw} ({first})"}


def test_values_are_yaml_and_an_empty_value_is_an_empty_string():
    assert parse_assignments(["n=5", "xs=[USA, JPN]", "s= a b ", "e="], **ERRORS) == {
        "n": 5, "xs": ["USA", "JPN"], "s": "a b", "e": ""}


@pytest.mark.parametrize("item", ["novalue", "=5", "not a name=1", "1x=2"])
def test_an_item_without_a_name_or_equals_sign_is_refused(item):
    with pytest.raises(WorkbenchError, match=f"^bad {item}$"):
        parse_assignments([item], **ERRORS)


def test_unreadable_yaml_names_the_value_and_the_first_line_of_the_problem():
    with pytest.raises(WorkbenchError) as info:
        parse_assignments(["xs=[a, b"], **ERRORS)
    message = str(info.value)
    assert message.startswith("xs: '[a, b' (") and "\n" not in message


def test_both_callers_keep_their_own_wording():
    with pytest.raises(WorkbenchError, match=r"^parameter 'xs': cannot parse value '\[a' as "
                                             r"YAML \(.*\); quote strings, write lists as"):
        parse_extra(["xs=[a"])
    with pytest.raises(WorkbenchError, match=r"^backend option 'timeout': cannot parse '\[a' "
                                             r"as YAML \(.*\): quote strings$"):
        _backend_options(["timeout=[a"])
    with pytest.raises(WorkbenchError, match="^backend option 'x' is not KEY=VALUE: write e.g. "
                                             "--backend-option max_concurrency=8$"):
        _backend_options(["x"])
