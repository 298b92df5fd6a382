"""Feedback file (docs/interface.md §2.3): validation with every problem at once, encodings, verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort.errors import InputError, UsageError
from cohort.feedback import (
    FeedbackRow,
    banned_pairs,
    load_feedback,
    pair_verdicts,
)
from tests.factories import make_cohort, make_person

COHORT = make_cohort(
    make_person("m1", "mentor"),
    make_person("m2", "mentor"),
    make_person("e1", "mentee"),
    make_person("e2", "mentee"),
    make_person("e3", "mentee"),
)
PAIRS = {("m1", "e1"), ("m2", "e2")}


def write(tmp_path: Path, text: str, name: str = "feedback.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def errors_of(path: Path, **kw) -> list:
    with pytest.raises(InputError) as info:
        load_feedback(path, **kw)
    return info.value.errors


# --------------------------------------------------------------------------- every problem at once

EVERY_PROBLEM = (
    "person_id,partner_id,continue,rating,comment,colour\n"  # 1: 'colour' is unknown (warning)
    "m1,e1,yes,5,great\n"  # 2: fine
    'e1,m1,Y,4.0,"first line\n'  # 3: fine, comment spans lines 3-4
    'second line"\n'  # 4
    "zz9,e1,yes,,\n"  # 5: unknown person id
    "m1,m1,yes,,\n"  # 6: self row
    "m1,e2,no,,\n"  # 7: e2 is not m1's partner
    "m1,e1,no,,\n"  # 8: duplicate of line 2
    "m2,e2,maybe,,\n"  # 9: bad continue
    "e2,m2,no,7,\n"  # 10: bad rating
    "bad id!,m2,yes,,\n"  # 11: malformed id
    "m2,e2,,,\n"  # 12: duplicate of 9 and empty continue
    "\n"  # 13: blank, skipped
    "e2,m1,yes,4.5,\n"  # 14: not partner and bad rating
)

EXPECTED = {
    (5, "person_id", "unknown person id 'zz9'"),
    (6, "partner_id", "themself"),
    (7, "partner_id", "'e2' was not a partner of 'm1'"),
    (8, "partner_id", "second row for 'm1' about 'e1'"),
    (9, "continue", "'maybe' is not yes or no"),
    (10, "rating", "'7' is not a rating"),
    (11, "person_id", "'bad id!' is not a valid id"),
    (12, "partner_id", "second row for 'm2' about 'e2'"),
    (12, "continue", "empty"),
    (14, "partner_id", "'m1' was not a partner of 'e2'"),
    (14, "rating", "'4.5' is not a rating"),
}


def test_every_problem_reported_once_with_file_line_and_column(tmp_path):
    path = write(tmp_path, EVERY_PROBLEM)
    with pytest.raises(InputError) as info:
        load_feedback(path, cohort=COHORT, pairs=PAIRS)
    errors = info.value.errors
    found = {(p.line, p.column) for p in errors}
    assert found == {(line, col) for line, col, _ in EXPECTED}
    assert len(errors) == len(EXPECTED)
    for line, col, text in EXPECTED:
        (problem,) = [p for p in errors if (p.line, p.column) == (line, col)]
        assert text in problem.message
        assert problem.file == str(path)
        assert problem.hint, "every problem says what would be right"
        assert str(problem).startswith(f"{path}:{line}: column '{col}':")
    warnings = [p for p in info.value.problems if p.severity == "warning"]
    assert [(w.line, w.column) for w in warnings] == [(1, "colour")]
    assert info.value.exit_code == 65


def test_hints_point_to_the_fix(tmp_path):
    path = write(tmp_path, "person_id,partner_id,continue\nm1,e2,yes\ne1,m1,perhaps\n")
    errors = {p.line: p for p in errors_of(path, cohort=COHORT, pairs=PAIRS)}
    assert "their partners were: e1" in errors[2].hint
    assert errors[3].hint == "write yes or no"
    path = write(tmp_path, "person_id,partner_id,continue\nm11,e1,yes\n")
    (problem,) = errors_of(path, cohort=COHORT)
    assert "did you mean 'm1'" in problem.hint


def test_missing_columns_and_cell_problems_reported_together(tmp_path):
    path = write(tmp_path, "Person_ID,Rating\nm1,9\ne1,3\n")
    errors = errors_of(path, cohort=COHORT)
    assert {(p.line, p.column) for p in errors} == {(1, "partner_id"), (1, "continue"), (2, "rating")}
    assert all("required column is missing" in p.message for p in errors if p.line == 1)


def test_duplicate_header_column(tmp_path):
    path = write(tmp_path, "person_id,partner_id,continue,Continue\nm1,e1,yes,no\n")
    (problem,) = errors_of(path)
    assert (problem.line, problem.column) == (1, "continue")


def test_extra_cells_beyond_header(tmp_path):
    path = write(tmp_path, "person_id,partner_id,continue,comment\nm1,e1,yes,good, really\n")
    (problem,) = errors_of(path)
    assert problem.line == 2 and "cells but the header has" in problem.message


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"PK\x03\x04rest-of-a-zip", "workbook"),
    ],
)
def test_whole_file_problems(tmp_path, data, message):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    (problem,) = errors_of(path)
    assert problem.line == 0 and message in problem.message


def test_missing_file(tmp_path):
    with pytest.raises(UsageError, match="no such file"):  # wrong usage (2), not bad data (65)
        errors_of(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("yes", True),
        ("Yes", True),
        ("YES", True),
        ("y", True),
        ("true", True),
        ("1", True),
        (" yes ", True),
        ("no", False),
        ("No", False),
        ("n", False),
        ("FALSE", False),
        ("0", False),
    ],
)
def test_continue_accepts_common_spellings(tmp_path, raw, expected):
    path = write(tmp_path, f"person_id,partner_id,continue\nm1,e1,{raw}\n")
    (row,), warnings = load_feedback(path, cohort=COHORT, pairs=PAIRS)
    assert row.wants_continue is expected and warnings == []


@pytest.mark.parametrize("raw", ["maybe", "ja", "2", "yess"])
def test_continue_rejects_others(tmp_path, raw):
    path = write(tmp_path, f"person_id,partner_id,continue\nm1,e1,{raw}\n")
    (problem,) = errors_of(path)
    assert (problem.line, problem.column) == (2, "continue")


@pytest.mark.parametrize("raw, expected", [("4", 4), ("4.0", 4), ("1", 1), ("5", 5), ("", None)])
def test_rating_accepted(tmp_path, raw, expected):
    path = write(tmp_path, f"person_id,partner_id,continue,rating\nm1,e1,no,{raw}\n")
    (row,), _ = load_feedback(path)
    assert row.rating == expected


@pytest.mark.parametrize("raw", ["0", "6", "4.5", "four", "-1"])
def test_rating_rejected(tmp_path, raw):
    path = write(tmp_path, f"person_id,partner_id,continue,rating\nm1,e1,no,{raw}\n")
    (problem,) = errors_of(path)
    assert (problem.line, problem.column) == (2, "rating")


def test_rows_fully_parsed(tmp_path):
    path = write(
        tmp_path,
        "Person ID,PARTNER_ID,Continue,rating,comment\nm1,e1,yes,5,  Great sessions \ne1,m1,no,,\n",
    )
    rows, warnings = load_feedback(path, cohort=COHORT, pairs=PAIRS)
    assert warnings == []
    assert rows == (
        FeedbackRow("m1", "e1", True, 5, "Great sessions", 2),
        FeedbackRow("e1", "m1", False, None, None, 3),
    )


def test_without_cohort_or_pairs_ids_are_only_checked_for_shape(tmp_path):
    path = write(tmp_path, "person_id,partner_id,continue\nnobody,else,yes\n")
    (row,), _ = load_feedback(path)
    assert (row.person_id, row.partner_id) == ("nobody", "else")


# --------------------------------------------------------------------------- encodings

COMMENT = "Très bien — merci"


@pytest.mark.parametrize(
    "encoding, delimiter, newline",
    [
        ("utf-8", ",", "\n"),
        ("utf-8-sig", ",", "\r\n"),
        ("cp1252", ";", "\r\n"),
        ("utf-16", "\t", "\r\n"),  # Excel "Unicode text": UTF-16 LE with BOM, tabs
        ("utf-16", ",", "\n"),
        ("utf-16-le", ";", "\n"),  # no BOM
        ("utf-16-be", ",", "\n"),  # no BOM
    ],
)
def test_encodings_and_delimiters(tmp_path, encoding, delimiter, newline):
    lines = [
        ["person_id", "partner_id", "continue", "rating", "comment"],
        ["m1", "e1", "yes", "4", COMMENT],
        ["e1", "m1", "no", "", '"a; b, c"'],
    ]
    text = newline.join(delimiter.join(cells) for cells in lines) + newline
    path = write(tmp_path, text, encoding=encoding)
    rows, warnings = load_feedback(path, cohort=COHORT, pairs=PAIRS)
    assert warnings == []
    assert [(r.person_id, r.partner_id, r.wants_continue, r.rating, r.comment, r.line) for r in rows] == [
        ("m1", "e1", True, 4, COMMENT, 2),
        ("e1", "m1", False, None, "a; b, c", 3),
    ]


# --------------------------------------------------------------------------- verdicts


def row(person: str, partner: str, yes: bool) -> FeedbackRow:
    return FeedbackRow(person, partner, yes)


def test_verdict_rules():
    pairs = [("m1", "e1"), ("m2", "e2"), ("m3", "e3"), ("m4", "e4"), ("m5", "e5")]
    rows = [
        row("m1", "e1", True),
        row("e1", "m1", True),  # both yes
        row("m2", "e2", True),
        row("e2", "m2", False),  # one no
        row("m3", "e3", True),  # only one yes
        row("e5", "m5", False),  # only one no
        row("x", "y", False),  # about people not paired: ignored
    ]
    assert pair_verdicts(rows, pairs) == {
        ("m1", "e1"): "continue",
        ("m2", "e2"): "end",
        ("m3", "e3"): "partial",
        ("m4", "e4"): "none",
        ("m5", "e5"): "end",
    }
    assert banned_pairs(rows) == {frozenset({"m2", "e2"}), frozenset({"m5", "e5"}), frozenset({"x", "y"})}


ANSWER = st.sampled_from([None, True, False])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(ANSWER, ANSWER), min_size=1, max_size=6))
def test_verdict_properties(answers):
    pairs = [(f"m{i}", f"e{i}") for i in range(len(answers))]
    rows = []
    for (mentor, mentee), (by_mentor, by_mentee) in zip(pairs, answers, strict=True):
        if by_mentor is not None:
            rows.append(row(mentor, mentee, by_mentor))
        if by_mentee is not None:
            rows.append(row(mentee, mentor, by_mentee))
    verdicts = pair_verdicts(rows, pairs)
    banned = banned_pairs(rows)
    for key, said in zip(pairs, answers, strict=True):
        v = verdicts[key]
        assert (v == "end") == (False in said)
        assert (v == "continue") == (said == (True, True))
        assert (v == "none") == (said == (None, None))
        assert (frozenset(key) in banned) == (v == "end")
