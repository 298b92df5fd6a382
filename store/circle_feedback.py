"""Feedback about circles in the store (``cycle close``): one row per person and circle.

Stored apart from the pairs' ``feedback`` (whose ``partner_id`` is a participant of the cycle):
here ``FeedbackRow.partner_id`` holds the circle's id. Ratings and comments are private to the
coordinator (``store.privacy`` classifies the columns as for the pairs' feedback).
"""

from __future__ import annotations

from collections.abc import Iterable

from cohort.feedback import FeedbackRow
from store.db import Workspace
from store.repo import require_open, write_transaction


def save_circle_feedback(ws: Workspace, cycle_id: int, rows: Iterable[FeedbackRow]) -> None:
    """Store the cycle's answers about its circles (``partner_id``: the circle id), replacing any
    earlier ones. Whether each names a circle the person was in is the loader's check
    (``cohort.feedback.read_feedback``, which has the file and line). Refused on a closed cycle."""
    with write_transaction(ws, f"save the circle feedback of cycle {cycle_id}") as con:
        require_open(con, cycle_id, "save circle feedback")
        con.execute("DELETE FROM circle_feedback WHERE cycle_id = ?", (cycle_id,))
        con.executemany(
            f"INSERT INTO circle_feedback (cycle_id, person_id, circle_id, ord, wants_continue, rating, "
            f"comment, line) VALUES ({int(cycle_id)}, ?, ?, ?, ?, ?, ?, ?)",
            (
                (r.person_id, r.partner_id, i, bool(r.wants_continue), r.rating, r.comment, r.line)
                for i, r in enumerate(rows)
            ),
        )


def load_circle_feedback(ws: Workspace, cycle_id: int) -> tuple[FeedbackRow, ...]:
    """The cycle's answers about circles, in the order saved (``partner_id``: the circle id)."""
    rows = ws.connection.execute(
        "SELECT person_id, circle_id, wants_continue, rating, comment, line FROM circle_feedback "
        "WHERE cycle_id = ? ORDER BY ord",
        (cycle_id,),
    ).fetchall()
    return tuple(FeedbackRow(r[0], r[1], bool(r[2]), r[3], r[4], r[5]) for r in rows)
