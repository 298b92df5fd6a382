"""``report.html``: one self-contained page for the coordinator (inline CSS, SVG charts and JS).

Charts are drawn by matplotlib and inlined as SVG with a fixed hash salt and no date metadata, so
the same input gives the same bytes. The page is rendered by Jinja2 with autoescaping on, because
names, goals and reasons come from a spreadsheet. No feedback ratings or comments are ever shown.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from cohort.checkins import CheckInSummary
from cohort.limits import MAX_CHART_LABEL_CHARS, MAX_DISPLAY_CHARS, MAX_PAGE_TEXT_CHARS, shorten
from cohort.model import Cohort, PersonId
from cohort.program import Program
from cohort.text import strip_controls
from matcher.model import MatchResult
from report import analysis as an
from scheduler.model import Schedule, Series

MAX_BAR_MENTORS = 40  # above this, the load chart shows a distribution instead of one bar each
MENTOR_COLOUR = "#3b6ea8"
MENTEE_COLOUR = "#e08a2c"
_RC: dict[str, Any] = {
    "svg.fonttype": "none",  # text stays text: small, searchable, the browser's own font
    "text.parse_math": False,  # a '$' in a participant's name must not start mathtext
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
}


def chart_style(extra: dict[str, Any] | None = None) -> Any:
    """Our matplotlib settings (typed ``Any``: matplotlib's stubs want literal keys)."""
    return {**_RC, **(extra or {})}


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = _num
    env.finalize = _bounded
    return env


def _bounded(value: Any) -> Any:
    """Every plain string the page shows: no control characters, at most a few thousand chars
    (markup we built, such as the charts, passes as it is)."""
    if type(value) is str:
        return shorten(strip_controls(value), MAX_PAGE_TEXT_CHARS)
    return value


def _num(value: float, digits: int = 1) -> str:
    """A number for people: thousands separators, no trailing ``.0`` for whole numbers."""
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


@dataclass(frozen=True)
class LoadRow:
    """One mentor's line in the load table."""

    name: str
    id: PersonId
    load: int
    capacity: int
    timezone: str
    waiting: int  # unmatched mentees for whom this mentor is a candidate


# ----------------------------------------------------------------------------------------------
# Charts


def figure_context(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def svg_of(fig: Figure, name: str, label: str) -> Markup:
    """The figure as an inline ``<svg>`` whose ids are prefixed with ``name`` (unique in the page)."""
    buf = io.StringIO()
    with matplotlib.rc_context(chart_style({"svg.hashsalt": f"mentorsync-{name}"})):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'(?<=\s)id="([^"]+)"', rf'id="{name}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{name}-\1)", text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{name}-\1"', text)
    label = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    text = text.replace("<svg ", f'<svg role="img" aria-label="{label}" class="chart" ', 1)
    # matplotlib escapes every text it writes, and the label is escaped above.
    return Markup(text.strip())  # noqa: S704


def _score_histogram(scores: list[int]) -> Markup:
    with matplotlib.rc_context(chart_style()):
        fig = figure_context(5.2, 2.6)
        ax = fig.add_subplot()
        if scores:
            lo, hi = min(scores), max(scores)
            bins = min(20, max(1, hi - lo + 1))
            ax.hist(scores, bins=bins, range=(lo - 0.5, hi + 0.5), color=MENTOR_COLOUR, edgecolor="white")
        else:
            ax.text(0.5, 0.5, "no pairs", ha="center", va="center", transform=ax.transAxes)
        ax.set_title("Score of each pair")
        ax.set_xlabel("score")
        ax.set_ylabel("pairs")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        return svg_of(fig, "scores", "Histogram of pair scores")


def _component_chart(means: Mapping[str, float]) -> Markup:
    with matplotlib.rc_context(chart_style()):
        fig = figure_context(5.2, 2.6)
        ax = fig.add_subplot()
        names = list(means)[::-1]
        values = [means[n] for n in names]
        ax.barh(names, values, color=MENTEE_COLOUR)
        for y, v in enumerate(values):
            if v:
                ax.text(v, y, f" {v:.1f}", va="center", fontsize=8)
        ax.set_title("Mean score per component (weighted)")
        ax.set_xlabel("points")
        ax.margins(x=0.15)
        return svg_of(fig, "components", "Mean score per component")


def _load_chart(rows: list[LoadRow]) -> Markup:
    with matplotlib.rc_context(chart_style()):
        if len(rows) <= MAX_BAR_MENTORS:
            fig = figure_context(8.0, max(1.8, 0.24 * len(rows) + 1.1))
            ax = fig.add_subplot()
            labels = [shorten(r.name, MAX_CHART_LABEL_CHARS) for r in rows][::-1]
            caps = [r.capacity for r in rows][::-1]
            loads = [r.load for r in rows][::-1]
            ax.barh(labels, caps, color="#dfe6ee", label="capacity")
            ax.barh(labels, loads, height=0.5, color=MENTOR_COLOUR, label="mentees")
            ax.set_xlabel("mentees")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            fig.legend(loc="outside lower center", ncols=2, frameon=False)
            ax.set_title("Each mentor's load against capacity")
        else:
            fig = figure_context(8.0, 2.8)
            ax = fig.add_subplot()
            counts = Counter((r.load, r.capacity) for r in rows)
            keys = sorted(counts)
            ax.bar([f"{load}/{cap}" for load, cap in keys], [counts[k] for k in keys], color=MENTOR_COLOUR)
            ax.set_xlabel("mentees / capacity")
            ax.set_ylabel("mentors")
            ax.tick_params(axis="x", labelrotation=45)
            ax.set_title(f"{len(rows)} mentors by load and capacity")
        return svg_of(fig, "load", "Mentor load against capacity")


def _hours_chart(day: an.LocalDay) -> Markup:
    with matplotlib.rc_context(chart_style()):
        fig = figure_context(9.0, 3.0)
        ax = fig.add_subplot()
        hours = list(range(24))
        ax.axvspan(-0.5, an.EARLY_HOUR - 0.5, color="#f3f0fa", zorder=0)
        ax.axvspan(an.LATE_HOUR - 0.5, 23.5, color="#f3f0fa", zorder=0)
        ax.bar([h - 0.2 for h in hours], day.mentor.hours, width=0.4, color=MENTOR_COLOUR, label="mentors")
        ax.bar([h + 0.2 for h in hours], day.mentee.hours, width=0.4, color=MENTEE_COLOUR, label="mentees")
        ax.set_xticks(hours[::2], [f"{h:02d}" for h in hours[::2]])
        ax.set_xlim(-0.5, 23.5)
        ax.set_xlabel("local start hour (shaded: before 08:00 and from 18:00)")
        ax.set_ylabel("meetings")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        fig.legend(loc="outside lower center", ncols=2, frameon=False)
        ax.set_title("When meetings start in each person's own day")
        return svg_of(fig, "hours", "Meetings by local start hour, mentors and mentees")


# ----------------------------------------------------------------------------------------------
# Context


def _name(cohort: Cohort, pid: PersonId) -> str:
    return _shown(cohort[pid].name if pid in cohort else pid)


def _shown(text: str) -> str:
    """A name or id as a page shows it: no control characters, at most ``MAX_DISPLAY_CHARS``."""
    return shorten(strip_controls(text), MAX_DISPLAY_CHARS)


def _pair_rows(
    cohort: Cohort, match: MatchResult, schedule: Schedule, dst_notes: Mapping[PersonId, list[str]]
) -> tuple[list[dict[str, Any]], set[tuple[int, int]]]:
    series_of: dict[tuple[PersonId, PersonId], Series] = {
        (s.mentor_id, s.mentee_id): s for s in schedule.series
    }
    unplaceable = {(u.mentor_id, u.mentee_id): u.reason for u in schedule.unplaceable}
    rows: list[dict[str, Any]] = []
    weeks: set[tuple[int, int]] = set()
    for pair in sorted(match.pairs, key=lambda p: (_name(cohort, p.mentor_id), p.mentor_id, p.mentee_id)):
        key = (pair.mentor_id, pair.mentee_id)
        row: dict[str, Any] = {
            "mentor": _name(cohort, pair.mentor_id),
            "mentor_id": pair.mentor_id,
            "mentee": _name(cohort, pair.mentee_id),
            "mentee_id": pair.mentee_id,
            "score": pair.score,
            "reasons": pair.reasons,
            "slot": None,
            "notes": [],
            "no_slot": unplaceable.get(key, "not scheduled" if key not in series_of else ""),
        }
        if key in series_of:
            view = an.series_view(series_of[key], cohort)
            weeks |= view.exception_weeks
            row["slot"] = view
            row["notes"] = view.notes()
        for pid in key:
            row["notes"] += [f"{_name(cohort, pid)}: {n}" for n in dst_notes.get(pid, ())]
        slot = row["slot"]
        row["search"] = " ".join(
            [row["mentor"], pair.mentor_id, row["mentee"], pair.mentee_id, pair.reasons, row["no_slot"]]
            + (
                [
                    slot.mentor.weekday,
                    slot.mentor.time,
                    slot.mentor.timezone,
                    slot.mentee.weekday,
                    slot.mentee.time,
                    slot.mentee.timezone,
                    slot.words,
                ]
                if slot
                else []
            )
            + row["notes"]
        ).lower()
        rows.append(row)
    return rows, weeks


def _context(
    cohort: Cohort,
    program: Program,
    match: MatchResult,
    schedule: Schedule,
    dst_notes: Mapping[PersonId, list[str]],
    generated_at: datetime | None,
) -> dict[str, Any]:
    categories = an.unmatched_categories(cohort, program, match)
    load_rows = _load_rows(cohort, program, match)
    scores = [p.score for p in match.pairs]
    day = an.local_day(cohort, schedule)
    pair_rows, exception_weeks = _pair_rows(cohort, match, schedule, dst_notes)
    carriers = sorted(
        ((pid, h) for pid, h in day.by_person.items() if h.early + h.late),
        key=lambda item: (-(item[1].early + item[1].late), _name(cohort, item[0]), item[0]),
    )[:15]
    return {
        "program": program,
        "generated": _generated(program, generated_at),
        "headline": _headline(cohort, match, schedule, scores, exception_weeks),
        "unmatched_by_category": sorted(Counter(categories.values()).items(), key=lambda kv: (-kv[1], kv[0])),
        "match": match,
        "solver_gap_pct": 100.0 * match.gap,
        "charts": {
            "scores": _score_histogram(scores),
            "components": _component_chart(an.component_means(match)),
            "load": _load_chart(load_rows),
            "hours": _hours_chart(day),
        },
        "candidates": len(match.candidates),
        "load_rows": load_rows,
        "many_mentors": len(load_rows) > MAX_BAR_MENTORS,
        "full_mentors": sum(1 for r in load_rows if r.load >= r.capacity),
        "spare_seats": sum(max(0, r.capacity - r.load) for r in load_rows),
        "day": day,
        "early_hour": f"{an.EARLY_HOUR:02d}:00",
        "late_hour": f"{an.LATE_HOUR:02d}:00",
        "carriers": [
            {"name": _name(cohort, pid), "id": pid, "timezone": cohort[pid].timezone, "hours": h}
            for pid, h in carriers
        ],
        "unmatched": [
            {
                "name": _name(cohort, u.id),
                "id": u.id,
                "role": u.role,
                "timezone": cohort[u.id].timezone if u.id in cohort else "",
                "category": categories.get(u.id, ""),
                "reason": u.reason,
            }
            for u in sorted(match.unmatched, key=lambda u: (u.role, _name(cohort, u.id), u.id))
        ],
        "unplaceable": [
            {"mentor": _name(cohort, u.mentor_id), "mentee": _name(cohort, u.mentee_id), "reason": u.reason}
            for u in schedule.unplaceable
        ],
        "fixes": [_emphasis(text) for text in an.suggest_fixes(cohort, program, match)],
        "pairs": pair_rows,
    }


def _load_rows(cohort: Cohort, program: Program, match: MatchResult) -> list[LoadRow]:
    """Every mentor's load, capacity and waiting eligible mentees, fullest first."""
    loads = an.mentor_loads(cohort, match)
    waiting_mentees = {u.id for u in match.unmatched if u.role == "mentee"}
    eligible_waiting = Counter(c.mentor_id for c in match.candidates if c.mentee_id in waiting_mentees)
    rows = (
        LoadRow(
            _shown(p.name),
            p.id,
            loads.get(p.id, 0),
            an.capacity_of(p, program),
            p.timezone,
            eligible_waiting.get(p.id, 0),
        )
        for p in cohort.mentors
    )
    return sorted(rows, key=lambda r: (-r.load, -r.capacity, r.name, r.id))


def _headline(
    cohort: Cohort, match: MatchResult, schedule: Schedule, scores: list[int], exception_weeks: Any
) -> dict[str, Any]:
    mentees = cohort.mentees
    matched_mentees = len({p.mentee_id for p in match.pairs})
    return {
        "people": len(cohort),
        "mentors": len(cohort.mentors),
        "mentees": len(mentees),
        "pairs": len(match.pairs),
        "matched_pct": 100.0 * matched_mentees / len(mentees) if mentees else 0.0,
        "mean_score": sum(scores) / len(scores) if scores else 0.0,
        "meetings": len(an.meeting_instants(schedule)),
        "exception_weeks": len(exception_weeks),
        "unplaceable": len(schedule.unplaceable),
    }


def _generated(program: Program, generated_at: datetime | None) -> str | None:
    """When the report was made, in the coordinator's zone (None: not shown)."""
    if generated_at is not None and generated_at.tzinfo is not None:
        zone = program.program.timezone
        return f"{generated_at.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} {zone}"
    if generated_at is not None:
        return f"{generated_at:%Y-%m-%d %H:%M}"
    return None


def _emphasis(text: str) -> Markup:
    """Escape a suggestion and turn its ``*goal*`` marks into ``<em>``."""
    escaped = str(Markup.escape(shorten(strip_controls(text), MAX_PAGE_TEXT_CHARS)))
    return Markup(re.sub(r"\*([^*]+)\*", r"<em>\1</em>", escaped))  # noqa: S704


def _checkin_context(cohort: Cohort, summary: CheckInSummary | None) -> dict[str, Any] | None:
    """Response rates and at-risk pairs in words, or None when nobody has answered yet."""
    if summary is None or not summary.answers and not any(p.latest for p in summary.pairs):
        return None

    def name(pid: PersonId) -> str:
        return cohort[pid].name if pid in cohort else pid

    def words(risk: str) -> str:
        for pid in sorted(cohort.by_id, key=len, reverse=True):
            if pid in risk:
                risk = risk.replace(pid, name(pid))
        return risk

    return {
        "rates": [
            {"number": n, "expected": e, "given": g, "percent": round(100 * g / e) if e else 0}
            for n, e, g in summary.rates
        ],
        "at_risk": [
            {"mentor": name(p.mentor_id), "mentee": name(p.mentee_id), "risks": [words(r) for r in p.risks]}
            for p in summary.at_risk
        ],
        "answers": summary.answers,
    }


def render_report(
    cohort: Cohort,
    program: Program,
    match: MatchResult,
    schedule: Schedule,
    *,
    dst_notes: Mapping[PersonId, list[str]] | None = None,
    generated_at: datetime | None = None,
    checkins: CheckInSummary | None = None,
    bounds: Mapping[str, Any] | None = None,
) -> str:
    """The whole ``report.html`` as a string; the same input and ``generated_at`` give the same bytes.

    ``dst_notes`` (from the scheduler) are shown beside each pair, next to the local-time shifts the
    report computes itself. Without ``generated_at`` the page carries no timestamp. ``bounds``:
    ``summary.json``'s time-aware bounds (``bound_time_aware``, ``gap_time_aware``), shown with
    the solver's figures when given.
    """
    context = _context(cohort, program, match, schedule, dst_notes or {}, generated_at)
    context["checkins"] = _checkin_context(cohort, checkins)
    context["bounds"] = dict(bounds or {})
    return _environment().get_template("report.html.j2").render(**context)
