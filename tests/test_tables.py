"""The shared table reader: encodings, delimiters, physical lines, and every format for feedback."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort.errors import InputError
from cohort.feedback import load_feedback
from cohort.tables import TableSpec, decode_text, read_table, sniff_delimiter
from tests.factories import make_cohort, make_person

SPEC = TableSpec("things", ("a", "b", "c"), ("a", "b"))
COHORT = make_cohort(
    *(make_person(f"m{i}", "mentor") for i in range(3)), *(make_person(f"e{i}", "mentee") for i in range(3))
)
PAIRS = {(f"m{i}", f"e{i}") for i in range(3)}
HEADER = ["person_id", "partner_id", "continue", "rating", "comment"]


def test_decode_falls_back_without_failing():
    assert decode_text("café".encode("cp1252")) == (
        "café",
        "the file is not UTF-8; read it as Windows-1252 (Excel's CSV)",
    )
    text, note = decode_text(b"\x81abc")  # undefined in cp1252: latin-1 keeps it
    assert text == "\x81abc" and "Latin-1" in note
    assert decode_text("a,b".encode("utf-16-le")) == ("a,b", None)
    assert decode_text("a,b".encode("utf-16-be")) == ("a,b", None)


@pytest.mark.parametrize(
    "line, expected",
    [("a,b,c", ","), ("a;b;c", ";"), ("a\tb", "\t"), ("a|b|c", "|"), ('"a;x",b,c', ","), ("x;y;z", ",")],
)
def test_delimiter_is_the_one_that_yields_known_columns(line, expected):
    assert sniff_delimiter(line, SPEC) == expected


def test_line_numbers_follow_physical_lines(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('\na,b\n1,"x\ny\nz"\n\n2,w\n')
    table = read_table(path, SPEC)
    assert table.header_line == 2 and table.columns == ["a", "b"] and table.problems == []
    assert table.rows == [(3, {"a": "1", "b": "x\ny\nz"}), (7, {"a": "2", "b": "w"})]


def test_header_problems_use_the_spec(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("A,d,a,zzz\n1,2,3,4\n")
    problems = {(p.column, p.message): p for p in read_table(path, SPEC).problems}
    assert problems["d", "unknown column, ignored"].hint is None
    assert problems["a", "column appears twice (columns 1 and 3)"].severity == "error"
    assert problems["b", "required column is missing"].hint == "the header needs: a, b"
    assert set(problems) == {
        ("d", "unknown column, ignored"),
        ("zzz", "unknown column, ignored"),
        ("a", "column appears twice (columns 1 and 3)"),
        ("b", "required column is missing"),
    }


# --------------------------------------------------------------------------- feedback in every format


def write_feedback(rows: list[list[str]], path: Path) -> Path:
    """The same answers as a CSV, a workbook (a 'feedback' sheet after another one) or JSON."""
    if path.suffix == ".csv":
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([HEADER, *rows])
        path.write_text(out.getvalue(), encoding="utf-8")
    elif path.suffix == ".xlsx":
        workbook = openpyxl.Workbook()
        workbook.active.title = "notes"
        workbook.active.append(["not the feedback"])
        sheet = workbook.create_sheet("Feedback")
        sheet.append(HEADER)
        for row in rows:
            # What Excel stores: typed numbers as numbers, empty cells as nothing; free text
            # (the comment, last) stays text, as a coordinator's '00' comment would be a text cell.
            *answers, comment = row
            sheet.append([int(c) if c.isdigit() else (c or None) for c in answers] + [comment or None])
            if comment.startswith("="):  # openpyxl would store it as a formula; Excel's text cell is "s"
                sheet.cell(sheet.max_row, len(row)).data_type = "s"
        workbook.save(path)
    else:
        objects = [{k: v for k, v in zip(HEADER, row, strict=True) if v} for row in rows]
        path.write_text(json.dumps({"feedback": objects}, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


ROWS = [
    ["m0", "e0", "yes", "5", "Great; really, great"],
    ["e0", "m0", "Y", "", 'two\nlines with "quotes"'],
    ["m1", "e1", "no", "2", ""],
    ["e2", "m2", "0", "", "Très bien — merci"],
]


def _answers(rows):
    return [(r.person_id, r.partner_id, r.wants_continue, r.rating, r.comment) for r in rows]


def test_feedback_xlsx_and_json_load_the_same_rows_as_csv(tmp_path):
    loaded = {}
    for suffix in (".csv", ".xlsx", ".json"):
        rows, warnings = load_feedback(write_feedback(ROWS, tmp_path / f"fb{suffix}"), COHORT, PAIRS)
        assert warnings == []
        loaded[suffix] = rows
    assert _answers(loaded[".csv"]) == [
        ("m0", "e0", True, 5, "Great; really, great"),
        ("e0", "m0", True, None, 'two\nlines with "quotes"'),
        ("m1", "e1", False, 2, None),
        ("e2", "m2", False, None, "Très bien — merci"),
    ]
    assert _answers(loaded[".xlsx"]) == _answers(loaded[".csv"]) == _answers(loaded[".json"])
    assert [r.line for r in loaded[".csv"]] == [2, 3, 5, 6]  # the quoted comment spans lines 3-4
    assert [r.line for r in loaded[".xlsx"]] == [2, 3, 4, 5]  # sheet rows
    text = (tmp_path / "fb.json").read_text().splitlines()
    assert all(text[r.line - 1].strip() == "{" for r in loaded[".json"])
    assert text[loaded[".json"][2].line].strip() == '"person_id": "m1",'


def test_feedback_problems_point_at_sheet_rows_and_json_objects(tmp_path):
    bad = [["m0", "e0", "maybe", "", ""], ["m1", "e1", "yes", "7", ""]]
    for suffix in (".xlsx", ".json"):
        with pytest.raises(InputError) as info:
            load_feedback(write_feedback(bad, tmp_path / f"bad{suffix}"), COHORT, PAIRS)
        places = [(p.line, p.column) for p in info.value.errors]
        if suffix == ".xlsx":
            assert places == [(2, "continue"), (3, "rating")]
        else:
            text = (tmp_path / "bad.json").read_text().splitlines()
            assert [c for _, c in places] == ["continue", "rating"]
            assert [text[line].strip() for line, _ in places] == ['"person_id": "m0",', '"person_id": "m1",']


def test_feedback_workbook_renamed_csv_is_read_with_a_warning(tmp_path):
    path = write_feedback(ROWS, tmp_path / "fb.xlsx").rename(tmp_path / "fb.csv")
    rows, warnings = load_feedback(path, COHORT, PAIRS)
    assert _answers(rows)[0] == ("m0", "e0", True, 5, "Great; really, great")
    assert [w.message for w in warnings] == ["this file is an Excel workbook, not text; read it as .xlsx"]


def test_feedback_json_missing_key_and_unknown_key(tmp_path):
    path = tmp_path / "fb.json"
    path.write_text(json.dumps([{"person_id": "m0", "partner": "e0", "continue": True}]))
    with pytest.raises(InputError) as info:
        load_feedback(path)
    (error,) = info.value.errors
    assert (error.line, error.column, error.hint) == (
        1,
        "partner_id",
        "each row needs: person_id, partner_id, continue",
    )
    (warning,) = [p for p in info.value.problems if p.severity == "warning"]
    assert warning.column == "partner" and warning.hint == "did you mean 'partner_id'?"


CELL = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff"), max_size=12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(PAIRS | {(b, a) for a, b in PAIRS})),
            st.sampled_from(["yes", "no", "y", "n", "1", "0"]),
            st.sampled_from(["", "1", "3", "5"]),
            CELL,
        ),
        min_size=1,
        max_size=6,
        unique_by=lambda t: t[0],
    )
)
def test_feedback_loads_identically_in_every_format(tmp_path, answers):
    rows = [[p, q, yes, rating, comment] for (p, q), yes, rating, comment in answers]
    loaded = [
        _answers(load_feedback(write_feedback(rows, tmp_path / f"p{suffix}"), COHORT, PAIRS)[0])
        for suffix in (".csv", ".xlsx", ".json")
    ]
    assert loaded[0] == loaded[1] == loaded[2]
    assert [a[:2] for a in loaded[0]] == [tuple(r[:2]) for r in rows]
