"""``program.toml``: the program's settings as immutable, validated dataclasses.

Every key has a default (``Program()`` is a valid program). Loading reports every problem at once
with the key's dotted path and line, rejects unknown keys with a suggestion, and checks types
and ranges from each field's metadata.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from cohort import limits
from cohort.errors import InputError, Problem
from cohort.text import has_controls


def _opt(default: Any, doc: str, **meta: Any) -> Any:
    """A field with its default and a one-line doc (used by ``mentorsync init``)."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"doc": doc, **meta})
    return field(default=default, metadata={"doc": doc, **meta})


@dataclass(frozen=True)
class ProgramInfo:
    name: str = _opt("Mentoring program", "shown in reports and as the calendar name")
    language: str = _opt("en", "assumed for people whose `languages` cell is empty")
    timezone: str = _opt("UTC", "the coordinator's zone, used for the report and coordinator feed")


@dataclass(frozen=True)
class CycleSettings:
    start: date = _opt(date(2027, 2, 1), "first day of the cycle (a date)")
    weeks: int = _opt(26, "length of the cycle in weeks (or give `end` instead)", min=1, max=260)
    end: date | None = _opt(None, "last day of the cycle, inclusive (instead of `weeks`)")
    cadence: str = _opt("biweekly", "default meeting rhythm", choices=("weekly", "biweekly", "monthly"))
    duration_minutes: int = _opt(45, "length of a regular meeting", min=5, max=480)
    buffer_minutes: int = _opt(15, "free time kept between two meetings of one person", min=0, max=240)
    granularity_minutes: int = _opt(
        15, "meetings start on multiples of this many minutes", choices=(5, 10, 15, 20, 30, 60)
    )
    holidays: list[date] = _opt([], "dates on which no meeting takes place, in any local calendar")

    @property
    def last_day(self) -> date:
        """The cycle's last day, inclusive."""
        return self.end if self.end is not None else self.start + timedelta(days=7 * self.weeks - 1)


@dataclass(frozen=True)
class Rules:
    reporting_line: str = _opt(
        "forbid", "a manager, or their manager, never mentors their report", choices=("forbid", "allow")
    )
    reporting_line_depth: int = _opt(2, "how many levels up the reporting line rule looks", min=1, max=10)
    same_department: str = _opt(
        "allow", "whether mentor and mentee may share a department", choices=("allow", "forbid")
    )
    min_level_gap: int = _opt(
        0,
        "mentor.level - mentee.level >= this, where both levels are known",
        min=-2 * limits.MAX_LEVEL,
        max=2 * limits.MAX_LEVEL,
    )
    common_language: bool = _opt(True, "the pair shares at least one language")
    default_capacity: int = _opt(2, "for mentors whose `capacity` cell is empty", min=0, max=1000)


@dataclass(frozen=True)
class Weights:
    """Soft weights: non-negative integers, the score's components are scaled by these."""

    goals: int = _opt(40, "goal coverage by the mentor's expertise", min=0, max=1000)
    availability: int = _opt(10, "common weekly time", min=0, max=1000)
    interests: int = _opt(10, "shared personal interests", min=0, max=1000)
    language: int = _opt(5, "more than one common language", min=0, max=1000)
    level: int = _opt(10, "a seniority gap close to the ideal", min=0, max=1000)
    prefer: int = _opt(15, "a `prefer` request (mutual requests count double)", min=0, max=1000)
    timezone: int = _opt(10, "time zones close together", min=0, max=1000)


@dataclass(frozen=True)
class Matching:
    objective: str = _opt(
        "total",
        "after the most mentees matched: 'total' score, or 'fairness' (raise the worst score first)",
        choices=("total", "fairness"),
    )
    time_limit_seconds: float = _opt(
        60.0, "CP-SAT time limit when side constraints need it", min=0.1, max=1_000_000.0
    )
    workers: int = _opt(2, "worker threads (CP-SAT, candidate generation)", min=1, max=64)
    seed: int = _opt(0, "CP-SAT random seed, for repeatable runs", min=0, max=2**31 - 1)
    deterministic: bool = _opt(
        True,
        "same input, same answer: CP-SAT workers search in lockstep and time limits count "
        "CP-SAT's deterministic time (false: free-running workers, wall-clock limits)",
    )
    lns_seconds: float = _opt(
        2.0,
        "above the exact joint model's size: seconds of large-neighbourhood search improving pairs "
        "and slots together, matched first, then score (counted like the time limits; 0: off)",
        min=0.0,
        max=1_000_000.0,
    )
    max_candidates_per_mentee: int = _opt(
        0, "keep only the best N candidates per mentee (0: all; large cohorts only)", min=0
    )
    auto_limit_pairs: int = _opt(
        5_000_000,
        "above this many possible mentor x mentee pairs, keep only the best "
        "`auto_candidates_per_mentee` per mentee (the optimum is then over the kept ones)",
        min=1,
    )
    auto_candidates_per_mentee: int = _opt(
        100, "candidates kept per mentee when `auto_limit_pairs` is exceeded", min=1
    )
    pins: list[list[str]] = _opt([], "[mentor_id, mentee_id] pairs that must be formed")
    forbid: list[list[str]] = _opt([], "[id, id] pairs that must never be formed")
    preferences: str = _opt(
        "score",
        "how the `ranks` column counts after the most mentees matched: 'rank-maximal' (most 1st "
        "choices, then 2nd, ...), 'worst-rank' (best worst rank, then rank-maximal), 'score' (like `prefer`)",
        choices=("score", "rank-maximal", "worst-rank"),
    )


@dataclass(frozen=True)
class Milestones:
    kickoff: bool = _opt(True, "a kickoff meeting in the first week")
    kickoff_minutes: int = _opt(60, "length of the kickoff", min=5, max=480)
    checkins: bool = _opt(True, "a progress check-in every month")
    review: bool = _opt(True, "a mid-cycle review")
    closing: bool = _opt(True, "a closing celebration in the last weeks")
    closing_minutes: int = _opt(60, "length of the closing celebration", min=5, max=480)


@dataclass(frozen=True)
class ScheduleSettings:
    """How recurring slots are searched and chosen (see ``scheduler/slots.py`` for the rules)."""

    options_per_pair: int = _opt(12, "best diverse slot options kept per pair for the solver", min=1, max=500)
    time_limit_seconds: float = _opt(30.0, "CP-SAT time limit for choosing slots", min=0.1, max=1_000_000.0)
    workday_start_hour: int = _opt(9, "local hour from which meetings count as convenient", min=0, max=23)
    workday_end_hour: int = _opt(17, "local hour after which meetings count as inconvenient", min=1, max=24)
    max_skipped_fraction: float = _opt(
        0.34,
        "a slot losing more than this share of its meetings to holidays/blackouts ranks lower",
        min=0.0,
        max=1.0,
    )


@dataclass(frozen=True)
class FeedSettings:
    base_url: str = _opt(
        "http://127.0.0.1:8080", "public address of `mentorsync serve`; feeds are at /feeds/<token>.ics"
    )
    refresh_minutes: int = _opt(
        720,
        "how often calendar apps should refresh (REFRESH-INTERVAL, X-PUBLISHED-TTL)",
        min=15,
        max=525_600,
    )
    max_age_seconds: int = _opt(
        300,
        "how long `mentorsync serve` lets a client cache a feed (Cache-Control max-age)",
        min=0,
        max=86400,
    )


SMTP_PASSWORD_ENV = "MENTORSYNC_SMTP_PASSWORD"  # the SMTP password never lives in a file


@dataclass(frozen=True)
class EmailSettings:
    """``[email]``: how ``mentorsync notify`` sends (SMTP). The password comes only from the
    environment variable ``MENTORSYNC_SMTP_PASSWORD``; ``from`` is the TOML key of ``sender``."""

    host: str = _opt("", "SMTP server, e.g. smtp.example.org (empty: `notify --dry-run` only)")
    port: int = _opt(587, "SMTP port: 587 for starttls, 465 for tls, 25 for a local relay", min=1, max=65535)
    security: str = _opt(
        "starttls",
        "how the connection is protected ('none': only for a relay on the same machine)",
        choices=("starttls", "tls", "none"),
    )
    username: str = _opt(
        "",
        "SMTP login (empty: no login); the password is read from the environment "
        "variable MENTORSYNC_SMTP_PASSWORD, never from a file",
    )
    sender: str = _opt(
        "", "the coordinator's address: From of every message, ORGANIZER of invitations", key="from"
    )
    reply_to: str = _opt("", "where replies go (empty: the `from` address)")
    messages_per_minute: int = _opt(60, "rate limit: at most this many messages a minute", min=1, max=100000)
    timeout_seconds: float = _opt(30.0, "how long to wait for the SMTP server", min=1.0, max=600.0)


@dataclass(frozen=True)
class Charter:
    """The program's expectations, shown on every participant's page and in emails (plain text)."""

    goals: str = _opt(
        "Help each mentee grow in the goals they chose, with a mentor who has walked that path.",
        "what the program is for, in a sentence or two",
    )
    rhythm: str = _opt(
        "Meet at the scheduled time; if you cannot, tell your partner early and move the meeting "
        "within the same week. Answer the short monthly check-in on your page.",
        "how often to meet and what to do when a meeting cannot happen",
    )
    confidentiality: str = _opt(
        "What is said in your meetings stays between the two of you. Check-in answers go to the "
        "coordinator only, never to your partner.",
        "what stays private, and who sees the check-ins",
    )
    ending: str = _opt(
        "If the pairing is not working, say so kindly, thank each other, and tell the coordinator "
        "in your check-in or directly; nobody needs to give a reason.",
        "how to end a pairing respectfully",
    )


@dataclass(frozen=True)
class Retention:
    """How long private notes are kept after a cycle closes."""

    comments_days: int | None = _opt(
        None,
        "erase feedback comments (and other private notes) this many days after their cycle "
        "closes; applied whenever a command opens the workspace (unset: kept)",
        min=0,
        max=36500,
    )


@dataclass(frozen=True)
class Circles:
    """``[circles]``: group mentoring for people whose `format` is `circle` or `either`
    (see ``planner/circles.py``). Without such people nothing here has any effect."""

    kind: str = _opt(
        "mentor-led",
        "'mentor-led': one mentor and several mentees; 'peer': members of one pool, no mentor",
        choices=("mentor-led", "peer"),
    )
    min_size: int = _opt(3, "fewest members in a circle, not counting a mentor", min=2, max=50)
    max_size: int = _opt(6, "most members in a circle, not counting a mentor", min=2, max=50)
    cadence: str = _opt("biweekly", "how often a circle meets", choices=("weekly", "biweekly", "monthly"))
    duration_minutes: int = _opt(60, "length of a circle meeting", min=5, max=480)
    goal_overlap_weight: int = _opt(
        10, "score per goal shared by every member (after the most people placed)", min=0, max=1000
    )
    mentor_capacity_per_circle: int = _opt(
        2,
        "how many of a mentor's `capacity` seats one circle they lead uses "
        "(0: circles do not count against capacity)",
        min=0,
        max=1000,
    )


@dataclass(frozen=True)
class History:
    """``[history]``: the program over its cycles (``mentorsync history``) and introductions."""

    min_group: int = _opt(
        5,
        "a history figure computed over fewer people than this is shown as suppressed, never as a number",
        min=1,
        max=1000,
    )
    introductions: int = _opt(
        3,
        "at a cycle's end, most people proposed to each person whose `introductions` cell is yes "
        "(from their partners' earlier partners, sharing a goal; 0: none)",
        min=0,
        max=50,
    )


@dataclass(frozen=True)
class Program:
    """The whole ``program.toml``; sections map one-to-one to TOML tables."""

    program: ProgramInfo = field(default_factory=ProgramInfo)
    cycle: CycleSettings = field(default_factory=CycleSettings)
    rules: Rules = field(default_factory=Rules)
    weights: Weights = field(default_factory=Weights)
    matching: Matching = field(default_factory=Matching)
    milestones: Milestones = field(default_factory=Milestones)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    feeds: FeedSettings = field(default_factory=FeedSettings)
    charter: Charter = field(default_factory=Charter)
    retention: Retention = field(default_factory=Retention)
    email: EmailSettings = field(default_factory=EmailSettings)
    circles: Circles = field(default_factory=Circles)
    history: History = field(default_factory=History)


SECTIONS: dict[str, type] = {f.name: f.type for f in dataclasses.fields(Program)}  # type: ignore[misc]
_SECTION_TYPES = get_type_hints(Program)


def toml_key(f: dataclasses.Field) -> str:  # type: ignore[type-arg]
    """The key a field has in ``program.toml`` (its name, unless that is a Python keyword)."""
    return str(f.metadata.get("key", f.name))


def key_line(text: str, section: str, key: str | None) -> int:
    """The line of ``[section]`` or of ``key`` inside it in a ``program.toml`` text (0: not there)."""
    return _line_of(text.splitlines(), section, key)


def _suggest(name: str, options: list[str]) -> str | None:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(options)}"


def _line_of(lines: list[str], section: str, key: str | None) -> int:
    """Best-effort line number of ``[section]`` or of ``key`` inside it (TOML parsers keep none)."""
    in_section = False
    for number, text in enumerate(lines, start=1):
        stripped = text.strip()
        if stripped.startswith("["):
            in_section = stripped.strip("[] ").split("#")[0].strip() == section
            if in_section and key is None:
                return number
            continue
        if in_section and key is not None and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return 0


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is list:
        (inner,) = get_args(tp)
        return f"a list of {_type_name(inner)}s"
    if tp is date:
        return "a date like 2027-02-01"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "a whole number"
    if tp is float:
        return "a number"
    if tp is str:
        return "a quoted string"
    args = [a for a in get_args(tp) if a is not type(None)]
    if args:
        return _type_name(args[0])
    return str(tp)


def _check(value: Any, tp: Any) -> bool:
    origin = get_origin(tp)
    if origin is list:
        (inner,) = get_args(tp)
        return isinstance(value, list) and all(_check(v, inner) for v in value)
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is date:
        return isinstance(value, date) and not hasattr(value, "hour")
    if tp is str:
        return isinstance(value, str)
    args = get_args(tp)
    if args:  # Optional[X]
        return any(_check(value, a) for a in args if a is not type(None))
    return isinstance(value, tp)


def _bound_problem(value: Any, meta: Any) -> tuple[str, str] | None:
    """What is out of bounds in a value of the right type: numbers SQLite and the solvers cannot
    hold, dates at the ends of the calendar, text too long or with control characters."""
    items = value if isinstance(value, list) else [value]
    flat = [x for item in items for x in (item if isinstance(item, list) else [item])]
    for item in flat:
        if isinstance(item, float) and item != item or item in (float("inf"), float("-inf")):
            return f"{item} is not a number", "a finite number"
        if (
            isinstance(item, int)
            and not isinstance(item, bool)
            and "max" not in meta
            and abs(item) > limits.MAX_SETTING_INTEGER
        ):
            return f"{item} is too large", f"at most {limits.MAX_SETTING_INTEGER:,}"
        if isinstance(item, date) and not limits.MIN_DATE <= item <= limits.MAX_DATE:
            return f"{item} is too far from today", f"a date between {limits.MIN_DATE} and {limits.MAX_DATE}"
        if isinstance(item, str):
            if len(item) > limits.MAX_CELL_CHARS:
                return f"the text has {len(item):,} characters", f"at most {limits.MAX_CELL_CHARS:,}"
            if has_controls(item):
                return "the text holds control characters", "remove the \\u escapes of control characters"
    if isinstance(value, list) and len(value) > limits.MAX_ROWS:
        return f"{len(value):,} items", f"at most {limits.MAX_ROWS:,}"
    return None


def parse_program(data: dict[str, Any], file: str = "program.toml", text: str = "") -> Program:
    """Build a ``Program`` from parsed TOML, raising ``InputError`` with every problem.

    Long on purpose: every section, key and value is checked in one pass so that all problems
    are reported at once, each with its ``program.toml`` line.
    """
    lines = text.splitlines()
    problems: list[Problem] = []
    sections: dict[str, Any] = {}
    for section_name, table in data.items():
        if section_name not in SECTIONS:
            problems.append(
                Problem(
                    file,
                    _line_of(lines, section_name, None),
                    section_name,
                    f"unknown section [{section_name}]",
                    _suggest(section_name, list(SECTIONS)),
                )
            )
            continue
        if not isinstance(table, dict):
            problems.append(Problem(file, 0, section_name, "must be a table", f"write [{section_name}]"))
            continue
        cls = _SECTION_TYPES[section_name]
        hints = get_type_hints(cls)
        fields = {toml_key(f): f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in table.items():
            path = f"{section_name}.{key}"
            line = _line_of(lines, section_name, key)
            if key not in fields:
                problems.append(Problem(file, line, path, "unknown key", _suggest(key, list(fields))))
                continue
            tp = hints[fields[key].name]
            if isinstance(value, float) and tp is int and value.is_integer():
                value = int(value)
            if not _check(value, tp):
                shown = repr(value)
                shown = shown if len(shown) <= 60 else shown[:60] + "..."
                problems.append(
                    Problem(
                        file,
                        line,
                        path,
                        f"wrong type {type(value).__name__} {shown}",
                        f"expected {_type_name(tp)}",
                    )
                )
                continue
            bound = _bound_problem(value, fields[key].metadata)
            if bound:
                problems.append(Problem(file, line, path, bound[0], bound[1]))
                continue
            meta = fields[key].metadata
            if "choices" in meta and value not in meta["choices"]:
                problems.append(
                    Problem(
                        file,
                        line,
                        path,
                        f"{value!r} is not allowed",
                        "one of " + ", ".join(repr(c) for c in meta["choices"]),
                    )
                )
                continue
            if "min" in meta and value < meta["min"]:
                problems.append(Problem(file, line, path, f"{value} is too small", f"at least {meta['min']}"))
                continue
            if "max" in meta and value > meta["max"]:
                problems.append(Problem(file, line, path, f"{value} is too large", f"at most {meta['max']}"))
                continue
            if get_origin(tp) is list and get_origin(get_args(tp)[0]) is list:
                bad = [v for v in value if len(v) != 2]
                if bad:
                    problems.append(
                        Problem(
                            file,
                            line,
                            path,
                            f"{bad[0]!r} is not a pair",
                            'write pairs like ["mentor_id", "mentee_id"]',
                        )
                    )
                    continue
            values[fields[key].name] = value
        low, high = values.get("min_size", 3), values.get("max_size", 6)
        if section_name == "circles" and low > high:
            problems.append(
                Problem(
                    file,
                    _line_of(lines, "circles", "min_size"),
                    "circles.min_size",
                    f"min_size {low} is larger than max_size {high}",
                    f"at most {high}",
                )
            )
        if section_name == "cycle":
            if "weeks" in table and "end" in table:
                problems.append(
                    Problem(
                        file,
                        _line_of(lines, "cycle", "end"),
                        "cycle.end",
                        "both `weeks` and `end` are given",
                        "keep only one of them",
                    )
                )
            start = values.get("start", CycleSettings.start)
            end = values.get("end")
            if isinstance(end, date) and isinstance(start, date) and end < start:
                problems.append(
                    Problem(
                        file,
                        _line_of(lines, "cycle", "end"),
                        "cycle.end",
                        f"end {end} is before start {start}",
                        "end must be on or after start",
                    )
                )
            elif (
                isinstance(end, date)
                and isinstance(start, date)
                and (end - start).days >= 7 * limits.MAX_CYCLE_WEEKS
            ):
                problems.append(
                    Problem(
                        file,
                        _line_of(lines, "cycle", "end"),
                        "cycle.end",
                        f"end {end} is more than {limits.MAX_CYCLE_WEEKS} weeks after start {start}",
                        f"at most {start + timedelta(days=7 * limits.MAX_CYCLE_WEEKS - 1)}",
                    )
                )
        if section_name == "program" and "timezone" in values:
            from cohort.timezones import is_valid_zone

            if not is_valid_zone(values["timezone"]):
                problems.append(
                    Problem(
                        file,
                        _line_of(lines, "program", "timezone"),
                        "program.timezone",
                        f"unknown time zone {values['timezone']!r}",
                        "an IANA name like 'Europe/London'",
                    )
                )
        try:
            sections[section_name] = cls(**values)
        except TypeError as exc:  # pragma: no cover - guarded by the checks above
            problems.append(Problem(file, 0, section_name, str(exc)))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(problems)
    return Program(**sections)


def load_program(path: str | Path) -> Program:
    """Read and validate a ``program.toml`` file."""
    path = Path(path)
    text = read_program_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise InputError(
            [
                Problem(
                    str(path),
                    int(match.group(1)) if match else 0,
                    None,
                    f"not valid TOML: {exc}",
                    "see `mentorsync init` for an example",
                )
            ]
        ) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # a 5,000-digit integer, deep arrays
        raise InputError(
            [
                Problem(
                    str(path),
                    0,
                    None,
                    f"not usable TOML: {str(exc)[:200]}",
                    "see `mentorsync init` for an example",
                )
            ]
        ) from None
    return parse_program(data, str(path), text)


def read_program_text(path: str | Path) -> str:
    """The text of ``program.toml``: UTF-8 (a byte-order mark is allowed), at most the file limit."""
    from cohort.tables import read_bounded

    path = Path(path)
    try:
        data = read_bounded(path)
    except InputError as exc:
        if exc.problems and exc.problems[0].message == "file not found":
            raise InputError(
                [Problem(str(path), 0, None, "file not found", "run `mentorsync init DIR` to create one")]
            ) from None
        raise
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            [Problem(str(path), line, None, "the file is not UTF-8 text", "save program.toml as UTF-8")]
        ) from None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


def example_toml(program: Program | None = None) -> str:
    """A commented ``program.toml`` listing every key with its value and meaning."""
    program = program or Program()
    out = ["# mentorsync program settings. Every key is optional; shown are the defaults.", ""]
    for section in dataclasses.fields(program):
        obj = getattr(program, section.name)
        out.append(f"[{section.name}]")
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            doc = f.metadata.get("doc", "")
            if "choices" in f.metadata:
                doc += " (" + " | ".join(str(c) for c in f.metadata["choices"]) + ")"
            if value is None:
                out.append(f"# {toml_key(f)} = ...  # {doc}")
            else:
                out.append(f"{toml_key(f)} = {_toml_value(value)}  # {doc}")
        out.append("")
    return "\n".join(out)
