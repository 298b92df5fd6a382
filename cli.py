"""mentorsync's front door: parse arguments, call the library, render the results.

Exit codes follow the contract: 0 success, 2 wrong usage, 65 bad input data, 69 no acceptable
solution. Every library error carries all of its problems; they are printed one per line.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable

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
    unmatched = ", ".join(f"{n} {k}" for k, n in s["unmatched_by_reason"].items()) or "none"
    click.echo(_table([
        ("people", f"{s['people']} ({s['mentors']} can mentor, {s['mentees']} want a mentor)"),
        ("pairs", f"{s['pairs']} (objective {s['objective']:,.0f}, bound {s['bound']:,.0f}, "
                  f"gap {100 * s['gap']:.2f}%)"),
        ("unmatched", unmatched),
        ("mean score", s["mean_score"]),
        ("meetings", f"{s['meetings']} ({s['series']} recurring series, {s['milestone_events']} milestones)"),
        ("DST exceptions", f"{s['people_with_dst_exceptions']} people have weeks at another local time"),
        ("feeds", f"{s['feeds']['count']} in {out_dir / 'feeds'} (URLs in {out_dir / 'feeds' / 'index.csv'})"),
        ("report", str(out_dir / "report.html")),
        ("time", f"{s['timings_seconds'].get('total', 0):.1f}s"),
    ]))


if __name__ == "__main__":
    main()
