"""``history.html``: the program over its cycles on one self-contained page (no script, no requests).

Everything on the page comes from ``report.history.HistoryFigures``, the same figures as
``history.csv`` and ``history.json``: charts (matplotlib, inlined as SVG like ``report.html``'s,
with fixed hash salts and no metadata, so the same figures give the same bytes) and tables. A
suppressed figure is drawn as nothing and written as "suppressed"; the page names nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from matplotlib.ticker import MaxNLocator, PercentFormatter

from history.figures import (
    CYCLE_ROWS,
    ENDED_REASONS,
    OVERALL_CARDS,
    PERSON_DISTRIBUTIONS,
    RATES,
    CycleFigures,
    Figure,
    HistoryFigures,
    shown_text,
)
from report.html import MENTEE_COLOUR, MENTOR_COLOUR, chart_style, figure_context, svg_of

NEW_COLOUR = "#5aa469"
ENDED_COLOUR = "#b8c3cf"
RATING_COLOURS = ("#c0392b", "#e67e22", "#d4ac0d", "#7fb77e", "#2e8b57")


def _cell(f: Figure | None) -> dict[str, Any]:
    return {
        "text": shown_text(f, f is not None and f.name in RATES),
        "suppressed": f is not None and f.suppressed,
    }


def _details(c: CycleFigures, name: str) -> list[Figure]:
    return [f for f in c.figures if f.name == name and f.detail]


def _value(f: Figure | None) -> float | None:
    return None if f is None or f.value is None else float(f.value)


# --------------------------------------------------------------------------- charts


def _labels(cycles: Sequence[CycleFigures]) -> list[str]:
    return [f"{c.id}\n{c.start:%b %Y}" for c in cycles]


def _no_data(ax: Any, text: str = "nothing to show (or suppressed)") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#5f6b7a")


def _grouped(
    cycles: Sequence[CycleFigures],
    series: Sequence[tuple[str, str, str, str]],
    title: str,
    name: str,
    rate: bool,
) -> Markup:
    """Bars per cycle, one per ``(figure, detail, label, colour)``; suppressed bars are left out."""
    with matplotlib.rc_context(chart_style()):
        fig = figure_context(5.6, 2.8)
        ax = fig.add_subplot()
        width = 0.8 / max(1, len(series))
        drawn = False
        for i, (figure, detail, label, colour) in enumerate(series):
            xs, ys = [], []
            for x, c in enumerate(cycles):
                v = _value(c.get(figure, detail))
                if v is not None:
                    xs.append(x + (i - (len(series) - 1) / 2) * width)
                    ys.append(100 * v if rate else v)
            drawn |= bool(xs)
            ax.bar(xs, ys, width=width, color=colour, label=label)
        ax.set_xticks(range(len(cycles)), _labels(cycles))
        ax.set_title(title)
        if rate:
            ax.set_ylim(0, 100)
            ax.yaxis.set_major_formatter(PercentFormatter())
        else:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if drawn:
            fig.legend(loc="outside lower center", ncols=len(series), frameon=False)
        else:
            _no_data(ax)
        return svg_of(fig, name, title)


def _pairs_chart(cycles: Sequence[CycleFigures]) -> Markup:
    """Continuing and new pairs stacked, ended pairs beside them."""
    with matplotlib.rc_context(chart_style()):
        fig = figure_context(5.6, 2.8)
        ax = fig.add_subplot()
        xs = range(len(cycles))
        keep = [_value(c.get("pairs_continuing")) for c in cycles]
        new = [_value(c.get("pairs_new")) for c in cycles]
        ended = [_value(c.get("pairs_ended")) for c in cycles]
        stacked = [
            (i, k, n) for i, k, n in zip(xs, keep, new, strict=True) if k is not None and n is not None
        ]
        left = [i - 0.2 for i, _, _ in stacked]
        ax.bar(left, [k for _, k, _ in stacked], 0.4, color=MENTOR_COLOUR, label="continuing")
        bottoms = [k for _, k, _ in stacked]
        ax.bar(left, [n for _, _, n in stacked], 0.4, bottom=bottoms, color=NEW_COLOUR, label="new")
        done = [(i + 0.2, e) for i, e in zip(xs, ended, strict=True) if e is not None]
        ax.bar([x for x, _ in done], [e for _, e in done], 0.4, color=ENDED_COLOUR, label="ended")
        ax.set_xticks(list(xs), _labels(cycles))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("Pairs from one cycle to the next")
        fig.legend(loc="outside lower center", ncols=3, frameon=False)
        if not stacked and not done:
            _no_data(ax)
        return svg_of(fig, "pairs", "Continuing, new and ended pairs per cycle")


def _checkin_chart(cycles: Sequence[CycleFigures]) -> Markup:
    """Response rate and "met since the last check-in" rate per month, every cycle in turn."""
    months: list[tuple[str, float | None, float | None]] = []
    for c in cycles:
        for f in _details(c, "checkin_response_rate_by_month"):
            met = c.get("checkin_met_rate_by_month", f.detail)
            months.append((f"{f.detail}\n#{c.id}", _value(f), _value(met)))
    with matplotlib.rc_context(chart_style()):
        fig = figure_context(9.0, 2.9)
        ax = fig.add_subplot()
        xs = list(range(len(months)))
        for k, (label, colour, marker) in enumerate(
            (("answered the check-in", MENTOR_COLOUR, "o"), ("met since the last one", MENTEE_COLOUR, "s"))
        ):
            values = [m[1] if k == 0 else m[2] for m in months]
            ys = [100 * v if v is not None else float("nan") for v in values]
            ax.plot(xs, ys, color=colour, marker=marker, label=label)
        ax.set_xticks(xs, [m[0] for m in months])
        ax.set_ylim(0, 105)
        ax.yaxis.set_major_formatter(PercentFormatter())
        ax.set_title("Check-ins by month (gaps: suppressed)")
        if months:
            fig.legend(loc="outside lower center", ncols=2, frameon=False)
        else:
            _no_data(ax, "no check-in was due")
        return svg_of(fig, "checkins", "Check-in response and met rates by month")


def _ratings_chart(cycles: Sequence[CycleFigures]) -> Markup:
    """Each cycle's end-of-cycle ratings as shares of 1 to 5, stacked."""
    with matplotlib.rc_context(chart_style()):
        fig = figure_context(5.6, 2.8)
        ax = fig.add_subplot()
        bottoms = [0.0] * len(cycles)
        totals = []
        for c in cycles:
            values = [_value(f) for f in _details(c, "rating")]
            totals.append(
                sum(v for v in values if v is not None) if all(v is not None for v in values) else 0
            )
        for r, colour in zip(range(1, 6), RATING_COLOURS, strict=True):
            ys = []
            for i, c in enumerate(cycles):
                v = _value(c.get("rating", str(r)))
                ys.append(100 * v / totals[i] if v is not None and totals[i] else 0.0)
            ax.bar(range(len(cycles)), ys, 0.6, bottom=bottoms, color=colour, label=str(r))
            bottoms = [b + y for b, y in zip(bottoms, ys, strict=True)]
        ax.set_xticks(range(len(cycles)), _labels(cycles))
        ax.set_ylim(0, 100)
        ax.yaxis.set_major_formatter(PercentFormatter())
        ax.set_title("Ratings at each cycle's end (1 to 5)")
        fig.legend(loc="outside lower center", ncols=5, frameon=False)
        if not any(totals):
            _no_data(ax)
        return svg_of(fig, "ratings", "Share of each rating per cycle")


def _distribution_chart(overall: Sequence[Figure], name: str, label: str) -> Markup:
    bins = [f for f in overall if f.name == name and f.detail]
    with matplotlib.rc_context(chart_style()):
        fig = figure_context(4.2, 2.3)
        ax = fig.add_subplot()
        shown = [f for f in bins if f.value is not None]
        ax.bar([f.detail for f in shown], [f.value or 0 for f in shown], color=MENTOR_COLOUR)
        ax.set_xlabel(label)
        ax.set_ylabel("people")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(label.capitalize() + " over all cycles")
        if not shown:
            _no_data(ax)
        return svg_of(fig, name, f"People by {label}")


# --------------------------------------------------------------------------- page


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _breakdown(cycles: Sequence[CycleFigures], name: str) -> dict[str, Any]:
    """A table of one detailed figure: its details as rows, cycles as columns."""
    details = list(dict.fromkeys(f.detail for c in cycles for f in _details(c, name)))
    return {
        "details": details,
        "rows": [[_cell(c.get(name, d)) for c in cycles] for d in details],
    }


def _context(figures: HistoryFigures, program_name: str, generated_at: datetime | None) -> dict[str, Any]:
    cycles = figures.cycles
    overall = figures.overall

    def total(name: str) -> Figure | None:
        return next((f for f in overall if f.name == name and not f.detail), None)

    return {
        "program_name": program_name,
        "generated": f"{generated_at:%Y-%m-%d %H:%M} UTC" if generated_at else None,
        "min_group": figures.min_group,
        "cycles": cycles,
        "cards": [{"label": label, "text": shown_text(total(name))} for name, label in OVERALL_CARDS],
        "cycle_rows": [
            {"label": label, "cells": [_cell(c.get(name)) for c in cycles]} for name, label in CYCLE_ROWS
        ],
        "months": [
            {
                "cycle": c.id,
                "month": f.detail,
                "expected": _cell(c.get("checkin_expected", f.detail)),
                "answered": _cell(c.get("checkin_answered", f.detail)),
                "response": _cell(f),
                "met": _cell(c.get("checkin_met_rate_by_month", f.detail)),
            }
            for c in cycles
            for f in _details(c, "checkin_response_rate_by_month")
        ],
        "ratings": _breakdown(cycles, "rating"),
        "would_continue": _breakdown(cycles, "would_continue"),
        "verdicts": _breakdown(cycles, "verdict"),
        "circle_ratings": _breakdown(cycles, "circle_rating"),
        "circle_continue": _breakdown(cycles, "circle_would_continue"),
        "ended_reasons": _breakdown(cycles, "ended_early_reason"),
        "reasons_order": ENDED_REASONS,
        "roles": _breakdown(cycles, "off_hours_rate_by_role"),
        "zones": _breakdown(cycles, "off_hours_rate_by_zone"),
        "zone_people": _breakdown(cycles, "zone_people"),
        "distributions": [
            {
                "label": label,
                "chart": _distribution_chart(overall, name, label),
                "bins": [{"k": f.detail, **_cell(f)} for f in overall if f.name == name and f.detail],
            }
            for name, label in PERSON_DISTRIBUTIONS
        ],
        "taken_part": [{"k": f.detail, **_cell(f)} for f in overall if f.name == "cycles_taken_part"],
        "charts": {
            "people": _grouped(
                cycles,
                (
                    ("people", "", "people", "#24364b"),
                    ("mentees", "", "want a mentor", MENTEE_COLOUR),
                    ("mentees_matched", "", "matched", MENTOR_COLOUR),
                ),
                "People and mentees matched",
                "people",
                rate=False,
            ),
            "pairs": _pairs_chart(cycles),
            "checkins": _checkin_chart(cycles),
            "ratings": _ratings_chart(cycles),
            "off_hours": _grouped(
                cycles,
                (
                    ("off_hours_rate", "", "everyone", "#24364b"),
                    ("off_hours_rate_by_role", "mentor", "mentors", MENTOR_COLOUR),
                    ("off_hours_rate_by_role", "mentee", "mentees", MENTEE_COLOUR),
                ),
                "Meetings before 08:00 or from 18:00 local",
                "offhours",
                rate=True,
            ),
        },
    }


def render_history(
    figures: HistoryFigures, program_name: str, *, generated_at: datetime | None = None
) -> str:
    """The whole ``history.html``; the same figures (and ``generated_at``) give the same bytes."""
    return (
        _environment().get_template("history.html.j2").render(**_context(figures, program_name, generated_at))
    )


__all__ = ["render_history"]
