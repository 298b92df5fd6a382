"""mentorsync's front door: parse arguments, call the library, render the results.

Exit codes (``docs/interface.md`` §5): 0 success, 2 wrong usage, 65 bad input data, 69 no acceptable
solution. Every library error carries all of its problems; they are printed one per line.
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from cohort.errors import InputError, MentorsyncError, Problem


def _emit_problems(problems: list[Problem]) -> None:
    """Print the problems, at most ``MAX_ERRORS_SHOWN`` of them and a count of the rest."""
    from cohort.limits import MAX_ERRORS_SHOWN

    for problem in problems[:MAX_ERRORS_SHOWN]:
        click.echo(str(problem), err=True)
    rest = problems[MAX_ERRORS_SHOWN:]
    if rest:
        errors = sum(p.severity == "error" for p in rest)
        click.echo(
            f"... and {len(rest):,} more problem{'s' if len(rest) != 1 else ''} not shown "
            f"({errors:,} error{'s' if errors != 1 else ''})",
            err=True,
        )


def _problems_json(problems: list[Problem]) -> dict[str, Any]:
    from cohort.limits import MAX_ERRORS_SHOWN

    return {
        "problems": [p.__dict__ for p in problems[:MAX_ERRORS_SHOWN]],
        "not_shown": max(0, len(problems) - MAX_ERRORS_SHOWN),
    }


@contextlib.contextmanager
def _program_warnings() -> Iterator[None]:
    """Print each ``program.toml`` warning (an old key, still read) once, on stderr, as it comes;
    other warnings go where they would have gone."""
    from cohort.program import ProgramWarning

    shown: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("always", ProgramWarning)
        default = warnings.showwarning

        def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            if not issubclass(category, ProgramWarning):
                default(message, category, *args, **kwargs)
            elif str(message) not in shown:
                shown.add(str(message))
                click.echo(str(message), err=True)

        warnings.showwarning = show
        yield


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into the exit codes and messages of ``docs/interface.md`` §5."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with _program_warnings():
                return fn(*args, **kwargs)
        except InputError as exc:
            _emit_problems(exc.problems)
            n = len(exc.errors)
            click.echo(f"error: {n} problem{'s' if n != 1 else ''} found; nothing was changed", err=True)
            sys.exit(exc.exit_code)
        except MentorsyncError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


class Context:
    """What every command shares: the workspace directory and output switches."""

    def __init__(self, workspace: Path, quiet: bool):
        self.workspace = workspace
        self.quiet = quiet

    @property
    def program_path(self) -> Path:
        return self.workspace / "program.toml"

    def load_program(self) -> Any:
        from cohort.program import Program, load_program

        return load_program(self.program_path) if self.program_path.exists() else Program()


pass_ctx = click.make_pass_decorator(Context)

# Every input file named on the command line: a missing one is wrong usage (exit 2) under every
# command; a file that exists but holds bad data is exit 65.
INPUT_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--workspace",
    "-w",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Directory holding program.toml and the history database.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
@click.version_option(package_name="mentorsync", message="mentorsync %(version)s")
@click.pass_context
def main(ctx: click.Context, workspace: Path, quiet: bool) -> None:
    """Match mentors and mentees, schedule their meetings and publish calendar feeds."""
    ctx.obj = Context(workspace, quiet)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@handle_errors
def init(directory: Path) -> None:
    """Create a new workspace in DIRECTORY with a commented program.toml."""
    from cohort.program import example_toml

    target = directory / "program.toml"
    if target.exists():
        raise click.UsageError(f"{target} already exists; not overwriting it")
    directory.mkdir(parents=True, exist_ok=True)
    target.write_text(example_toml(), encoding="utf-8")
    click.echo(f"wrote {target}")


@main.command()
@click.argument("file", type=INPUT_FILE)
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@pass_ctx
@handle_errors
def validate(ctx: Context, file: Path, as_json: bool) -> None:
    """Check a participants FILE (.csv, .xlsx or .json) and print every problem; change nothing."""
    from cohort.load import load_participants
    from matcher.ranks import rule_warnings as rank_rule_warnings

    program = ctx.load_program()
    try:
        cohort, warnings = load_participants(file, program)
        warnings += rank_rule_warnings(cohort, program)
    except InputError as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, **_problems_json(exc.problems)}, indent=2))
        raise
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": True,
                    "people": len(cohort),
                    "mentors": len(cohort.mentors),
                    "mentees": len(cohort.mentees),
                    **_problems_json(warnings),
                },
                indent=2,
            )
        )
        return
    _emit_problems(warnings)
    click.echo(
        f"{file}: {len(cohort)} people ({len(cohort.mentors)} can mentor, "
        f"{len(cohort.mentees)} want a mentor), no errors"
        + (f", {len(warnings)} warning(s)" if warnings else "")
    )


def _progress(ctx: Context, as_json: bool) -> Any:
    from pipeline.progress import StderrProgress, null_progress

    if ctx.quiet:
        return null_progress
    return StderrProgress(as_json=as_json)


def _table(rows: list[tuple[str, Any]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


@main.command()
@click.argument("file", type=INPUT_FILE)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="out",
    show_default=True,
    help="Directory for matches, schedule, feeds and the report.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary (and progress) as JSON.")
@pass_ctx
@handle_errors
def run(ctx: Context, file: Path, out_dir: Path, as_json: bool) -> None:
    """Validate, import, match, schedule, publish and report, in one step."""
    from pipeline.run import run as run_all

    outcome = run_all(ctx.workspace, file, out_dir, progress=_progress(ctx, as_json))
    _emit_problems(list(outcome.warnings))
    s = outcome.summary
    if as_json:
        click.echo(json.dumps(s, indent=2))
        return
    _print_run_summary(dict(s), out_dir)


_OUT = click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="out",
    show_default=True,
    help="Directory for the output files.",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@main.command("import")
@click.argument("file", type=INPUT_FILE)
@click.option("--replace", is_flag=True, help="Replace the roster of an open cycle that was already matched.")
@_JSON
@pass_ctx
@handle_errors
def import_(ctx: Context, file: Path, replace: bool, as_json: bool) -> None:
    """Validate FILE and store it as the open cycle's roster (all of it or nothing)."""
    from pipeline.steps import do_import

    cycle_id, cohort, warnings = do_import(ctx.workspace, file, replace=replace)
    _emit_problems(warnings)
    if as_json:
        click.echo(json.dumps({"cycle": cycle_id, "people": len(cohort)}))
    else:
        click.echo(f"imported {len(cohort)} people into cycle {cycle_id}")


@main.command()
@_OUT
@_JSON
@pass_ctx
@handle_errors
def match(ctx: Context, out_dir: Path, as_json: bool) -> None:
    """Pair mentors and mentees of the open cycle; writes matches, unmatched and candidates."""
    from pipeline.steps import do_match

    s = do_match(ctx.workspace, out_dir, progress=_progress(ctx, as_json))
    if as_json:
        click.echo(json.dumps(s, indent=2))
        return
    click.echo(
        _table(
            [
                ("pairs", s["pairs"]),
                ("candidates", s["candidates"]),
                ("objective", f"{s['objective']:,.0f} (bound {s['bound']:,.0f}, gap {100 * s['gap']:.2f}%)"),
                ("files", f"{out_dir}/matches.csv, unmatched.csv, candidates.csv"),
            ]
        )
    )


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--top",
    default=5,
    show_default=True,
    type=click.IntRange(1, 100),
    help="Mentors on each mentee's shortlist.",
)
@_OUT
@_JSON
@pass_ctx
@handle_errors
def suggest(ctx: Context, file: Path | None, top: int, out_dir: Path, as_json: bool) -> None:
    """Shortlists of eligible mentors per mentee (suggestions.csv), spread over mentors' seats.

    FILE: a participants file; without it, the workspace's latest roster. Send the shortlists out,
    put the answers in a `ranks` column, then `mentorsync run`.
    """
    from pipeline.suggest import suggest as do_suggest

    s = do_suggest(ctx.workspace, out_dir, top=top, participants=file)
    if as_json:
        click.echo(json.dumps(s, indent=2))
        return
    for w in s["warnings"]:
        click.echo(w, err=True)
    click.echo(
        _table(
            [
                ("suggestions", f"{s['suggestions']} for {s['mentees']} mentees (top {s['top']})"),
                ("full lists", s["mentees_with_full_list"]),
                ("no suggestion", s["mentees_without_suggestion"]),
                ("file", s["file"]),
            ]
        )
    )


@main.command()
@_OUT
@_JSON
@pass_ctx
@handle_errors
def schedule(ctx: Context, out_dir: Path, as_json: bool) -> None:
    """Give every stored pair one DST-safe recurring slot plus milestones; writes schedule.json."""
    from pipeline.steps import do_schedule

    plan = do_schedule(ctx.workspace, out_dir, progress=_progress(ctx, as_json))
    sched = plan.schedule
    if as_json:
        click.echo(
            json.dumps(
                {
                    "series": len(sched.series),
                    "events": len(sched.events),
                    "pairs": len(plan.match.pairs),
                    "repair": plan.repair.as_dict(),
                },
                indent=2,
            )
        )
        return
    figures = plan.repair.as_dict()
    unplaceable: list[list[str]] = figures.get("unplaceable", [])
    added: list[list[str]] = figures.get("added", [])
    now_with = {mentee: mentor for mentor, mentee in added}
    for mentor, mentee, reason in unplaceable:
        instead = (
            f"{mentee} now meets {now_with[mentee]}, whose free seat and hours fit"
            if mentee in now_with
            else "run `mentorsync match` again to find other partners"
        )
        click.echo(
            f"warning: the stored pair {mentor} - {mentee} can no longer be placed ({reason}); "
            f"it is not scheduled: {instead}",
            err=True,
        )
    if added:
        click.echo(
            f"{len(added)} pairs added for mentees without a partner: a mentor's free seat and a "
            "slot that fit both calendars around the stored pairs (listed in summary.json)",
            err=True,
        )
    click.echo(
        f"{len(sched.series)} pairs scheduled, {len(sched.events)} milestone meetings; "
        f"wrote {out_dir / 'schedule.json'}"
    )


@main.command()
@_OUT
@_JSON
@pass_ctx
@handle_errors
def publish(ctx: Context, out_dir: Path, as_json: bool) -> None:
    """Write every participant's private calendar feed and feeds/index.csv."""
    from pipeline.steps import do_publish

    result = do_publish(ctx.workspace, out_dir, progress=_progress(ctx, as_json))
    changed = sum(f.changed for f in result.feeds)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "feeds": len(result.feeds),
                    "changed": changed,
                    "index": str(out_dir / "feeds" / "index.csv"),
                }
            )
        )
        return
    click.echo(f"{len(result.feeds)} feeds ({changed} changed); URLs in {out_dir / 'feeds' / 'index.csv'}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@pass_ctx
@handle_errors
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve the feeds at /feeds/<token>.ics and each participant's private page at /p/<token>."""
    import sqlite3

    from cohort.errors import StoreError
    from pipeline.workspace import open_workspace
    from server import serve as serve_feeds

    program = ctx.load_program()
    if not (ctx.workspace / "mentorsync.db").exists():
        raise click.UsageError(f"no workspace database in {ctx.workspace}: publish feeds first")
    try:  # upgrades an older schema and applies retention; a read-only workspace serves what it has
        open_workspace(ctx.workspace, program).close()
    except (StoreError, sqlite3.Error):
        pass
    click.echo(
        f"serving feeds on http://{host}:{port}/feeds/<token>.ics and pages on "
        f"http://{host}:{port}/p/<token> (Ctrl+C to stop)",
        err=True,
    )
    serve_feeds(ctx.workspace, host, port, max_age=program.feeds.max_age_seconds)


@main.command()
@click.argument("person_id")
@click.option("--top", default=5, show_default=True, help="How many alternatives to show.")
@_JSON
@pass_ctx
@handle_errors
def explain(ctx: Context, person_id: str, top: int, as_json: bool) -> None:
    """Why PERSON_ID got this partner and this slot, or no partner at all."""
    from cohort.text import strip_controls
    from pipeline.steps import explain as explain_person

    result = explain_person(ctx.workspace, person_id, top=top)
    click.echo(json.dumps(result.data, indent=2, default=str) if as_json else strip_controls(result.text))


@main.command()
@click.option(
    "--dry-run", is_flag=True, help="Write every message as an .eml file under --out; send nothing."
)
@click.option("--only", "only", multiple=True, metavar="ID", help="Only this person (repeat for more).")
@click.option("--status", "show_status", is_flag=True, help="List sent, pending and failed messages.")
@click.option(
    "--introductions",
    is_flag=True,
    help="Send the introductions proposed at the end of the last closed cycle (see `history`), "
    "once to each of the two people, instead of the notices.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="out/notify",
    show_default=True,
    help="Where --dry-run writes the .eml files.",
)
@_JSON
@pass_ctx
@handle_errors
def notify(
    ctx: Context,
    dry_run: bool,
    only: tuple[str, ...],
    show_status: bool,
    introductions: bool,
    out_dir: Path,
    as_json: bool,
) -> None:
    """Email each participant what is new: introduction, change, invitations (exactly once).

    With --introductions, the introductions of `mentorsync history` instead.
    Settings in program.toml [email]; the SMTP password only from MENTORSYNC_SMTP_PASSWORD.
    Exit 69 when the server cannot be reached or refused messages (they stay in the outbox and
    are sent by the next run)."""
    from cohort.errors import DeliveryError
    from pipeline.notify import notify as run_notify
    from pipeline.notify import status

    if show_status:
        listed = [r for r in status(ctx.workspace) if not only or r.person_id in only]
        if as_json:
            click.echo(json.dumps([r.as_json() for r in listed], indent=2))
            return
        counts: dict[str, int] = {}
        for r in listed:
            counts[r.status] = counts.get(r.status, 0) + 1
            click.echo(
                f"{r.id:>6}  {r.status:<8} {r.kind:<9} {r.person_id:<20} {r.recipient}  "
                f"{r.sent_at or r.created_at}" + (f"  ({r.last_error})" if r.last_error else "")
            )
        click.echo(", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "the outbox is empty")
        return
    result = run_notify(
        ctx.workspace, dry_run=dry_run, only=list(only) or None, out_dir=out_dir, introductions=introductions
    )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "queued": result.queued,
                    "by_kind": result.by_kind,
                    "sent": [r.as_json() for r in result.sent],
                    "failed": [r.as_json() for r in result.failed],
                    "pending": [r.as_json() for r in result.pending],
                    "resent": [r.as_json() for r in result.resent],
                    "written": list(result.written),
                    "error": result.error,
                },
                indent=2,
            )
        )
    elif dry_run:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(result.by_kind.items())) or "nothing new"
        click.echo(f"dry run: {len(result.written)} message(s) written to {out_dir} ({kinds}); nothing sent")
    else:
        click.echo(f"{result.queued} new message(s) queued, {len(result.sent)} sent")
        for r in result.resent:
            click.echo(
                f"resent after an interruption (same Message-ID {r.message_id}): {r.person_id}", err=True
            )
    for r in result.failed:
        click.echo(
            f"refused: message {r.id} ({r.kind}) to {r.person_id} <{r.recipient}>: {r.last_error}", err=True
        )
    if result.error or result.failed:
        left = len(result.pending) + len(result.failed)
        raise DeliveryError(
            (f"{result.error}; " if result.error else "")
            + f"{left} message(s) not delivered, kept in the outbox: run `mentorsync notify` "
            "again to send them (`notify --status` lists them)"
        )


@main.group()
def feeds() -> None:
    """Manage participants' private feed URLs."""


@feeds.command()
@click.argument("person_id", required=False)
@click.option(
    "--all",
    "everyone",
    is_flag=True,
    help="A new feed key and a new URL for everyone (after losing feeds.key, or a leak).",
)
@pass_ctx
@handle_errors
def rotate(ctx: Context, person_id: str | None, everyone: bool) -> None:
    """Give PERSON_ID (or, with --all, everyone) a new feed URL; the old one stops working at once."""
    from feeds.tokens import feed_url, rotate_all
    from feeds.tokens import rotate as rotate_token
    from pipeline.workspace import open_workspace

    if everyone == (person_id is not None):
        raise click.UsageError("give either PERSON_ID or --all")
    program = ctx.load_program()
    with open_workspace(ctx.workspace, program, writer="feeds rotate") as ws:
        if everyone:
            count = rotate_all(ws)
        else:
            token = rotate_token(ws, person_id or "")
    if everyone:
        click.echo(f"new feed key; {count} new feed URLs issued (the old ones stop working at once)")
        click.echo("run `mentorsync publish` to write the feeds and index.csv with the new URLs", err=True)
        return
    click.echo(f"new feed URL for {person_id}: {feed_url(program.feeds.base_url, token)}")
    click.echo("run `mentorsync publish` to write the feed file under its new name", err=True)


@feeds.command()
@click.argument("person_id")
@pass_ctx
@handle_errors
def revoke(ctx: Context, person_id: str) -> None:
    """Stop serving PERSON_ID's feed at once (`feeds rotate` issues a new URL)."""
    from feeds.tokens import revoke as revoke_token
    from pipeline.workspace import open_workspace

    with open_workspace(ctx.workspace, writer="feeds revoke") as ws:
        done = revoke_token(ws, person_id)
    click.echo(f"feed of {person_id} revoked" if done else f"feed of {person_id} was already revoked")


@main.group()
def person() -> None:
    """One participant's data: export it (a subject access request) or erase it."""


@person.command("export")
@click.argument("person_id")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSON document to this file (default: standard output).",
)
@pass_ctx
@handle_errors
def person_export(ctx: Context, person_id: str, out_file: Path | None) -> None:
    """Everything the workspace holds about PERSON_ID, as one JSON document."""
    from pipeline.privacy import export
    from store.privacy import export_json

    text = export_json(export(ctx.workspace, person_id))
    if out_file is None:
        click.echo(text, nl=False)
        return
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_name(f".{out_file.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out_file)
    click.echo(f"wrote {out_file}", err=True)


@person.command("erase")
@click.argument("person_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--out",
    "out_dirs",
    multiple=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory to re-write (repeatable; default: the last one published to).",
)
@_JSON
@pass_ctx
@handle_errors
def person_erase(ctx: Context, person_id: str, yes: bool, out_dirs: tuple[Path, ...], as_json: bool) -> None:
    """Erase PERSON_ID's personal data everywhere (irreversible); history keeps a neutral label."""
    from pipeline.privacy import erase

    if not yes:
        click.confirm(
            f"Erase every trace of '{person_id}' from {ctx.workspace}? This cannot be undone",
            abort=True,
            err=True,
        )
    result = erase(ctx.workspace, person_id, out_dirs=out_dirs)
    data = {
        "person": result.person_id,
        "pseudonym": result.pseudonym,
        "tables": result.tables,
        "feeds": result.feeds,
        "out": [str(d) for d in result.out_dirs],
        "scrubbed_files": list(result.scrubbed_files),
        "wal_reset": result.wal_reset,
    }
    if as_json:
        click.echo(json.dumps(data | {"already_erased": result.already}, indent=2))
        return
    if result.already:
        click.echo(f"{person_id} was already erased; the database was vacuumed again")
    else:
        click.echo(
            f"erased {person_id}: {sum(result.tables.values())} rows in {len(result.tables)} tables, "
            f"{result.feeds} feeds re-published"
            + (f" (and written to {', '.join(map(str, result.out_dirs))})" if result.out_dirs else "")
        )
    if not result.out_dirs and not result.already:
        click.echo(
            "no output directory is known: delete old output copies yourself, or pass --out DIR", err=True
        )
    if not result.wal_reset:
        click.echo(
            "a reader (serve?) kept the WAL from being truncated: run this command again "
            "(with serve stopped) to finish",
            err=True,
        )


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
@handle_errors
def backup_cmd(ctx: Context, file: Path) -> None:
    """Copy the workspace (database, feed key, program.toml) into one FILE; serve may keep running."""
    from store.backup import backup

    info = backup(ctx.workspace, file)
    click.echo(
        f"wrote {info.file} (schema version {info.schema_version}; "
        + ", ".join(f"{n} {b:,} bytes" for n, b in sorted(info.files.items()))
        + ")"
    )


@main.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the workspace's database, key and program.toml.")
@pass_ctx
@handle_errors
def restore_cmd(ctx: Context, file: Path, force: bool) -> None:
    """Restore a backup FILE into the workspace (refuses a non-empty one without --force)."""
    from pipeline.workspace import open_workspace
    from store.backup import restore

    info = restore(ctx.workspace, file, force=force)
    open_workspace(ctx.workspace).close()  # upgrades an older schema now, applies retention
    click.echo(f"restored {info.file} (made {info.created_at}) into {ctx.workspace}")


def _print_run_summary(s: dict[str, Any], out_dir: Path) -> None:
    unmatched = ", ".join(f"{n} {k}" for k, n in s["unmatched_by_reason"].items()) or "none"
    rows = [
        ("people", f"{s['people']} ({s['mentors']} can mentor, {s['mentees']} want a mentor)"),
        (
            "pairs",
            f"{s['pairs']} (objective {s['objective']:,.0f}, bound {s['bound']:,.0f}, "
            f"gap {100 * s['gap']:.2f}%)",
        ),
        ("unmatched", unmatched),
        ("mean score", s["mean_score"]),
        ("meetings", f"{s['meetings']} ({s['series']} recurring series, {s['milestone_events']} milestones)"),
        (
            "DST exceptions",
            f"{s['weeks_with_dst_exceptions']} weeks in which someone meets at another local "
            f"time ({s['people_with_dst_exceptions']} people; see local_times.csv)",
        ),
    ]
    if "changes" in s:
        rows.append(("changes", ", ".join(f"{n} {k}" for k, n in s["changes"].items())))
    rows += [
        (
            "feeds",
            f"{s['feeds']['count']} in {out_dir / 'feeds'} (URLs in {out_dir / 'feeds' / 'index.csv'})",
        ),
        ("report", str(out_dir / "report.html")),
        ("time", f"{s['timings_seconds'].get('total', 0):.1f}s"),
    ]
    click.echo(_table(rows))


@main.group()
def cycle() -> None:
    """Cycles: close one with its feedback, list them, show one."""


@cycle.command("close")
@click.option(
    "--feedback",
    "feedback_file",
    type=INPUT_FILE,
    help="The feedback CSV: person_id, partner_id, continue, rating, comment. Without it, the "
    "stored check-ins decide; with it, the file wins where both answer.",
)
@_JSON
@pass_ctx
@handle_errors
def cycle_close(ctx: Context, feedback_file: Path | None, as_json: bool) -> None:
    """Store the cycle's feedback and close it (ratings and comments stay private).

    The last check-in answer of each person about each partner counts as feedback (continue yes or
    no; 'unsure' counts as no answer) wherever the feedback file does not answer for them.
    """
    from pipeline.cycles import close_cycle

    result = close_cycle(ctx.workspace, feedback_file)
    _emit_problems(list(result.warnings))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "cycle": result.cycle_id,
                    "rows": result.rows,
                    "pairs": result.pairs,
                    "verdicts": dict(result.verdicts),
                    "from_file": result.from_file,
                    "from_checkins": result.from_checkins,
                }
                | (
                    {"circles": result.circles, "circle_answers": dict(result.circle_answers)}
                    if result.circles
                    else {}
                ),
                indent=2,
            )
        )
        return
    verdicts = ", ".join(f"{n} {k}" for k, n in result.verdicts.items())
    source = f" ({result.from_checkins} from check-ins)" if result.from_checkins else ""
    click.echo(
        f"cycle {result.cycle_id} closed: "
        f"{result.rows} feedback rows{source} on {result.pairs} pairs ({verdicts})"
        + (
            f"; {sum(result.circle_answers.values())} answers about {result.circles} circles "
            f"({result.circle_answers['yes']} yes, {result.circle_answers['no']} no)"
            if result.circles
            else ""
        )
    )
    click.echo("move [cycle] start forward in program.toml, then run `mentorsync rematch FILE --out DIR`")


@cycle.command("list")
@_JSON
@pass_ctx
@handle_errors
def cycle_list(ctx: Context, as_json: bool) -> None:
    """Every cycle of this workspace, oldest first."""
    from pipeline.cycles import cycle_list as list_cycles

    cycles = list_cycles(ctx.workspace)
    if as_json:
        click.echo(json.dumps([c.as_json() for c in cycles], indent=2))
        return
    for c in cycles:
        click.echo(
            f"{c.id:>4}  {c.start} .. {c.last_day}  {c.status:<6}  {c.people} people, {c.pairs} pairs"
            + (f", {c.feedback_rows} feedback rows" if c.feedback_rows else "")
        )


@cycle.command("show")
@click.argument("cycle_id", type=int)
@_JSON
@pass_ctx
@handle_errors
def cycle_show(ctx: Context, cycle_id: int, as_json: bool) -> None:
    """One cycle in detail (for the coordinator: ratings as counts only)."""
    from pipeline.cycles import cycle_show as show

    detail = show(ctx.workspace, cycle_id).as_json()
    if as_json:
        click.echo(json.dumps(detail, indent=2, default=str))
        return
    click.echo(
        _table(
            [
                (k, v if not isinstance(v, (dict, list)) else json.dumps(v, default=str))
                for k, v in detail.items()
            ]
        )
    )


@main.command()
@_JSON
@pass_ctx
@handle_errors
def checkins(ctx: Context, as_json: bool) -> None:
    """Check-ins of the latest cycle: response rates and the pairs that need a look."""
    from pipeline.checkins import checkins as load

    report = load(ctx.workspace)
    s = report.summary
    if as_json:
        click.echo(json.dumps({"cycle": report.cycle_id, **s.as_json()}, indent=2))
        return

    def name(pid: str) -> str:
        return f"{report.cohort[pid].name} ({pid})" if pid in report.cohort else pid

    click.echo(f"cycle {report.cycle_id}: {s.answers} check-in answers")
    for n, expected, given in s.rates:
        click.echo(f"  check-in {n}: {given} of {expected} answered ({100 * given / expected:.0f}%)")
    if not s.rates:
        click.echo("  no check-in has opened yet")
    click.echo(f"{len(s.at_risk)} pair(s) at risk" + (":" if s.at_risk else ""))
    for p in s.at_risk:
        risks = "; ".join(p.risks)
        click.echo(f"  {name(p.mentor_id)} & {name(p.mentee_id)}: {risks}")


@main.command()
@click.argument("file", required=False, type=INPUT_FILE)
@_OUT
@click.option(
    "--mid-cycle", is_flag=True, help="Someone left during the open cycle: move only the affected people."
)
@_JSON
@pass_ctx
@handle_errors
def rematch(ctx: Context, file: Path | None, out_dir: Path, mid_cycle: bool, as_json: bool) -> None:
    """The next cycle from an updated roster FILE (or the imported one), using the history."""
    from pipeline.cycles import rematch as do_rematch

    outcome = do_rematch(ctx.workspace, file, out_dir, progress=_progress(ctx, as_json), mid_cycle=mid_cycle)
    _emit_problems(list(outcome.warnings))
    if as_json:
        click.echo(json.dumps(outcome.summary, indent=2))
        return
    _print_run_summary(dict(outcome.summary), out_dir)


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write history.html, history.csv, history.json and introductions.csv here.",
)
@_JSON
@pass_ctx
@handle_errors
def history(ctx: Context, out_dir: Path | None, as_json: bool) -> None:
    """The program over its cycles: figures per cycle and per person, small groups suppressed.

    With --out, also the introductions proposed at the end of the last closed cycle
    (introductions.csv, for the coordinator). Reads the workspace only; never waits for a writer.
    """
    from history.figures import render_table
    from pipeline.program_history import history as program_history

    outcome = program_history(ctx.workspace, out_dir)
    if as_json:
        click.echo(json.dumps(outcome.figures.as_json(), indent=2, ensure_ascii=False))
    elif out_dir is None:
        click.echo(render_table(outcome.figures))
    if out_dir is not None:
        click.echo(
            f"wrote {', '.join(str(out_dir / f) for f in outcome.files)} "
            f"({len(outcome.introductions)} introductions proposed)",
            err=as_json,
        )


@main.command()
@click.argument("cycle_a", type=int)
@click.argument("cycle_b", type=int)
@_JSON
@pass_ctx
@handle_errors
def diff(ctx: Context, cycle_a: int, cycle_b: int, as_json: bool) -> None:
    """Pairs kept, ended and new, slots moved, people joined and left between two cycles."""
    from changes.diff import render_diff, to_json
    from pipeline.cycles import diff as cycle_diff

    d = cycle_diff(ctx.workspace, cycle_a, cycle_b)
    click.echo(json.dumps(to_json(d), indent=2, default=str) if as_json else render_diff(d))


if __name__ == "__main__":
    main()
