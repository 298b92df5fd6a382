"""Feedback at a cycle's end (``docs/interface.md`` §2.3): loading, validation and per-pair verdicts.

The file has one row per person and partner: ``person_id``, ``partner_id``, ``continue`` (does this
person want to keep meeting this partner next cycle), optional ``rating`` (1-5) and ``comment``.
Ratings and comments are private to the coordinator; nothing here writes them anywhere.

Circles (issue 15): a circle's mentor or member answers about the circle with ``partner_id`` = the
circle's id (``circle_id`` of ``circles.csv``); a member of a mentor-led circle may name the circle's
mentor instead (the coordinator's sheet often has the mentor's id where a pair's would be), and the
row counts for the circle. Such rows come back apart (``FeedbackFile.circle_rows``, ``partner_id``
holding the circle id). Naming another member is an error whose hint gives the circle's id: the
answer is about the circle, not about one person in it.

The file may be ``.csv`` (any encoding or delimiter a spreadsheet exports), ``.xlsx`` or ``.json``:
``cohort.tables`` reads it as it reads a participants file.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Literal

from cohort.errors import InputError, Problem
from cohort.model import Cohort, PersonId
from cohort.tables import TableSpec, cell_text, read_table

PairKey = tuple[PersonId, PersonId]  # (mentor_id, mentee_id)
CircleMembers = tuple[PersonId | None, tuple[PersonId, ...]]  # (mentor_id or None, member_ids)
Verdict = Literal["continue", "end", "partial", "none"]

REQUIRED_COLUMNS: tuple[str, ...] = ("person_id", "partner_id", "continue")
OPTIONAL_COLUMNS: tuple[str, ...] = ("rating", "comment")

YES_WORDS = frozenset({"yes", "y", "true", "1"})
NO_WORDS = frozenset({"no", "n", "false", "0"})

_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")

FEEDBACK = TableSpec(
    "feedback",
    REQUIRED_COLUMNS + OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    unknown_column_hint=f"known columns: {', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}",
    note_encoding=False,  # Excel's Windows-1252 CSV is the expected export here, not a surprise
)


@dataclass(frozen=True)
class FeedbackRow:
    """One person's answer about one partner; ``line`` is the row's first physical line."""

    person_id: PersonId
    partner_id: PersonId
    wants_continue: bool
    rating: int | None = None
    comment: str | None = None
    line: int = 0


# --------------------------------------------------------------------------- loading


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _parse_continue(raw: str) -> bool | None:
    word = raw.strip().casefold()
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    return None


def _parse_rating(raw: str) -> int | None:
    """An integer 1-5 written as ``4`` or ``4.0``; ``None`` for anything else."""
    text = raw.strip()
    try:
        value = float(text.replace(",", ".")) if text else None
    except ValueError:
        return None
    if value is None or not value.is_integer() or not 1 <= value <= 5:
        return None
    return int(value)


@dataclass(frozen=True)
class FeedbackFile:
    """A validated feedback file: answers about pairs, answers about circles, and warnings."""

    rows: tuple[FeedbackRow, ...]
    circle_rows: tuple[FeedbackRow, ...] = ()  # ``partner_id``: the circle's id
    warnings: tuple[Problem, ...] = ()


def load_feedback(
    path: str | PathLike[str],
    cohort: Cohort | None = None,
    pairs: set[PairKey] | None = None,
) -> tuple[tuple[FeedbackRow, ...], list[Problem]]:
    """Load and validate a feedback file of pairs only; returns the rows and the warnings.

    With ``cohort``, every id must belong to it; with ``pairs`` (``(mentor, mentee)`` of the cycle
    being closed), every row must name one of the person's partners, on either side of the pair.
    Every error is collected and raised together as ``InputError`` (warnings included).
    """
    read = read_feedback(path, cohort, pairs)
    return read.rows, list(read.warnings)


def read_feedback(
    path: str | PathLike[str],
    cohort: Cohort | None = None,
    pairs: set[PairKey] | None = None,
    circles: Mapping[str, CircleMembers] | None = None,
) -> FeedbackFile:
    """``load_feedback`` with the cycle's ``circles`` (circle id -> (mentor or None, members)): a
    row may also answer about a circle the person meets in (see the module doc). A circle id that
    is not one of them, or a person who is not in that circle, is an error on that line.
    """
    # Long on purpose: the nested checks collect every problem of the file at once, sharing the
    # problems list and the first-seen index (every problem reported, nothing written).
    table = read_table(Path(path), FEEDBACK)
    file = table.file
    problems: list[Problem] = list(table.problems)

    partners_of: dict[PersonId, set[PersonId]] = defaultdict(set)
    for mentor, mentee in pairs or ():
        partners_of[mentor].add(mentee)
        partners_of[mentee].add(mentor)
    circles = circles or {}
    circle_of: dict[PersonId, list[str]] = defaultdict(list)  # person -> circles they meet in
    led_by: dict[tuple[PersonId, PersonId], str] = {}  # (member, mentor) -> their circle
    for cid, (lead, members) in circles.items():
        for pid in ((lead,) if lead else ()) + tuple(members):
            circle_of[pid].append(cid)
        for m in members:
            if lead:
                led_by[(m, lead)] = cid

    def cell(cells: dict[str, Any], name: str) -> str | None:
        """The trimmed text of a cell; None when the file has no such column."""
        return cell_text(cells.get(name)) if name in table.columns else None

    def check_id(line: int, column: str, value: str) -> bool:
        if not value:
            problems.append(Problem(file, line, column, "empty", "write a participant id"))
            return False
        if not _ID_RE.fullmatch(value):
            problems.append(
                Problem(
                    file, line, column, f"'{value}' is not a valid id", "1-64 characters of A-Z a-z 0-9 . _ -"
                )
            )
            return False
        if cohort is not None and value not in cohort:
            if column == "partner_id" and value in circles:
                return True
            either = column == "partner_id" and bool(circles)
            guess = _suggest(value, [*cohort.by_id, *(circles if either else ())])
            problems.append(
                Problem(
                    file,
                    line,
                    column,
                    f"unknown {'person or circle' if either else 'person'} id '{value}'",
                    f"did you mean '{guess}'?"
                    if guess
                    else "use an id from the participants file"
                    + (" or a circle id from circles.csv" if either else ""),
                )
            )
            return False
        return True

    first_seen: dict[PairKey, int] = {}

    def circle_row(line: int, person: PersonId, partner: str) -> str | None:
        """The circle a row answers about (None: not about a circle); a wrong circle is a problem."""
        if partner in partners_of.get(person, ()):
            return None
        if partner in circles and (cohort is None or partner not in cohort or partner in circle_of[person]):
            if partner in circle_of.get(person, ()):
                return partner
            mine = circle_of.get(person, [])
            problems.append(
                Problem(
                    file,
                    line,
                    "partner_id",
                    f"'{person}' is not in circle '{partner}'",
                    f"their circle: {', '.join(mine)}" if mine else f"'{person}' was in no circle this cycle",
                )
            )
            return ""
        return led_by.get((person, partner))

    def check_pair(line: int, person: PersonId, partner: PersonId) -> bool:
        """Self rows, partners from another pair, and repeated rows."""
        if person == partner:
            problems.append(
                Problem(
                    file,
                    line,
                    "partner_id",
                    f"'{person}' gives feedback about themself",
                    "partner_id must be the other person of the pair",
                )
            )
            return False
        if pairs is not None and partner not in partners_of.get(person, ()) and partner not in circles:
            mine = sorted(partners_of.get(person, ()))
            shared = [c for c in circle_of.get(person, ()) if c in circle_of.get(partner, ())]
            problems.append(
                Problem(
                    file,
                    line,
                    "partner_id",
                    f"'{partner}' was not a partner of '{person}' this cycle",
                    f"for their circle, write the circle's id: {shared[0]}"
                    if shared
                    else f"their partners were: {', '.join(mine)}"
                    if mine
                    else f"their circle: {', '.join(circle_of[person])}"
                    if circle_of.get(person)
                    else f"'{person}' had no partner this cycle",
                )
            )
            return False
        if (person, partner) in first_seen:
            problems.append(
                Problem(
                    file,
                    line,
                    "partner_id",
                    f"second row for '{person}' about '{partner}'",
                    f"keep one row; the first is on line {first_seen[(person, partner)]}",
                )
            )
            return False
        first_seen[(person, partner)] = line
        return True

    rows: list[FeedbackRow] = []
    circle_rows: list[FeedbackRow] = []
    for line, cells in table.rows:
        person = cell(cells, "person_id")
        partner = cell(cells, "partner_id")
        ok_person = person is not None and check_id(line, "person_id", person)
        ok_partner = partner is not None and check_id(line, "partner_id", partner)
        key: PairKey | None = None
        circle: str | None = None
        if person is not None and partner is not None and ok_person and ok_partner:
            circle = circle_row(line, person, partner)
            if circle == "":
                pass  # a circle the person is not in: reported
            elif circle is not None:
                if check_pair(line, person, circle):
                    key = (person, circle)
            elif check_pair(line, person, partner):
                key = (person, partner)

        raw_continue = cell(cells, "continue")
        wants: bool | None = None
        if raw_continue is not None:
            wants = _parse_continue(raw_continue)
            if wants is None:
                problems.append(
                    Problem(
                        file,
                        line,
                        "continue",
                        "empty" if not raw_continue else f"'{raw_continue}' is not yes or no",
                        "write yes or no",
                    )
                )
        raw_rating = cell(cells, "rating")
        rating: int | None = None
        if raw_rating:
            rating = _parse_rating(raw_rating)
            if rating is None:
                problems.append(
                    Problem(
                        file,
                        line,
                        "rating",
                        f"'{raw_rating}' is not a rating",
                        "a whole number from 1 to 5, or leave it empty",
                    )
                )
        comment = cell(cells, "comment") or None

        if key is not None and wants is not None:
            (circle_rows if circle else rows).append(
                FeedbackRow(key[0], key[1], wants, rating, comment, line)
            )

    if any(p.severity == "error" for p in problems):
        raise InputError(problems)
    return FeedbackFile(tuple(rows), tuple(circle_rows), tuple(problems))


# --------------------------------------------------------------------------- verdicts


def pair_verdicts(rows: Iterable[FeedbackRow], pairs: Iterable[PairKey]) -> dict[PairKey, Verdict]:
    """The verdict on each ``(mentor, mentee)`` pair from both sides' answers.

    * ``continue``: both sides said yes.
    * ``end``: at least one side said no. Such a pair is never formed again (see ``banned_pairs``).
    * ``partial``: one side said yes, the other did not answer. The pair is not carried over as a
      kept pair (continuing needs both yeses) but it is not banned either: the matcher may form it
      again on its merits.
    * ``none``: nobody answered; treated like a pair that finished normally.

    A row counts for a pair whatever side of it the person was on; rows about other people are
    ignored.
    """
    answer: dict[PairKey, bool] = {(r.person_id, r.partner_id): r.wants_continue for r in rows}
    verdicts: dict[PairKey, Verdict] = {}
    for mentor, mentee in pairs:
        said = [answer[k] for k in ((mentor, mentee), (mentee, mentor)) if k in answer]
        if False in said:
            verdicts[(mentor, mentee)] = "end"
        elif len(said) == 2:
            verdicts[(mentor, mentee)] = "continue"
        elif said:
            verdicts[(mentor, mentee)] = "partial"
        else:
            verdicts[(mentor, mentee)] = "none"
    return verdicts


def banned_pairs(rows: Iterable[FeedbackRow]) -> frozenset[frozenset[PersonId]]:
    """Unordered pairs of people where someone said no: never to be paired again, in either role."""
    return frozenset(frozenset((r.person_id, r.partner_id)) for r in rows if not r.wants_continue)
