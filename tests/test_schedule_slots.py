"""Slot search: cadence rule, DST-robust slots, plain-words reasons, has_slot vs exact options."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from cohort.program import CycleSettings, Milestones, Program
from scheduler.assign import schedule
from scheduler.outputs import schedule_dict
from scheduler.slots import SlotContext, describe_availability, pair_cadence, pair_slot_options
from tests.checker import check
from tests.factories import make_cohort, make_person


def week(days: range, start: str, end: str) -> tuple[tuple[int, int], ...]:
    h0, m0 = map(int, start.split(":"))
    h1, m1 = map(int, end.split(":"))
    return tuple((d * 1440 + h0 * 60 + m0, d * 1440 + h1 * 60 + m1) for d in days)


WEEKDAYS = range(5)
NO_MILESTONES = Milestones(kickoff=False, checkins=False, review=False, closing=False)


def program(**cycle: object) -> Program:
    kw = dict(start=date(2027, 2, 1), weeks=26, cadence="weekly")
    kw.update(cycle)
    return Program(cycle=CycleSettings(**kw))  # type: ignore[arg-type]


def test_cadence_rule() -> None:
    prog = program(cadence="monthly")
    m, e = make_person("m", "mentor"), make_person("e")
    assert pair_cadence(m, e, prog) == "monthly"
    assert pair_cadence(make_person("m", "mentor", cadence="weekly"), e, prog) == "weekly"
    assert pair_cadence(m, make_person("e", cadence="biweekly"), prog) == "biweekly"
    both = pair_cadence(
        make_person("m", "mentor", cadence="monthly"), make_person("e", cadence="biweekly"), prog
    )
    assert both == "biweekly"  # the more frequent of the two
    both = pair_cadence(
        make_person("m", "mentor", cadence="weekly"), make_person("e", cadence="monthly"), prog
    )
    assert both == "weekly"


def test_only_a_dst_robust_slot_is_valid_and_found() -> None:
    # London 14:00-15:00 and New York 09:00-11:00: a New York 09:00 anchor drops to 13:00 London
    # between the US (14 March) and UK (28 March) changes; a London 14:00 anchor becomes 10:00
    # in New York then, still inside 09:00-11:00.
    m = make_person("sam", "mentor", timezone="Europe/London", availability=week(WEEKDAYS, "14:00", "15:00"))
    e = make_person(
        "ana", "mentee", timezone="America/New_York", availability=week(WEEKDAYS, "09:00", "11:00")
    )
    prog = program()
    opts = pair_slot_options(m, e, prog)
    assert opts and all(o.pattern.timezone == "Europe/London" for o in opts)
    assert all(o.quality[1] > 0 for o in opts)  # Ana's local time moves for two weeks
    cohort = make_cohort(m, e)
    assert SlotContext(cohort, prog).has_slot(["sam"], ["ana"]).tolist() == [True]
    sched = schedule(cohort, prog, [("sam", "ana")], uid_salt="s")
    assert len(sched.series) == 1 and not sched.unplaceable
    assert sched.series[0].timezone == "Europe/London"
    assert check(schedule_dict(sched), cohort, prog) == []
    ny = {t.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") for t in sched.series[0].occurrences}
    assert ny == {"09:00", "10:00"} or ny == {"09:15", "10:15"}


def test_no_slot_survives_dst_pair_unplaceable_with_reason() -> None:
    m = make_person(
        "sam", "mentor", name="Sam", timezone="Europe/London", availability=week(WEEKDAYS, "14:00", "15:00")
    )
    e = make_person(
        "ana",
        "mentee",
        name="Ana",
        timezone="America/New_York",
        availability=week(WEEKDAYS, "09:00", "10:00"),
    )
    prog = program()
    cohort = make_cohort(m, e)
    assert pair_slot_options(m, e, prog) == []
    assert SlotContext(cohort, prog).has_slot(["sam"], ["ana"]).tolist() == [False]
    sched = schedule(cohort, prog, [("sam", "ana")], uid_salt="s")
    assert not sched.series and len(sched.unplaceable) == 1
    reason = sched.unplaceable[0].reason
    assert "clock change" in reason and "14 March" in reason
    assert "Sam (Europe/London) is free Mon-Fri 14:00-15:00" in reason
    assert "Ana (America/New_York) Mon-Fri 09:00-10:00" in reason


def test_no_overlap_at_all_reason_names_both_windows() -> None:
    m = make_person(
        "sam",
        "mentor",
        name="Sam",
        timezone="Australia/Sydney",
        availability=week(WEEKDAYS, "09:00", "12:00"),
    )
    e = make_person(
        "ana",
        "mentee",
        name="Ana",
        timezone="America/New_York",
        availability=week(WEEKDAYS, "09:00", "12:00"),
    )
    sched = schedule(make_cohort(m, e), program(), [("sam", "ana")], uid_salt="s")
    reason = sched.unplaceable[0].reason
    assert reason.startswith("no start time inside both availabilities")
    assert "Sam (Australia/Sydney) is free Mon-Fri 09:00-12:00" in reason


def test_holidays_and_blackouts_become_exdates() -> None:
    m = make_person(
        "m", "mentor", timezone="Europe/London", unavailable=((date(2027, 3, 1), date(2027, 3, 12)),)
    )
    e = make_person("e", "mentee", timezone="Europe/London")
    prog = program(holidays=[date(2027, 4, 2)], weeks=12)
    prog = Program(cycle=prog.cycle, milestones=NO_MILESTONES)
    cohort = make_cohort(m, e)
    sched = schedule(cohort, prog, [("m", "e")], uid_salt="s")
    s = sched.series[0]
    skipped = {x.date() for x in s.exdates}
    assert any(date(2027, 3, 1) <= d <= date(2027, 3, 12) for d in skipped)
    assert len(s.occurrences) + len(s.exdates) == 12
    assert check(schedule_dict(sched), cohort, prog) == []


def test_describe_availability_groups_days() -> None:
    p = make_person(availability=week(WEEKDAYS, "09:00", "12:00") + ((5 * 1440 + 600, 5 * 1440 + 660),))
    assert describe_availability(p) == "Mon-Fri 09:00-12:00; Sat 10:00-11:00"


ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
windows = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 22), st.integers(1, 6)), min_size=1, max_size=4
)


def _avail(ws: list[tuple[int, int, int]]) -> tuple[tuple[int, int], ...]:
    minutes = sorted(
        {m for d, h, n in ws for m in range(d * 1440 + h * 60, min(d * 1440 + (h + n) * 60, 10080))}
    )
    out: list[list[int]] = []
    for m in minutes:
        if out and out[-1][1] == m:
            out[-1][1] = m + 1
        else:
            out.append([m, m + 1])
    return tuple((a, b) for a, b in out)


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.sampled_from(ZONES),
    windows,
    windows,
    st.sampled_from(["weekly", "biweekly", "monthly"]),
)
def test_has_slot_agrees_with_exact_options_without_skips(
    zm: str, ze: str, wm: list, we: list, cad: str
) -> None:
    m = make_person("m", "mentor", timezone=zm, availability=_avail(wm))
    e = make_person("e", "mentee", timezone=ze, availability=_avail(we), cadence=cad)
    prog = program(weeks=40)
    ctx = SlotContext(make_cohort(m, e), prog)
    opts = pair_slot_options(m, e, prog, ctx=ctx)
    assert ctx.has_slot(["m"], ["e"]).tolist() == [bool(opts)]
    for o in opts[:3]:  # every occurrence really is inside both availabilities (checked by zoneinfo)
        for t in o.occurrences:
            for p in (m, e):
                local = t.astimezone(ZoneInfo(p.timezone))
                s = local.weekday() * 1440 + local.hour * 60 + local.minute
                assert (
                    any(a <= s and s + 45 <= b for a, b in p.availability)
                    or any(a <= s - 10080 and s + 45 - 10080 <= b for a, b in p.availability)
                    or all(any(a <= (s + i) % 10080 < b for a, b in p.availability) for i in range(45))
                )
