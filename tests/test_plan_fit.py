"""``planner.fit`` answers exactly what the slow definition answers.

For many (mentor, mentee) candidate pairs around a real schedule (people with placed meetings,
weekly limits, away dates, holidays, several zones and cadences):

* ``PairFit.valid`` lists exactly the patterns ``SlotContext.evaluate`` finds valid;
* ``PairFit.first_fit`` gives the option ``next(o for o in iter_slot_options(...) if
  calendars.fits(o))`` gives (or None when it gives none), and still after pairs are placed and
  taken off again;
* ``PairFit.blockers`` never leaves out a pair whose removal lets an option fit.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from cohort.program import Program, load_program
from matcher.solve import solve
from planner.fit import Calendars, PairFit, meetings_of
from planner.instance import slot_aware_candidates
from sample_data.generate import generate_cohort
from scheduler.assign import schedule
from scheduler.slots import iter_slot_options, pair_cadence

ROOT = Path(__file__).resolve().parent.parent


def _programs() -> list[Program]:
    sample = load_program(ROOT / "sample_data" / "program.toml")
    sample = replace(sample, matching=replace(sample.matching, workers=1, seed=0, time_limit_seconds=20.0))
    short_kickoff = replace(
        sample,
        cycle=replace(
            sample.cycle,
            cadence="monthly",
            buffer_minutes=30,
            holidays=[date(2027, 2, 2), date(2027, 4, 5)],
        ),
        milestones=replace(sample.milestones, kickoff_minutes=30, closing=False),
    )
    no_milestones = replace(
        sample,
        cycle=replace(sample.cycle, cadence="weekly", buffer_minutes=0),
        milestones=replace(sample.milestones, kickoff=False, closing=False, review=False, checkins=False),
    )
    return [sample, short_kickoff, no_milestones]


def _brute(cal: Calendars, mentor, mentee):  # type: ignore[no-untyped-def]
    return next((o for o in iter_slot_options(mentor, mentee, cal.ctx) if cal.fits(o)), None)


@pytest.mark.parametrize(("which", "seed"), [(0, 3), (1, 5), (2, 8)])
def test_fast_fit_is_the_definition(which: int, seed: int) -> None:
    program = _programs()[which]
    cohort = generate_cohort(220, 60, seed=seed, program=program)
    ctx, cs = slot_aware_candidates(cohort, program)
    chosen = [(p.mentor_id, p.mentee_id) for p in solve(cohort, program, cs).pairs]
    sched = schedule(cohort, program, chosen, uid_salt="t", ctx=ctx)
    cal = Calendars(ctx, sched)
    fit = PairFit(ctx, cal)
    busy = {p for s in sched.series for p in (s.mentor_id, s.mentee_id)}
    pairs = [(c.mentor_id, c.mentee_id) for c in cs.candidates() if c.mentor_id != c.mentee_id]
    pairs = [k for k in pairs if busy & set(k)][::7][:220]
    assert len(pairs) > 100
    fitting = 0
    for m, e in pairs:
        mentor, mentee = cohort[m], cohort[e]
        cadence = pair_cadence(mentor, mentee, program)
        valid = {v.anchor: sorted(v.index.tolist()) for v in fit.valid(mentor, mentee)}
        for anchor in ctx.anchors(mentor, mentee):
            expected = np.flatnonzero(ctx.evaluate(mentor, mentee, cadence, anchor)["valid"]).tolist()
            assert valid.get(anchor, []) == expected, (m, e, anchor)
        want = _brute(cal, mentor, mentee)
        got = fit.first_fit(mentor, mentee)
        assert (got and got.pattern) == (want and want.pattern), (m, e)
        fitting += want is not None
    assert fitting > 5  # some fit, some do not

    # calendars change: place a few, take placed pairs off, and ask again (the memory of
    # rejected pairs must forget what a removal may open)
    placed = {(s.mentor_id, s.mentee_id): s for s in sched.series}
    events = {k: [ev for ev in sched.events if (ev.mentor_id, ev.mentee_id) == k] for k in placed}
    for k in list(placed)[::5][:12]:
        cal.remove(k)
    for m, e in pairs[:60]:
        option = _brute(cal, cohort[m], cohort[e])
        got = fit.first_fit(cohort[m], cohort[e])
        assert (got and got.pattern) == (option and option.pattern), (m, e)
        if option is not None and e not in {x for _, x in placed}:
            cal.add((m, e), cal.occupancy((t.start, t.duration_minutes) for t in option.meetings))
    for k in list(placed)[::5][:12]:
        cal.add(k, cal.occupancy(meetings_of(placed[k], events[k])))
    for m, e in pairs[60:120]:
        got = fit.first_fit(cohort[m], cohort[e])
        want = _brute(cal, cohort[m], cohort[e])
        assert (got and got.pattern) == (want and want.pattern), (m, e)


def test_blockers_never_leave_out_a_pair_that_makes_room() -> None:
    program = _programs()[0]
    cohort = generate_cohort(200, 50, seed=4, program=program)
    ctx, cs = slot_aware_candidates(cohort, program)
    chosen = [(p.mentor_id, p.mentee_id) for p in solve(cohort, program, cs).pairs]
    sched = schedule(cohort, program, chosen, uid_salt="t", ctx=ctx)
    cal = Calendars(ctx, sched)
    fit = PairFit(ctx, cal)
    mine: dict[str, list[tuple[str, str]]] = {}
    for s in sched.series:
        mine.setdefault(s.mentor_id, []).append((s.mentor_id, s.mentee_id))
    events = {
        k: [ev for ev in sched.events if (ev.mentor_id, ev.mentee_id) == k]
        for ks in mine.values()
        for k in ks
    }
    series = {(s.mentor_id, s.mentee_id): s for s in sched.series}
    matched = {e for _, e in chosen}
    checked = 0
    for c in cs.candidates():
        m, e = c.mentor_id, c.mentee_id
        if e in matched or m not in mine or m == e:
            continue
        blocking = fit.blockers(cohort[m], cohort[e])
        if blocking is None:
            continue
        for k in mine[m]:
            if cal.owner_id(k) in blocking:
                continue
            cal.remove(k)
            assert _brute(cal, cohort[m], cohort[e]) is None, (m, e, k)
            cal.add(k, cal.occupancy(meetings_of(series[k], events[k])))
            checked += 1
    assert checked > 20
