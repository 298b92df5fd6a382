"""People's data in the workspace: where it is, exporting it, erasing it, and retention.

Everything is driven by ``CATALOGUE``: one ``TableSpec`` per table of the schema saying, column by
column, what the column holds (a ``Kind``), which columns make a row *the subject's own* (for
export, and for neutralising personal values on erase), and whether the subject's rows are kept
under a pseudonym or deleted. A test reads the live schema after every migration and fails when
a table or column is missing here, so a new table is one new entry.

Erasing a person (``erase_person``):

* every column holding a person id (``Kind.ID``), and every JSON list of ids (``Kind.IDS``), has
  the person's id replaced by their *pseudonym*: ``erased-`` plus 32 hex digits of
  HMAC-SHA256(workspace secret, id). The pseudonym keeps the history consistent (foreign keys,
  pairs, the others' feeds) and keeps "never again" boundaries: a pair where either side said no
  stays stored between the pseudonym and the other person, and ``pseudonym_of`` maps a re-joining
  id back to it (``store.repo.ended_pairs``), so the boundary is still enforced. The pseudonym is
  keyed: without the workspace secret it cannot be linked to an id;
* the subject's own rows get their personal values neutralised (``TableSpec.neutral``): name
  ``Former participant``, empty email, empty goals, availability, boundaries, ...; private notes
  (``Kind.PRIVATE``: feedback comments) on rows by or about them are removed, ratings too;
* free text and JSON that may name people (``Kind.TEXT``, ``Kind.JSON``: match reasons, run
  records) are scrubbed of the id, name and email;
* rows of tables marked ``erase="delete"`` are deleted (the served feed document);
* the caller then re-publishes the others' feeds and ``vacuum``s so the bytes are gone.

Retention (``apply_retention``): ``Kind.PRIVATE`` columns of tables linked to a cycle are
cleared once that cycle has been closed for the configured number of days.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from enum import StrEnum
from typing import Any

from cohort.errors import UsageError
from cohort.model import Cohort, PersonId
from store import serialize as sz
from store.db import Workspace, workspace_secret

LABEL = "Former participant"  # how history meetings name an erased person
PSEUDONYM_PREFIX = "erased-"
_NOW = object()  # neutral value: the erase time, unless the column already holds a value


class Kind(StrEnum):
    """What a column holds, as far as people's data is concerned."""

    NONE = "none"  # no personal data: keys, dates, counts, settings, scheduling facts
    ID = "id"  # a person's id: replaced by the pseudonym on erase
    IDS = "ids"  # a JSON list of person ids: the id replaced by the pseudonym on erase
    PERSONAL = "personal"  # the row's person's own data: neutralised on their rows (``neutral``)
    PRIVATE = "private"  # private notes (comments): removed on erase and by retention
    TEXT = "text"  # free text that may name people: scrubbed of the id, name and email
    JSON = "json"  # JSON that may name people: scrubbed likewise
    DERIVED = "derived"  # hashes, opaque ids, built documents: rebuilt, never exported
    SECRET = "secret"  # never exported (token hashes, the workspace secret)


@dataclass(frozen=True)
class TableSpec:
    """How one table holds people's data.

    ``subject``: the ``Kind.ID`` columns that make a row the subject's (their personal values
    are neutralised, or the row deleted); ``export_by``: those whose rows an export lists
    (default: ``subject``; feedback lists only what the person gave); ``neutral``: the value each
    ``PERSONAL``/``PRIVATE`` column takes on the subject's rows; ``json``: columns exported as
    decoded JSON; ``cycle_column``: the column naming the row's cycle, for retention.
    """

    name: str
    columns: Mapping[str, Kind]
    subject: tuple[str, ...] = ()
    export_by: tuple[str, ...] | None = None
    erase: str = "pseudonymise"  # or "delete": the subject's rows are removed
    neutral: Mapping[str, Any] = field(default_factory=dict)
    json: frozenset[str] = frozenset()
    cycle_column: str | None = None

    def of_kind(self, *kinds: Kind) -> list[str]:
        return [c for c, k in self.columns.items() if k in kinds]

    @property
    def exported_by(self) -> tuple[str, ...]:
        return self.subject if self.export_by is None else self.export_by


N, ID, IDS, PERSONAL, PRIVATE, TEXT, JSON, DERIVED, SECRET = (
    Kind.NONE,
    Kind.ID,
    Kind.IDS,
    Kind.PERSONAL,
    Kind.PRIVATE,
    Kind.TEXT,
    Kind.JSON,
    Kind.DERIVED,
    Kind.SECRET,
)

CATALOGUE: tuple[TableSpec, ...] = (
    TableSpec("meta", {"key": N, "value": SECRET}),
    TableSpec(
        "cycles",
        {
            "id": N,
            "start": N,
            "last_day": N,
            "status": N,
            "program_toml": TEXT,
            "source": TEXT,
            "source_sha256": DERIVED,
            "roster_sha256": DERIVED,
            "created_at": N,
            "closed_at": N,
        },
    ),
    TableSpec(
        "participants",
        {
            "cycle_id": N,
            "person_id": ID,
            "ord": N,
            "name": PERSONAL,
            "email": PERSONAL,
            "role": N,
            "timezone": PERSONAL,
            "availability": PERSONAL,
            "goals": PERSONAL,
            "expertise": PERSONAL,
            "interests": PERSONAL,
            "languages": PERSONAL,
            "department": PERSONAL,
            "manager_id": ID,
            "level": PERSONAL,
            "capacity": PERSONAL,
            "cadence": PERSONAL,
            "avoid": IDS,
            "prefer": IDS,
            "ranks": IDS,
            "calendar": N,
            "format": N,
            "introductions": PERSONAL,
            "unavailable": PERSONAL,
            "max_meetings_per_week": PERSONAL,
            "line": PERSONAL,
        },
        subject=("person_id",),
        neutral={
            "name": LABEL,
            "email": "",
            "timezone": "UTC",
            "availability": "[]",
            "goals": "[]",
            "expertise": "[]",
            "interests": "[]",
            "languages": "[]",
            "department": None,
            "manager_id": None,
            "level": None,
            "capacity": None,
            "cadence": None,
            "avoid": "[]",
            "prefer": "[]",
            "ranks": "[]",
            "unavailable": "[]",
            "max_meetings_per_week": None,
            "introductions": 0,
            "line": 0,
        },
        json=frozenset(
            {
                "availability",
                "goals",
                "expertise",
                "interests",
                "languages",
                "avoid",
                "prefer",
                "ranks",
                "unavailable",
            }
        ),
        cycle_column="cycle_id",
    ),
    TableSpec(
        "pairs",
        {
            "cycle_id": N,
            "mentor_id": ID,
            "mentee_id": ID,
            "ord": N,
            "score": N,
            "components": N,
            "reasons": TEXT,
            "origin": N,
        },
        subject=("mentor_id", "mentee_id"),
        json=frozenset({"components"}),
        cycle_column="cycle_id",
    ),
    TableSpec(
        "unmatched",
        {"cycle_id": N, "person_id": ID, "role": N, "ord": N, "reason": TEXT},
        subject=("person_id",),
        cycle_column="cycle_id",
    ),
    TableSpec("results", {"cycle_id": N, "kind": N, "data": JSON, "saved_at": N}, cycle_column="cycle_id"),
    TableSpec(
        "series",
        {
            "cycle_id": N,
            "uid": DERIVED,
            "mentor_id": ID,
            "mentee_id": ID,
            "ord": N,
            "timezone": N,
            "dtstart": N,
            "duration_minutes": N,
            "rrule": N,
            "exdates": N,
            "occurrences": N,
            "cadence": N,
            "agenda": TEXT,
            "sequence": N,
        },
        subject=("mentor_id", "mentee_id"),
        json=frozenset({"exdates", "occurrences"}),
        cycle_column="cycle_id",
    ),
    TableSpec(
        "events",
        {
            "cycle_id": N,
            "uid": DERIVED,
            "mentor_id": ID,
            "mentee_id": ID,
            "ord": N,
            "kind": N,
            "start": N,
            "duration_minutes": N,
            "timezone": N,
            "agenda": TEXT,
            "sequence": N,
        },
        subject=("mentor_id", "mentee_id"),
        cycle_column="cycle_id",
    ),
    # Circles (issue 15): the mentor's own rows by ``mentor_id``, each member's by
    # ``circle_members.person_id`` (export lists them; erase pseudonymises them). Goals and
    # languages are the circle's, shared by every member: not one person's data.
    TableSpec(
        "circles",
        {
            "cycle_id": N,
            "circle_id": N,
            "ord": N,
            "kind": N,
            "mentor_id": ID,
            "score": N,
            "reasons": TEXT,
            "goals": N,
            "languages": N,
        },
        subject=("mentor_id",),
        json=frozenset({"goals", "languages"}),
        cycle_column="cycle_id",
    ),
    TableSpec(
        "circle_members",
        {"cycle_id": N, "circle_id": N, "person_id": ID, "ord": N},
        subject=("person_id",),
        cycle_column="cycle_id",
    ),
    TableSpec(
        "circle_series",
        {
            "cycle_id": N,
            "uid": DERIVED,
            "circle_id": N,
            "timezone": N,
            "dtstart": N,
            "duration_minutes": N,
            "rrule": N,
            "exdates": N,
            "occurrences": N,
            "cadence": N,
            "agenda": TEXT,
            "sequence": N,
        },
        json=frozenset({"exdates", "occurrences"}),
        cycle_column="cycle_id",
    ),
    TableSpec(
        "circle_events",
        {
            "cycle_id": N,
            "uid": DERIVED,
            "circle_id": N,
            "ord": N,
            "kind": N,
            "start": N,
            "duration_minutes": N,
            "timezone": N,
            "agenda": TEXT,
            "sequence": N,
        },
        cycle_column="cycle_id",
    ),
    TableSpec(
        "unplaceable",
        {"cycle_id": N, "mentor_id": ID, "mentee_id": ID, "ord": N, "reason": TEXT},
        subject=("mentor_id", "mentee_id"),
        cycle_column="cycle_id",
    ),
    # A "no" (wants_continue = 0) is kept: it is the boundary the others' continuity relies on.
    TableSpec(
        "feedback",
        {
            "cycle_id": N,
            "person_id": ID,
            "partner_id": ID,
            "ord": N,
            "wants_continue": N,
            "rating": PERSONAL,
            "comment": PRIVATE,
            "line": N,
        },
        subject=("person_id", "partner_id"),
        export_by=("person_id",),
        neutral={"rating": None, "comment": None},
        cycle_column="cycle_id",
    ),
    # Answers about circles (``partner_id`` of the file is the circle's id): private like the
    # pairs' feedback; a "no" is kept (never back in that circle, never again with its people).
    TableSpec(
        "circle_feedback",
        {
            "cycle_id": N,
            "person_id": ID,
            "circle_id": N,
            "ord": N,
            "wants_continue": N,
            "rating": PERSONAL,
            "comment": PRIVATE,
            "line": N,
        },
        subject=("person_id",),
        neutral={"rating": None, "comment": None},
        cycle_column="cycle_id",
    ),
    # Check-ins from the participant's page: the note is private to the coordinator (retention
    # clears it); a check-in about an erased partner stays with the partner's id pseudonymised.
    TableSpec(
        "checkins",
        {
            "cycle_id": N,
            "person_id": ID,
            "partner_id": ID,
            "number": N,
            "met": N,
            "rating": N,
            "wants_continue": N,
            "note": PRIVATE,
            "created_at": N,
            "updated_at": N,
        },
        subject=("person_id", "partner_id"),
        export_by=("person_id",),
        neutral={"note": ""},
        cycle_column="cycle_id",
    ),
    TableSpec(
        "runs", {"id": N, "cycle_id": N, "kind": N, "summary": JSON, "created_at": N}, cycle_column="cycle_id"
    ),
    # Tokens stay (revoked, under the pseudonym): a re-joining id never gets an old address back.
    TableSpec(
        "feed_tokens",
        {
            "token_hash": SECRET,
            "person_id": ID,
            "generation": N,
            "created_at": N,
            "revoked_at": N,
        },
        subject=("person_id",),
        neutral={"revoked_at": _NOW},
    ),
    # The publication journal (store/publication.py): folder paths and file names, no one's data.
    TableSpec(
        "publications",
        {"id": N, "stage": N, "out": N, "state": N, "items": N, "created_at": N},
    ),
    # The notify outbox: the person's own messages go with them; messages to others that name
    # them are found by decoding the MIME body and deleted too (``_forget_messages_naming``).
    TableSpec(
        "outbox",
        {
            "id": N,
            "person_id": ID,
            "recipient": PERSONAL,
            "kind": N,
            "uid": DERIVED,
            "sequence": N,
            "content_hash": DERIVED,
            "message_id": DERIVED,
            "subject": TEXT,
            "state": JSON,
            "body": DERIVED,
            "status": N,
            "attempts": N,
            "last_error": TEXT,
            "created_at": N,
            "sent_at": N,
        },
        subject=("person_id",),
        erase="delete",
        neutral={"recipient": ""},
    ),
    TableSpec("event_state", {"uid": DERIVED, "fingerprint": DERIVED, "sequence": N, "last_modified": N}),
    TableSpec(
        "feed_documents",
        {
            "person_id": ID,
            "body": DERIVED,
            "etag": DERIVED,
            "last_modified": N,
            "published_at": N,
            "inputs": DERIVED,
        },
        subject=("person_id",),
        erase="delete",
    ),
)

BY_NAME: dict[str, TableSpec] = {t.name: t for t in CATALOGUE}


def unclassified(con: sqlite3.Connection) -> list[str]:
    """Tables and columns of the live schema that ``CATALOGUE`` does not classify, and entries
    that name no live table or column: empty when the catalogue is complete."""
    live: dict[str, list[str]] = {}
    for (name,) in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ):
        live[name] = [r[1] for r in con.execute(f'PRAGMA table_info("{name}")')]
    problems = []
    for name, columns in live.items():
        spec = BY_NAME.get(name)
        if spec is None:
            problems.append(f"table {name!r} is not in store.privacy.CATALOGUE")
            continue
        problems += [
            f"column {name}.{c} is not classified in store.privacy.CATALOGUE"
            for c in columns
            if c not in spec.columns
        ]
        problems += [
            f"CATALOGUE names column {name}.{c}, which the schema does not have"
            for c in spec.columns
            if c not in columns
        ]
        for c in (*spec.subject, *spec.exported_by):
            if spec.columns.get(c) is not Kind.ID:
                problems.append(f"CATALOGUE: {name}.{c} selects the subject's rows but is not Kind.ID")
        for c in spec.neutral:
            if c not in spec.columns:
                problems.append(f"CATALOGUE: {name}.{c} has a neutral value but no column")
        for c, kind in spec.columns.items():
            if kind in (Kind.PERSONAL, Kind.PRIVATE) and c not in spec.neutral:
                problems.append(f"CATALOGUE: {name}.{c} is {kind.value} but has no neutral value")
    problems += [
        f"CATALOGUE names table {name!r}, which the schema does not have"
        for name in BY_NAME
        if name not in live
    ]
    return problems


# --------------------------------------------------------------------------- pseudonyms


def pseudonym_of(secret: str, person_id: PersonId) -> PersonId:
    """The opaque id an erased person's rows carry: stable per workspace, unlinkable without
    its secret, and a valid id (``erased-`` + 32 hex digits)."""
    digest = hmac.new(secret.encode(), f"erased-person:{person_id}".encode(), hashlib.sha256)
    return PSEUDONYM_PREFIX + digest.hexdigest()[:32]


def already_erased(ws: Workspace, person_id: PersonId) -> bool:
    """Whether rows of this id's pseudonym exist (it was erased from this workspace)."""
    pseudo = pseudonym_of(workspace_secret(ws), person_id)
    return any(
        ws.connection.execute(f"SELECT 1 FROM {t} WHERE person_id = ? LIMIT 1", (pseudo,)).fetchone()
        for t in ("participants", "feed_tokens")
    )


def is_erased(person_id: PersonId) -> bool:
    return person_id.startswith(PSEUDONYM_PREFIX) and len(person_id) == len(PSEUDONYM_PREFIX) + 32


def without_erased(cohort: Cohort) -> Cohort:
    """The cohort less erased people (a closed cycle's roster keeps them as pseudonyms): they get
    no feed of their own; history meetings with them name them ``LABEL``."""
    if not any(is_erased(p.id) for p in cohort.people):
        return cohort
    return Cohort(tuple(p for p in cohort.people if not is_erased(p.id)), source=cohort.source)


# --------------------------------------------------------------------------- scrubbing


@dataclass(frozen=True)
class Subject:
    """The person being erased: their id, every name and email the workspace held, pseudonym."""

    id: PersonId
    pseudonym: PersonId
    names: tuple[str, ...]
    emails: tuple[str, ...]

    @property
    def needles(self) -> tuple[str, ...]:
        """What must not be left anywhere afterwards."""
        return (self.id, *self.names, *self.emails)


_ID_CHARS = "A-Za-z0-9._-"


def _id_pattern(person_id: str) -> re.Pattern[str]:
    return re.compile(f"(?<![{_ID_CHARS}]){re.escape(person_id)}(?![{_ID_CHARS}])")


def _name_pattern(name: str) -> re.Pattern[str]:
    """A name as whole words, any case (a short name must not match inside another word)."""
    return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE)


def _label_for(name: str, match: re.Match[str]) -> str:
    return LABEL if match.group(0) == name else LABEL.lower()


def scrub_text(text: str, subject: Subject) -> str:
    """``text`` with the subject's emails removed, names replaced by ``LABEL`` (in lower case where
    the name is written in another case) and id by the pseudonym (the id only as a whole token:
    another id that contains it is left alone)."""
    for email in subject.emails:
        text = re.sub(re.escape(email), "", text, flags=re.IGNORECASE)
    for name in sorted(subject.names, key=len, reverse=True):
        if name:  # as whole words, any case: reports write some names in lower case
            pattern = _name_pattern(name)
            text = pattern.sub(functools.partial(_label_for, name), text)
    return _id_pattern(subject.id).sub(subject.pseudonym, text)


def _neutral_person_row(row: list[Any], subject: Subject) -> list[Any]:
    neutral = BY_NAME["participants"].neutral
    out = list(row)
    for i, column in enumerate(sz.PERSON_COLUMNS):
        if column == "person_id":
            out[i] = subject.pseudonym
        elif column in neutral:
            out[i] = neutral[column]
    return out


def _is_person_row(value: Any, person_id: str) -> bool:
    return (
        isinstance(value, list)
        and len(value) == len(sz.PERSON_COLUMNS)
        and value[:1] == [person_id]
        and isinstance(value[1], int)
    )


def _other_person_row(value: list[Any], subject: Subject) -> list[Any]:
    """Another person's stored row: only the subject's id goes (as manager, in avoid/prefer);
    their own name and email stay, even when they equal the subject's (namesakes exist)."""
    out = list(value)
    for i, column in enumerate(sz.PERSON_COLUMNS):
        kind = BY_NAME["participants"].columns[column]
        if kind is Kind.ID and out[i] == subject.id:
            out[i] = subject.pseudonym
        elif kind is Kind.IDS and isinstance(out[i], str) and f'"{subject.id}"' in out[i]:
            out[i] = sz.dumps(sorted({subject.pseudonym if x == subject.id else x for x in sz.loads(out[i])}))
    return out


def scrub_json(value: Any, subject: Subject) -> Any:
    """A JSON value with the subject's stored person rows neutralised, other people's stored
    rows rid of the subject's id, and every other string scrubbed."""
    if _is_person_row(value, subject.id):
        return _neutral_person_row(value, subject)
    if (
        isinstance(value, list)
        and len(value) == len(sz.PERSON_COLUMNS)
        and isinstance(value[0], str)
        and isinstance(value[1], int)
    ):
        return _other_person_row(value, subject)
    if isinstance(value, list):
        return [scrub_json(v, subject) for v in value]
    if isinstance(value, dict):
        return {scrub_text(k, subject): scrub_json(v, subject) for k, v in value.items()}
    if isinstance(value, str):
        return scrub_text(value, subject)
    return value


def _person_rows(value: Any, person_id: str) -> Iterator[list[Any]]:
    if _is_person_row(value, person_id):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from _person_rows(v, person_id)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _person_rows(v, person_id)


def _mentions(con: sqlite3.Connection, table: str, column: str, needles: Iterable[str]) -> list[Any]:
    needles = [n for n in needles if n]
    if not needles:
        return []
    where = " OR ".join(f'instr(lower("{column}"), lower(?)) > 0' for _ in needles)
    return con.execute(f'SELECT rowid, "{column}" FROM "{table}" WHERE {where}', needles).fetchall()


def find_subject(ws: Workspace, person_id: PersonId) -> Subject | None:
    """The subject's names and emails as stored anywhere; ``None`` when nothing mentions the id."""
    con = ws.connection
    names: set[str] = set()
    emails: set[str] = set()
    for name, email in con.execute(
        "SELECT DISTINCT name, email FROM participants WHERE person_id = ?", (person_id,)
    ):
        names.add(name)
        emails.add(email)
    found = bool(names)
    name_i, email_i = sz.PERSON_COLUMNS.index("name"), sz.PERSON_COLUMNS.index("email")
    for spec in CATALOGUE:
        for column in spec.of_kind(Kind.JSON):
            for _rowid, text in _mentions(con, spec.name, column, [person_id]):
                for row in _person_rows(sz.loads(text), person_id):
                    names.add(row[name_i])
                    emails.add(row[email_i])
                    found = True
        for column in spec.of_kind(Kind.ID):
            if (
                not found
                and con.execute(
                    f'SELECT 1 FROM "{spec.name}" WHERE "{column}" = ? LIMIT 1', (person_id,)
                ).fetchone()
            ):
                found = True
    if not found:
        return None
    return Subject(
        person_id,
        pseudonym_of(workspace_secret(ws), person_id),
        tuple(sorted(n for n in names if n)),
        tuple(sorted(e for e in emails if e)),
    )


# --------------------------------------------------------------------------- export


def _now_text(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).isoformat()


def _export_value(spec: TableSpec, column: str, value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if column in spec.json or spec.columns[column] in (Kind.IDS, Kind.JSON):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
    return value


def _records(value: Any, person_id: str) -> Iterator[Any]:
    """The parts of a JSON value that are about ``person_id``: objects with it as a direct
    value, stored person rows of it, and the id itself where it stands in a list of ids."""
    if isinstance(value, dict):
        if person_id in value.values():
            yield value
            return
        for v in value.values():
            yield from _records(v, person_id)
    elif isinstance(value, list):
        if _is_person_row(value, person_id):
            yield dict(zip(sz.PERSON_COLUMNS, value, strict=True))
            return
        if person_id in value and all(isinstance(v, str) for v in value):
            yield person_id
            return
        for v in value:
            yield from _records(v, person_id)


def export_person(ws: Workspace, person_id: PersonId, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything the workspace holds about one person, as one JSON-ready document.

    ``tables``: per table, the person's own rows (every column but secrets and derived values),
    oldest first. ``records``: parts of stored JSON documents about them (run records of a
    mid-cycle departure). ``cycles``: the dates of the cycles their rows belong to. Token rows
    carry dates and generations only; the feed address itself is never stored.
    """
    con = ws.connection
    subject = find_subject(ws, person_id)
    if subject is None:
        raise UsageError(f"nothing is held about '{person_id}' in this workspace (check the id)")
    tables: dict[str, list[dict[str, Any]]] = {}
    records: dict[str, list[dict[str, Any]]] = {}
    cycle_ids: set[int] = set()
    for spec in CATALOGUE:
        shown = [c for c, k in spec.columns.items() if k not in (Kind.SECRET, Kind.DERIVED)]
        if spec.exported_by and shown:
            where = " OR ".join(f'"{c}" = ?' for c in spec.exported_by)
            cols = ", ".join(f'"{c}"' for c in shown)
            rows = con.execute(
                f'SELECT {cols} FROM "{spec.name}" WHERE {where} ORDER BY rowid',
                [person_id] * len(spec.exported_by),
            ).fetchall()
            if rows:
                tables[spec.name] = [
                    {c: _export_value(spec, c, v) for c, v in zip(shown, r, strict=True)} for r in rows
                ]
                if spec.cycle_column:
                    cycle_ids |= {r[shown.index(spec.cycle_column)] for r in rows}
        for column in spec.of_kind(Kind.JSON):
            for rowid, text in _mentions(con, spec.name, column, [person_id]):
                found = list(_records(sz.loads(text), person_id))
                if found:
                    records.setdefault(spec.name, []).append({"row": rowid, "column": column, "about": found})
    cycles = [
        {"id": r[0], "start": r[1], "last_day": r[2], "status": r[3], "closed_at": r[4]}
        for r in con.execute("SELECT id, start, last_day, status, closed_at FROM cycles ORDER BY id")
        if r[0] in cycle_ids
    ]
    return {
        "format": "mentorsync-person-export",
        "version": 1,
        "person_id": person_id,
        "exported_at": _now_text(now),
        "names": list(subject.names),
        "emails": list(subject.emails),
        "cycles": cycles,
        "tables": tables,
        "records": records,
    }


def export_json(document: Mapping[str, Any]) -> str:
    """The export as text: stable key order, UTF-8, one trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- erase


@dataclass(frozen=True)
class EraseReport:
    """What ``erase_person`` changed, per table: rows neutralised/deleted and rows rewritten."""

    subject: Subject
    changed: Mapping[str, int]


def _in(columns: Iterable[str]) -> str:
    return " OR ".join(f'"{c}" = :pid' for c in columns)


def erase_person(ws: Workspace, person_id: PersonId, *, now: datetime | None = None) -> EraseReport:
    """Remove the person's data from every table (see the module doc); one transaction.

    The caller re-publishes feeds and calls ``vacuum`` afterwards. ``UsageError`` when nothing
    is held about the id.
    """
    subject = find_subject(ws, person_id)
    if subject is None:
        raise UsageError(f"nothing is held about '{person_id}' in this workspace (check the id)")
    stamp = _now_text(now)
    args = {"pid": subject.id, "pseudo": subject.pseudonym, "now": stamp}
    changed: dict[str, int] = {}
    con = ws.connection
    con.execute("PRAGMA secure_delete = ON")  # freed and overwritten cells are zeroed
    with ws.transaction():
        con.execute("PRAGMA defer_foreign_keys = ON")  # ids change in parents and children alike
        for spec in CATALOGUE:
            n = 0
            if spec.subject and spec.erase == "delete":
                n += con.execute(f'DELETE FROM "{spec.name}" WHERE {_in(spec.subject)}', args).rowcount
            elif spec.subject and spec.neutral:
                sets = []
                values = dict(args)
                for i, (column, value) in enumerate(spec.neutral.items()):
                    if value is _NOW:
                        sets.append(f'"{column}" = COALESCE("{column}", :now)')
                    else:
                        sets.append(f'"{column}" = :v{i}')
                        values[f"v{i}"] = value
                n += con.execute(
                    f'UPDATE "{spec.name}" SET {", ".join(sets)} WHERE {_in(spec.subject)}', values
                ).rowcount
            for column in spec.of_kind(Kind.ID):
                n += con.execute(
                    f'UPDATE "{spec.name}" SET "{column}" = :pseudo WHERE "{column}" = :pid', args
                ).rowcount
            for column in spec.of_kind(Kind.IDS):
                for rowid, text in _mentions(con, spec.name, column, [f'"{subject.id}"']):
                    ids = sorted({subject.pseudonym if x == subject.id else x for x in sz.loads(text)})
                    con.execute(
                        f'UPDATE "{spec.name}" SET "{column}" = ? WHERE rowid = ?', (sz.dumps(ids), rowid)
                    )
                    n += 1
            for column in spec.of_kind(Kind.TEXT):
                for rowid, text in _mentions(con, spec.name, column, subject.needles):
                    new = scrub_text(text, subject)
                    if new != text:
                        con.execute(f'UPDATE "{spec.name}" SET "{column}" = ? WHERE rowid = ?', (new, rowid))
                        n += 1
            for column in spec.of_kind(Kind.JSON):
                for rowid, text in _mentions(con, spec.name, column, subject.needles):
                    new = sz.dumps(scrub_json(sz.loads(text), subject))
                    if new != text:
                        con.execute(f'UPDATE "{spec.name}" SET "{column}" = ? WHERE rowid = ?', (new, rowid))
                        n += 1
            if n:
                changed[spec.name] = n
        n = _forget_messages_naming(con, subject)
        if n:
            changed["outbox"] = changed.get("outbox", 0) + n
    return EraseReport(subject, changed)


def _forget_messages_naming(con: sqlite3.Connection, subject: Subject) -> int:
    """Delete the outbox messages to other people that name the subject (a partner's
    introduction, a change notice). Their bodies are MIME (often base64), so they are decoded and
    searched rather than scrubbed in place; a later ``notify`` tells those people their situation
    afresh, which an erased partner changed anyway."""
    if not con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").fetchone():
        return 0
    patterns = [re.compile(re.escape(e), re.IGNORECASE) for e in subject.emails if e]
    patterns += [_name_pattern(n) for n in subject.names if n]
    patterns.append(_id_pattern(subject.id))
    doomed = []
    for rowid, body in con.execute("SELECT id, body FROM outbox"):
        message = message_from_bytes(bytes(body), policy=email_policy.default)
        texts = [str(message.get("Subject", "")), str(message.get("To", ""))]
        for part in message.walk():
            if part.get_content_maintype() == "text":
                texts.append(part.get_content())
        text = "\n".join(texts)
        if any(p.search(text) for p in patterns):
            doomed.append((rowid,))
    con.executemany("DELETE FROM outbox WHERE id = ?", doomed)
    return len(doomed)


def residue(ws: Workspace, subject: Subject) -> list[str]:
    """``table.column`` of every stored value that still holds the subject's id, name or email
    (each as a whole token, any case): what ``erase`` verifies is empty. Names are not looked
    for in other people's own values and built feeds (a namesake keeps their name), emails not
    in other people's own values. The id is looked for
    where ids and text live (``NONE``, ``DERIVED`` and ``SECRET`` columns hold no ids: an id like
    ``e1001`` may occur in a hex digest, or ``weekly`` in a rule, by chance)."""
    con = ws.connection
    found = []
    text_kinds = (Kind.ID, Kind.IDS, Kind.PERSONAL, Kind.PRIVATE, Kind.TEXT, Kind.JSON)
    for spec in CATALOGUE:
        for column, kind in spec.columns.items():
            checks: list[tuple[str, re.Pattern[str]]] = []
            if kind is not Kind.PERSONAL:  # the subject's are neutral; others' may be namesakes'
                checks += [(e, re.compile(re.escape(e), re.IGNORECASE)) for e in subject.emails]
            if kind in text_kinds and kind is not Kind.PERSONAL:  # a namesake's feed names them
                checks += [(n, _name_pattern(n)) for n in subject.names]
            if kind in text_kinds:
                checks.append((subject.id, _id_pattern(subject.id)))
            for needle, pattern in checks:
                rows = con.execute(
                    f'SELECT CAST("{column}" AS TEXT) FROM "{spec.name}" '
                    f'WHERE instr(lower(CAST("{column}" AS TEXT)), lower(?)) > 0',
                    (needle,),
                )
                if any(pattern.search(r[0]) for r in rows):
                    found.append(f"{spec.name}.{column}")
                    break
    return found


def vacuum(ws: Workspace) -> tuple[int, int, int]:
    """Rewrite the database file without free pages, then checkpoint and truncate the WAL, so
    erased bytes are gone from both files. Returns SQLite's ``(busy, wal frames, checkpointed)``
    (busy is 1 when a reader kept the WAL from being reset; run it again later)."""
    con = ws.connection
    con.execute("PRAGMA secure_delete = ON")
    con.execute("VACUUM")
    for attempt in range(20):  # a reader's transactions are short: try for a few seconds
        row = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if row[0] == 0:
            break
        time.sleep(0.05 * (attempt + 1))
    return int(row[0]), int(row[1]), int(row[2])


# --------------------------------------------------------------------------- retention


def apply_retention(ws: Workspace, days: int, *, now: datetime | None = None) -> dict[str, int]:
    """Clear every ``Kind.PRIVATE`` column (feedback comments, ...) of the cycles closed more
    than ``days`` days ago; returns the rows cleared per table (empty when nothing was due, in
    which case nothing is written). Vacuums when something was cleared."""
    cutoff = _now_text((now or datetime.now(UTC)) - timedelta(days=days))
    con = ws.connection
    due: list[tuple[TableSpec, str]] = []
    for spec in CATALOGUE:
        if spec.cycle_column is None:
            continue
        for column in spec.of_kind(Kind.PRIVATE):
            hit = con.execute(
                f'SELECT 1 FROM "{spec.name}" t JOIN cycles c ON c.id = t."{spec.cycle_column}" '
                f"WHERE t.\"{column}\" IS NOT ? AND c.status = 'closed' AND c.closed_at <= ? LIMIT 1",
                (spec.neutral.get(column), cutoff),
            ).fetchone()
            if hit:
                due.append((spec, column))
    if not due:
        return {}
    cleared: dict[str, int] = {}
    con.execute("PRAGMA secure_delete = ON")
    with ws.transaction():
        for spec, column in due:
            n = con.execute(
                f'UPDATE "{spec.name}" SET "{column}" = ? WHERE "{column}" IS NOT ? AND '
                f"\"{spec.cycle_column}\" IN (SELECT id FROM cycles WHERE status = 'closed' "
                "AND closed_at <= ?)",
                (spec.neutral.get(column), spec.neutral.get(column), cutoff),
            ).rowcount
            cleared[spec.name] = cleared.get(spec.name, 0) + n
    vacuum(ws)
    return cleared
