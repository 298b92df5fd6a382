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
import warnings
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from cohort import limits
from cohort.errors import InputError, Problem
from cohort.toml_hints import bound_problem, decode_hint, has_type, key_at, line_of, type_problem

CANDIDATES_KEY = "candidates_per_mentee"  # [solver]: one knob for the three pruning settings


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
    # The solvers' tuning, written in program.toml as [solver] (``SOLVER_KEYS``); the old keys
    # here are still read, with a warning naming the new one.
    time_limit_seconds: float = _opt(
        60.0,
        "CP-SAT time limit when side constraints need it",
        min=0.1,
        max=1_000_000.0,
        solver="match_seconds",
    )
    workers: int = _opt(2, "worker threads (CP-SAT, candidate generation)", min=1, max=64, solver="workers")
    seed: int = _opt(0, "CP-SAT random seed, for repeatable runs", min=0, max=2**31 - 1, solver="seed")
    deterministic: bool = _opt(True, "same input, same answer", solver="deterministic")
    lns_seconds: float = _opt(
        2.0, "large-neighbourhood search budget", min=0.0, max=1_000_000.0, solver="search_seconds"
    )
    max_candidates_per_mentee: int = _opt(
        0, "keep only the best N candidates per mentee (0: all)", min=0, solver=CANDIDATES_KEY
    )
    auto_limit_pairs: int = _opt(
        5_000_000, "possible pairs above which candidates are pruned", min=1, solver=CANDIDATES_KEY
    )
    auto_candidates_per_mentee: int = _opt(
        100, "candidates kept per mentee above `auto_limit_pairs`", min=1, solver=CANDIDATES_KEY
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

    options_per_pair: int = _opt(
        12, "best diverse slot options kept per pair", min=1, max=500, solver="slot_options_per_pair"
    )
    time_limit_seconds: float = _opt(
        30.0, "CP-SAT time limit for choosing slots", min=0.1, max=1_000_000.0, solver="schedule_seconds"
    )
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
    (see ``planner/circles/``). Without such people nothing here has any effect."""

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
UNLIMITED_PAIRS = 2**62  # `candidates_per_mentee = 0`: no size prunes the candidates


@dataclass(frozen=True)
class SolverKey:
    """One key of the advanced ``[solver]`` section and the setting it sets (``section`` and
    ``attribute``: where the solvers read it, e.g. ``program.matching.lns_seconds``)."""

    key: str
    section: str
    attribute: str
    doc: str


SOLVER_KEYS: tuple[SolverKey, ...] = (
    SolverKey(
        "deterministic",
        "matching",
        "deterministic",
        "same input, same answer on any machine: CP-SAT's workers search in lockstep and every time "
        "limit below counts CP-SAT's deterministic time (false: free-running workers, wall-clock seconds)",
    ),
    SolverKey("workers", "matching", "workers", "worker threads of CP-SAT and of candidate generation"),
    SolverKey("seed", "matching", "seed", "CP-SAT's random seed"),
    SolverKey(
        "match_seconds",
        "matching",
        "time_limit_seconds",
        "time limit of each CP-SAT model deciding pairs: the matching when pins, fairness or ranks "
        "need one, the exact joint model of pairs and slots, the circles",
    ),
    SolverKey(
        "schedule_seconds", "schedule", "time_limit_seconds", "time limit of the CP-SAT model choosing slots"
    ),
    SolverKey(
        "search_seconds",
        "matching",
        "lns_seconds",
        "budget of the search that improves pairs and slots together after the first plan (more "
        "matched, then more score). Spent only above 3,000 candidate pairs: below, one exact joint "
        "model decides (within match_seconds) and nothing is left to search; 0: off",
    ),
    SolverKey(
        "slot_options_per_pair",
        "schedule",
        "options_per_pair",
        "best recurring slots kept per pair for the schedule model (more: slower, rarely better)",
    ),
)
_CANDIDATES_DOC = (
    '"auto": every candidate pair up to 5,000,000 possible mentor x mentee pairs, the best 100 '
    "per mentee above; a number N: the best N per mentee at any size; 0: every candidate at any "
    "size (the optimum is over the candidates kept; pins are always kept)"
)


def toml_key(f: dataclasses.Field) -> str:  # type: ignore[type-arg]
    """The key a field has in ``program.toml`` (its name, unless that is a Python keyword)."""
    return str(f.metadata.get("key", f.name))


def key_line(text: str, section: str, key: str | None) -> int:
    """The line of ``[section]`` or of ``key`` inside it in a ``program.toml`` text (0: not there)."""
    return line_of(text.splitlines(), section, key)


def _suggest(name: str, options: list[str]) -> str | None:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(options)}"


class ProgramWarning(UserWarning):
    """A ``program.toml`` finding that does not stop the command (an old key, still read); the
    CLI prints it as ``program.toml:LINE: column 'section.key': warning: ...``."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


class _Reader:
    """Reads one ``program.toml``'s tables into section values, collecting every problem."""

    def __init__(self, file: str, text: str):
        self.file = file
        self.lines = text.splitlines()
        self.problems: list[Problem] = []
        self.old: dict[tuple[str, str], str] = {}  # (section, attribute) set by an old key -> its path

    def add(self, section: str, key: str | None, message: str, hint: str | None = None, **kw: Any) -> None:
        column = f"{section}.{key}" if key else section
        self.problems.append(
            Problem(self.file, line_of(self.lines, section, key), column, message, hint, **kw)
        )

    def checked(self, section: str, key: str, value: Any, f: dataclasses.Field, tp: Any) -> tuple[bool, Any]:  # type: ignore[type-arg]
        """``(ok, value)``: ``value`` checked against the field's type and bounds (as ``key``
        in ``section``: a [solver] key is checked against the field it sets)."""
        if isinstance(value, float) and tp is int and value.is_integer():
            value = int(value)
        meta = f.metadata
        if not has_type(value, tp):
            self.add(section, key, *type_problem(key, value, tp))
            return False, None
        bound = bound_problem(value, meta)
        if bound is None and "choices" in meta and value not in meta["choices"]:
            bound = f"{value!r} is not allowed", "one of " + ", ".join(repr(c) for c in meta["choices"])
        if bound is None and "min" in meta and value < meta["min"]:
            bound = f"{value} is too small", f"at least {meta['min']}"
        if bound is None and "max" in meta and value > meta["max"]:
            bound = f"{value} is too large", f"at most {meta['max']}"
        if bound is None and get_origin(tp) is list and get_origin(get_args(tp)[0]) is list:
            bad = [v for v in value if len(v) != 2]
            if bad:
                bound = f"{bad[0]!r} is not a pair", 'write pairs like ["mentor_id", "mentee_id"]'
        if bound:
            self.add(section, key, *bound)
            return False, None
        return True, value

    def section(self, name: str, table: dict[str, Any]) -> dict[str, Any]:
        """The good values of one section's table, by attribute."""
        cls = _SECTION_TYPES[name]
        hints = get_type_hints(cls)
        fields = {toml_key(f): f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key not in fields:
                self.add(name, key, "unknown key", _suggest(key, list(fields)))
                continue
            f = fields[key]
            ok, value = self.checked(name, key, value, f, hints[f.name])
            if not ok:
                continue
            values[f.name] = value
            if "solver" in f.metadata:
                self.old[(name, f.name)] = f"{name}.{key}"
                self.add(name, key, "an old key, still read", _moved_hint(f, value), severity="warning")
        return values

    def solver(self, table: dict[str, Any]) -> dict[tuple[str, str], Any]:
        """``[solver]``'s values, by the (section, attribute) each one sets."""
        keys = {k.key: k for k in SOLVER_KEYS}
        out: dict[tuple[str, str], Any] = {}
        for key, value in table.items():
            if key == CANDIDATES_KEY:
                out.update(self.candidates(value))
                continue
            if key not in keys:
                self.add("solver", key, "unknown key", _suggest(key, [*keys, CANDIDATES_KEY]))
                continue
            target = keys[key]
            cls = _SECTION_TYPES[target.section]
            f = next(f for f in dataclasses.fields(cls) if f.name == target.attribute)
            ok, value = self.checked("solver", key, value, f, get_type_hints(cls)[f.name])
            if ok:
                out[(target.section, target.attribute)] = value
        for where, path in self.old.items():
            if where in out:
                new = next((k.key for k in SOLVER_KEYS if (k.section, k.attribute) == where), CANDIDATES_KEY)
                section, key = path.split(".")
                self.add(section, key, f"set twice: here and as [solver] {new}", f"keep only [solver] {new}")
        return out

    def candidates(self, value: Any) -> dict[tuple[str, str], Any]:
        """``candidates_per_mentee`` ("auto", or a whole number N >= 0) as the three settings the
        candidate generation reads."""
        whole = isinstance(value, int) and not isinstance(value, bool)
        if value != "auto" and not (whole and 0 <= value <= limits.MAX_SETTING_INTEGER):
            shown = f'"{value}"' if isinstance(value, str) else repr(value)
            hint = f'write "auto" or a whole number: {CANDIDATES_KEY} = 100'
            self.add("solver", CANDIDATES_KEY, f"{shown} is not allowed", hint)
            return {}
        keep, above = (0, Matching.auto_limit_pairs) if value == "auto" else (value, UNLIMITED_PAIRS)
        return {
            ("matching", "max_candidates_per_mentee"): keep,
            ("matching", "auto_limit_pairs"): above if keep == 0 else Matching.auto_limit_pairs,
            ("matching", "auto_candidates_per_mentee"): Matching.auto_candidates_per_mentee,
        }


def _moved_hint(f: dataclasses.Field, value: Any) -> str:  # type: ignore[type-arg]
    key = f.metadata["solver"]
    if key != CANDIDATES_KEY:
        return f"write it in the advanced section: [solver] {key} = {_toml_value(value)}"
    if f.name == "max_candidates_per_mentee":
        shown = value if value else '"auto"'
        return f"write it in the advanced section: [solver] {key} = {shown}"
    return (
        f'replaced by [solver] {key}: "auto" (the default) keeps the best 100 per mentee above '
        "5,000,000 possible pairs, a number N the best N at any size, 0 every candidate"
    )


def _cross_checks(reader: _Reader, data: dict[str, Any], values: dict[str, dict[str, Any]]) -> None:
    """What no single key decides: circle sizes, the cycle's end, the program's time zone."""
    circles, cycle = values.get("circles", {}), values.get("cycle", {})
    low, high = circles.get("min_size", 3), circles.get("max_size", 6)
    if low > high:
        reader.add("circles", "min_size", f"min_size {low} is larger than max_size {high}", f"at most {high}")
    table = data["cycle"] if isinstance(data.get("cycle"), dict) else {}
    if "weeks" in table and "end" in table:
        reader.add("cycle", "end", "both `weeks` and `end` are given", "keep only one of them")
    start, end = cycle.get("start", CycleSettings.start), cycle.get("end")
    if isinstance(end, date) and isinstance(start, date):
        if end < start:
            reader.add("cycle", "end", f"end {end} is before start {start}", "end must be on or after start")
        elif (end - start).days >= 7 * limits.MAX_CYCLE_WEEKS:
            reader.add(
                "cycle",
                "end",
                f"end {end} is more than {limits.MAX_CYCLE_WEEKS} weeks after start {start}",
                f"at most {start + timedelta(days=7 * limits.MAX_CYCLE_WEEKS - 1)}",
            )
    zone = values.get("program", {}).get("timezone")
    if zone is not None:
        from cohort.timezones import is_valid_zone

        if not is_valid_zone(zone):
            reader.add(
                "program", "timezone", f"unknown time zone {zone!r}", "an IANA name like 'Europe/London'"
            )


def read_program(
    data: dict[str, Any], file: str = "program.toml", text: str = ""
) -> tuple[Program, list[Problem]]:
    """A ``Program`` from parsed TOML and its warnings; ``InputError`` with every error when
    there is any. Each problem has its ``program.toml`` line and ``section.key``."""
    reader = _Reader(file, text)
    values: dict[str, dict[str, Any]] = {}
    for name, table in data.items():
        if name not in SECTIONS and name != "solver":
            reader.add(name, None, f"unknown section [{name}]", _suggest(name, [*SECTIONS, "solver"]))
        elif not isinstance(table, dict):
            reader.problems.append(
                Problem(file, line_of(reader.lines, "", name), name, "must be a table", f"write [{name}]")
            )
        elif name != "solver":
            values[name] = reader.section(name, table)
    solver = data.get("solver")
    for (section, attribute), value in reader.solver(solver if isinstance(solver, dict) else {}).items():
        values.setdefault(section, {})[attribute] = value
    _cross_checks(reader, data, values)
    problems = sorted(reader.problems, key=Problem.sort_key)
    errors = [p for p in problems if p.severity == "error"]
    if errors:  # the warnings (old keys, still read) come again once the errors are fixed
        raise InputError(errors)
    return Program(**{name: _SECTION_TYPES[name](**v) for name, v in values.items()}), problems


def parse_program(data: dict[str, Any], file: str = "program.toml", text: str = "") -> Program:
    """``read_program`` without its warnings (a stored snapshot of program.toml)."""
    return read_program(data, file, text)[0]


def _decode_problem(file: str, text: str, exc: Exception) -> Problem:
    """The problem of a text TOML cannot read, at its line, with how to fix the usual traps."""
    if not isinstance(exc, tomllib.TOMLDecodeError):  # a 5,000-digit integer, deep arrays
        return Problem(
            file, 0, None, f"not usable TOML: {str(exc)[:200]}", "see `mentorsync init` for an example"
        )
    match = re.search(r"line (\d+)", str(exc))
    line = int(match.group(1)) if match else 0
    lines = text.splitlines()
    line_text = lines[line - 1] if 0 < line <= len(lines) else ""
    return Problem(
        file,
        line,
        key_at(lines, line) if line else None,
        f"not valid TOML: {exc}",
        decode_hint(str(exc), line_text),
    )


def load_program(path: str | Path) -> Program:
    """Read and validate a ``program.toml`` file; its warnings (old keys) are issued as
    ``ProgramWarning`` (``warnings.warn``), which the CLI prints."""
    path = Path(path)
    text = read_program_text(path)
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError, MemoryError) as exc:
        raise InputError([_decode_problem(str(path), text, exc)]) from None
    program, found = read_program(data, str(path), text)
    for problem in found:
        warnings.warn(ProgramWarning(problem), stacklevel=2)
    return program


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


def _key_line(f: dataclasses.Field, value: Any, doc: str, key: str | None = None) -> str:  # type: ignore[type-arg]
    key = key or toml_key(f)
    if "choices" in f.metadata:
        doc += " (" + " | ".join(str(c) for c in f.metadata["choices"]) + ")"
    if value is None:
        return f"# {key} = ...  # {doc}"
    return f"{key} = {_toml_value(value)}  # {doc}"


def _candidates_value(m: Matching) -> Any:
    """``[solver] candidates_per_mentee`` for these settings (None: not expressible, the old keys
    are written instead)."""
    auto = (m.auto_limit_pairs, m.auto_candidates_per_mentee) == (Matching.auto_limit_pairs, 100)
    if m.max_candidates_per_mentee:
        return m.max_candidates_per_mentee
    if m.auto_limit_pairs >= UNLIMITED_PAIRS:
        return 0
    return "auto" if auto else None


def example_toml(program: Program | None = None) -> str:
    """A commented ``program.toml`` listing every key with its value and meaning: the
    coordinator's sections, then the solvers' tuning in the advanced ``[solver]``."""
    program = program or Program()
    candidates = _candidates_value(program.matching)
    out = ["# mentorsync program settings. Every key is optional; shown are the defaults.", ""]
    for section in dataclasses.fields(program):
        obj = getattr(program, section.name)
        out.append(f"[{section.name}]")
        for f in dataclasses.fields(obj):
            old_form = f.metadata.get("solver") == CANDIDATES_KEY and candidates is None
            if "solver" not in f.metadata or old_form:
                out.append(_key_line(f, getattr(obj, f.name), f.metadata.get("doc", "")))
        out.append("")
    out.append("[solver]  # advanced: how the solvers work; the defaults suit programs of any size")
    for key in SOLVER_KEYS:
        f = next(f for f in dataclasses.fields(_SECTION_TYPES[key.section]) if f.name == key.attribute)
        value = getattr(getattr(program, key.section), key.attribute)
        out.append(_key_line(f, value, key.doc, key.key))
    if candidates is not None:
        out.append(f"{CANDIDATES_KEY} = {_toml_value(candidates)}  # {_CANDIDATES_DOC}")
    out.append("")
    return "\n".join(out)
