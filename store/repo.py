"""Data access for the workspace: cycles, roster snapshots, matches, schedules, feedback, runs.

Every write runs inside ``ws.transaction()``: it lands whole or not at all, also when a caller
composes several writes into one larger transaction (nested calls use savepoints). Loading gives
back exactly the values that were saved (same order, same types).

The cycle rules:

* At most one cycle is *open*. ``import_cohort`` creates one when none is open; its dates are the
  program's ``[cycle]`` dates, which must start after the last closed cycle's last day (cycles
  never overlap and history only moves forward).
* Re-importing into the open cycle before it has a saved match replaces its roster, program
  snapshot, source and dates.
* Once the open cycle has a saved match, re-importing the same roster with the same program text is
  a no-op (so re-running ``run`` is safe); a different roster is refused unless
  ``replace_matched=True``, which replaces the roster and drops the cycle's match, schedule and
  feedback, for a caller that re-matches in the same transaction (``rematch --mid-cycle``).
* ``close_cycle`` freezes a cycle: its match, schedule and feedback can no longer change.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cohort.checkins import CheckIn
from cohort.errors import StoreError
from cohort.feedback import FeedbackRow
from cohort.model import Cohort, Person, PersonId
from cohort.program import Program, example_toml
from cohort.progress import Progress, ProgressEvent
from matcher.model import MatchResult, Pair, Unmatched
from scheduler.codec import event_from_dict, event_to_dict, series_from_dict, series_to_dict
from scheduler.model import Schedule, Unplaceable
from store import serialize as sz
from store.db import Workspace, workspace_secret

PairKey = tuple[PersonId, PersonId]  # (mentor_id, mentee_id)

CIRCLE_TABLES = ("circle_events", "circle_series", "circle_members", "circles")  # store.circles
BATCH_ROWS = 5000  # rows per executemany batch; progress is reported between batches


@dataclass(frozen=True)
class CycleInfo:
    """One cycle as listed by ``mentorsync cycle list``; counts are of its stored rows."""

    id: int
    start: date
    last_day: date
    status: str  # "open" | "closed"
    source: str
    source_sha256: str | None
    roster_sha256: str
    created_at: datetime
    closed_at: datetime | None
    people: int
    pairs: int
    matched: bool  # a match has been saved
    scheduled: bool  # a schedule has been saved

    @property
    def is_open(self) -> bool:
        return self.status == "open"


@dataclass(frozen=True)
class RunInfo:
    """One stored run summary (what ``summary.json`` held, or any step's figures)."""

    id: int
    cycle_id: int | None
    kind: str
    summary: Mapping[str, Any]
    created_at: datetime


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@contextlib.contextmanager
def write_transaction(ws: Workspace, what: str) -> Iterator[sqlite3.Connection]:
    """A transaction whose constraint failures become ``StoreError`` naming the operation."""
    try:
        with ws.transaction() as con:
            yield con
    except sqlite3.IntegrityError as exc:
        raise StoreError(
            f"{what}: the workspace database refused the change ({exc}); nothing was written"
        ) from exc
    except sqlite3.OperationalError as exc:  # locked, disk full, I/O error
        raise StoreError(f"{what}: the workspace database failed ({exc}); nothing was written") from exc


# --------------------------------------------------------------------------- cycles

_CYCLE_SELECT = """
SELECT c.id, c.start, c.last_day, c.status, c.source, c.source_sha256, c.roster_sha256,
       c.created_at, c.closed_at,
       (SELECT count(*) FROM participants p WHERE p.cycle_id = c.id),
       (SELECT count(*) FROM pairs p WHERE p.cycle_id = c.id),
       EXISTS (SELECT 1 FROM results r WHERE r.cycle_id = c.id AND r.kind = 'match'),
       EXISTS (SELECT 1 FROM results r WHERE r.cycle_id = c.id AND r.kind = 'schedule')
FROM cycles c
"""


def _cycle(row: Any) -> CycleInfo:
    return CycleInfo(
        id=row[0],
        start=date.fromisoformat(row[1]),
        last_day=date.fromisoformat(row[2]),
        status=row[3],
        source=row[4],
        source_sha256=row[5],
        roster_sha256=row[6],
        created_at=datetime.fromisoformat(row[7]),
        closed_at=datetime.fromisoformat(row[8]) if row[8] else None,
        people=row[9],
        pairs=row[10],
        matched=bool(row[11]),
        scheduled=bool(row[12]),
    )


def list_cycles(ws: Workspace) -> tuple[CycleInfo, ...]:
    """Every cycle, oldest first."""
    rows = ws.connection.execute(_CYCLE_SELECT + " ORDER BY c.start, c.id").fetchall()
    return tuple(_cycle(r) for r in rows)


def get_cycle(ws: Workspace, cycle_id: int) -> CycleInfo:
    """The cycle with this id; ``StoreError`` if there is none."""
    row = ws.connection.execute(_CYCLE_SELECT + " WHERE c.id = ?", (cycle_id,)).fetchone()
    if row is None:
        known = ", ".join(str(c.id) for c in list_cycles(ws)) or "none yet"
        raise StoreError(f"no cycle {cycle_id} in the workspace (cycles: {known})")
    return _cycle(row)


def current_cycle(ws: Workspace) -> CycleInfo | None:
    """The open cycle, or ``None`` when every cycle is closed (or there is none)."""
    row = ws.connection.execute(_CYCLE_SELECT + " WHERE c.status = 'open'").fetchone()
    return _cycle(row) if row else None


def latest_cycle(ws: Workspace) -> CycleInfo | None:
    """The most recent cycle, open or closed."""
    row = ws.connection.execute(_CYCLE_SELECT + " ORDER BY c.start DESC, c.id DESC LIMIT 1").fetchone()
    return _cycle(row) if row else None


def change_signature(ws: Workspace) -> tuple[Any, ...]:
    """A cheap value that changes whenever a cycle, its roster or status, or a run changes (what
    the server's cache of the latest cycle is keyed by)."""
    return tuple(
        ws.connection.execute(
            "SELECT (SELECT MAX(id) FROM cycles), (SELECT status || roster_sha256 FROM cycles "
            "ORDER BY id DESC LIMIT 1), (SELECT MAX(id) FROM runs)"
        ).fetchone()
    )


def previous_cycle(ws: Workspace, cycle_id: int) -> CycleInfo | None:
    """The cycle just before ``cycle_id`` in time (the one whose feedback and pairs carry over)."""
    this = get_cycle(ws, cycle_id)
    row = ws.connection.execute(
        _CYCLE_SELECT + " WHERE c.start < ? ORDER BY c.start DESC, c.id DESC LIMIT 1",
        (this.start.isoformat(),),
    ).fetchone()
    return _cycle(row) if row else None


def require_open(con: sqlite3.Connection, cycle_id: int, action: str) -> None:
    """``StoreError`` naming ``action`` unless ``cycle_id`` exists and is open (history is frozen)."""
    row = con.execute("SELECT status FROM cycles WHERE id = ?", (cycle_id,)).fetchone()
    if row is None:
        raise StoreError(f"cannot {action}: no cycle {cycle_id} in the workspace")
    if row[0] != "open":
        raise StoreError(f"cannot {action}: cycle {cycle_id} is closed (its history is kept as it was)")


def _check_after_history(con: sqlite3.Connection, start: date, last_day: date) -> None:
    """Cycles never overlap and history moves forward: a cycle starts after every closed one ends."""
    last = con.execute(
        "SELECT id, start, last_day FROM cycles WHERE status = 'closed' ORDER BY last_day DESC LIMIT 1"
    ).fetchone()
    if last is not None and start.isoformat() <= last[2]:
        raise StoreError(
            f"the cycle {start}..{last_day} from program.toml does not start after closed cycle "
            f"{last[0]} ({last[1]}..{last[2]}); move [cycle] start in program.toml after {last[2]}"
        )


def _file_sha256(path: str | Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return None


def import_cohort(
    ws: Workspace,
    cohort: Cohort,
    program: Program,
    program_text: str = "",
    source_path: str | Path = "",
    *,
    replace_matched: bool = False,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> int:
    """Store ``cohort`` as the roster of the open cycle (see the module doc for the rules).

    ``program_text`` is the ``program.toml`` in force (when empty, the program's full rendering is
    stored instead). Returns the cycle id. ``progress`` gets an "import" event (written, total)
    after each batch of ``batch_rows`` people, inside the transaction.
    """
    encode = sz.person_encoder()
    rows = [encode(i, p) for i, p in enumerate(cohort.people)]
    roster_sha = _roster_digest(rows)
    text = program_text or example_toml(program)
    source = str(source_path) if str(source_path) else cohort.source
    source_sha = _file_sha256(source_path) if str(source_path) else None
    start, last_day = program.cycle.start, program.cycle.last_day

    with write_transaction(ws, "import") as con:
        row = con.execute(
            "SELECT c.id, c.roster_sha256, c.program_toml, "
            "EXISTS (SELECT 1 FROM results r WHERE r.cycle_id = c.id AND r.kind = 'match') "
            "FROM cycles c WHERE c.status = 'open'"
        ).fetchone()
        if row is not None:
            cycle_id, old_sha, old_text, matched = row[0], row[1], row[2], bool(row[3])
            if matched:
                if old_sha == roster_sha and old_text == text:
                    return int(cycle_id)
                if not replace_matched:
                    raise StoreError(
                        f"cycle {cycle_id} is open and already matched; close it first with "
                        "`mentorsync cycle close --feedback FILE`, then import the next roster"
                    )
                _drop_plan(con, cycle_id)
            _check_after_history(con, start, last_day)
            con.execute("DELETE FROM participants WHERE cycle_id = ?", (cycle_id,))
            con.execute(
                "UPDATE cycles SET start = ?, last_day = ?, program_toml = ?, source = ?, "
                "source_sha256 = ?, roster_sha256 = ? WHERE id = ?",
                (start.isoformat(), last_day.isoformat(), text, source, source_sha, roster_sha, cycle_id),
            )
        else:
            _check_after_history(con, start, last_day)
            cur = con.execute(
                "INSERT INTO cycles (start, last_day, status, program_toml, source, source_sha256, "
                "roster_sha256, created_at) VALUES (?, ?, 'open', ?, ?, ?, ?, ?)",
                (start.isoformat(), last_day.isoformat(), text, source, source_sha, roster_sha, _now()),
            )
            cycle_id = cur.lastrowid
        _insert_people(con, int(cycle_id), rows, progress, batch_rows)
    return int(cycle_id)


def _roster_digest(rows: list[tuple[Any, ...]]) -> str:
    """The roster's sha256, over the rows in blocks of 5,000 (the stored digests' own form)."""
    digest = hashlib.sha256()
    for lo in range(0, len(rows), 5000):
        digest.update(repr(rows[lo : lo + 5000]).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _drop_plan(con: sqlite3.Connection, cycle_id: int) -> None:
    """Everything planned in the open cycle (``replace_matched``): feedback, circles, schedule, pairs."""
    tables = ("feedback", "circle_feedback", *CIRCLE_TABLES, "events", "series", "unplaceable", "unmatched")
    for table in (*tables, "pairs"):
        con.execute(f"DELETE FROM {table} WHERE cycle_id = ?", (cycle_id,))
    con.execute("DELETE FROM results WHERE cycle_id = ?", (cycle_id,))


def _insert_people(
    con: sqlite3.Connection,
    cycle_id: int,
    rows: list[tuple[Any, ...]],
    progress: Progress | None,
    batch_rows: int,
) -> None:
    # cycle_id is our own integer, so it can be inlined: the rows stay cycle-independent.
    sql = (
        f"INSERT INTO participants (cycle_id, {', '.join(sz.PERSON_COLUMNS)}) "
        f"VALUES ({cycle_id}, {', '.join('?' * len(sz.PERSON_COLUMNS))})"
    )
    for lo in range(0, len(rows), batch_rows):
        con.executemany(sql, rows[lo : lo + batch_rows])
        if progress is not None:
            written = min(lo + batch_rows, len(rows))
            progress(
                ProgressEvent(
                    "import",
                    "info",
                    f"{written:,} of {len(rows):,} people stored",
                    {"written": written, "total": len(rows)},
                )
            )


def load_cohort(ws: Workspace, cycle_id: int) -> Cohort:
    """The roster imported for ``cycle_id``: exactly the ``Person`` values, in file order."""
    info = ws.connection.execute("SELECT source FROM cycles WHERE id = ?", (cycle_id,)).fetchone()
    if info is None:
        get_cycle(ws, cycle_id)  # raises the helpful error
    cur = ws.connection.cursor()
    cur.row_factory = None
    cur.execute(
        f"SELECT {', '.join(sz.PERSON_COLUMNS)} FROM participants WHERE cycle_id = ? ORDER BY ord",
        (cycle_id,),
    )
    decode = sz.person_decoder()
    return Cohort(tuple(decode(r) for r in cur), source=info[0])


def former_people(ws: Workspace, ids: Iterable[PersonId]) -> dict[PersonId, Person]:
    """The latest stored record of each of ``ids`` (people of earlier cycles, e.g. a history
    partner who has left), so old meetings keep naming them; ids never stored are left out."""
    wanted = sorted(set(ids))
    out: dict[PersonId, Person] = {}
    if not wanted:
        return out
    cur = ws.connection.cursor()
    cur.row_factory = None
    decode = sz.person_decoder()
    cols = ", ".join(f"p.{c}" for c in sz.PERSON_COLUMNS)
    for i in range(0, len(wanted), 500):  # within SQLite's bound-parameter limit
        chunk = wanted[i : i + 500]
        cur.execute(
            f"SELECT {cols} FROM participants p WHERE p.person_id IN ({','.join('?' * len(chunk))}) "
            "ORDER BY p.cycle_id",
            chunk,
        )
        for row in cur:
            person = decode(row)
            out[person.id] = person  # later cycles overwrite earlier ones
    return out


def load_program_text(ws: Workspace, cycle_id: int) -> str:
    """The ``program.toml`` text in force when the cycle's roster was imported."""
    row = ws.connection.execute("SELECT program_toml FROM cycles WHERE id = ?", (cycle_id,)).fetchone()
    if row is None:
        get_cycle(ws, cycle_id)
    return str(row[0])


def load_program(ws: Workspace, cycle_id: int) -> Program:
    """The program settings of a past cycle, parsed from its snapshot."""
    import tomllib

    from cohort.program import parse_program

    text = load_program_text(ws, cycle_id)
    return parse_program(tomllib.loads(text), f"cycle {cycle_id} program.toml", text)


def close_cycle(ws: Workspace, cycle_id: int) -> CycleInfo:
    """Close the open cycle ``cycle_id``: from now on its history is read-only."""
    with write_transaction(ws, "close cycle") as con:
        require_open(con, cycle_id, f"close cycle {cycle_id}")
        con.execute("UPDATE cycles SET status = 'closed', closed_at = ? WHERE id = ?", (_now(), cycle_id))
    return get_cycle(ws, cycle_id)


# --------------------------------------------------------------------------- matches


def save_match(
    ws: Workspace,
    cycle_id: int,
    result: MatchResult,
    *,
    origins: Mapping[PairKey, str] | None = None,
) -> None:
    """Store the cycle's pairs, unmatched people and solver figures, replacing any earlier match.

    A new match invalidates the cycle's schedule, which is dropped in the same transaction (save the
    new schedule after). A pair's origin is ``continued`` when the same mentor and mentee were
    paired in the previous cycle, else ``new``; ``origins`` overrides that per pair. Candidates are
    not stored: they are recomputed from the roster and the program snapshot.
    """
    with write_transaction(ws, f"save the match of cycle {cycle_id}") as con:
        require_open(con, cycle_id, "save a match")
        # circles were placed around the old pairs' meetings: they go too (save them after)
        for table in (*CIRCLE_TABLES, "events", "series", "unplaceable", "unmatched", "pairs"):
            con.execute(f"DELETE FROM {table} WHERE cycle_id = ?", (cycle_id,))
        con.execute("DELETE FROM results WHERE cycle_id = ?", (cycle_id,))
        con.executemany(
            f"INSERT INTO pairs (cycle_id, mentor_id, mentee_id, ord, score, components, reasons) "
            f"VALUES ({int(cycle_id)}, ?, ?, ?, ?, ?, ?)",
            (
                (p.mentor_id, p.mentee_id, i, p.score, sz.components_text(p.components), p.reasons)
                for i, p in enumerate(result.pairs)
            ),
        )
        con.executemany(
            f"INSERT INTO unmatched (cycle_id, person_id, role, ord, reason) "
            f"VALUES ({int(cycle_id)}, ?, ?, ?, ?)",
            ((u.id, u.role, i, u.reason) for i, u in enumerate(result.unmatched)),
        )
        prev = con.execute(
            "SELECT p.id FROM cycles p, cycles c WHERE c.id = ? AND p.start < c.start "
            "ORDER BY p.start DESC, p.id DESC LIMIT 1",
            (cycle_id,),
        ).fetchone()
        if prev is not None:
            con.execute(
                "UPDATE pairs SET origin = 'continued' WHERE cycle_id = ? AND EXISTS ("
                "SELECT 1 FROM pairs q WHERE q.cycle_id = ? AND q.mentor_id = pairs.mentor_id "
                "AND q.mentee_id = pairs.mentee_id)",
                (cycle_id, prev[0]),
            )
        if origins:
            con.executemany(
                "UPDATE pairs SET origin = ? WHERE cycle_id = ? AND mentor_id = ? AND mentee_id = ?",
                ((origin, cycle_id, m, e) for (m, e), origin in origins.items()),
            )
        header = {
            "matched": result.matched,
            "objective": result.objective,
            "bound": result.bound,
            "gap": result.gap,
            "method": result.method,
            "solve_seconds": result.solve_seconds,
            "stats": dict(result.stats),
        }
        con.execute(
            "INSERT INTO results (cycle_id, kind, data, saved_at) VALUES (?, 'match', ?, ?)",
            (cycle_id, sz.dumps(header), _now()),
        )


def load_pairs(ws: Workspace, cycle_id: int) -> tuple[Pair, ...]:
    """The cycle's pairs in the order they were saved (empty before a match)."""
    rows = ws.connection.execute(
        "SELECT mentor_id, mentee_id, score, components, reasons FROM pairs WHERE cycle_id = ? ORDER BY ord",
        (cycle_id,),
    ).fetchall()
    return tuple(Pair(r[0], r[1], r[2], sz.loads(r[3]), r[4]) for r in rows)


def load_pair_origins(ws: Workspace, cycle_id: int) -> dict[PairKey, str]:
    """``(mentor_id, mentee_id) -> "new" | "continued"`` for the cycle's pairs."""
    rows = ws.connection.execute(
        "SELECT mentor_id, mentee_id, origin FROM pairs WHERE cycle_id = ?", (cycle_id,)
    ).fetchall()
    return {(r[0], r[1]): r[2] for r in rows}


def load_unmatched(ws: Workspace, cycle_id: int) -> tuple[Unmatched, ...]:
    rows = ws.connection.execute(
        "SELECT person_id, role, reason FROM unmatched WHERE cycle_id = ? ORDER BY ord", (cycle_id,)
    ).fetchall()
    return tuple(Unmatched(r[0], r[1], r[2]) for r in rows)


def load_match(ws: Workspace, cycle_id: int) -> MatchResult | None:
    """The saved match with its solver figures, or ``None``; ``candidates`` is empty (not stored)."""
    row = ws.connection.execute(
        "SELECT data FROM results WHERE cycle_id = ? AND kind = 'match'", (cycle_id,)
    ).fetchone()
    if row is None:
        return None
    h = sz.loads(row[0])
    return MatchResult(
        pairs=load_pairs(ws, cycle_id),
        unmatched=load_unmatched(ws, cycle_id),
        candidates=(),
        matched=h["matched"],
        objective=h["objective"],
        bound=h["bound"],
        gap=h["gap"],
        method=h["method"],
        solve_seconds=h["solve_seconds"],
        stats=h["stats"],
    )


# --------------------------------------------------------------------------- schedules


def save_schedule(ws: Workspace, cycle_id: int, schedule: Schedule) -> None:
    """Store the cycle's series, events and unplaceable pairs, replacing any earlier schedule.

    Every series and event must belong to a saved pair of the cycle, and UIDs must be unique across
    both; occurrences and event starts must be aware, ``dtstart`` and exdates naive local.
    """
    uids = [s.uid for s in schedule.series] + [e.uid for e in schedule.events]
    if len(set(uids)) != len(uids):
        seen: set[str] = set()
        dup = next(u for u in uids if u in seen or seen.add(u))  # type: ignore[func-returns-value]
        raise StoreError(f"save the schedule of cycle {cycle_id}: UID {dup!r} is used twice")
    cid = int(cycle_id)
    series_rows = [
        (d["uid"], d["mentor_id"], d["mentee_id"], i, *sz.series_columns(d))
        for i, d in enumerate(map(series_to_dict, schedule.series))
    ]
    event_rows = [
        (d["uid"], d["mentor_id"], d["mentee_id"], i, *sz.event_columns(d))
        for i, d in enumerate(map(event_to_dict, schedule.events))
    ]
    with write_transaction(ws, f"save the schedule of cycle {cycle_id}") as con:
        require_open(con, cycle_id, "save a schedule")
        for table in ("events", "series", "unplaceable"):
            con.execute(f"DELETE FROM {table} WHERE cycle_id = ?", (cid,))
        con.execute("DELETE FROM results WHERE cycle_id = ? AND kind = 'schedule'", (cid,))
        con.executemany(
            f"INSERT INTO series (cycle_id, uid, mentor_id, mentee_id, ord, timezone, dtstart, "
            f"duration_minutes, rrule, exdates, occurrences, cadence, agenda, sequence) "
            f"VALUES ({cid}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            series_rows,
        )
        con.executemany(
            f"INSERT INTO events (cycle_id, uid, mentor_id, mentee_id, ord, kind, start, "
            f"duration_minutes, timezone, agenda, sequence) VALUES ({cid}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            event_rows,
        )
        con.executemany(
            f"INSERT INTO unplaceable (cycle_id, mentor_id, mentee_id, ord, reason) "
            f"VALUES ({cid}, ?, ?, ?, ?)",
            ((u.mentor_id, u.mentee_id, i, u.reason) for i, u in enumerate(schedule.unplaceable)),
        )
        con.execute(
            "INSERT INTO results (cycle_id, kind, data, saved_at) VALUES (?, 'schedule', ?, ?)",
            (cid, sz.dumps({"stats": dict(schedule.stats)}), _now()),
        )


def load_schedule(ws: Workspace, cycle_id: int) -> Schedule | None:
    """The saved schedule exactly as saved (UTC-aware occurrences, naive local dtstart and
    exdates), or ``None`` when the cycle has not been scheduled."""
    con = ws.connection
    header = con.execute(
        "SELECT data FROM results WHERE cycle_id = ? AND kind = 'schedule'", (cycle_id,)
    ).fetchone()
    if header is None:
        return None
    series = tuple(
        series_from_dict(
            {
                "mentor_id": r[0],
                "mentee_id": r[1],
                "uid": r[2],
                "timezone": r[3],
                "dtstart": r[4],
                "duration_minutes": r[5],
                "rrule": r[6],
                "exdates": sz.loads(r[7]),
                "occurrences": sz.loads(r[8]),
                "cadence": r[9],
                "agenda": r[10],
                "sequence": r[11],
            }
        )
        for r in con.execute(
            "SELECT mentor_id, mentee_id, uid, timezone, dtstart, duration_minutes, rrule, exdates, "
            "occurrences, cadence, agenda, sequence FROM series WHERE cycle_id = ? ORDER BY ord",
            (cycle_id,),
        )
    )
    events = tuple(
        event_from_dict(
            {
                "mentor_id": r[0],
                "mentee_id": r[1],
                "uid": r[2],
                "kind": r[3],
                "start": r[4],
                "duration_minutes": r[5],
                "timezone": r[6],
                "agenda": r[7],
                "sequence": r[8],
            }
        )
        for r in con.execute(
            "SELECT mentor_id, mentee_id, uid, kind, start, duration_minutes, timezone, agenda, sequence "
            "FROM events WHERE cycle_id = ? ORDER BY ord",
            (cycle_id,),
        )
    )
    unplaceable = tuple(
        Unplaceable(r[0], r[1], r[2])
        for r in con.execute(
            "SELECT mentor_id, mentee_id, reason FROM unplaceable WHERE cycle_id = ? ORDER BY ord",
            (cycle_id,),
        )
    )
    return Schedule(series, events, unplaceable, sz.loads(header[0])["stats"])


# --------------------------------------------------------------------------- feedback and history


def save_feedback(ws: Workspace, cycle_id: int, rows: Iterable[FeedbackRow]) -> None:
    """Store the cycle's feedback (private: ratings and comments), replacing any earlier rows.

    Both ids of every row must be in the cycle's roster. Whether a row names an actual partner is
    the feedback loader's check (it has the file and line to report); rows about non-partners are
    kept but count for no pair.
    """
    with write_transaction(ws, f"save the feedback of cycle {cycle_id}") as con:
        require_open(con, cycle_id, "save feedback")
        con.execute("DELETE FROM feedback WHERE cycle_id = ?", (cycle_id,))
        con.executemany(
            f"INSERT INTO feedback (cycle_id, person_id, partner_id, ord, wants_continue, rating, "
            f"comment, line) VALUES ({int(cycle_id)}, ?, ?, ?, ?, ?, ?, ?)",
            (
                (r.person_id, r.partner_id, i, bool(r.wants_continue), r.rating, r.comment, r.line)
                for i, r in enumerate(rows)
            ),
        )


def load_feedback(ws: Workspace, cycle_id: int) -> tuple[FeedbackRow, ...]:
    rows = ws.connection.execute(
        "SELECT person_id, partner_id, wants_continue, rating, comment, line FROM feedback "
        "WHERE cycle_id = ? ORDER BY ord",
        (cycle_id,),
    ).fetchall()
    return tuple(FeedbackRow(r[0], r[1], bool(r[2]), r[3], r[4], r[5]) for r in rows)


def ended_pairs(ws: Workspace, people: Iterable[PersonId] = ()) -> set[PairKey]:
    """``(mentor_id, mentee_id)`` of every pair, in any cycle, where either side said no.

    Such a pair is never formed again; when both people can mentor, a matcher should forbid the
    reversed roles too (the people, not the direction, ended it). A pair with a person who was
    erased is stored under their pseudonym (``store.privacy``); when one of ``people`` (the new
    roster) has that pseudonym, the pair is returned with their id, so the boundary still holds
    if they re-join.
    """
    rows = ws.connection.execute(
        "SELECT DISTINCT p.mentor_id, p.mentee_id FROM feedback f JOIN pairs p "
        "ON p.cycle_id = f.cycle_id AND ((p.mentor_id = f.person_id AND p.mentee_id = f.partner_id) "
        "OR (p.mentor_id = f.partner_id AND p.mentee_id = f.person_id)) WHERE f.wants_continue = 0"
    ).fetchall()
    out = {(r[0], r[1]) for r in rows}
    from store.privacy import is_erased, pseudonym_of

    if any(is_erased(m) or is_erased(e) for m, e in out):
        secret = workspace_secret(ws)
        back = {pseudonym_of(secret, pid): pid for pid in people}
        out |= {(back.get(m, m), back.get(e, e)) for m, e in out if m in back or e in back}
    return out


def remember_out_dir(ws: Workspace, out_dir: str | Path) -> None:
    """Record where the feeds were last written (``person erase`` re-writes them there)."""
    with write_transaction(ws, "record the output directory") as con:
        con.execute(
            "INSERT INTO meta (key, value) VALUES ('last_out_dir', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(Path(out_dir).resolve()),),
        )


def last_out_dir(ws: Workspace) -> Path | None:
    """The output directory of the last ``run``, ``rematch`` or ``publish``, if recorded."""
    row = ws.connection.execute("SELECT value FROM meta WHERE key = 'last_out_dir'").fetchone()
    return Path(row[0]) if row else None


def continuing_pairs(ws: Workspace, cycle_id: int) -> set[PairKey]:
    """``(mentor_id, mentee_id)`` of the cycle's pairs where both sides said yes."""
    rows = ws.connection.execute(
        "SELECT p.mentor_id, p.mentee_id FROM pairs p "
        "JOIN feedback a ON a.cycle_id = p.cycle_id AND a.person_id = p.mentor_id "
        "  AND a.partner_id = p.mentee_id AND a.wants_continue = 1 "
        "JOIN feedback b ON b.cycle_id = p.cycle_id AND b.person_id = p.mentee_id "
        "  AND b.partner_id = p.mentor_id AND b.wants_continue = 1 "
        "WHERE p.cycle_id = ?",
        (cycle_id,),
    ).fetchall()
    return {(r[0], r[1]) for r in rows}


def save_run_summary(ws: Workspace, cycle_id: int | None, kind: str, summary: Mapping[str, Any]) -> int:
    """Record one step's figures (counts, objective, bound, gap, times); returns the run id.

    Allowed on closed cycles too: runs are a log, not part of the cycle's result.
    """
    with write_transaction(ws, f"save a {kind} run summary") as con:
        cur = con.execute(
            "INSERT INTO runs (cycle_id, kind, summary, created_at) VALUES (?, ?, ?, ?)",
            (cycle_id, kind, sz.dumps(dict(summary)), _now()),
        )
        return int(cur.lastrowid or 0)


def load_run_summaries(
    ws: Workspace, cycle_id: int | None = None, kind: str | None = None
) -> tuple[RunInfo, ...]:
    """Stored run summaries, oldest first, optionally of one cycle and/or one kind."""
    sql = "SELECT id, cycle_id, kind, summary, created_at FROM runs WHERE 1 = 1"
    args: list[Any] = []
    if cycle_id is not None:
        sql += " AND cycle_id = ?"
        args.append(cycle_id)
    if kind is not None:
        sql += " AND kind = ?"
        args.append(kind)
    rows = ws.connection.execute(sql + " ORDER BY id", args).fetchall()
    return tuple(RunInfo(r[0], r[1], r[2], sz.loads(r[3]), datetime.fromisoformat(r[4])) for r in rows)


# --------------------------------------------------------------------------- check-ins


def save_checkin(ws: Workspace, checkin: CheckIn) -> None:
    """Store or replace one answer (the page allows editing until the next check-in opens).

    Refused on a closed cycle: its check-ins are frozen with its feedback.
    """
    with write_transaction(ws, f"save a check-in of cycle {checkin.cycle_id}") as con:
        require_open(con, checkin.cycle_id, "save a check-in")
        stamp = checkin.updated_at or _now()
        con.execute(
            "INSERT INTO checkins (cycle_id, person_id, partner_id, number, met, rating, wants_continue, "
            "note, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (cycle_id, person_id, partner_id, number) DO UPDATE SET met = excluded.met, "
            "rating = excluded.rating, wants_continue = excluded.wants_continue, note = excluded.note, "
            "updated_at = excluded.updated_at",
            (
                checkin.cycle_id,
                checkin.person_id,
                checkin.partner_id,
                checkin.number,
                checkin.met,
                checkin.rating,
                checkin.wants_continue,
                checkin.note,
                stamp,
                stamp,
            ),
        )


def load_checkins(ws: Workspace, cycle_id: int, person_id: PersonId | None = None) -> tuple[CheckIn, ...]:
    """The cycle's check-ins (or one person's), by person, partner and number."""
    sql = (
        "SELECT cycle_id, person_id, partner_id, number, met, rating, wants_continue, note, updated_at "
        "FROM checkins WHERE cycle_id = ?"
    )
    args: list[Any] = [cycle_id]
    if person_id is not None:
        sql += " AND person_id = ?"
        args.append(person_id)
    rows = ws.connection.execute(sql + " ORDER BY person_id, partner_id, number", args).fetchall()
    return tuple(CheckIn(*tuple(r)) for r in rows)
