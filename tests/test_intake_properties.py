"""Issue 17, the property: any bytes as a participants file, any Unicode in its cells and any
TOML text as program.toml give exit 0, 2 or 65 from ``validate`` and ``run`` (or 69, the
contract's "no acceptable solution", from ``run``), never a traceback, in bounded time and
memory. Examples are few and small so that the suite stays fast."""

from __future__ import annotations

import io
import json
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import openpyxl
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli

SETTINGS = settings(
    max_examples=15,
    deadline=timedelta(seconds=30),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
MAX_SECONDS = 30.0
MAX_RSS_GROWTH_KB = 1_500_000

VALID = [
    ["id", "name", "email", "role", "timezone", "availability", "goals", "expertise", "capacity", "level"],
    ["m1", "Ana", "ana@x.example", "mentor", "UTC", "Mon-Fri 09:00-17:00", "", "python", "2", "5"],
    ["e1", "Bo", "bo@x.example", "mentee", "Europe/London", "Mon-Fri 09:00-17:00", "python", "", "", "1"],
]


def _rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _check(data: bytes, suffix: str, program: bytes | None = None, commands=("validate", "run")) -> None:
    """Run the commands on ``data`` in a fresh workspace; fail on a traceback, a wrong exit code,
    or too much time or memory."""
    before = _rss_kb()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        ws = home / "ws"
        ws.mkdir()
        if program is not None:
            (ws / "program.toml").write_bytes(program)
        path = home / f"people{suffix}"
        path.write_bytes(data)
        for command in commands:
            args = ["-q", "--workspace", str(ws), command, str(path)]
            if command == "run":
                args += ["--out", str(home / "out")]
            t = time.perf_counter()
            result = CliRunner().invoke(cli.main, args)
            elapsed = time.perf_counter() - t
            allowed = {0, 2, 65} | ({69} if command == "run" else set())
            assert result.exit_code in allowed, (command, result.exit_code, result.output, result.exc_info)
            assert elapsed < MAX_SECONDS, (command, elapsed)
            assert "Traceback" not in result.output
            if result.exit_code != 0:  # a failing command leaves no database behind
                assert not (ws / "mentorsync.db").exists()
    assert _rss_kb() - before < MAX_RSS_GROWTH_KB


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@SETTINGS
@given(st.binary(max_size=3000), st.sampled_from([".csv", ".json", ".xlsx"]))
def test_any_bytes_as_participants(data, suffix):
    _check(data, suffix)


@settings(SETTINGS, max_examples=6)
@given(
    st.sampled_from([".csv", ".json", ".xlsx"]),
    st.binary(max_size=400),
    st.integers(0, 2000),
)
def test_mangled_valid_files(suffix, noise, where):
    """A valid file with bytes spliced in (a truncated workbook, a broken quote)."""
    if suffix == ".csv":
        good = "\n".join(",".join(row) for row in VALID).encode()
    elif suffix == ".json":
        good = json.dumps([dict(zip(VALID[0], row, strict=True)) for row in VALID[1:]]).encode()
    else:
        good = _xlsx([list(row) for row in VALID])
    where = where % (len(good) + 1)
    _check(good[:where] + noise + good[where + len(noise) :], suffix)


CELL = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["²", "٣", "9" * 5000, "=1+2", "-x", "\x00\x07\x1b", "9999-12-31", "0001-01-01", "\ufeff"]
    ),
)


@settings(SETTINGS, max_examples=8)
@given(
    st.sampled_from([".csv", ".json", ".xlsx"]),
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 9), CELL), min_size=1, max_size=4),
)
def test_any_unicode_in_cells(suffix, changes):
    rows = [list(row) for row in VALID]
    for r, c, text in changes:
        rows[1 + r][c] = text
    if suffix == ".csv":
        import csv

        buf = io.StringIO()
        csv.writer(buf).writerows(rows)
        data = buf.getvalue().encode("utf-8", "surrogatepass")
    elif suffix == ".json":
        data = json.dumps([dict(zip(rows[0], row, strict=True)) for row in rows[1:]]).encode()
    else:
        clean = [[openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE.sub("", str(v)) for v in row] for row in rows]
        data = _xlsx(clean)
    _check(data, suffix)


def _toml_value():
    return st.one_of(
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f).replace("nan", "nan")),
        st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat),
        st.text(max_size=20).map(lambda s: json.dumps(s)),
        st.booleans().map(lambda b: "true" if b else "false"),
        st.just("[" * 50 + "]" * 50),
    )


KEYS = {
    "program": ["name", "language", "timezone"],
    "cycle": ["start", "weeks", "end", "cadence", "duration_minutes", "buffer_minutes", "holidays"],
    "rules": ["min_level_gap", "default_capacity", "reporting_line"],
    "matching": ["seed", "workers", "time_limit_seconds", "pins"],
    "feeds": ["refresh_minutes", "max_age_seconds", "base_url"],
    "schedule": ["time_limit_seconds", "options_per_pair"],
}


@SETTINGS
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(KEYS)), st.integers(0, 6), _toml_value()), min_size=1, max_size=4
    )
)
def test_any_toml_settings(entries):
    lines = []
    for section, index, value in entries:
        keys = KEYS[section]
        lines += [f"[{section}]", f"{keys[index % len(keys)]} = {value}"]
    text = "\n".join(lines) + "\n"
    csv = "\n".join(",".join(row) for row in VALID).encode()
    _check(csv, ".csv", program=text.encode("utf-8", "surrogatepass"))


@SETTINGS
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_any_toml_text(text):
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    csv = "\n".join(",".join(row) for row in VALID).encode()
    _check(csv, ".csv", program=data, commands=("validate",))
