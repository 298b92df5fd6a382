"""Assignment: hard rules on UTC instants (checked by the independent checker), milestones, UIDs."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from cohort.model import Cohort
from cohort.program import CycleSettings, Program
from scheduler.assign import Effort, Keep, make_uid, schedule
from scheduler.outputs import dst_notes, schedule_dict, write_schedule_json
from tests.checker import check, expand_series
from tests.factories import make_cohort, make_person
from tests.test_schedule_slots import NO_MILESTONES, WEEKDAYS, week

FOUR_ZONE_CYCLE = CycleSettings(
    start=date(2027, 2, 1), weeks=45, cadence="biweekly", holidays=[date(2027, 4, 2), date(2027, 12, 25)]
)


def four_zone_cohort() -> Cohort:
    z = {"ny": "America/New_York", "ldn": "Europe/London", "syd": "Australia/Sydney", "kol": "Asia/Kolkata"}
    people = [
        make_person(
            "ny_m",
            "mentor",
            timezone=z["ny"],
            availability=week(WEEKDAYS, "07:00", "21:00"),
            capacity=3,
            goals=(),
        ),
        make_person(
            "ldn_m", "mentor", timezone=z["ldn"], availability=week(WEEKDAYS, "07:00", "20:00"), capacity=3
        ),
        make_person(
            "syd_m",
            "mentor",
            timezone=z["syd"],
            availability=week(WEEKDAYS, "06:00", "10:00") + week(range(5, 7), "17:00", "22:00"),
            capacity=3,
        ),
        make_person(
            "kol_m", "mentor", timezone=z["kol"], availability=week(range(6), "10:00", "22:00"), capacity=3
        ),
        make_person(
            "ny_e",
            timezone=z["ny"],
            availability=week(range(7), "06:00", "12:00"),
            goals=("leadership",),
            unavailable=((date(2027, 7, 1), date(2027, 7, 14)),),
        ),
        make_person(
            "ldn_e", timezone=z["ldn"], availability=week(WEEKDAYS, "06:00", "22:00"), goals=("python",)
        ),
        make_person(
            "syd_e",
            timezone=z["syd"],
            availability=week(range(7), "07:00", "10:00"),
            goals=("career",),
            max_meetings_per_week=1,
        ),
        make_person(
            "kol_e", timezone=z["kol"], availability=week(WEEKDAYS, "13:00", "23:00"), goals=("design",)
        ),
        make_person("ldn_e2", timezone=z["ldn"], availability=week(WEEKDAYS, "08:00", "18:00")),
    ]
    return make_cohort(*people)


def test_four_zones_across_both_changes_every_occurrence_inside_both_availabilities() -> None:
    cohort = four_zone_cohort()
    prog = Program(cycle=FOUR_ZONE_CYCLE)
    pairs = [
        ("ny_m", "syd_e"),
        ("ldn_m", "kol_e"),
        ("syd_m", "ldn_e"),
        ("kol_m", "ny_e"),
        ("ldn_m", "ldn_e2"),
    ]
    sched = schedule(cohort, prog, pairs, uid_salt="salt", effort=Effort(workers=1, seed=0, time_limit=10))
    assert not sched.unplaceable, sched.unplaceable
    assert len(sched.series) == 5
    doc = schedule_dict(sched)
    assert check(doc, cohort, prog) == []
    # the cycle crosses March and October/November changes, and some local times do move
    notes = dst_notes(sched, cohort)
    assert notes and all("your time" in n for ns in notes.values() for n in ns)
    for s in doc["series"]:
        assert expand_series(s)  # re-expanded independently by the checker
        assert s["rrule"].startswith("FREQ=")


def test_checker_catches_violations() -> None:
    cohort = four_zone_cohort()
    prog = Program(cycle=FOUR_ZONE_CYCLE)
    sched = schedule(cohort, prog, [("ldn_m", "kol_e"), ("ldn_m", "ldn_e2")], uid_salt="salt")
    doc = schedule_dict(sched)
    bad = json.loads(json.dumps(doc))
    bad["series"][1]["dtstart"] = bad["series"][0]["dtstart"]
    bad["series"][1]["rrule"] = bad["series"][0]["rrule"]
    bad["series"][1]["timezone"] = bad["series"][0]["timezone"]
    bad["series"][1]["occurrences"] = bad["series"][0]["occurrences"]
    found = check(bad, cohort, prog)
    assert any(v.rule == "no_overlap_with_buffer" and "overlap" in v.message for v in found)
    holiday = json.loads(json.dumps(doc))
    holiday["events"].append({**holiday["events"][0], "start": "2027-04-02T12:00:00Z"})
    assert any(v.rule == "no_holiday" for v in check(holiday, cohort, prog))
    night = json.loads(json.dumps(doc))
    night["events"][0]["start"] = night["events"][0]["start"][:11] + "03:00:00Z"
    assert any(v.rule == "inside_availability" for v in check(night, cohort, prog))


def _tight(buffer: int, cadence: str = "weekly", limit: int | None = None) -> tuple[Cohort, Program]:
    mentor = make_person(
        "m", "mentor", availability=((9 * 60, 11 * 60),), capacity=2, max_meetings_per_week=limit
    )
    a = make_person("a", availability=((9 * 60, 11 * 60),))
    b = make_person("b", availability=((9 * 60, 11 * 60),))
    prog = Program(
        cycle=CycleSettings(start=date(2027, 2, 1), weeks=8, cadence=cadence, buffer_minutes=buffer),
        milestones=NO_MILESTONES,
    )
    return make_cohort(mentor, a, b), prog


def test_buffer_kept_when_it_fits() -> None:
    for buffer in (15, 30):
        cohort, prog = _tight(buffer)
        sched = schedule(cohort, prog, [("m", "a"), ("m", "b")], uid_salt="s")
        assert len(sched.series) == 2, buffer
        assert check(schedule_dict(sched), cohort, prog) == []


def test_buffer_too_long_makes_one_pair_unplaceable() -> None:
    cohort, prog = _tight(31)
    sched = schedule(cohort, prog, [("m", "a"), ("m", "b")], uid_salt="s")
    assert len(sched.series) == 1 and len(sched.unplaceable) == 1
    assert "collides" in sched.unplaceable[0].reason and "31 minutes" in sched.unplaceable[0].reason


def test_max_meetings_per_week() -> None:
    cohort, prog = _tight(15, "weekly", limit=1)
    sched = schedule(cohort, prog, [("m", "a"), ("m", "b")], uid_salt="s")
    assert len(sched.series) == 1 and "limit of 1" in sched.unplaceable[0].reason
    cohort, prog = _tight(15, "biweekly", limit=1)
    sched = schedule(cohort, prog, [("m", "a"), ("m", "b")], uid_salt="s")
    assert len(sched.series) == 2  # alternate weeks
    assert check(schedule_dict(sched), cohort, prog) == []


def test_milestones_replace_regular_meetings_never_doubling_a_week() -> None:
    cohort = four_zone_cohort()
    prog = Program(cycle=CycleSettings(start=date(2027, 2, 1), weeks=26, cadence="biweekly"))
    sched = schedule(cohort, prog, [("ldn_m", "kol_e"), ("ldn_m", "ldn_e2")], uid_salt="s")
    assert check(schedule_dict(sched), cohort, prog) == []
    for s in sched.series:
        evs = [e for e in sched.events if (e.mentor_id, e.mentee_id) == (s.mentor_id, s.mentee_id)]
        kinds = Counter(e.kind for e in evs)
        assert kinds["kickoff"] == 1 and kinds["review"] == 1 and kinds["closing"] == 1
        assert kinds["checkin"] >= 3
        kickoff = next(e for e in evs if e.kind == "kickoff")
        assert kickoff.start.date() < prog.cycle.start + timedelta(days=8)
        assert "goals" in kickoff.agenda and "boundaries" in kickoff.agenda
        tz = ZoneInfo(cohort[s.mentee_id].timezone)
        weeks = Counter(
            t.astimezone(tz).isocalendar()[:2] for t in list(s.occurrences) + [e.start for e in evs]
        )
        assert max(weeks.values()) == 1
        assert len(s.exdates) >= len([e for e in evs if e.kind != "kickoff"])
        assert cohort[s.mentee_id].goals[0] in s.agenda if cohort[s.mentee_id].goals else True


def test_uids_are_deterministic_and_carry_no_personal_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cohort = four_zone_cohort()
    prog = Program(cycle=CycleSettings(start=date(2027, 2, 1), weeks=12))
    one = schedule(cohort, prog, [("ldn_m", "kol_e")], uid_salt="k")
    two = schedule(cohort, prog, [("ldn_m", "kol_e")], uid_salt="k")
    other = schedule(cohort, prog, [("ldn_m", "kol_e")], uid_salt="other")
    write_schedule_json(one, tmp_path / "a.json")
    write_schedule_json(two, tmp_path / "b.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    uids = [s.uid for s in one.series] + [e.uid for e in one.events]
    assert len(set(uids)) == len(uids)
    assert not set(uids) & {s.uid for s in other.series}
    assert all(u.endswith("@mentorsync") and "ldn" not in u and "kol" not in u for u in uids)
    assert one.series[0].uid == make_uid("k", date(2027, 2, 1), "ldn_m", "kol_e", "series")


def test_fixed_series_is_kept_when_still_valid_and_replaced_when_not() -> None:
    cohort = four_zone_cohort()
    prog = Program(cycle=CycleSettings(start=date(2027, 2, 1), weeks=12))
    first = schedule(cohort, prog, [("ldn_m", "ldn_e2")], uid_salt="k")
    prev = first.series[0]
    # next cycle: the pair keeps its weekday and local time
    nxt = Program(cycle=CycleSettings(start=date(2027, 5, 3), weeks=12))
    again = schedule(cohort, nxt, [("ldn_m", "ldn_e2")], uid_salt="k", keep=Keep({("ldn_m", "ldn_e2"): prev}))
    s = again.series[0]
    assert again.stats["kept"] == 1
    assert (s.dtstart.weekday(), s.dtstart.time()) == (prev.dtstart.weekday(), prev.dtstart.time())
    # the mentee's hours moved away from that time: a new slot is found instead
    moved = Cohort(
        tuple(
            p
            if p.id != "ldn_e2"
            else make_person(
                "ldn_e2",
                timezone="Europe/London",
                availability=tuple(
                    (
                        d * 1440 + ((prev.dtstart.hour + 3) % 24) * 60,
                        d * 1440 + ((prev.dtstart.hour + 3) % 24) * 60 + 120,
                    )
                    for d in range(5)
                ),
            )
            for p in cohort.people
        )
    )
    third = schedule(moved, nxt, [("ldn_m", "ldn_e2")], uid_salt="k", keep=Keep({("ldn_m", "ldn_e2"): prev}))
    assert third.stats["kept"] == 0
    assert third.series and third.series[0].dtstart.time() != prev.dtstart.time()


def test_reschedule_equals_scheduling_everything_with_placed_slots_fixed() -> None:
    """A repair round's incremental re-schedule gives exactly the full re-schedule's result."""
    from dataclasses import replace

    from matcher.candidates import build_candidates
    from matcher.solve import solve
    from sample_data.generate import generate_cohort
    from scheduler.assign import pattern_of_series, reschedule
    from scheduler.slots import SlotContext

    base = Program()
    program = replace(base, matching=replace(base.matching, workers=1, seed=3, time_limit_seconds=20))
    cohort = generate_cohort(500, 120, seed=4, program=program)
    ctx = SlotContext(cohort, program)
    cs = build_candidates(cohort, program, slot_filter=ctx.has_slot)
    chosen = [(p.mentor_id, p.mentee_id) for p in solve(cohort, program, cs).pairs]
    first = schedule(cohort, program, chosen, uid_salt="s", ctx=ctx)
    assert first.unplaceable, "the case must need a repair round"
    placed = {(s.mentor_id, s.mentee_id): s for s in first.series}
    stuck = sorted((u.mentor_id, u.mentee_id) for u in first.unplaceable)
    again = [
        (p.mentor_id, p.mentee_id)
        for p in solve(cohort, program, cs, forbidden_pairs=stuck, warm_start=list(placed)).pairs
    ]
    assert set(again) - set(placed), "the round must bring new pairs"
    full = schedule(
        cohort,
        program,
        again,
        uid_salt="s",
        ctx=ctx,
        keep=Keep(
            placed,
            hints={k: pattern_of_series(s, program) for k, s in placed.items()},
            required=[k for k in again if k in placed],
        ),
    )
    inc = reschedule(cohort, program, first, again, uid_salt="s", ctx=ctx)
    assert inc.series == full.series and inc.events == full.events
    assert inc.unplaceable == full.unplaceable
    now = {(s.mentor_id, s.mentee_id): s for s in inc.series}
    assert all(now[k] == s for k, s in placed.items() if k in set(again))  # new pairs fit around
    assert 0 < inc.stats["rescheduled"] < len(again) and inc.stats["carried"] > 0
    assert check(schedule_dict(inc), cohort, program) == []
