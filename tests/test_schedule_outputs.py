"""schedule.json shape (docs/interface.md §4) and the plain-words DST notes."""

from __future__ import annotations

import re
from datetime import date

from cohort.program import CycleSettings, Program
from scheduler.assign import schedule
from scheduler.outputs import dst_notes, schedule_dict
from tests.factories import make_cohort, make_person
from tests.test_schedule_slots import WEEKDAYS, week

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_schedule_json_has_the_contract_fields() -> None:
    m = make_person(
        "sam", "mentor", name="Sam", timezone="Europe/London", availability=week(WEEKDAYS, "14:00", "15:00")
    )
    e = make_person(
        "ana",
        "mentee",
        name="Ana",
        timezone="America/New_York",
        availability=week(WEEKDAYS, "09:00", "11:00"),
    )
    cohort = make_cohort(m, e)
    prog = Program(cycle=CycleSettings(start=date(2027, 2, 1), weeks=26, cadence="weekly"))
    sched = schedule(cohort, prog, [("sam", "ana")], uid_salt="s")
    doc = schedule_dict(sched)
    s = doc["series"][0]
    for key in (
        "mentor_id",
        "mentee_id",
        "uid",
        "timezone",
        "dtstart",
        "duration_minutes",
        "rrule",
        "exdates",
        "occurrences",
    ):
        assert key in s
    assert all(ISO_Z.match(t) for t in s["occurrences"])
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$", s["dtstart"])
    for ev in doc["events"]:
        assert {"mentor_id", "mentee_id", "uid", "kind", "start", "duration_minutes"} <= set(ev)
        assert ISO_Z.match(ev["start"]) and ev["kind"] in ("kickoff", "checkin", "review", "closing")
    notes = dst_notes(sched, cohort)
    assert "sam" not in notes  # the anchor person's time never moves
    (line,) = notes["ana"]
    assert re.search(r"with Sam: 09:(00|15) your time, 10:(00|15) on .*March", line)
    assert "14 March" not in line  # Sunday 14 March is the change itself, not a meeting day
