"""``mentorsync notify``: compose what is new for each person, record it, send it, exactly once.

Order of work, so that a failure at any point loses nothing and sends nothing twice:

1. check ``[email]`` (bad settings: exit 65, nothing recorded);
2. compose every new message from the latest cycle and what each person was last told;
3. ``--dry-run``: write them (and what is still unsent) as ``.eml`` files and stop;
4. connect and log in (unreachable: exit 69, nothing recorded);
5. record the new messages in the outbox (one transaction): from here on they are never lost;
6. send every unsent message, oldest first: mark ``sending``, transfer, mark ``sent`` at once.

The residual window: a crash after the server accepted a message and before step 6 marks it (one
local SQLite commit, well under a millisecond) leaves it ``sending``; the next run sends it again with
the same bytes and Message-ID, so it is at-least-once in that window only, and recognisable.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cohort.errors import DeliveryError, InputError, StoreError, UsageError
from cohort.model import PersonId
from cohort.program import Program
from feeds.tokens import feed_url, hash_token, load_key, make_token, page_url
from notify.compose import Facts, Outgoing, compose
from notify.mime import Renderer
from notify.outbox import told as last_told
from notify.smtp import Connection, classify, connect, settings_problems
from pipeline.history import feed_view
from pipeline.workspace import open_workspace, workspace_program
from scheduler.calendar import select_items
from scheduler.model import Event, Series
from store import Workspace, latest_cycle, load_cohort, load_pairs, load_schedule, load_unmatched
from store import outbox as stored
from store.feeds import current_token, event_states

CRASH_ENV = "MENTORSYNC_NOTIFY_CRASH_AFTER"  # tests only: "N" (after N marked) or "N:accepted"


@dataclass(frozen=True)
class NotifyResult:
    queued: int  # new messages recorded by this run
    sent: tuple[stored.Row, ...] = ()
    failed: tuple[stored.Row, ...] = ()  # refused by the server (retried at the next run)
    pending: tuple[stored.Row, ...] = ()  # not attempted or interrupted (network)
    resent: tuple[stored.Row, ...] = ()  # found interrupted mid-transfer: sent again (same Message-ID)
    written: tuple[str, ...] = ()  # --dry-run: the .eml files
    error: str | None = None
    by_kind: dict[str, int] = field(default_factory=dict)


def _facts(ws: Workspace, program: Program, only: Sequence[PersonId] | None) -> Facts:
    cycle = latest_cycle(ws)
    schedule = load_schedule(ws, cycle.id) if cycle else None
    if cycle is None or schedule is None:
        raise UsageError("nothing to announce yet: run `mentorsync run FILE` first")
    cohort = load_cohort(ws, cycle.id)
    if only:
        unknown = sorted(set(only) - {p.id for p in cohort.people})
        if unknown:
            raise UsageError(f"--only: no participant {', '.join(map(repr, unknown))} in cycle {cycle.id}")
    view = feed_view(ws, cohort, schedule, cycle.id)
    by_person: dict[PersonId, list[Series | Event]] = {}
    for item in select_items(None, view.schedule.series, view.schedule.events):  # with meetings only
        for pid in {item.mentor_id, item.mentee_id}:
            by_person.setdefault(pid, []).append(item)
    items = {person.id: tuple(by_person.get(person.id, ())) for person in cohort.people}
    states = event_states(ws)
    missing = [it.uid for its in items.values() for it in its if it.uid not in states]
    if missing:
        raise UsageError("the feeds are not published for this schedule: run `mentorsync publish` first")
    urls: dict[PersonId, tuple[str, str]] = {}
    try:
        key = load_key(ws, create=False)
    except StoreError:  # no key: nothing published yet, no addresses to give
        key = None
    base = program.feeds.base_url
    if key is not None:
        for person in cohort.people:
            record = current_token(ws, person.id)
            if record is None or record.revoked_at is not None:
                continue
            token = make_token(key, person.id, record.generation)
            if hash_token(token) == record.token_hash:
                urls[person.id] = (page_url(base, token), feed_url(base, token))
    unmatched = {u.id: u.reason for u in load_unmatched(ws, cycle.id)}
    return Facts(
        program,
        cohort,
        load_pairs(ws, cycle.id),
        unmatched,
        schedule,
        items,
        {**view.former, **cohort.by_id},
        states,
        urls,
        cycle.start,
        cycle.last_day,
        program.charter,
    )


def _introduction_messages(
    ws: Workspace, program: Program, renderer: Renderer, only: Sequence[PersonId] | None
) -> list[Outgoing]:
    """The introduction emails not yet recorded (``notify --introductions``)."""
    from notify.introductions import compose_introductions
    from pipeline.program_history import cycle_records, proposed
    from store import workspace_secret
    from store.introductions import introductions_recorded

    records = cycle_records(ws)
    if not any(c.status == "closed" for c in records):
        raise UsageError("no introductions before a cycle is closed: `mentorsync cycle close` first")
    found, net = proposed(records, program)
    if net is None:  # [history] introductions = 0
        return []
    recorded = introductions_recorded(ws)
    return compose_introductions(found, net.people, program, renderer, workspace_secret(ws), recorded, only)


def _crash_hook() -> tuple[int, bool] | None:
    raw = os.environ.get(CRASH_ENV)
    if not raw:
        return None
    n, _, when = raw.partition(":")
    return int(n), when == "accepted"


def _write_eml(out_dir: Path, messages: Iterable[tuple[str, str, bytes]]) -> list[str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for n, (pid, kind, body) in enumerate(messages, start=1):
        name = f"{n:05d}-{pid}-{kind}.eml"
        (out_dir / name).write_bytes(body)
        names.append(name)
    return names


def notify(
    workspace: Path,
    *,
    dry_run: bool = False,
    only: Sequence[PersonId] | None = None,
    out_dir: Path | None = None,
    introductions: bool = False,
) -> NotifyResult:
    """Compose, record and send (see the module doc); ``DeliveryError`` (69) when the server is
    unreachable or some messages were refused, after everything possible was sent.

    ``introductions``: compose the introductions proposed at the end of the last closed cycle
    (``mentorsync history``) instead of the notices, each once to each of its two people."""
    program, text = workspace_program(workspace)
    file = str(Path(workspace) / "program.toml")
    problems = settings_problems(program.email, file, text, sending=not dry_run)
    if problems:
        raise InputError(problems)
    renderer = Renderer(Path(workspace))
    with open_workspace(workspace, program, writer="notify") as ws:
        if introductions:
            messages = _introduction_messages(ws, program, renderer, only)
        else:
            facts = _facts(ws, program, only)
            messages = compose(facts, last_told(ws, only), renderer, only)
        waiting = stored.unsent(ws, only)
        kinds: dict[str, int] = {}
        for m in messages:
            kinds[m.kind] = kinds.get(m.kind, 0) + 1
        if dry_run:
            target = out_dir or Path("out") / "notify"
            written = _write_eml(
                target,
                [
                    *((r.person_id, r.kind, body) for r, body in waiting),
                    *((m.person_id, m.kind, m.body) for m in messages),
                ],
            )
            return NotifyResult(len(messages), written=tuple(str(target / n) for n in written), by_kind=kinds)
        if not messages and not waiting:
            return NotifyResult(0, by_kind=kinds)
        connection = connect(program.email, file, text)
        try:
            stored.record(ws, messages)
            return _send_all(ws, connection, program.email.sender, only, len(messages), kinds)
        finally:
            connection.close()


def _send_all(
    ws: Workspace,
    connection: Connection,
    sender: str,
    only: Sequence[PersonId] | None,
    queued: int,
    kinds: dict[str, int],
) -> NotifyResult:
    crash = _crash_hook()
    sent, failed, resent = [], [], []
    error = None
    todo = stored.unsent(ws, only)
    done = 0
    for i, (row, body) in enumerate(todo):
        if row.status == "sending":
            resent.append(row)
        stored.mark(ws, row.id, "sending")
        try:
            connection.send(sender, row.recipient, body)
        except Exception as exc:  # noqa: BLE001 - classified below; anything else re-raised there
            status, text, stop = classify(exc)
            stored.mark(ws, row.id, status, text)
            if status == "failed":
                failed.append(row)
            if stop:
                error = text
                break
            continue
        done += 1
        if crash and crash[1] and done >= crash[0]:
            os.kill(os.getpid(), signal.SIGKILL)  # tests: the server has it, the mark has not happened
        stored.mark(ws, row.id, "sent")
        sent.append(row)
        if crash and not crash[1] and done >= crash[0] and i + 1 < len(todo):
            os.kill(os.getpid(), signal.SIGKILL)
    still = [
        r
        for r in stored.rows(ws)
        if r.status in ("pending", "sending") and (only is None or r.person_id in set(only))
    ]
    ids = {r.id for r in failed}
    failed_rows = [r for r in stored.rows(ws) if r.id in ids]
    result = NotifyResult(
        queued, tuple(sent), tuple(failed_rows), tuple(still), tuple(resent), error=error, by_kind=kinds
    )
    return result


def status(workspace: Path) -> list[stored.Row]:
    """Every message of the outbox, oldest first."""
    with open_workspace(workspace) as ws:
        return stored.rows(ws)


__all__ = ["DeliveryError", "NotifyResult", "notify", "status"]
