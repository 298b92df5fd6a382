"""Loading participants: every problem reported with file, line and column; encoding traps;
the same cohort from CSV, XLSX and JSON."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort.errors import InputError, UsageError
from cohort.load import load_participants
from cohort.program import Program, ProgramInfo
from sample_data.generate import generate_cohort, generate_rows, write_rows

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
HEADER = "id,name,email,role,timezone,availability,goals,expertise"

# (line, column, words in the message) for tests/data/bad_participants.csv; severity error unless noted.
EXPECTED = [
    (1, "name", "required column is missing"),
    (1, "shoe_size", "unknown column"),
    (5, "id", "duplicate id 'm1'"),
    (6, "email", "duplicate email"),
    (7, "email", "not an email address"),
    (8, "role", "unknown role 'mentr'"),
    (9, "timezone", "unknown time zone 'Europe/Londn'"),
    (10, "timezone", "'EST' is an abbreviation"),
    (11, "timezone", "Windows time zone name"),
    (12, "timezone", "UTC offset"),
    (13, "timezone", "ambiguous"),
    (14, "timezone", "UTC offset"),
    (15, "availability", "'25:00' is not a time of day"),
    (16, "availability", "not after start"),
    (17, "availability", "ambiguous"),
    (18, "availability", "looks like a date"),
    (19, "availability", "required cell is empty"),
    (20, "email", "required cell is empty"),
    (21, "unavailable", "not a calendar date"),
    (22, "unavailable", "ends before it starts"),
    (23, "level", "not a whole number"),
    (24, "capacity", "negative"),
    (25, "capacity", "not a whole number"),
    (26, "cadence", "unknown cadence"),
    (27, "avoid", "unknown id 'nobody'"),
    (28, "prefer", "names the person themselves"),
    (29, "manager_id", "not in this file"),
    (30, "manager_id", "reporting-line cycle"),
    (31, "manager_id", "reporting-line cycle"),
    (32, "goals", "needs at least one goal"),
    (33, "expertise", "needs at least one topic"),
    (34, "expertise", "needs at least one topic"),
    (35, "max_meetings_per_week", "not a whole number"),
    (36, "id", "not a valid id"),
]


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _problems(path: Path) -> list:
    with pytest.raises(InputError) as info:
        load_participants(path)
    return info.value.problems


def test_every_problem_is_reported_with_file_line_and_column():
    path = DATA / "bad_participants.csv"
    problems = _problems(path)
    for line, column, words in EXPECTED:
        hits = [p for p in problems if p.line == line and p.column == column and words in p.message]
        assert hits, f"missing: line {line} column {column!r}: {words}"
        assert all(p.file == str(path) for p in hits)
        assert str(hits[0]).startswith(f"{path}:{line}: column '{column}': ")
    warnings = {(p.line, p.column) for p in problems if p.severity == "warning"}
    assert warnings == {(1, "shoe_size"), (29, "manager_id")}
    # Each finding once: nothing is reported twice, and nothing beyond the list.
    assert len(problems) == len(EXPECTED)


def test_hints_say_what_would_be_right():
    problems = {(p.line, p.column): p for p in _problems(DATA / "bad_participants.csv")}
    assert "did you mean 'mentor'?" in problems[8, "role"].hint
    assert "Europe/London" in problems[9, "timezone"].hint
    assert "America/New_York" in problems[10, "timezone"].hint
    assert "Asia/Kolkata" in problems[12, "timezone"].hint
    assert "Etc/GMT-1" in problems[14, "timezone"].hint
    assert "09:00-17:00" in problems[17, "availability"].hint
    assert "Excel" in problems[18, "availability"].hint
    assert "2027-03-01..2027-03-12" in problems[22, "unavailable"].hint
    assert "biweekly" in problems[26, "cadence"].hint
    assert "line 2" in problems[5, "id"].hint and "line 2" in problems[6, "email"].hint


def test_valid_file_loads_people_with_the_conventions(tmp_path):
    path = _write(
        tmp_path / "p.csv",
        HEADER + ",interests,languages,avoid,prefer,unavailable,capacity,level\n"
        "00123,  Ana  Silva ,ana@x.org,mentee,Europe/London,Mon 09:00-10:00; Mon 09:30-11:00,"
        "Public  Speaking; leadership; public speaking,,Chess,,,m1,2027-02-14; 46433,,3.0\n"
        "m1,Bo,bo@x.org,Mentor,America/Sao_Paulo,Tue 9am-5pm,,Leadership,,Portuguese; English,,,"
        "2027-03-01..2027-03-12,2,\n",
    )
    program = Program(program=ProgramInfo(language="es"))
    cohort, warnings = load_participants(path, program)
    assert warnings == []
    ana, bo = cohort.people
    assert ana.id == "00123" and ana.name == "Ana Silva" and ana.line == 2
    assert ana.availability == ((540, 660),)
    assert ana.goals == ("public speaking", "leadership")
    assert ana.languages == ("es",)  # the program's language fills an empty cell
    assert ana.avoid == frozenset() and ana.prefer == frozenset({"m1"})
    assert ana.interests == ("chess",)
    assert ana.level == 3
    assert ana.unavailable == ((date(2027, 2, 14), date(2027, 2, 15)),)  # serial 46433 is 2027-02-15
    assert bo.role == "mentor" and bo.languages == ("pt", "en") and bo.capacity == 2
    assert bo.unavailable == ((date(2027, 3, 1), date(2027, 3, 12)),)


def test_avoid_and_prefer_the_same_id_is_an_error(tmp_path):
    path = _write(
        tmp_path / "p.csv",
        HEADER + ",avoid,prefer\n"
        "a,A,a@x.org,mentee,UTC,Mon 09:00-10:00,x,,b,b\n"
        "b,B,b@x.org,mentor,UTC,Mon 09:00-10:00,,x,,\n",
    )
    assert any(p.column == "prefer" and "both avoided and preferred" in p.message for p in _problems(path))


def test_header_is_case_insensitive_trimmed_and_order_free(tmp_path):
    path = _write(
        tmp_path / "p.csv",
        " Expertise ,AVAILABILITY,Time Zone,role,E-mail,Name,ID\nx,Mon 09:00-10:00,UTC,mentor,m@x.org,M,m\n",
    )
    cohort, _ = load_participants(path)
    assert cohort["m"].expertise == ("x",) and cohort["m"].timezone == "UTC"


def test_missing_required_column_reported_once_on_line_1(tmp_path):
    path = _write(
        tmp_path / "p.csv",
        "id,name,email,role,availability,goals\n"
        "a,A,a@x.org,mentee,Mon 09:00-10:00,x\nb,B,b@x.org,mentee,Mon 09:00-10:00,x\n",
    )
    problems = _problems(path)
    assert [(p.line, p.column) for p in problems] == [(1, "timezone")]


# --- encoding traps ------------------------------------------------------------------------

ROWS = HEADER + "\nm1,José Müller,j@x.org,mentor,Europe/Berlin,Mon-Fri 09:00-12:00,,leadership;writing\n"


def _check_jose(path: Path) -> list:
    cohort, warnings = load_participants(path)
    assert cohort["m1"].name == "José Müller"
    assert cohort["m1"].expertise == ("leadership", "writing")
    assert cohort["m1"].line == 2
    return warnings


def test_utf8_with_bom(tmp_path):
    assert _check_jose(_write(tmp_path / "p.csv", ROWS, "utf-8-sig")) == []


def test_cp1252_export_is_read_with_a_warning(tmp_path):
    warnings = _check_jose(_write(tmp_path / "p.csv", ROWS, "cp1252"))
    assert any("Windows-1252" in w.message for w in warnings)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_utf16_exports(tmp_path, encoding):
    # Excel's "Unicode Text" is UTF-16 with tabs.
    text = ROWS.replace(",", "\t").replace("leadership;writing", "leadership; writing")
    assert _check_jose(_write(tmp_path / "p.csv", text, encoding)) == []


def test_semicolon_delimited_european_csv_keeps_list_cells(tmp_path):
    text = (
        HEADER.replace(",", ";")
        + '\nm1;José Müller;j@x.org;mentor;Europe/Berlin;Mon-Fri 09:00-12:00;;"leadership;writing"\n'
    )
    assert _check_jose(_write(tmp_path / "p.csv", text)) == []


def test_semicolon_csv_with_unquoted_list_cell_is_reported(tmp_path):
    text = HEADER.replace(",", ";") + "\nm1;M;m@x.org;mentor;UTC;Mon 09:00-12:00;;leadership;writing\n"
    problems = _problems(_write(tmp_path / "p.csv", text))
    assert any(
        p.line == 2 and "cells but the header has" in p.message and "quote" in p.hint for p in problems
    )


def test_tab_delimited(tmp_path):
    text = (
        HEADER.replace(",", "\t")
        + "\nm1\tJosé Müller\tj@x.org\tmentor\tEurope/Berlin\tMon-Fri 09:00-12:00\t\tleadership;writing\n"
    )
    assert _check_jose(_write(tmp_path / "p.csv", text)) == []


def test_xlsx_renamed_csv_is_read_as_a_workbook(tmp_path):
    write_rows(generate_rows(6, 2, seed=1), tmp_path / "p.xlsx")
    (tmp_path / "p.xlsx").rename(tmp_path / "p.csv")
    cohort, warnings = load_participants(tmp_path / "p.csv")
    assert len(cohort) == 6
    assert any("Excel workbook" in w.message for w in warnings)


def test_leading_zero_ids_stay_strings_in_csv_and_json(tmp_path):
    csv_path = _write(tmp_path / "p.csv", HEADER + "\n00123,A,a@x.org,mentor,UTC,Mon 09:00-10:00,,x\n")
    assert load_participants(csv_path)[0].people[0].id == "00123"
    json_path = _write(
        tmp_path / "p.json",
        json.dumps(
            [
                {
                    "id": "00123",
                    "name": "A",
                    "email": "a@x.org",
                    "role": "mentor",
                    "timezone": "UTC",
                    "availability": "Mon 09:00-10:00",
                    "expertise": ["x"],
                }
            ]
        ),
    )
    assert load_participants(json_path)[0].people[0].id == "00123"


def _workbook(tmp_path: Path, header: list, *rows: list) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    path = tmp_path / "p.xlsx"
    workbook.save(path)
    return path


def test_xlsx_numbers_dates_and_mangled_cells(tmp_path):
    header = HEADER.split(",") + ["level", "capacity", "unavailable", "manager_id"]
    path = _workbook(
        tmp_path,
        header,
        [
            123,
            "A",
            "a@x.org",
            "mentor",
            "UTC",
            "Mon 09:00-10:00",
            None,
            "x",
            3.0,
            2,
            datetime(2027, 2, 14),
            None,
        ],
        ["b", "B", "b@x.org", "mentee", "UTC", datetime(2026, 9, 11), "y", None, None, None, None, "123"],
    )
    problems = _problems(path)
    by_place = {(p.line, p.column): p for p in problems}
    assert by_place[2, "id"].severity == "warning" and "leading zeros" in by_place[2, "id"].message
    assert by_place[3, "availability"].severity == "error" and "Excel" in by_place[3, "availability"].hint
    assert len([p for p in problems if p.severity == "error"]) == 1


def test_xlsx_integer_floats_and_date_cells_are_accepted(tmp_path):
    header = HEADER.split(",") + ["level", "capacity", "unavailable"]
    path = _workbook(
        tmp_path,
        header,
        ["a", "A", "a@x.org", "mentor", "UTC", "Mon 09:00-10:00", None, "x", 3.0, 2.0, datetime(2027, 2, 14)],
    )
    person = load_participants(path)[0].people[0]
    assert (person.level, person.capacity) == (3, 2)
    assert person.unavailable == ((date(2027, 2, 14), date(2027, 2, 14)),)


def test_json_lines_are_where_objects_start(tmp_path):
    people = [
        {
            "id": "a",
            "name": "A",
            "email": "a@x.org",
            "role": "mentee",
            "timezone": "UTC",
            "availability": "Mon 09:00-10:00",
            "goals": ["x"],
        },
        {
            "id": "b",
            "name": "B",
            "email": "b@x.org",
            "role": "mentee",
            "timezone": "Mars/Base",
            "availability": "Mon 09:00-10:00",
            "goals": "x; y",
        },
    ]
    path = _write(
        tmp_path / "p.json", json.dumps({"participants": people, "note": {"x": [{"y": 1}]}}, indent=2)
    )
    problems = _problems(path)
    text = path.read_text().splitlines()
    (problem,) = problems
    assert problem.column == "timezone"
    assert text[problem.line - 1].strip() == "{" and '"id": "b"' in text[problem.line]


def test_unknown_file_type_and_missing_file(tmp_path):
    assert "unsupported" in _problems(_write(tmp_path / "p.txt.bak", "x"))[0].message
    with pytest.raises(UsageError, match="no such file"):  # wrong usage (2), not bad data (65)
        _problems(tmp_path / "nope.csv")


# --- the same cohort from every format ------------------------------------------------------

safe_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=16
).filter(lambda s: s.strip())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(people=st.integers(1, 25), seed=st.integers(0, 10_000), data=st.data())
def test_csv_xlsx_json_load_identically(tmp_path, people, seed, data):
    rows = generate_rows(people, data.draw(st.integers(0, people)), seed)
    for row in rows:  # the generator's vocabulary plus arbitrary text where docs/interface.md allows it
        row["name"] = data.draw(safe_text)
        row["interests"] = data.draw(safe_text)
        row["department"] = data.draw(st.one_of(st.just(""), safe_text))
    loaded = []
    for suffix in ("csv", "xlsx", "json"):
        path = tmp_path / f"cohort-{seed}.{suffix}"
        write_rows(rows, path)
        try:
            cohort, _ = load_participants(path)
        except InputError as exc:  # pragma: no cover - shows what went wrong
            raise AssertionError("\n".join(map(str, exc.problems[:5]))) from None
        loaded.append(cohort.people)
    assert loaded[0] == loaded[1] == loaded[2]
    assert [p.line for p in loaded[0]] == list(range(2, people + 2))


def test_generate_cohort_equals_loading_the_written_file(tmp_path):
    program = Program(program=ProgramInfo(language="de"))
    path = tmp_path / "g.csv"
    write_rows(generate_rows(120, 40, seed=5), path)
    assert (
        load_participants(path, program)[0].people == generate_cohort(120, 40, seed=5, program=program).people
    )


def test_generator_is_deterministic_and_realistic():
    rows = generate_rows(400, 120, seed=9)
    assert rows == generate_rows(400, 120, seed=9)
    assert rows != generate_rows(400, 120, seed=10)
    cohort = generate_cohort(400, 120, seed=9)
    assert len(cohort.mentors) == 120 and len(cohort) == 400
    assert len({p.timezone for p in cohort.people}) >= 8
    assert any(p.manager_id in cohort for p in cohort.people)
    assert any(p.avoid for p in cohort.people) and any(p.unavailable for p in cohort.people)


def test_generator_broad_hours_leave_the_default_unchanged():
    """``hours="broad"``: one long working day on most weekdays per person, so most pairs share
    hours; the default is byte for byte what it was (the benchmark and golden cohorts)."""
    import hashlib
    import json

    # the non-empty cells of generate_rows(300, 90, 1) before the option existed (commit 9eea906;
    # later columns add only empty cells)
    before = "cbfc95a58fd50ffe391c44ec028290739984e90d49f28fe7beba30338f6d14e1"
    cells = [{k: v for k, v in row.items() if v} for row in generate_rows(300, 90, 1)]
    assert hashlib.sha256(json.dumps(cells).encode()).hexdigest() == before
    assert generate_rows(300, 90, 1, hours="ordinary") == generate_rows(300, 90, 1)
    broad = generate_cohort(300, 90, seed=1, hours="broad")
    hours = [sum(b - a for a, b in p.availability) / 60 for p in broad.people]
    assert min(hours) >= 4 * 9 and len(broad.mentors) == 90
    assert broad.source.endswith(":broad")
    with pytest.raises(ValueError):
        generate_rows(10, 3, hours="wide")


def test_sample_data_loads_identically_in_every_format():
    program_toml = ROOT / "sample_data" / "program.toml"
    from cohort.program import load_program

    program = load_program(program_toml)
    base, warnings = load_participants(ROOT / "sample_data" / "participants.csv", program)
    assert len(base) >= 60 and len({p.timezone for p in base.people}) >= 8
    assert all(w.severity == "warning" for w in warnings)
    for suffix in ("xlsx", "json"):
        other, _ = load_participants(ROOT / "sample_data" / f"participants.{suffix}", program)
        assert other.people == base.people
