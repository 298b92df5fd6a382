"""``mentorsync person export|erase``, retention on open, ``backup`` and ``restore``, end to end.

Erasing a person (``erase``) runs in one transaction: the store's catalogue-driven erase
(``store.privacy.erase_person``), then the feeds of everyone are re-published from the stored
schedule so that history meetings with the person name them ``Former participant``. The
re-publish keeps each event's SEQUENCE and DTSTAMP (a new label is not a new meeting), so every
other feed changes in the label only. The served documents are updated in the database; the
output directory of the last ``run``/``rematch``/``publish`` (recorded in the workspace), or
those given with ``--out``, get their ``feeds/`` re-written and every other file scrubbed of the
person's id, name and email. Finally the database is vacuumed and its WAL truncated, so the
bytes are gone from disk.

A person in the open cycle's roster cannot be erased: their meetings are still planned. Remove
them first with ``mentorsync rematch FILE --mid-cycle`` (a roster without them), then erase.
"""

from __future__ import annotations

import html
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cohort.errors import UsageError
from cohort.model import PersonId
from feeds.publish import publish
from pipeline.history import feed_view
from pipeline.staging import staged_output
from pipeline.workspace import open_workspace, workspace_program
from scheduler.calendar import fingerprint
from scheduler.model import Event, Series
from store import (
    Workspace,
    current_cycle,
    last_out_dir,
    latest_cycle,
    load_cohort,
    load_schedule,
    workspace_secret,
)
from store.feeds import delete_documents, document_bodies, refingerprint_events
from store.privacy import (
    LABEL,
    EraseReport,
    Subject,
    already_erased,
    erase_person,
    export_person,
    find_subject,
    pseudonym_of,
    residue,
    scrub_text,
    vacuum,
    without_erased,
)


def export(workspace: Path, person_id: PersonId, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything the workspace holds about ``person_id`` (``store.privacy.export_person``)."""
    with open_workspace(workspace) as ws:
        return export_person(ws, person_id, now=now)


@dataclass(frozen=True)
class EraseResult:
    """What ``erase`` did."""

    person_id: PersonId
    pseudonym: PersonId
    tables: dict[str, int]  # rows changed per table
    feeds: int  # feeds re-published (served documents)
    out_dirs: tuple[Path, ...]  # output directories re-written
    scrubbed_files: tuple[str, ...]  # other output files rewritten without the person
    wal_reset: bool  # False when a reader kept the WAL from being truncated (run again later)
    already: bool = False  # the id had been erased before: only the vacuum was done again


def _subject_check(ws: Workspace, person_id: PersonId) -> Subject:
    subject = find_subject(ws, person_id)
    if subject is None:
        raise UsageError(f"nothing is held about '{person_id}' in this workspace (check the id)")
    cycle = current_cycle(ws)
    if cycle is not None and person_id in load_cohort(ws, cycle.id):
        raise UsageError(
            f"'{person_id}' is in the roster of the open cycle {cycle.id}: remove them first with "
            "`mentorsync rematch FILE --mid-cycle` (FILE without them), or re-import the roster "
            "without them, then erase"
        )
    return subject


def _fingerprints(ws: Workspace, who: PersonId) -> dict[str, str]:
    """The fingerprint, as the feeds would show it now, of each published event ``who`` is in
    (only those can change when ``who`` is erased)."""
    cycle = latest_cycle(ws)
    schedule = load_schedule(ws, cycle.id) if cycle else None
    if cycle is None or schedule is None:
        return {}
    cohort = without_erased(load_cohort(ws, cycle.id))
    view = feed_view(ws, cohort, schedule, cycle.id)
    people = {**view.former, **cohort.by_id}
    items: list[Series | Event] = [*view.schedule.series, *view.schedule.events]
    return {it.uid: fingerprint(it, people) for it in items if who in it.people}


def _scrub_file(path: Path, subject: Subject) -> bool:
    """Rewrite a text output without the person (also their HTML-escaped name); True if changed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return False
    new = scrub_text(text, subject)
    for name in subject.names:
        escaped = html.escape(name)
        if escaped != name:
            new = new.replace(escaped, html.escape(LABEL))
    if new == text:
        return False
    tmp = path.with_name(f".{path.name}.erase-tmp")
    tmp.write_text(new, encoding="utf-8")
    tmp.replace(path)
    return True


def erase(
    workspace: Path, person_id: PersonId, *, out_dirs: Sequence[Path] = (), now: datetime | None = None
) -> EraseResult:
    """Erase ``person_id`` from the workspace, its served feeds and output directories."""
    program, _ = workspace_program(workspace)
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    with open_workspace(workspace, program, writer="person erase") as ws:
        if find_subject(ws, person_id) is None and already_erased(ws, person_id):
            busy, _, _ = vacuum(ws)  # again: e.g. when a reader kept the WAL the first time
            return EraseResult(
                person_id,
                pseudonym_of(workspace_secret(ws), person_id),
                {},
                0,
                (),
                (),
                busy == 0,
                already=True,
            )
        subject = _subject_check(ws, person_id)
        targets = [Path(d) for d in out_dirs]
        if not targets:
            recorded = last_out_dir(ws)
            if recorded is not None and recorded.is_dir():
                targets = [recorded]
        before = _fingerprints(ws, subject.id)
        feeds = 0
        scrubbed: list[str] = []
        with ws.transaction():
            report: EraseReport = erase_person(ws, person_id, now=now)
            after = _fingerprints(ws, subject.pseudonym)
            # A new label is not a new meeting: keep SEQUENCE and DTSTAMP where only it changed.
            refingerprint_events(
                ws,
                {uid: (before[uid], fp) for uid, fp in after.items() if uid in before and before[uid] != fp},
            )
            cycle = latest_cycle(ws)
            schedule = load_schedule(ws, cycle.id) if cycle else None
            if cycle is not None and schedule is not None:
                cohort = without_erased(load_cohort(ws, cycle.id))
                view = feed_view(ws, cohort, schedule, cycle.id)
                places: list[Path | None] = [*targets] or [None]
                for target in places:
                    if target is None:  # served documents only
                        with tempfile.TemporaryDirectory() as scratch:
                            result = publish(
                                ws, cohort, view.schedule, program, scratch, now=now, former=view.former
                            )
                    else:
                        with staged_output(ws, target) as stage:
                            result = publish(
                                ws, cohort, view.schedule, program, stage, now=now, former=view.former
                            )
                    feeds = len(result.feeds) + (result.coordinator is not None)
            else:  # no schedule to rebuild from: a served document naming them goes (re-built later)
                needles = (*subject.names, *subject.emails)
                delete_documents(
                    ws, [owner for owner, body in document_bodies(ws).items() if _mentions_any(body, needles)]
                )
            # inside the transaction: if a file cannot be rewritten, nothing is erased (run again)
            for target in targets:
                for path in sorted(target.rglob("*")):
                    if path.is_file() and "feeds" not in path.relative_to(target).parts[:1]:
                        if _scrub_file(path, subject):
                            scrubbed.append(str(path))
        busy, _, _ = vacuum(ws)
        left = residue(ws, subject)
        if left:  # never expected: the catalogue test covers every column
            raise UsageError(f"erase left the person's data in {', '.join(left)}")
    return EraseResult(
        person_id, subject.pseudonym, dict(report.changed), feeds, tuple(targets), tuple(scrubbed), busy == 0
    )


def _mentions_any(body: bytes, needles: Iterable[str]) -> bool:
    text = re.sub(r"\r\n[ \t]", "", body.decode("utf-8", "replace")).lower()  # unfolded
    return any(n.lower() in text for n in needles if n)
