"""The steps of ``run`` one at a time (``import``, ``match``, ``schedule``, ``publish``) and ``explain``.

Each step reads what the previous one stored in the workspace, validates first, and writes in
one transaction plus a staged output directory, like ``run``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cohort.errors import UsageError
from cohort.model import Cohort, PersonId
from cohort.program import example_toml
from feeds.publish import PublishResult, publish
from matcher.model import Pair
from pipeline.history import feed_view
from pipeline.progress import Progress, null_progress, publish_clock
from pipeline.run import load_input, stored_plan, summarise, write_match_files
from pipeline.staging import staged_output
from pipeline.workspace import open_workspace, workspace_program
from planner import Continuity, Plan, plan
from planner.circles.outputs import explain_circle
from planner.circles.pool import pair_cohort
from planner.continuity import series_by_pair
from planner.instance import PlanInstance
from planner.plan import alternatives_for, match_only, schedule_pairs
from report.analysis import capacity_of, series_view
from scheduler.model import Schedule
from scheduler.outputs import dst_notes, write_schedule_json
from store import (
    CycleInfo,
    Workspace,
    current_cycle,
    import_cohort,
    latest_cycle,
    load_cohort,
    load_pairs,
    load_run_summaries,
    load_schedule,
    load_unmatched,
    remember_out_dir,
    save_match,
    save_run_summary,
    save_schedule,
    workspace_secret,
)
from store.privacy import without_erased


def _open_cycle(ws: Workspace) -> CycleInfo:
    cycle = current_cycle(ws)
    if cycle is None:
        raise UsageError("no open cycle in this workspace: run `mentorsync import FILE` first")
    return cycle


def do_import(workspace: Path, participants: Path, *, replace: bool = False) -> tuple[int, Cohort, list]:
    """Validate and store the participants as the open cycle's roster (one transaction)."""
    program, text, cohort, warnings = load_input(workspace, participants)
    with open_workspace(workspace, program, create=True, writer="import") as ws:
        cycle_id = import_cohort(
            ws, cohort, program, text or example_toml(program), participants, replace_matched=replace
        )
    return cycle_id, cohort, warnings


def do_match(workspace: Path, out_dir: Path, *, progress: Progress | None = None) -> dict[str, Any]:
    """Match the open cycle's roster (with the recurring-slot test) and write the match files."""
    progress = progress or null_progress
    program, _ = workspace_program(workspace)
    with open_workspace(workspace, program, writer="match") as ws:
        cycle = _open_cycle(ws)
        cohort = load_cohort(ws, cycle.id)
        t = time.perf_counter()
        cs, result = match_only(pair_cohort(cohort), program, progress=progress)
        with staged_output(ws, out_dir) as stage:
            save_match(ws, cycle.id, result)
            write_match_files(stage, cohort, result, cs.rows())
            summary = {
                "cycle": cycle.id,
                "people": len(cohort),
                "candidates": len(cs),
                "pairs": len(result.pairs),
                "matched": result.matched,
                "objective": result.objective,
                "bound": result.bound,
                "gap": result.gap,
                "method": result.method,
                "seconds": round(time.perf_counter() - t, 3),
            }
            (stage / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
            save_run_summary(ws, cycle.id, "match", summary)
    return summary


def do_schedule(workspace: Path, out_dir: Path, *, progress: Progress | None = None) -> Plan:
    """Schedule the pairs ``match`` stored, as they are: none is replaced. A pair that can no longer
    be placed is left unscheduled and listed in ``plan.repair.unplaceable`` (its mentee is
    unmatched, with the reason); ``match`` again finds other partners. Run again on a scheduled
    cycle with the same program and roster, it keeps the stored plan whole (same bytes)."""
    program, text = workspace_program(workspace)
    with open_workspace(workspace, program, writer="schedule") as ws:
        cycle = _open_cycle(ws)
        cohort = load_cohort(ws, cycle.id)
        stored = load_pairs(ws, cycle.id)
        if not stored and not load_unmatched(ws, cycle.id):
            raise UsageError("the open cycle has no matches yet: run `mentorsync match` first")
        previous = load_schedule(ws, cycle.id)
        reuse = stored_plan(ws, cycle.id, text or example_toml(program), cohort) if previous else None
        if reuse is not None:  # a re-run: the stored pairs, slots and figures as they are
            planned = plan(
                pair_cohort(cohort),
                program,
                Continuity(reuse=reuse),
                uid_salt=workspace_secret(ws),
                progress=progress,
            )
        else:
            continuity = Continuity(slots=series_by_pair(previous.series) if previous else {})
            keys = [(p.mentor_id, p.mentee_id) for p in stored]
            inst = PlanInstance.build(
                pair_cohort(cohort), program, continuity, uid_salt=workspace_secret(ws), progress=progress
            )
            planned = schedule_pairs(inst, keys)
        with staged_output(ws, out_dir) as stage:
            save_match(ws, cycle.id, planned.match)
            save_schedule(ws, cycle.id, planned.schedule)
            write_match_files(stage, cohort, planned.match, planned.candidates.rows())
            write_schedule_json(planned.schedule, stage / "schedule.json")
            summary = summarise(planned, cycle.id, None, planned.timings)
            (stage / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
            save_run_summary(ws, cycle.id, "schedule", summary)
    return planned


def do_publish(
    workspace: Path, out_dir: Path, *, progress: Progress | None = None, now: datetime | None = None
) -> PublishResult:
    """Write every participant's feed (and the coordinator's) from the stored schedule."""
    program, _ = workspace_program(workspace)
    with open_workspace(workspace, program, writer="publish") as ws:
        cycle = latest_cycle(ws)
        schedule = load_schedule(ws, cycle.id) if cycle else None
        if cycle is None or schedule is None:
            raise UsageError("nothing to publish yet: run `mentorsync schedule` (or `run`) first")
        cohort = without_erased(load_cohort(ws, cycle.id))  # an erased person gets no feed
        with staged_output(ws, out_dir) as stage:
            remember_out_dir(ws, out_dir)
            view = feed_view(ws, cohort, schedule, cycle.id)  # history too, as run and rematch publish
            result = publish(
                ws,
                cohort,
                view.schedule,
                program,
                stage,
                now=now or publish_clock(),
                progress=progress,
                former=view.former,
            )
    return result


_FULL_DAYS = {
    "Mon": "Monday",
    "Tue": "Tuesday",
    "Wed": "Wednesday",
    "Thu": "Thursday",
    "Fri": "Friday",
    "Sat": "Saturday",
    "Sun": "Sunday",
}


@dataclass(frozen=True)
class Explanation:
    """Everything ``mentorsync explain ID`` says about one person, as data and as text."""

    person_id: PersonId
    data: dict[str, Any]
    text: str


def _slot_words(
    schedule: Schedule | None, cohort: Cohort, person_id: PersonId, partner: PersonId
) -> dict[str, Any]:
    if schedule is None:
        return {}
    for s in schedule.series:
        if {s.mentor_id, s.mentee_id} == {person_id, partner}:
            view = series_view(s, cohort)
            mine = view.mentor if s.mentor_id == person_id else view.mentee
            theirs = view.mentee if s.mentor_id == person_id else view.mentor
            exceptions = [f"{d.isoformat()} ({wd} {hhmm})" for d, wd, hhmm in mine.exceptions]
            return {
                "weekday": mine.weekday,
                "local_time": mine.time,
                "timezone": mine.timezone,
                "partner_local_time": f"{theirs.weekday} {theirs.time} ({theirs.timezone})",
                "rhythm": view.words,
                "dst_exceptions": exceptions,
            }
    return {}


def explain(workspace: Path, person_id: PersonId, *, top: int = 5) -> Explanation:
    """Why this person got this partner and this slot, their best alternatives, or why none."""
    program, _ = workspace_program(workspace)
    with open_workspace(workspace, program) as ws:
        cycle = latest_cycle(ws)
        if cycle is None:
            raise UsageError("no cycle in this workspace yet: run `mentorsync run FILE` first")
        cohort = load_cohort(ws, cycle.id)
        if person_id not in cohort:
            import difflib

            close = difflib.get_close_matches(person_id, [p.id for p in cohort.people], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise UsageError(f"no participant with id '{person_id}' in cycle {cycle.id}{hint}")
        pairs = load_pairs(ws, cycle.id)
        unmatched = load_unmatched(ws, cycle.id)
        schedule = load_schedule(ws, cycle.id)
        circle_runs = load_run_summaries(ws, cycle.id, "circles")
    person = cohort[person_id]
    chosen = [(p.mentor_id, p.mentee_id) for p in pairs]
    inst = PlanInstance.build(cohort, program)
    alts, first = alternatives_for(inst, chosen, person_id, top=top, schedule=schedule)
    notes = dst_notes(schedule, cohort).get(person_id, []) if schedule else []
    mine: list[Pair] = [p for p in pairs if person_id in (p.mentor_id, p.mentee_id)]
    data: dict[str, Any] = {
        "id": person.id,
        "name": person.name,
        "role": person.role,
        "timezone": person.timezone,
        "cycle": cycle.id,
        "pairs": [],
        "unmatched": [],
        "alternatives": [],
        "dst_notes": notes,
    }
    lines = [f"{person.name} ({person.id}), {person.role}, {person.timezone}"]
    for p in mine:
        _explain_pair(p, person_id, cohort, schedule, data, lines)
    if person.is_mentor:
        load = sum(p.mentor_id == person_id for p in pairs)
        cap = capacity_of(person, program)
        data["load"] = {"mentees": load, "capacity": cap}
        lines.append(f"\nmentoring {load} of a capacity of {cap}")
    for u in unmatched:
        if u.id == person_id:
            data["unmatched"].append({"role": u.role, "reason": u.reason})
            lines.append(f"\nunmatched as {u.role}: {u.reason}")
    if first:
        data["ranks"] = {"ranks": list(person.ranks), "first_choice": first}
        lines.append(f"\nranked choices: {person.name} {first}")
    if alts:
        lines.append("\nbest alternatives:")
    for a in alts:
        alternative = {"partner_id": a.partner_id, "partner_role": a.partner_role, "score": a.score}
        data["alternatives"].append(alternative | {"why_not": a.why_not})
        name = cohort[a.partner_id].name
        lines.append(f"  {name} ({a.partner_id}, {a.partner_role}), score {a.score}: {a.why_not}")
    if notes:
        lines.append("\nclock changes:")
        lines += [f"  {n}" for n in notes]
    circle, circle_lines = (
        (None, []) if not circle_runs else explain_circle(circle_runs[-1].summary, cohort, person_id)
    )
    if circle is not None:
        data["circle"] = circle
        lines += circle_lines
    if not mine and not data["unmatched"] and circle is None:
        lines.append("\nnot part of any pair this cycle")
    return Explanation(person_id, data, "\n".join(lines))


def _explain_pair(
    p: Pair,
    person_id: PersonId,
    cohort: Cohort,
    schedule: Schedule | None,
    data: dict[str, Any],
    lines: list[str],
) -> None:
    """One of the person's pairs, into ``data`` and the text ``lines``: partner, score, why, slot."""
    as_mentor = p.mentor_id == person_id
    partner = p.mentee_id if as_mentor else p.mentor_id
    slot = _slot_words(schedule, cohort, person_id, partner)
    data["pairs"].append(
        {
            "partner_id": partner,
            "partner_name": cohort[partner].name,
            "as": "mentor" if as_mentor else "mentee",
            "score": p.score,
            "components": dict(p.components),
            "reasons": p.reasons,
            "slot": slot,
        }
    )
    lines.append(
        f"\n{'mentors' if as_mentor else 'mentored by'} {cohort[partner].name} ({partner}): score {p.score}"
    )
    lines.append("  " + ", ".join(f"{k} {v}" for k, v in p.components.items() if v))
    lines.append(f"  why: {p.reasons}")
    if slot:
        day = _FULL_DAYS.get(slot["weekday"][:3], slot["weekday"])
        theirs = f"{slot['partner_local_time']} for them"
        lines.append(f"  meets {day}s at {slot['local_time']} your time ({theirs}), {slot['rhythm']}")
        if slot["dst_exceptions"]:
            lines.append("  at another local time on: " + ", ".join(slot["dst_exceptions"]))
