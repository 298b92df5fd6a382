"""report.html in a real headless browser (Debian's chromium): loads cleanly, searches, draws charts.

Skips when chromium is absent; CI installs it (``apt-get install -y chromium``).
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from report import render_report
from tests.browser_check import dump_dom, find_chromium, screenshot
from tests.test_report import GENERATED, demo

CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="headless browser test skipped: /usr/bin/chromium not found (apt-get install -y chromium)",
    ),
]
MENTOR_RGB = (0x3B, 0x6E, 0xA8)
MENTEE_RGB = (0xE0, 0x8A, 0x2C)


class _Dom(HTMLParser):
    """The body's attributes and the pairs table's rows as chromium left them."""

    def __init__(self) -> None:
        super().__init__()
        self.body: dict[str, str | None] = {}
        self.rows: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "tr" and "data-search" in a:
            self.rows.append(a)


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cohort, program, match, schedule = demo()
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(render_report(cohort, program, match, schedule, generated_at=GENERATED), encoding="utf-8")
    return path


def _load(page: Path, query: str | None = None) -> tuple[_Dom, str]:
    assert CHROMIUM is not None
    result = dump_dom(CHROMIUM, page, query)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = _Dom()
    dom.feed(result.stdout)
    return dom, result.stderr


def test_harness_sees_script_errors(tmp_path: Path) -> None:
    """Negative control: a page whose script throws is caught by the same checks."""
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><body data-ready=0><script>throw new Error('boom')</script></body>")
    dom, stderr = _load(bad)
    assert dom.body.get("data-ready") == "0"
    assert any("boom" in line for line in _console(stderr))


def test_page_loads_without_errors(page: Path) -> None:
    dom, stderr = _load(page)
    assert dom.body.get("data-ready") == "1", f"inline script did not finish: {dom.body}"
    assert "data-error" not in dom.body
    assert _console(stderr) == []
    assert len(dom.rows) == 4
    assert dom.body.get("data-shown") == "4"
    assert not any("hidden" in row for row in dom.rows)


@pytest.mark.parametrize(
    ("query", "expected"),
    [("hugo", 1), ("alice archer", 2), ("america/new_york", 2), ("no-such-person", 0)],
)
def test_search_box_filters_rows(page: Path, query: str, expected: int) -> None:
    dom, stderr = _load(page, query)
    assert dom.body.get("data-ready") == "1" and _console(stderr) == []
    visible = [row for row in dom.rows if "hidden" not in row]
    assert len(visible) == expected == int(dom.body.get("data-shown") or -1)
    assert all(all(term in (row["data-search"] or "") for term in query.split()) for row in visible)


def test_screenshot_shows_the_charts(page: Path, tmp_path: Path) -> None:
    from PIL import Image  # a matplotlib dependency, so present wherever the report is

    assert CHROMIUM is not None
    out = tmp_path / "shot.png"
    result = screenshot(CHROMIUM, page, out)
    assert result.returncode == 0 and out.is_file(), result.stderr[-2000:]
    image = Image.open(out).convert("RGB")
    assert image.size == (1280, 2000)
    pixels = np.asarray(image, dtype=np.int16).reshape(-1, 3)
    non_white = int((pixels.min(axis=1) < 240).sum())
    assert non_white > 0.05 * len(pixels), f"page looks blank: {non_white} non-white pixels"
    packed = (pixels[:, 0].astype(np.int32) << 16) | (pixels[:, 1] << 8) | pixels[:, 2]
    assert len(np.unique(packed)) > 50

    def near(rgb: tuple[int, int, int]) -> int:
        return int((np.abs(pixels - np.array(rgb)).max(axis=1) <= 6).sum())

    # The histogram, load and hours charts paint bars in the mentor blue and mentee orange.
    assert near(MENTOR_RGB) > 2000, "mentor-coloured chart bars missing"
    assert near(MENTEE_RGB) > 1000, "mentee-coloured chart bars missing"
