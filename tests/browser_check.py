"""Open a ``report.html`` in Debian's headless chromium: dump the DOM and take a screenshot.

Used by ``tests/test_report_browser.py``; also runnable by hand::

    python tests/browser_check.py OUT/report.html [--query TEXT] [--screenshot shot.png]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
BASE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)


def find_chromium() -> str | None:
    """The chromium binary, or None (the browser tests then skip).

    ``MENTORSYNC_CHROMIUM`` names another binary (only that one is tried).
    """
    override = os.environ.get("MENTORSYNC_CHROMIUM")
    for path in (override,) if override else CHROMIUM_CANDIDATES:
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return path
    return None


def file_url(path: Path, query: str | None = None) -> str:
    url = path.resolve().as_uri()
    return f"{url}?q={urllib.parse.quote(query)}" if query else url


def run_chromium(chromium: str, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run chromium with a throwaway profile and the no-network flags."""
    with tempfile.TemporaryDirectory(prefix="mentorsync-chromium-") as profile:
        env = {**os.environ, "HOME": profile}
        return subprocess.run(
            [chromium, *BASE_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )


def dump_dom(chromium: str, page: Path, query: str | None = None) -> subprocess.CompletedProcess[str]:
    """The DOM after the page's scripts ran (``--dump-dom``), with chromium's log on stderr."""
    return run_chromium(chromium, ["--dump-dom", file_url(page, query)])


def screenshot(
    chromium: str, page: Path, out: Path, size: str = "1280,2000"
) -> subprocess.CompletedProcess[str]:
    """A PNG of the page's top ``size`` pixels."""
    return run_chromium(chromium, [f"--screenshot={out}", f"--window-size={size}", file_url(page)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("page", type=Path)
    parser.add_argument("--query")
    parser.add_argument("--screenshot", type=Path)
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("chromium not found (apt-get install chromium)", file=sys.stderr)
        return 69
    result = dump_dom(chromium, args.page, args.query)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if args.screenshot:
        shot = screenshot(chromium, args.page, args.screenshot)
        sys.stderr.write(shot.stderr)
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
