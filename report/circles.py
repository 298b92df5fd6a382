"""The circles section of ``report.html`` (present only when circles were formed or asked for)."""

from __future__ import annotations

from html import escape

from cohort.model import Cohort
from planner.circles.model import CirclePlan
from scheduler.recurrence import zone


def circles_section(cohort: Cohort, plan: CirclePlan) -> str:
    """An HTML ``<section id="circles">``: figures, one row per circle, people not placed."""
    out = [
        '<section id="circles">',
        "<h2>Circles</h2>",
        f"<p>{plan.placed} of {plan.pool} circle members placed in {len(plan.circles)} circles "
        f"(bound {plan.bound:.0f}, gap {plan.gap:.1%}, {escape(plan.method)} over {plan.candidates} "
        "candidate circles).</p>",
    ]
    if plan.circles:
        out.append(
            "<table><thead><tr><th>circle</th><th>mentor</th><th>members</th>"
            '<th class="num">score</th><th>reasons</th><th>first meeting</th></tr></thead><tbody>'
        )
        for c in plan.circles:
            mentor = escape(cohort[c.mentor_id].name) if c.mentor_id else '<span class="muted">peer</span>'
            members = ", ".join(escape(cohort[m].name) for m in c.member_ids)
            first = c.slot.meetings[0].start.astimezone(zone(c.slot.pattern.timezone))
            when = f"{first:%a %d %b %H:%M} {escape(c.slot.pattern.timezone)}"
            out.append(
                f"<tr><td>{escape(c.id)}</td><td>{mentor}</td><td>{members}</td>"
                f'<td class="num">{c.score}</td><td>{escape(c.reasons)}</td><td>{when}</td></tr>'
            )
        out.append("</tbody></table>")
    if plan.unplaced:
        out.append("<h3>Not in a circle</h3><ul>")
        for u in plan.unplaced:
            out.append(f"<li>{escape(cohort[u.id].name)} ({escape(u.id)}): {escape(u.reason)}</li>")
        out.append("</ul>")
    out.append("</section>")
    return "\n".join(out) + "\n"


def with_circles(html: str, cohort: Cohort, plan: CirclePlan) -> str:
    """``report.html`` with the circles section added at the end of its main content."""
    at = html.rfind("</main>")
    return html if at < 0 else html[:at] + circles_section(cohort, plan) + html[at:]
