"""Shared fixtures of the section tests: the report tests' small synthetic store, loaded once."""

from __future__ import annotations

import pytest

from tests.test_report import report_store  # noqa: F401
from workbench import sections


@pytest.fixture(scope="session")
def data(report_store):  # noqa: F811
    return sections.load(report_store)
