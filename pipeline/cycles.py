"""Cycles: closing a cycle with its feedback, re-matching at the boundary or mid-cycle, history.

``rematch`` plans the next cycle from the updated roster and the workspace's history. Hard: a pair
where either side said no in any earlier cycle is never formed again (in either role direction);
people not in the roster are gone; every boundary of ``[rules]`` applies as always. Objective,
lexicographic (each level only breaks ties of the one before):

1. **keep** every pair of the previous cycle where both sides said yes, when the rules, the
   calendars and the mentor's capacity still allow it (pinned in the matcher), with its slot
   (same weekday, local time, anchor zone and rhythm) when that slot is still valid. A kept pair
   is a pair of the new cycle, so its series gets a new UID (UIDs derive from the cycle start);
2. match as many mentees as possible;
3. maximise the total score;
4. prefer new partners for people whose pair finished without both wanting to go on
   (verdict ``partial``: one side said yes, the other did not answer): fewest such pairs re-formed;
5. change as little as possible otherwise: the most pairs where nobody answered (verdict
   ``none``, nobody asked for a change) re-formed, with their old slot when valid.

The policy (verdicts -> keep / prefer / forbid) is ``planner.continuity``; levels 4 and 5 are
folded into the matcher's integer objective below one point of score (``planner.tiebreak``); a
pair that cannot be placed in the calendars is repaired by re-matching.

``rematch(..., mid_cycle=True)``, for someone leaving during the open cycle (an updated roster
file): only the affected people move. Every pair whose two people are still there (and still
allowed by the rules) keeps its partner, slot and UIDs (same cycle, so the same UIDs). The freed
people, joiners and anyone still unmatched may get new partners among the free capacity (level 2:
as many mentees matched as possible); such series start at ``now`` (earlier meetings are dropped),
and the ended pairs' series stop at ``now``: they stay in the remaining person's feed as history
(stored as an ``ended-series`` run record, since the cycle's schedule holds its current pairs).

Feeds across cycles: a person's address never changes (tokens are per person). A feed holds the
person's history plus the current cycle: every earlier cycle's series and events (each stops at
its own cycle's last day, its RRULE's UNTIL) for people still in the roster, and the current
schedule. ``schedule.json`` holds the current cycle only. ``changes.csv`` (``id, email, change``)
words what changed for each person; it is for the coordinator, like ``feeds/index.csv``.

Ratings and comments are stored with the feedback and never leave the coordinator's views:
``cycle_show`` gives counts only.

Circles: ``cycle close`` stores the answers about the cycle's circles (``partner_id``: the circle
id) apart from the pairs'; ``rematch`` continues circles by ``planner.circles.continuity`` (the last
closed cycle's stored circles and answers, every earlier cycle's no's), pairing first everyone but
the members who stay (their mentors' circle seats held back), then forming circles around the pairs;
``--mid-cycle`` keeps the open cycle's circles without the members who left.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from changes.diff import CycleDiff, CycleSnapshot, diff_cycles
from changes.wording import all_person_changes
from cohort.checkins import feedback_rows as checkin_feedback
from cohort.checkins import merge_feedback
from cohort.errors import Problem, UsageError
from cohort.feedback import FeedbackRow, pair_verdicts, read_feedback
from cohort.model import Cohort, PersonId
from cohort.program import Program, example_toml
from cohort.text import write_csv
from pipeline.circles import circle_writer
from pipeline.history import ENDED_KIND, combined, ended_record, history_schedule
from pipeline.progress import Progress, ProgressEvent, null_progress, publish_clock
from pipeline.run import RunOutcome, Step, load_roster, stored_plan, write_outputs
from pipeline.staging import staged_output
from pipeline.workspace import open_workspace, workspace_program
from planner import Plan, plan
from planner import continuity as policy
from planner.circles.continuity import (
    CycleCircles,
    mid_cycle_circles,
    next_cycle_circles,
    rejoined,
    reserve_seats,
)
from planner.circles.forming import plan_circles
from planner.circles.model import CirclePlan
from planner.circles.outputs import circle_record, circle_records
from planner.circles.pool import pair_cohort
from planner.midcycle import continue_mid_cycle, cut_after, cut_before
from scheduler.model import CircleRecord, Schedule, Series
from store import (
    CycleInfo,
    Workspace,
    current_cycle,
    ended_pairs,
    get_cycle,
    import_cohort,
    list_cycles,
    load_checkins,
    load_circle_feedback,
    load_circles,
    load_cohort,
    load_pairs,
    load_schedule,
    remember_out_dir,
    save_circle_feedback,
    save_feedback,
    save_run_summary,
    workspace_secret,
)
from store import close_cycle as store_close_cycle
from store import load_feedback as stored_feedback
from store.privacy import is_erased, pseudonym_of

PairKey = tuple[PersonId, PersonId]


# --------------------------------------------------------------------------- close


@dataclass(frozen=True)
class CloseResult:
    """What ``cycle close`` did: counts only (ratings and comments stay in the store)."""

    cycle_id: int
    rows: int
    pairs: int
    verdicts: Mapping[str, int]  # continue / end / partial / none -> number of pairs
    warnings: tuple[Problem, ...] = ()
    from_file: int = 0  # rows taken from the feedback file
    from_checkins: int = 0  # rows taken from the stored check-ins (people the file does not answer for)
    circles: int = 0  # the cycle's circles
    circle_answers: Mapping[str, int] = field(default_factory=dict)  # yes / no -> answers about circles


def close_cycle(workspace: Path, feedback_file: Path | None = None) -> CloseResult:
    """Store the cycle's feedback and close it.

    The feedback is the file's rows merged with the stored check-ins: the last check-in answer of
    each person about each partner gives a row (``cohort.checkins.feedback_rows``: yes/no as
    answered, ``unsure`` gives none) for every (person, partner) the file does not answer; where
    both answer, the file wins. Without a file, the check-ins alone decide.

    Raises ``InputError`` with every problem of the file (nothing is written then), and
    ``UsageError`` when there is no open, matched cycle.
    """
    with open_workspace(workspace, writer="cycle close") as ws:
        cycle = current_cycle(ws)
        if cycle is None:
            raise UsageError("no open cycle to close: run `mentorsync run FILE` (or `rematch`) first")
        if not cycle.matched:
            raise UsageError(f"cycle {cycle.id} has no match yet: run `mentorsync run FILE` first")
        if feedback_file is not None and not Path(feedback_file).exists():
            raise UsageError(f"{feedback_file}: no such file")
        cohort = load_cohort(ws, cycle.id)
        pairs = {(p.mentor_id, p.mentee_id) for p in load_pairs(ws, cycle.id)}
        circles = {c.circle_id: (c.mentor_id, c.member_ids) for c in load_circles(ws, cycle.id)}
        file_rows: tuple[FeedbackRow, ...] = ()
        circle_rows: tuple[FeedbackRow, ...] = ()
        warnings: list[Problem] = []
        if feedback_file is not None:
            read = read_feedback(feedback_file, cohort, pairs, circles)
            file_rows, circle_rows, warnings = read.rows, read.circle_rows, list(read.warnings)
        from_checkins = checkin_feedback(load_checkins(ws, cycle.id), pairs)
        rows = merge_feedback(file_rows, from_checkins)
        with ws.transaction():
            save_feedback(ws, cycle.id, rows)
            if circle_rows:
                save_circle_feedback(ws, cycle.id, circle_rows)
            store_close_cycle(ws, cycle.id)
    verdicts = Counter(pair_verdicts(rows, pairs).values())
    return CloseResult(
        cycle.id,
        len(rows),
        len(pairs),
        {v: verdicts.get(v, 0) for v in ("continue", "end", "partial", "none")},
        tuple(warnings),
        len(file_rows),
        len(rows) - len(file_rows),
        len(circles),
        {
            "yes": sum(r.wants_continue for r in circle_rows),
            "no": sum(not r.wants_continue for r in circle_rows),
        }
        if circles
        else {},
    )


# --------------------------------------------------------------------------- history and feeds


# --------------------------------------------------------------------------- rematch


@dataclass(frozen=True)
class _Context:
    """What the two kinds of re-match share once the roster and plan inputs are known."""

    program: Program
    program_text: str
    cohort: Cohort
    out_dir: Path
    step: Step
    warnings: tuple[Problem, ...] = ()
    source: Path | None = None


def rematch(
    workspace: Path,
    participants_file: Path | None,
    out_dir: Path,
    *,
    progress: Progress | None = None,
    now: datetime | None = None,
    mid_cycle: bool = False,
) -> RunOutcome:
    """The next cycle's pairs and schedule from the updated roster and the history (see module doc).

    ``participants_file``: the updated roster; ``None`` uses the open cycle's roster (imported
    with ``mentorsync import``). Writes what ``run`` writes, plus ``changes.csv``.
    """
    progress = progress or null_progress
    now = (now or publish_clock()).astimezone(UTC).replace(microsecond=0)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    t = time.perf_counter()
    program, text = workspace_program(workspace)
    with open_workspace(workspace, program, writer="rematch") as ws:
        if participants_file is not None:
            progress(ProgressEvent("validate", "start", str(participants_file)))
            cohort, warnings = load_roster(participants_file, program)
            progress(ProgressEvent("validate", "done", f"{len(cohort)} people"))
        else:
            open_cycle = current_cycle(ws)
            if open_cycle is None:
                raise UsageError(
                    "no roster for the next cycle: give the participants file "
                    "(`mentorsync rematch FILE`) or `mentorsync import FILE` first"
                )
            cohort, warnings = load_cohort(ws, open_cycle.id), []
        timings["load"] = time.perf_counter() - t
        step = Step("rematch-mid-cycle" if mid_cycle else "rematch", now, progress, started, timings)
        ctx = _Context(
            program,
            text or example_toml(program),
            cohort,
            Path(out_dir),
            step,
            tuple(warnings),
            participants_file,
        )
        return _mid_cycle(ws, ctx) if mid_cycle else _next_cycle(ws, ctx)


def _last_closed(ws: Workspace) -> CycleInfo | None:
    closed = [c for c in list_cycles(ws) if c.status == "closed"]
    return closed[-1] if closed else None


def _next_cycle(ws: Workspace, ctx: _Context) -> RunOutcome:
    """The next cycle: continuing pairs and circles from the last closed cycle's feedback."""
    program, cohort, progress = ctx.program, ctx.cohort, ctx.step.progress
    prev = _last_closed(ws)
    if prev is None:
        raise UsageError(
            "no closed cycle to continue from: close the current one with "
            "`mentorsync cycle close --feedback FILE` "
            "(or use `mentorsync run` for a first cycle)"
        )
    open_cycle = current_cycle(ws)
    if open_cycle is not None and open_cycle.matched and open_cycle.start != program.cycle.start:
        raise UsageError(
            f"cycle {open_cycle.id} ({open_cycle.start}..{open_cycle.last_day}) is still open: "
            "close it with `mentorsync cycle close --feedback FILE` first"
        )
    prev_pairs = load_pairs(ws, prev.id)
    prev_sched = load_schedule(ws, prev.id) or Schedule((), ())
    verdicts = pair_verdicts(stored_feedback(ws, prev.id), [(p.mentor_id, p.mentee_id) for p in prev_pairs])
    rerun_of = None
    reuse = None
    if open_cycle is not None and open_cycle.start == program.cycle.start:  # a re-run: keep its slots
        stored_pairs = [(p.mentor_id, p.mentee_id) for p in load_pairs(ws, open_cycle.id)]
        rerun_of = (load_schedule(ws, open_cycle.id), stored_pairs)
        reuse = stored_plan(ws, open_cycle.id, ctx.program_text, cohort)  # same input: kept whole
    continuity = policy.next_cycle(
        verdicts, prev_sched, sorted(ended_pairs(ws, cohort.by_id)), rerun_of=rerun_of, reuse=reuse
    )
    earlier: list[CycleCircles] = [
        (load_circles(ws, c.id), load_circle_feedback(ws, c.id))
        for c in list_cycles(ws)
        if c.status == "closed" and c.id != prev.id
    ]
    circle_continuity = next_cycle_circles(
        load_circles(ws, prev.id), load_circle_feedback(ws, prev.id), cohort, program, earlier=earlier
    )
    if any(is_erased(p) for two in circle_continuity.ended for p in two):
        secret = workspace_secret(ws)
        back = {pseudonym_of(secret, p.id): p.id for p in cohort.people}
        circle_continuity = rejoined(circle_continuity, back)
    staying = {m for k in circle_continuity.kept for m in k.member_ids}  # not paired: their circle goes on
    pairs_cohort = reserve_seats(pair_cohort(cohort, staying), circle_continuity, program)
    planned = plan(pairs_cohort, program, continuity, uid_salt=workspace_secret(ws), progress=progress)
    circles = plan_circles(
        cohort,
        program,
        [(p.mentor_id, p.mentee_id) for p in planned.match.pairs],
        planned.schedule,
        circle_continuity,
    )
    ctx.step.timings.update(planned.timings)
    before = CycleSnapshot.of(load_cohort(ws, prev.id), prev_pairs, prev_sched.series, f"cycle {prev.id}")
    return _write_all(ws, ctx, planned, before=before, ended=None, circle_plan=circles)


def _comparable(cohort: Cohort) -> dict[PersonId, Any]:
    return {p.id: replace(p, line=0) for p in cohort.people}


def _mid_cycle(ws: Workspace, ctx: _Context) -> RunOutcome:
    """Someone left the open cycle: only the affected people move; met meetings stay as they were."""
    program, cohort, progress, now = ctx.program, ctx.cohort, ctx.step.progress, ctx.step.now
    cycle = current_cycle(ws)
    if cycle is None or not cycle.scheduled:
        raise UsageError(
            "--mid-cycle needs an open cycle that is matched and scheduled (`mentorsync run FILE` first)"
        )
    if ctx.source is None:
        raise UsageError(
            "--mid-cycle needs the updated participants file: `mentorsync rematch FILE --mid-cycle`"
        )
    if cycle.start != program.cycle.start:
        raise UsageError(
            f"--mid-cycle keeps cycle {cycle.id}'s dates ({cycle.start}..{cycle.last_day}), but "
            f"program.toml now starts on {program.cycle.start}; for the next cycle, "
            "close this one and run `mentorsync rematch FILE` without --mid-cycle"
        )
    old_cohort = load_cohort(ws, cycle.id)
    old_pairs = load_pairs(ws, cycle.id)
    old_sched = load_schedule(ws, cycle.id) or Schedule((), ())
    old, new = _comparable(old_cohort), _comparable(cohort)
    gone = set(old) - set(new)
    keys = [(p.mentor_id, p.mentee_id) for p in old_pairs]
    continuity = policy.mid_cycle(keys, old_sched, gone, sorted(ended_pairs(ws, cohort.by_id)))
    circles, _ = mid_cycle_circles(load_circles(ws, cycle.id), cohort)  # they go on, minus who left
    in_circles = {p for c in circles for p in c.member_ids}
    planned = plan(
        pair_cohort(cohort, in_circles), program, continuity, uid_salt=workspace_secret(ws), progress=progress
    )
    ctx.step.timings.update(planned.timings)

    mid = continue_mid_cycle(planned, old_sched, cohort, now)
    planned, ended_series, ended_events = mid.plan, mid.ended_series, mid.ended_events
    cut_by_pair = {(c.mentor_id, c.mentee_id): c for c in ended_series}
    snapshot = CycleSnapshot.of(
        old_cohort,
        old_pairs,
        [cut_by_pair.get((s.mentor_id, s.mentee_id), s) for s in old_sched.series],
        f"cycle {cycle.id} before",
    )
    ended = ended_record(ended_series, ended_events, [old_cohort[pid] for pid in gone], now.isoformat())
    return _write_all(ws, ctx, planned, before=snapshot, ended=ended, circles=circles)


def _write_all(
    ws: Workspace,
    ctx: _Context,
    plan: Plan,
    *,
    before: CycleSnapshot,
    ended: Mapping[str, Any] | None,
    circles: Sequence[CircleRecord] = (),
    circle_plan: CirclePlan | None = None,
) -> RunOutcome:
    """Store and write everything, like ``run``: one transaction and one staged output directory
    (``circles``: the cycle's circles, stored with its pairs; ``circle_plan``: the circles planned
    here, stored and written like ``run``'s)."""
    program, cohort, out_dir = ctx.program, ctx.cohort, ctx.out_dir
    salt = workspace_secret(ws)
    if circle_plan is not None and not circles:
        circles = circle_records(circle_plan, program, salt)
    with staged_output(ws, out_dir) as stage:
        cycle_id = import_cohort(
            ws, cohort, program, ctx.program_text, ctx.source or cohort.source, replace_matched=True
        )
        remember_out_dir(ws, out_dir)
        if ended is not None and (ended["series"] or ended["events"]):
            save_run_summary(ws, cycle_id, ENDED_KIND, ended)

        def changes(stage_dir: Path) -> dict[str, Any]:
            after = CycleSnapshot.of(cohort, plan.match.pairs, plan.schedule.series, f"cycle {cycle_id}")
            change = diff_cycles(before, after)
            write_changes(stage_dir / "changes.csv", cohort, change, plan.schedule.series)
            more: dict[str, Any] = {}
            if circle_plan is not None and circle_plan.pool:
                more = circle_writer(cohort, plan.match, circle_plan)(stage_dir)
            return more | {
                "changes": {
                    "kept": len(change.kept),
                    "ended": len(change.ended),
                    "new": len(change.new),
                    "moved": len(change.moved),
                    "joined": len(change.joined),
                    "left": len(change.left),
                }
            }

        published, summary, files = write_outputs(
            ws, stage, cycle_id, plan, ctx.step, extra=changes, circles=circles, roster=cohort
        )
        files.append("changes.csv")
        if circle_plan is not None and circle_plan.pool:
            files += ["circles.csv"]
            save_run_summary(ws, cycle_id, "circles", circle_record(circle_plan))
    return RunOutcome(cycle_id, plan, published, summary, ctx.warnings, out_dir, tuple(files))


def write_changes(path: Path, cohort: Cohort, change: CycleDiff, series: Iterable[Series]) -> None:
    """``changes.csv``: ``id, email, change`` per person (lines of the summary joined by ``; ``)."""
    texts = all_person_changes(cohort, change, series)
    write_csv(
        path,
        ["id", "email", "change"],
        ([p.id, p.email, texts[p.id].replace("\n", "; ")] for p in cohort.people),
    )


# --------------------------------------------------------------------------- listing and diff


@dataclass(frozen=True)
class CycleSummary:
    """One row of ``mentorsync cycle list``."""

    id: int
    start: date
    last_day: date
    status: str
    people: int
    pairs: int
    feedback_rows: int
    verdicts: Mapping[str, int] = field(default_factory=dict)  # continue/end/partial/none (closed)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "start": self.start.isoformat(),
            "last_day": self.last_day.isoformat(),
            "status": self.status,
            "people": self.people,
            "pairs": self.pairs,
            "feedback_rows": self.feedback_rows,
            "verdicts": dict(self.verdicts),
        }


@dataclass(frozen=True)
class CycleDetail:
    """``mentorsync cycle show ID``: the coordinator's view; ratings as counts only, no comments."""

    summary: CycleSummary
    source: str
    created_at: datetime
    closed_at: datetime | None
    mentors: int
    mentees: int
    unmatched_mentees: int
    series: int
    events: int
    ratings: Mapping[int, int]  # rating -> number of answers
    comments: int  # how many answers carry a comment (the text is never shown here)
    joined: tuple[PersonId, ...]  # vs the previous cycle
    left: tuple[PersonId, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            **self.summary.as_json(),
            "source": self.source,
            "created_at": self.created_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "mentors": self.mentors,
            "mentees": self.mentees,
            "unmatched_mentees": self.unmatched_mentees,
            "series": self.series,
            "events": self.events,
            "ratings": {str(k): v for k, v in sorted(self.ratings.items())},
            "comments": self.comments,
            "joined": list(self.joined),
            "left": list(self.left),
        }


def _summary(ws: Workspace, c: CycleInfo) -> tuple[CycleSummary, tuple[FeedbackRow, ...]]:
    rows = stored_feedback(ws, c.id)
    verdicts: dict[str, int] = {}
    if rows or c.status == "closed":
        keys = [(p.mentor_id, p.mentee_id) for p in load_pairs(ws, c.id)]
        counted = Counter(pair_verdicts(rows, keys).values())
        verdicts = {v: counted.get(v, 0) for v in ("continue", "end", "partial", "none")}
    return CycleSummary(c.id, c.start, c.last_day, c.status, c.people, c.pairs, len(rows), verdicts), rows


def cycle_list(workspace: Path) -> tuple[CycleSummary, ...]:
    """Every cycle, oldest first, with people, pairs and feedback counts."""
    with open_workspace(workspace) as ws:
        return tuple(_summary(ws, c)[0] for c in list_cycles(ws))


def cycle_show(workspace: Path, cycle_id: int) -> CycleDetail:
    """One cycle in detail; ``StoreError`` (exit 2) for an unknown id."""
    with open_workspace(workspace) as ws:
        c = get_cycle(ws, cycle_id)
        summary, rows = _summary(ws, c)
        cohort = load_cohort(ws, c.id)
        pairs = load_pairs(ws, c.id)
        sched = load_schedule(ws, c.id)
        cycles = list_cycles(ws)
        earlier = [x for x in cycles if x.start < c.start]
        prev_ids = {p.id for p in load_cohort(ws, earlier[-1].id).people} if earlier else None
    ids = {p.id for p in cohort.people}
    matched = {p.mentee_id for p in pairs}
    return CycleDetail(
        summary=summary,
        source=c.source,
        created_at=c.created_at,
        closed_at=c.closed_at,
        mentors=len(cohort.mentors),
        mentees=len(cohort.mentees),
        unmatched_mentees=sum(1 for p in cohort.mentees if p.id not in matched),
        series=len(sched.series) if sched else 0,
        events=len(sched.events) if sched else 0,
        ratings=dict(sorted(Counter(r.rating for r in rows if r.rating is not None).items())),
        comments=sum(1 for r in rows if r.comment),
        joined=tuple(sorted(ids - prev_ids)) if prev_ids is not None else (),
        left=tuple(sorted(prev_ids - ids)) if prev_ids is not None else (),
    )


def snapshot(ws: Workspace, cycle_id: int) -> CycleSnapshot:
    """A stored cycle as ``changes.diff`` compares it."""
    sched = load_schedule(ws, cycle_id)
    return CycleSnapshot.of(
        load_cohort(ws, cycle_id),
        load_pairs(ws, cycle_id),
        sched.series if sched else (),
        f"cycle {cycle_id}",
    )


def diff(workspace: Path, a: int, b: int) -> CycleDiff:
    """What changed from stored cycle ``a`` to cycle ``b`` (render with ``changes.diff.render_diff``)."""
    with open_workspace(workspace) as ws:
        return diff_cycles(snapshot(ws, a), snapshot(ws, b))


__all__ = [
    "CloseResult",
    "CycleDetail",
    "CycleSummary",
    "close_cycle",
    "combined",
    "cut_after",
    "cut_before",
    "cycle_list",
    "cycle_show",
    "diff",
    "history_schedule",
    "rematch",
    "snapshot",
    "write_changes",
]
