"""A participant's page in a real browser: Debian's chromium driven by chromedriver (selenium),
against `serve` started on a free loopback port.

Skips when /usr/bin/chromium or /usr/bin/chromedriver is missing; `.ci/run` installs both.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feeds.tokens import rotate
from store import Workspace
from tests.cli_helpers import invoke
from tests.pages_support import CLOCK, Built, build, paired, serving

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_BROWSER = os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not HAVE_BROWSER,
        reason="browser test skipped: /usr/bin/chromium or /usr/bin/chromedriver "
        "not found (apt-get install -y chromium chromium-driver)",
    ),
]


@pytest.fixture(scope="module")
def driver() -> Iterator[object]:
    os.environ.setdefault("SE_AVOID_STATS", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="mentorsync-selenium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--window-size=1100,1600",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def next_meeting(built: Built, person_id: str, zone: str) -> datetime:
    schedule = json.loads((built.out / "schedule.json").read_text(encoding="utf-8"))
    starts = [
        datetime.fromisoformat(t)
        for s in schedule["series"]
        if person_id in (s["mentor_id"], s["mentee_id"])
        for t in s["occurrences"]
    ]
    starts += [
        datetime.fromisoformat(e["start"])
        for e in schedule["events"]
        if person_id in (e["mentor_id"], e["mentee_id"])
    ]
    return min(t for t in starts if t > CLOCK).astimezone(ZoneInfo(zone))


def test_participant_page_in_chromium(driver, tmp_path):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    built = build(tmp_path, people=24, mentors=8)
    people = {r["id"]: r for r in built.people}
    mentor, mentee = next((m, e) for m, e in paired(built) if people[e]["timezone"] != "UTC")
    with serving(built.workspace) as base:
        driver.get(base + built.page_path(mentee))
        body = driver.find_element(By.TAG_NAME, "body").text
        assert people[mentee]["name"] in body
        partner = driver.find_element(By.CSS_SELECTOR, "#partners h3").text
        assert partner == people[mentor]["name"]
        # the next meeting, in the mentee's own time zone
        first_upcoming = driver.find_element(By.CSS_SELECTOR, "li.meeting:not(.past) time")
        local = next_meeting(built, mentee, people[mentee]["timezone"])
        assert first_upcoming.text.startswith(f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M}-")
        # no inline script ran, nothing was blocked by the CSP
        logs = [
            entry
            for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]
        ]
        assert logs == []

        form = driver.find_element(By.CSS_SELECTOR, "#checkin form")
        form.find_element(By.CSS_SELECTOR, "input[name=met][value=rescheduled]").click()
        form.find_element(By.CSS_SELECTOR, "input[name=rating][value='2']").click()
        form.find_element(By.CSS_SELECTOR, "input[name=continue][value=no]").click()
        form.find_element(By.NAME, "note").send_keys("We keep missing each other <b>")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        # the click only starts the POST: wait for the answer page (the old page is still there)
        WebDriverWait(driver, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: "your check-in is saved" in d.find_element(By.TAG_NAME, "body").text
        )

        driver.get(base + built.page_path(mentee))  # reload: the answer is kept
        form = driver.find_element(By.CSS_SELECTOR, "#checkin form")
        assert form.find_element(By.CSS_SELECTOR, "input[name=met][value=rescheduled]").is_selected()
        assert form.find_element(By.CSS_SELECTOR, "input[name=rating][value='2']").is_selected()
        assert form.find_element(By.CSS_SELECTOR, "input[name=continue][value=no]").is_selected()
        assert form.find_element(By.NAME, "note").get_attribute("value") == "We keep missing each other <b>"

        driver.get(base + built.page_path(mentor))  # never shown to the partner
        assert "We keep missing" not in driver.page_source

        driver.get(base + built.coordinator_path)
        coordinator = driver.find_element(By.TAG_NAME, "body").text
        assert f"{people[mentee]['name']}: met rescheduled, going 2/5, continue no" in coordinator
        assert "We keep missing each other <b>" in coordinator

        # a phone-sized window: no sideways scrolling
        driver.set_window_size(390, 844)
        driver.get(base + built.page_path(mentee))
        width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1]
        driver.set_window_size(1100, 1600)

        code, out, err = invoke(built.workspace, "checkins", "--json")
        assert code == 0, err
        pair = next(p for p in json.loads(out)["pairs"] if p["mentee_id"] == mentee)
        assert pair["latest"][mentee]["met"] == "rescheduled" and pair["latest"][mentee]["continue"] == "no"
        assert pair["risks"]

        old = base + built.page_path(mentee)
        with Workspace(built.workspace, create=False) as ws:
            rotate(ws, mentee)
        driver.get(old)
        assert driver.find_element(By.TAG_NAME, "body").text.strip() == "Not found"
        driver.save_screenshot(str(Path(tmp_path) / "rotated.png"))
