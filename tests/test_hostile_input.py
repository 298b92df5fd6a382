"""Hostile or unlucky input files give exit 65 (or 2) with a ``FILE:LINE: column 'X'`` message,
in bounded time and memory, never a traceback."""

from __future__ import annotations

import dataclasses
import io
import re
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from cohort import limits
from cohort.errors import InputError
from cohort.load import PARTICIPANTS
from cohort.tables import read_table
from tests.cli_helpers import invoke

HEADER = "id,name,email,role,timezone,availability,goals,expertise,level,capacity,max_meetings_per_week\n"
MENTOR = "m1,Ana,ana@x.example,mentor,UTC,Mon 09:00-12:00,,python,{level},{capacity},{mm}\n"
MENTEE = "e1,Bo,bo@x.example,mentee,UTC,Mon 09:00-12:00,python,,,,\n"


def people_csv(level="3", capacity="1", mm="2", name="Ana") -> str:
    return HEADER + MENTOR.format(level=level, capacity=capacity, mm=mm).replace("Ana", name) + MENTEE


def both(tmp_path: Path, name: str, data: bytes | str) -> list[tuple[int, str]]:
    """``validate`` and ``run`` on one file: [(exit code, stderr)] (a traceback fails the test)."""
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    out = []
    for command in (["validate", str(path)], ["run", str(path), "--out", str(tmp_path / "out")]):
        ws = tmp_path / f"ws-{command[0]}"
        ws.mkdir(exist_ok=True)
        code, _, err = invoke(tmp_path, "-q", "--workspace", str(ws), *command)
        out.append((code, err))
    return out


def assert_bad(
    results: list[tuple[int, str]], file: str, line: int | None, column: str | None, words: str
) -> None:
    for code, err in results:
        assert code == 65, err
        where = f"{file}:{line}:" if line is not None else f"{file}"
        col = f" column '{column}':" if column else ""
        assert any(text.startswith(where) and col in text and words in text for text in err.splitlines()), err
        assert "Traceback" not in err


# ------------------------------------- encodings, huge numbers, deep nesting, dates at the ends


def test_utf16_odd_bytes(tmp_path):
    data = people_csv().encode("utf-16") + b"\x00"
    for code, err in both(tmp_path, "p.csv", data):
        assert code in (0, 65), err


def test_utf16_without_bom_odd_bytes(tmp_path):
    data = people_csv().encode("utf-16-le")[:-1]
    for code, err in both(tmp_path, "p.csv", data):
        assert code in (0, 65), err


@pytest.mark.parametrize(
    "column,value",
    [
        ("capacity", "99999999999999999999"),
        ("level", str(2**63)),
        ("max_meetings_per_week", str(2**64)),
        ("capacity", "20000"),
        ("level", "-9223372036854775809"),
        ("max_meetings_per_week", "5000"),
    ],
)
def test_numbers_too_large_for_sqlite(tmp_path, column, value):
    csv = people_csv(
        **{{"capacity": "capacity", "level": "level", "max_meetings_per_week": "mm"}[column]: value}
    )
    assert_bad(both(tmp_path, "p.csv", csv), str(tmp_path / "p.csv"), 2, column, "too")


def test_five_thousand_digits(tmp_path):
    assert_bad(
        both(tmp_path, "p.csv", people_csv(capacity="9" * 5000)),
        str(tmp_path / "p.csv"),
        2,
        "capacity",
        "5,000-digit number is too large",
    )


def test_five_thousand_digits_in_json(tmp_path):
    data = (
        '[{"id": "m1", "name": "Ana", "email": "ana@x.example", "role": "mentor", "timezone": "UTC", '
        '"availability": "Mon 09:00-12:00", "expertise": "python", "capacity": ' + "9" * 5000 + "}]"
    )
    assert_bad(both(tmp_path, "p.json", data), str(tmp_path / "p.json"), 1, "capacity", "too large")


@pytest.mark.parametrize("digit", ["²", "٣", "①", "Ⅻ"])
def test_unicode_digits(tmp_path, digit):
    for column in ("capacity", "level", "mm"):
        results = both(tmp_path, "p.csv", people_csv(**{column: digit}))
        for code, err in results:
            assert code in (0, 65), err


def test_json_nested_thousands_deep(tmp_path):
    data = "[" * 5000 + "]" * 5000
    assert_bad(both(tmp_path, "p.json", data), str(tmp_path / "p.json"), 1, None, "nested more than")
    data = '[{"id": ' + "[" * 3000 + "]" * 3000 + "}]"
    assert_bad(both(tmp_path, "q.json", data), str(tmp_path / "q.json"), 1, None, "nested more than")


def test_csv_field_over_module_limit(tmp_path):
    data = people_csv(name='"' + "A" * 200_000 + '"')
    assert_bad(both(tmp_path, "p.csv", data), str(tmp_path / "p.csv"), 2, None, "longer than")


def _program(tmp_path: Path, text: str | bytes) -> list[tuple[int, str]]:
    out = []
    path = tmp_path / "p.csv"
    path.write_text(people_csv())
    for command in (["validate", str(path)], ["run", str(path), "--out", str(tmp_path / "out")]):
        ws = tmp_path / f"ws-{command[0]}"
        ws.mkdir(exist_ok=True)
        toml = ws / "program.toml"
        toml.write_bytes(text if isinstance(text, bytes) else text.encode())
        code, _, err = invoke(tmp_path, "-q", "--workspace", str(ws), *command)
        assert "Traceback" not in err
        out.append((code, err))
        assert not (ws / "mentorsync.db").exists()
    return out


def test_program_toml_not_utf8(tmp_path):
    for code, err in _program(tmp_path, '[program]\nname = "Caf\xe9"\n'.encode("latin-1")):
        assert code == 65 and "program.toml:2: the file is not UTF-8" in err, err


@pytest.mark.parametrize(
    "text,key",
    [
        ("[cycle]\nstart = 9999-12-01\n", "cycle.start"),
        ("[cycle]\nstart = 0001-01-01\n", "cycle.start"),
        ("[cycle]\nstart = 2027-02-01\nend = 2227-02-01\n", "cycle.end"),
        ("[cycle]\nholidays = [9999-12-31]\n", "cycle.holidays"),
        ("[feeds]\nrefresh_minutes = 9223372036854775807\n", "feeds.refresh_minutes"),
        ("[solver]\nseed = 99999999999999999999\n", "solver.seed"),
        ("[solver]\nseed = 4294967296\n", "solver.seed"),
        ("[solver]\nmatch_seconds = inf\n", "solver.match_seconds"),
        ("[solver]\nschedule_seconds = nan\n", "solver.schedule_seconds"),
        ("[schedule]\ntime_limit_seconds = nan\n", "schedule.time_limit_seconds"),  # an old key too
        ("[rules]\nmin_level_gap = 9223372036854775807\n", "rules.min_level_gap"),
        ('[program]\nname = "a\\u001b[31mb"\n', "program.name"),
    ],
)
def test_program_values_at_the_ends(tmp_path, text, key):
    for code, err in _program(tmp_path, text):
        assert code == 65 and f"column '{key}':" in err, err


def test_program_toml_huge_integer_and_deep_array(tmp_path):
    for text in ("[solver]\nseed = " + "9" * 5000 + "\n", "[matching]\npins = " + "[" * 3000 + "]" * 3000):
        for code, err in _program(tmp_path, text):
            assert code == 65, err


def test_participant_dates_at_the_ends(tmp_path):
    csv = people_csv().replace("max_meetings_per_week\n", "max_meetings_per_week,unavailable\n")
    csv = csv.replace(",2\n", ",2,9999-12-31\n").replace(",,,,\n", ",,,,,0001-01-01..0001-01-03\n")
    results = both(tmp_path, "p.csv", csv)
    assert_bad(results, str(tmp_path / "p.csv"), 2, "unavailable", "too far")
    assert_bad(results, str(tmp_path / "p.csv"), 3, "unavailable", "too far")


def test_feeds_key_is_a_directory(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(people_csv())
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "feeds.key").mkdir()
    code, _, err = invoke(
        tmp_path, "-q", "--workspace", str(ws), "run", str(path), "--out", str(tmp_path / "o")
    )
    assert code == 2 and "feeds.key is a directory" in err, err


# -------------------------------------------------- spreadsheets that claim more than they hold


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    sheet = wb.active
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _patch_zip(data: bytes, member: str, change) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == member:
                body = change(body)
            dst.writestr(info.filename, body)
    return out.getvalue()


def _people_rows() -> list[list[object]]:
    lines = people_csv().strip().split("\n")
    return [line.split(",") for line in lines]


def test_xlsx_dimension_claims_the_whole_sheet(tmp_path):
    data = _patch_zip(
        _xlsx(_people_rows()),
        "xl/worksheets/sheet1.xml",
        lambda b: re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:XFD1048576"/>', b),
    )
    assert b"XFD1048576" in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    t = time.perf_counter()
    for code, err in both(tmp_path, "p.xlsx", data):
        assert code == 0, err
    assert time.perf_counter() - t < 60


def test_xlsx_cell_far_away(tmp_path):
    rows = _people_rows()
    wb = openpyxl.load_workbook(io.BytesIO(_xlsx(rows)))
    wb.active["XFD3"] = "far"
    wb.active["A1048576"] = "deep"
    buf = io.BytesIO()
    wb.save(buf)
    results = both(tmp_path, "p.xlsx", buf.getvalue())
    assert_bad(results, str(tmp_path / "p.xlsx"), 3, None, f"more than {limits.MAX_COLUMNS}")


def read_with(path: Path, data: bytes | str, **bounds: int) -> list[str]:
    """Every problem of reading ``data`` as a participants file within smaller ``bounds`` (as
    ``FILE:LINE: ...`` lines, what the commands print): the limits' logic without 100,000 rows."""
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    try:
        table = read_table(path, dataclasses.replace(PARTICIPANTS, bounds=limits.Bounds(**bounds)))
    except InputError as exc:
        return [str(p) for p in exc.problems]
    return [str(p) for p in table.problems]


def test_xlsx_huge_shared_string(tmp_path):
    strings = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
        b'uniqueCount="1"><si><t>' + b"A" * 2_000_000 + b"</t></si></sst>"
    )
    buf = io.BytesIO(_xlsx(_people_rows()))
    with zipfile.ZipFile(buf, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", strings)
    data = buf.getvalue()  # a few KB zipped
    assert len(data) < 100_000
    path = tmp_path / "p.xlsx"
    found = read_with(path, data, shared_strings_bytes=1024 * 1024)
    assert any(f.startswith(f"{path}: the workbook unpacks to 1 MiB") for f in found), found
    assert read_with(path, data) == []  # within the real limits


def test_xlsx_huge_inline_string(tmp_path):
    data = _patch_zip(
        _xlsx(_people_rows()),
        "xl/worksheets/sheet1.xml",
        lambda b: b.replace(b">Ana<", b">" + b"A" * 2_000_000 + b"<"),
    )
    assert len(data) < 100_000
    found = read_with(tmp_path / "p.xlsx", data, unzipped_bytes=1024 * 1024)
    assert any("unpacks to" in f and "more than 1 MiB of sheets" in f for f in found), found


def test_long_cell_is_refused_at_its_place(tmp_path):
    results = both(tmp_path, "p.csv", people_csv(name="N" * (limits.MAX_CELL_CHARS + 1)))
    assert_bad(results, str(tmp_path / "p.csv"), 2, "name", "more than 10,000")


def test_too_many_rows_columns_and_bytes(tmp_path):
    rows = people_csv() + "".join(MENTEE.replace("e1", f"x{i}").replace("bo@", f"b{i}@") for i in range(10))
    for name, data in (
        ("p.csv", rows),
        ("p.xlsx", _xlsx([line.split(",") for line in rows.strip().split("\n")])),
    ):
        found = read_with(tmp_path / name, data, rows=5)
        assert f"{tmp_path / name}:7: more than 5 people; reading stopped here (split the file)" in found
    found = read_with(tmp_path / "q.csv", people_csv(), columns=5)
    assert f"{tmp_path / 'q.csv'}:1: 11 columns, more than 5 (remove the extra columns)" in found
    found = read_with(tmp_path / "r.csv", people_csv(), file_bytes=100)
    assert any(f.startswith(f"{tmp_path / 'r.csv'}: the file is larger than") for f in found), found
    wide = HEADER.rstrip("\n") + "".join(f",x{i}" for i in range(limits.MAX_COLUMNS)) + "\n"  # the real limit
    assert_bad(
        both(tmp_path, "w.csv", wide), str(tmp_path / "w.csv"), 1, None, f"more than {limits.MAX_COLUMNS}"
    )


def test_first_100_errors_and_a_count(tmp_path):
    rows = HEADER + "".join(
        f"x{i},N,x{i}@x.example,mentee,Mars/Base,Mon 09:00-10:00,go,,,,\n" for i in range(150)
    )
    path = tmp_path / "p.csv"
    path.write_text(rows)
    code, _, err = invoke(tmp_path, "--workspace", str(tmp_path), "validate", str(path))
    assert code == 65
    lines = err.splitlines()
    assert sum(line.startswith(str(path)) for line in lines) == limits.MAX_ERRORS_SHOWN
    assert "... and 50 more problems not shown (50 errors)" in err


def test_end_is_capped_like_weeks(tmp_path):
    for code, err in _program(tmp_path, "[cycle]\nstart = 2027-02-01\nend = 2032-02-01\n"):
        assert code == 65 and "more than 260 weeks" in err, err
