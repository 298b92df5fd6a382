"""A cycle's circles in the store: who meets in which circle, why, every meeting of it, and the
feedback about it.

``save_circles`` replaces the cycle's circles in one transaction (composable: inside a caller's
transaction it is a savepoint, so ``run`` and ``rematch`` commit pairs and circles together);
``load_circles`` gives back exactly the ``CircleRecord`` values saved, in their order. Series and
milestones use the pairs' record codec (``scheduler.codec``), so a circle's meetings read back as
the same ``Series``/``Event`` values (with ``circle_id`` and ``member_ids``) the feeds are built
from. A new match of the cycle drops its circles (they were placed around the old pairs).

Feedback about circles (``cycle close``), one row per person and circle, is stored apart from the
pairs' ``feedback`` (whose ``partner_id`` is a participant of the cycle): here
``FeedbackRow.partner_id`` holds the circle's id. Ratings and comments are private to the
coordinator (``store.privacy`` classifies the columns as for the pairs' feedback).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from cohort.errors import StoreError
from cohort.feedback import FeedbackRow
from cohort.model import PersonId
from scheduler.codec import event_from_dict, event_to_dict, series_from_dict, series_to_dict
from scheduler.model import CircleRecord, Event, Series
from store import serialize as sz
from store.db import Workspace
from store.repo import CIRCLE_TABLES, require_open, write_transaction


def _check(cycle_id: int, circles: list[CircleRecord]) -> None:
    what = f"save the circles of cycle {cycle_id}"
    ids = [c.circle_id for c in circles]
    uids = [u for c in circles for u in (c.series.uid, *(e.uid for e in c.events))]
    for label, values in (("circle id", ids), ("UID", uids)):
        seen: set[str] = set()
        for v in values:
            if v in seen:
                raise StoreError(f"{what}: {label} {v!r} is used twice")
            seen.add(v)
    for c in circles:
        if c.kind not in ("mentor-led", "peer") or (c.kind == "peer") != (c.mentor_id is None):
            raise StoreError(f"{what}: circle {c.circle_id} is {c.kind!r} with mentor {c.mentor_id!r}")
        items: list[Series | Event] = [c.series, *c.events]
        for item in items:
            if item.circle_id != c.circle_id or item.member_ids != c.member_ids:
                raise StoreError(f"{what}: meeting {item.uid} does not belong to circle {c.circle_id}")


def save_circles(ws: Workspace, cycle_id: int, circles: Iterable[CircleRecord]) -> None:
    """Store the cycle's circles with their members, series and milestones, replacing any earlier
    ones (an empty ``circles`` clears them). Every person must be in the cycle's roster; circle
    ids and UIDs must be unique within the cycle. Refused on a closed cycle."""
    records = list(circles)
    _check(cycle_id, records)
    cid = int(cycle_id)
    with write_transaction(ws, f"save the circles of cycle {cycle_id}") as con:
        require_open(con, cid, "save circles")
        for table in CIRCLE_TABLES:
            con.execute(f"DELETE FROM {table} WHERE cycle_id = ?", (cid,))
        con.executemany(
            f"INSERT INTO circles (cycle_id, circle_id, ord, kind, mentor_id, score, reasons, goals, "
            f"languages) VALUES ({cid}, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    c.circle_id,
                    i,
                    c.kind,
                    c.mentor_id,
                    c.score,
                    c.reasons,
                    sz.dumps(list(c.goals)),
                    sz.dumps(list(c.languages)),
                )
                for i, c in enumerate(records)
            ),
        )
        con.executemany(
            f"INSERT INTO circle_members (cycle_id, circle_id, person_id, ord) VALUES ({cid}, ?, ?, ?)",
            ((c.circle_id, pid, i) for c in records for i, pid in enumerate(c.member_ids)),
        )
        series = [(c.circle_id, series_to_dict(c.series)) for c in records]
        con.executemany(
            f"INSERT INTO circle_series (cycle_id, uid, circle_id, timezone, dtstart, duration_minutes, "
            f"rrule, exdates, occurrences, cadence, agenda, sequence) "
            f"VALUES ({cid}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((d["uid"], circle, *sz.series_columns(d)) for circle, d in series),
        )
        con.executemany(
            f"INSERT INTO circle_events (cycle_id, uid, circle_id, ord, kind, start, duration_minutes, "
            f"timezone, agenda, sequence) VALUES ({cid}, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (d["uid"], c.circle_id, i, *sz.event_columns(d))
                for c in records
                for i, d in enumerate(map(event_to_dict, c.events))
            ),
        )


def load_circles(ws: Workspace, cycle_id: int) -> tuple[CircleRecord, ...]:
    """The cycle's circles exactly as saved, in their order (empty when it has none)."""
    con = ws.connection
    members: dict[str, list[PersonId]] = {}
    for r in con.execute(
        "SELECT circle_id, person_id FROM circle_members WHERE cycle_id = ? ORDER BY circle_id, ord",
        (cycle_id,),
    ):
        members.setdefault(r[0], []).append(r[1])
    heads = con.execute(
        "SELECT circle_id, kind, mentor_id, score, reasons, goals, languages FROM circles "
        "WHERE cycle_id = ? ORDER BY ord",
        (cycle_id,),
    ).fetchall()
    series: dict[str, dict[str, Any]] = {}
    for r in con.execute(
        "SELECT circle_id, uid, timezone, dtstart, duration_minutes, rrule, exdates, occurrences, "
        "cadence, agenda, sequence FROM circle_series WHERE cycle_id = ?",
        (cycle_id,),
    ):
        series[r[0]] = {
            "uid": r[1],
            "timezone": r[2],
            "dtstart": r[3],
            "duration_minutes": r[4],
            "rrule": r[5],
            "exdates": sz.loads(r[6]),
            "occurrences": sz.loads(r[7]),
            "cadence": r[8],
            "agenda": r[9],
            "sequence": r[10],
        }
    events: dict[str, list[dict[str, Any]]] = {}
    for r in con.execute(
        "SELECT circle_id, uid, kind, start, duration_minutes, timezone, agenda, sequence "
        "FROM circle_events WHERE cycle_id = ? ORDER BY circle_id, ord",
        (cycle_id,),
    ):
        events.setdefault(r[0], []).append(
            {
                "uid": r[1],
                "kind": r[2],
                "start": r[3],
                "duration_minutes": r[4],
                "timezone": r[5],
                "agenda": r[6],
                "sequence": r[7],
            }
        )
    out = []
    for circle_id, kind, mentor_id, score, reasons, goals, languages in heads:
        ids = tuple(members.get(circle_id, ()))
        who = {"mentor_id": mentor_id or "", "mentee_id": ""}
        s = replace(series_from_dict({**who, **series[circle_id]}), circle_id=circle_id, member_ids=ids)
        out.append(
            CircleRecord(
                circle_id,
                kind,
                mentor_id,
                ids,
                score,
                reasons,
                tuple(sz.loads(goals)),
                tuple(sz.loads(languages)),
                s,
                tuple(
                    replace(event_from_dict({**who, **d}), circle_id=circle_id, member_ids=ids)
                    for d in events.get(circle_id, ())
                ),
            )
        )
    return tuple(out)


def circles_of_person(ws: Workspace, cycle_id: int, person_id: PersonId) -> tuple[str, ...]:
    """Ids of the cycle's circles ``person_id`` meets in (as mentor or member), in circle order."""
    rows = ws.connection.execute(
        "SELECT c.circle_id FROM circles c WHERE c.cycle_id = ? AND (c.mentor_id = ? OR EXISTS ("
        "SELECT 1 FROM circle_members m WHERE m.cycle_id = c.cycle_id AND m.circle_id = c.circle_id "
        "AND m.person_id = ?)) ORDER BY c.ord",
        (cycle_id, person_id, person_id),
    ).fetchall()
    return tuple(r[0] for r in rows)


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
