"""Time zone checks: IANA names pass, what spreadsheets contain gets a concrete suggestion."""

from __future__ import annotations

import pytest

from cohort.timezones import check_zone, is_valid_zone


@pytest.mark.parametrize(
    "zone", ["Europe/London", "America/Sao_Paulo", "Asia/Kolkata", "UTC", "Etc/GMT-1", "Australia/Sydney"]
)
def test_iana_names_pass(zone):
    assert is_valid_zone(zone)
    assert check_zone(zone) is None


@pytest.mark.parametrize(
    "text, suggestion",
    [
        ("Europe/Londn", "Europe/London"),
        ("europe/london", "Europe/London"),
        ("Kolkata", "Asia/Kolkata"),
        ("new york", "America/New_York"),
        ("EST", "America/New_York"),
        ("PST", "America/Los_Angeles"),
        ("CET", "Europe/Berlin"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("India Standard Time", "Asia/Kolkata"),
        ("Eastern Daylight Time", "America/New_York"),
        ("UTC+5:30", "Asia/Kolkata"),
        ("UTC+05:45", "Asia/Kathmandu"),
        ("GMT-3", "America/Sao_Paulo"),
    ],
)
def test_suggestions(text, suggestion):
    problem = check_zone(text)
    assert problem is not None
    assert suggestion in problem[1]


def test_legacy_abbreviation_in_tzdata_is_still_rejected():
    # EST exists in the tz database but is a fixed offset: New York in summer would be wrong.
    assert is_valid_zone("EST")
    message, hint = check_zone("EST")
    assert "daylight saving" in message and "America/New_York" in hint


def test_ist_is_ambiguous_and_names_all_three():
    message, hint = check_zone("IST")
    assert "ambiguous" in message
    for zone in ("Asia/Kolkata", "Asia/Jerusalem", "Europe/Dublin"):
        assert zone in hint


def test_whole_hour_offset_explains_the_etc_sign_trap():
    _, hint = check_zone("GMT+1")
    assert "Etc/GMT-1" in hint and "inverted" in hint and "Europe/Berlin" in hint
    _, hint = check_zone("UTC-5")
    assert "Etc/GMT+5" in hint


def test_nonsense_gets_a_generic_hint():
    message, hint = check_zone("Narnia/Cair_Paravel")
    assert "unknown time zone" in message and "IANA" in hint
