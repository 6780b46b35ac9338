"""The exported report in a real headless browser: plotly draws every figure offline.

Needs Chromium (`make browser` installs it); skipped with the reason when it is absent.
"""

from __future__ import annotations

import html
import json
import re

import pytest

from tests.test_report import compare_report, report_store  # noqa: F401
from workbench.report import chromium_path, rendered_dom, screenshot

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_path() is None,
                       reason="chromium not installed (apt-get install chromium / make browser)"),
]


def test_plotly_renders_every_figure_offline(compare_report):  # noqa: F811
    n_figures = compare_report.html.read_text(encoding="utf-8").count('class="plotly-graph-div"')
    dom = rendered_dom(compare_report.html)
    # plotly.js adds its SVG layers and a plot container to each figure div when it draws
    assert dom.count('class="plot-container plotly"') == n_figures
    assert 'class="main-svg"' in dom
    assert "<script>alert(1)</script>" not in dom


def test_screenshot_helper_writes_a_png(compare_report, tmp_path):  # noqa: F811
    png = screenshot(compare_report.html, tmp_path / "report.png", height=1600)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


#: Writes the verdict table's box (CSS pixels, relative to the first viewport) into the DOM.
MEASURE = """<script>
window.addEventListener("load", function () {
  var table = document.getElementById("wb-verdicts");
  var box = table ? table.getBoundingClientRect() : null;
  document.body.setAttribute("data-verdict-box", JSON.stringify(box && {
    top: box.top, bottom: box.bottom, left: box.left, right: box.right,
    width: window.innerWidth, height: window.innerHeight}));
});
</script>"""


def test_verdict_table_lies_in_the_first_viewport(compare_report, tmp_path):  # noqa: F811
    page = compare_report.html.read_text(encoding="utf-8")
    probe = tmp_path / "measured.html"
    probe.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = rendered_dom(probe, window=(1280, 900))
    found = re.search(r'data-verdict-box="([^"]*)"', dom)
    assert found, "the measuring script did not run"
    box = json.loads(html.unescape(found.group(1)))
    assert box is not None, "no element with id wb-verdicts"
    assert box["width"] == 1280 and box["height"] <= 900
    assert 0 <= box["top"] < box["bottom"] <= box["height"], box
    assert 0 <= box["left"] < box["right"] <= box["width"], box
