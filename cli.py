"""mentorsync's front door: parse arguments, call the library, render the results.

Exit codes follow the contract: 0 success, 2 wrong usage, 65 bad input data, 69 no acceptable
solution. Every library error carries all of its problems; they are printed one per line.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cohort.errors import InputError, MentorsyncError, Problem


def _emit_problems(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into the contract's exit codes and messages."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--workspace", "-w", type=click.Path(file_okay=False, path_type=Path), default=".",
              show_default=True, help="Directory holding program.toml and the history database.")
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
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@pass_ctx
@handle_errors
def validate(ctx: Context, file: Path, as_json: bool) -> None:
    """Check a participants FILE (.csv, .xlsx or .json) and print every problem; change nothing."""
    from cohort.load import load_participants

    program = ctx.load_program()
    try:
        cohort, warnings = load_participants(file, program)
    except InputError as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "problems": [p.__dict__ for p in exc.problems]}, indent=2))
        raise
    if as_json:
        click.echo(json.dumps({"ok": True, "people": len(cohort), "mentors": len(cohort.mentors),
                               "mentees": len(cohort.mentees),
                               "problems": [p.__dict__ for p in warnings]}, indent=2))
        return
    _emit_problems(warnings)
    click.echo(f"{file}: {len(cohort)} people ({len(cohort.mentors)} can mentor, "
               f"{len(cohort.mentees)} want a mentor), no errors"
               + (f", {len(warnings)} warning(s)" if warnings else ""))


def _progress(ctx: Context, as_json: bool) -> Any:
    from pipeline.progress import StderrProgress, null_progress

    if ctx.quiet:
        return null_progress
    return StderrProgress(as_json=as_json)


def _table(rows: list[tuple[str, Any]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default="out",
              show_default=True, help="Directory for matches, schedule, feeds and the report.")
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


_OUT = click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default="out",
                    show_default=True, help="Directory for the output files.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
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
    click.echo(_table([("pairs", s["pairs"]), ("candidates", s["candidates"]),
                       ("objective",
                        f"{s['objective']:,.0f} (bound {s['bound']:,.0f}, gap {100 * s['gap']:.2f}%)"),
                       ("files", f"{out_dir}/matches.csv, unmatched.csv, candidates.csv")]))


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
        click.echo(json.dumps({"series": len(sched.series), "events": len(sched.events),
                               "pairs": len(plan.match.pairs), "repair": dict(plan.repair)}, indent=2))
        return
    click.echo(f"{len(sched.series)} pairs scheduled, {len(sched.events)} milestone meetings; "
               f"wrote {out_dir / 'schedule.json'}")


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
        click.echo(json.dumps({"feeds": len(result.feeds), "changed": changed,
                               "index": str(out_dir / "feeds" / "index.csv")}))
        return
    click.echo(f"{len(result.feeds)} feeds ({changed} changed); URLs in {out_dir / 'feeds' / 'index.csv'}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@pass_ctx
@handle_errors
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve the published feeds over HTTP at /feeds/<token>.ics."""
    from feeds.server import serve as serve_feeds

    program = ctx.load_program()
    if not (ctx.workspace / "mentorsync.db").exists():
        raise click.UsageError(f"no workspace database in {ctx.workspace}: publish feeds first")
    click.echo(f"serving feeds on http://{host}:{port}/feeds/<token>.ics (Ctrl+C to stop)", err=True)
    serve_feeds(ctx.workspace, host, port, max_age=program.feeds.max_age_seconds)


@main.command()
@click.argument("person_id")
@click.option("--top", default=5, show_default=True, help="How many alternatives to show.")
@_JSON
@pass_ctx
@handle_errors
def explain(ctx: Context, person_id: str, top: int, as_json: bool) -> None:
    """Why PERSON_ID got this partner and this slot, or no partner at all."""
    from pipeline.steps import explain as explain_person

    result = explain_person(ctx.workspace, person_id, top=top)
    click.echo(json.dumps(result.data, indent=2, default=str) if as_json else result.text)


@main.command()
@click.option("--dry-run", is_flag=True,
              help="Write every message as an .eml file under --out; send nothing.")
@click.option("--only", "only", multiple=True, metavar="ID", help="Only this person (repeat for more).")
@click.option("--status", "show_status", is_flag=True, help="List sent, pending and failed messages.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default="out/notify",
              show_default=True, help="Where --dry-run writes the .eml files.")
@_JSON
@pass_ctx
@handle_errors
def notify(ctx: Context, dry_run: bool, only: tuple[str, ...], show_status: bool, out_dir: Path,
           as_json: bool) -> None:
    """Email each participant what is new: introduction, change, invitations (exactly once).

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
            click.echo(f"{r.id:>6}  {r.status:<8} {r.kind:<9} {r.person_id:<20} {r.recipient}  "
                       f"{r.sent_at or r.created_at}" + (f"  ({r.last_error})" if r.last_error else ""))
        click.echo(", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "the outbox is empty")
        return
    result = run_notify(ctx.workspace, dry_run=dry_run, only=list(only) or None, out_dir=out_dir)
    if as_json:
        click.echo(json.dumps({"queued": result.queued, "by_kind": result.by_kind,
                               "sent": [r.as_json() for r in result.sent],
                               "failed": [r.as_json() for r in result.failed],
                               "pending": [r.as_json() for r in result.pending],
                               "resent": [r.as_json() for r in result.resent],
                               "written": list(result.written), "error": result.error}, indent=2))
    elif dry_run:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(result.by_kind.items())) or "nothing new"
        click.echo(f"dry run: {len(result.written)} message(s) written to {out_dir} ({kinds}); nothing sent")
    else:
        click.echo(f"{result.queued} new message(s) queued, {len(result.sent)} sent")
        for r in result.resent:
            click.echo(f"resent after an interruption (same Message-ID {r.message_id}): {r.person_id}",
                       err=True)
    for r in result.failed:
        click.echo(f"refused: message {r.id} ({r.kind}) to {r.person_id} <{r.recipient}>: {r.last_error}",
                   err=True)
    if result.error or result.failed:
        left = len(result.pending) + len(result.failed)
        raise DeliveryError((f"{result.error}; " if result.error else "")
                            + f"{left} message(s) not delivered, kept in the outbox: run `mentorsync notify` "
                            "again to send them (`notify --status` lists them)")


@main.group()
def feeds() -> None:
    """Manage participants' private feed URLs."""


@feeds.command()
@click.argument("person_id")
@pass_ctx
@handle_errors
def rotate(ctx: Context, person_id: str) -> None:
    """Give PERSON_ID a new feed URL; the old one stops working at once."""
    from feeds.tokens import feed_url
    from feeds.tokens import rotate as rotate_token
    from store import Workspace

    program = ctx.load_program()
    with Workspace(ctx.workspace, create=False) as ws:
        token = rotate_token(ws, person_id)
    click.echo(f"new feed URL for {person_id}: {feed_url(program.feeds.base_url, token)}")
    click.echo("run `mentorsync publish` to write the feed file under its new name", err=True)


@feeds.command()
@click.argument("person_id")
@pass_ctx
@handle_errors
def revoke(ctx: Context, person_id: str) -> None:
    """Stop serving PERSON_ID's feed at once (`feeds rotate` issues a new URL)."""
    from feeds.tokens import revoke as revoke_token
    from store import Workspace

    with Workspace(ctx.workspace, create=False) as ws:
        done = revoke_token(ws, person_id)
    click.echo(f"feed of {person_id} revoked" if done else f"feed of {person_id} was already revoked")


def _print_run_summary(s: dict[str, Any], out_dir: Path) -> None:
    unmatched = ", ".join(f"{n} {k}" for k, n in s["unmatched_by_reason"].items()) or "none"
    rows = [
        ("people", f"{s['people']} ({s['mentors']} can mentor, {s['mentees']} want a mentor)"),
        ("pairs", f"{s['pairs']} (objective {s['objective']:,.0f}, bound {s['bound']:,.0f}, "
                  f"gap {100 * s['gap']:.2f}%)"),
        ("unmatched", unmatched),
        ("mean score", s["mean_score"]),
        ("meetings", f"{s['meetings']} ({s['series']} recurring series, {s['milestone_events']} milestones)"),
        ("DST exceptions", f"{s['weeks_with_dst_exceptions']} weeks in which someone meets at another local "
                           f"time ({s['people_with_dst_exceptions']} people; see local_times.csv)"),
    ]
    if "changes" in s:
        rows.append(("changes", ", ".join(f"{n} {k}" for k, n in s["changes"].items())))
    rows += [
        ("feeds",
         f"{s['feeds']['count']} in {out_dir / 'feeds'} (URLs in {out_dir / 'feeds' / 'index.csv'})"),
        ("report", str(out_dir / "report.html")),
        ("time", f"{s['timings_seconds'].get('total', 0):.1f}s"),
    ]
    click.echo(_table(rows))


@main.group()
def cycle() -> None:
    """Cycles: close one with its feedback, list them, show one."""


@cycle.command("close")
@click.option("--feedback", "feedback_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The feedback CSV: person_id, partner_id, continue, rating, comment.")
@_JSON
@pass_ctx
@handle_errors
def cycle_close(ctx: Context, feedback_file: Path, as_json: bool) -> None:
    """Store the cycle's feedback and close it (ratings and comments stay private)."""
    from pipeline.cycles import close_cycle

    result = close_cycle(ctx.workspace, feedback_file)
    _emit_problems(list(result.warnings))
    if as_json:
        click.echo(json.dumps({"cycle": result.cycle_id, "rows": result.rows, "pairs": result.pairs,
                               "verdicts": dict(result.verdicts)}, indent=2))
        return
    verdicts = ", ".join(f"{n} {k}" for k, n in result.verdicts.items())
    click.echo(f"cycle {result.cycle_id} closed: "
               f"{result.rows} feedback rows on {result.pairs} pairs ({verdicts})")
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
        click.echo(f"{c.id:>4}  {c.start} .. {c.last_day}  {c.status:<6}  {c.people} people, {c.pairs} pairs"
                   + (f", {c.feedback_rows} feedback rows" if c.feedback_rows else ""))


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
    click.echo(_table([(k, v if not isinstance(v, (dict, list)) else json.dumps(v, default=str))
                       for k, v in detail.items()]))


@main.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@_OUT
@click.option("--mid-cycle", is_flag=True,
              help="Someone left during the open cycle: move only the affected people.")
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
@click.argument("cycle_a", type=int)
@click.argument("cycle_b", type=int)
@_JSON
@pass_ctx
@handle_errors
def diff(ctx: Context, cycle_a: int, cycle_b: int, as_json: bool) -> None:
    """Pairs kept, ended and new, slots moved, people joined and left between two cycles."""
    from cycles.diff import render_diff, to_json
    from pipeline.cycles import diff as cycle_diff

    d = cycle_diff(ctx.workspace, cycle_a, cycle_b)
    click.echo(json.dumps(to_json(d), indent=2, default=str) if as_json else render_diff(d))


if __name__ == "__main__":
    main()
