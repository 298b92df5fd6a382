"""A plan made inside an open cycle (someone left mid-cycle), fitted to the meetings already held.

Kept pairs whose slot did not change keep their stored series and events verbatim (a series stored
cut at an earlier mid-cycle re-match stays cut, and keeps its UID); a kept pair whose slot is no
longer valid gets its new slot for the whole cycle; a new pair starts at ``now`` (earlier meetings
are dropped, and a pair left with no regular meeting is not formed); an ended pair's series stops
at ``now`` and stays in the remaining person's feed as history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cohort.model import Cohort, PersonId
from matcher.model import Unmatched
from planner.plan import Plan
from scheduler.model import Event, Schedule, Series

PairKey = tuple[PersonId, PersonId]


def _instant(local: datetime, tz: str) -> datetime:
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def cut_before(
    series: Series, events: Iterable[Event], cutoff: datetime
) -> tuple[Series | None, list[Event]]:
    """The part of a pair's meetings before ``cutoff`` (an ended pair: history), UNTIL at the cut."""
    occ = tuple(o for o in series.occurrences if o < cutoff)
    kept_events = [e for e in events if e.start < cutoff]
    if not occ:
        return None, kept_events
    until = (cutoff - timedelta(seconds=1)).astimezone(UTC).replace(microsecond=0)
    cut = replace(
        series,
        occurrences=occ,
        exdates=tuple(d for d in series.exdates if _instant(d, series.timezone) < cutoff),
        recurrence=replace(series.recurrence, count=None, until=until),
    )
    return cut, kept_events


def cut_after(series: Series, events: Iterable[Event], cutoff: datetime) -> tuple[Series | None, list[Event]]:
    """The part of a pair's meetings from ``cutoff`` on (a pair formed mid-cycle).

    The new DTSTART is the first instance of the rule at or after the cut (an instance's wall time
    is the old DTSTART's, on an occurrence's or exdate's local date), so the RRULE still expands to
    exactly the remaining occurrences.
    """
    occ = tuple(o for o in series.occurrences if o >= cutoff)
    kept_events = [e for e in events if e.start >= cutoff]
    if not occ:
        return None, kept_events
    tz = ZoneInfo(series.timezone)
    clock = series.dtstart.time()
    instances = {datetime.combine(o.astimezone(tz).date(), clock) for o in series.occurrences}
    instances |= set(series.exdates)
    later = sorted(i for i in instances if _instant(i, series.timezone) >= cutoff)
    first = min(later[0], datetime.combine(occ[0].astimezone(tz).date(), clock))
    return replace(
        series, dtstart=first, occurrences=occ, exdates=tuple(d for d in series.exdates if d >= first)
    ), kept_events


def _slot(s: Series) -> tuple[str, int, time, str, int, tuple[tuple[int, int], ...]]:
    """A series' place in the week (as ``changes.diff.Slot`` compares it): anchor zone, weekday and
    local time of ``dtstart``, and the rule's shape without its bounds."""
    rule = s.recurrence
    start = s.dtstart.time().replace(second=0, microsecond=0)
    return (s.timezone, s.dtstart.weekday(), start, rule.freq, rule.interval, tuple(sorted(rule.byday)))


@dataclass(frozen=True)
class MidCycle:
    """The plan fitted to the open cycle, and the ended pairs' meetings before ``now``."""

    plan: Plan
    ended_series: list[Series]
    ended_events: list[Event]


def continue_mid_cycle(plan: Plan, old_sched: Schedule, cohort: Cohort, now: datetime) -> MidCycle:
    """``plan`` (made with ``planner.continuity.mid_cycle``) fitted to ``old_sched`` at ``now``."""
    # Kept pairs whose slot did not change keep their stored series and events verbatim (a series
    # stored cut at an earlier mid-cycle re-match stays cut); new pairs start at ``now``.
    old_series = {(s.mentor_id, s.mentee_id): s for s in old_sched.series}
    old_events: dict[PairKey, list[Event]] = {}
    for e in old_sched.events:
        old_events.setdefault((e.mentor_id, e.mentee_id), []).append(e)
    new_events: dict[PairKey, list[Event]] = {}
    for e in plan.schedule.events:
        new_events.setdefault((e.mentor_id, e.mentee_id), []).append(e)
    series: list[Series] = []
    events: list[Event] = []
    for s in plan.schedule.series:
        key = (s.mentor_id, s.mentee_id)
        before = old_series.get(key)
        if before is not None and before.uid == s.uid and _slot(before) == _slot(s):
            series.append(before)
            events += old_events.get(key, [])
        elif before is not None:  # kept pair, slot no longer valid: its new slot for the whole cycle
            series.append(s)
            events += new_events.get(key, [])
        else:
            cut, evs = cut_after(s, new_events.get(key, []), now)
            if cut is not None:  # else no regular meeting is left this cycle: the pair is not formed
                series.append(cut)
                events += evs
    current = replace(plan.schedule, series=tuple(series), events=tuple(events))
    placed = {(s.mentor_id, s.mentee_id) for s in series}
    pairs = tuple(p for p in plan.match.pairs if (p.mentor_id, p.mentee_id) in placed)
    late = tuple(
        Unmatched(
            p.mentee_id,
            "mentee",
            f"no regular meeting with {cohort[p.mentor_id].name} is left in this cycle after {now:%Y-%m-%d}",
        )
        for p in plan.match.pairs
        if (p.mentor_id, p.mentee_id) not in placed
    )
    plan = replace(
        plan,
        schedule=current,
        match=replace(
            plan.match,
            pairs=pairs,
            matched=len(pairs),
            unmatched=plan.match.unmatched + late,
            objective=float(sum(p.score for p in pairs)),
        ),
    )

    ended_series: list[Series] = []
    ended_events: list[Event] = []
    for key, s in old_series.items():
        if key in placed:
            continue
        cut, evs = cut_before(s, old_events.get(key, []), now)
        if cut is not None:
            ended_series.append(cut)
        ended_events += evs
    return MidCycle(plan, ended_series, ended_events)
