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
from typing import Literal

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
    table = read_table(Path(path), FEEDBACK)
    check = _Checker(table.file, cohort, pairs, circles or {})
    check.problems.extend(table.problems)
    rows: list[FeedbackRow] = []
    circle_rows: list[FeedbackRow] = []
    for line, cells in table.rows:
        values = {c: cell_text(cells.get(c)) if c in table.columns else None for c in FEEDBACK.columns}
        row, about_circle = check.row(line, values)
        if row is not None:
            (circle_rows if about_circle else rows).append(row)
    if any(p.severity == "error" for p in check.problems):
        raise InputError(check.problems)
    return FeedbackFile(tuple(rows), tuple(circle_rows), tuple(check.problems))


class _Checker:
    """The checks of one feedback file's rows, collecting every problem (nothing stops at the first)."""

    def __init__(
        self,
        file: str,
        cohort: Cohort | None,
        pairs: set[PairKey] | None,
        circles: Mapping[str, CircleMembers],
    ):
        self.file, self.cohort, self.pairs, self.circles = file, cohort, pairs, circles
        self.problems: list[Problem] = []
        self.partners_of: dict[PersonId, set[PersonId]] = defaultdict(set)
        for mentor, mentee in pairs or ():
            self.partners_of[mentor].add(mentee)
            self.partners_of[mentee].add(mentor)
        self.circle_of: dict[PersonId, list[str]] = defaultdict(list)  # person -> circles they meet in
        self.led_by: dict[tuple[PersonId, PersonId], str] = {}  # (member, mentor) -> their circle
        for cid, (lead, members) in circles.items():
            for pid in ((lead,) if lead else ()) + tuple(members):
                self.circle_of[pid].append(cid)
            for m in members:
                if lead:
                    self.led_by[(m, lead)] = cid
        self.first_seen: dict[PairKey, int] = {}

    def problem(self, line: int, column: str, message: str, hint: str) -> None:
        self.problems.append(Problem(self.file, line, column, message, hint))

    def row(self, line: int, cells: Mapping[str, str | None]) -> tuple[FeedbackRow | None, bool]:
        """The row's answer (None when it has a problem) and whether it is about a circle."""
        person, partner = cells["person_id"], cells["partner_id"]
        ok_person = person is not None and self.check_id(line, "person_id", person)
        ok_partner = partner is not None and self.check_id(line, "partner_id", partner)
        key: PairKey | None = None
        circle: str | None = None
        if person is not None and partner is not None and ok_person and ok_partner:
            circle = self.circle_row(line, person, partner)
            if circle == "":
                pass  # a circle the person is not in: reported
            elif circle is not None:
                if self.check_pair(line, person, circle):
                    key = (person, circle)
            elif self.check_pair(line, person, partner):
                key = (person, partner)
        wants, rating = self.answers(line, cells["continue"], cells["rating"])
        if key is None or wants is None:
            return None, False
        return FeedbackRow(key[0], key[1], wants, rating, cells["comment"] or None, line), bool(circle)

    def answers(
        self, line: int, raw_continue: str | None, raw_rating: str | None
    ) -> tuple[bool | None, int | None]:
        """The ``continue`` and ``rating`` cells read; a bad one is a problem (and None)."""
        wants: bool | None = None
        if raw_continue is not None:
            wants = _parse_continue(raw_continue)
            if wants is None:
                shown = "empty" if not raw_continue else f"'{raw_continue}' is not yes or no"
                self.problem(line, "continue", shown, "write yes or no")
        rating: int | None = None
        if raw_rating:
            rating = _parse_rating(raw_rating)
            if rating is None:
                hint = "a whole number from 1 to 5, or leave it empty"
                self.problem(line, "rating", f"'{raw_rating}' is not a rating", hint)
        return wants, rating

    def check_id(self, line: int, column: str, value: str) -> bool:
        if not value:
            self.problem(line, column, "empty", "write a participant id")
            return False
        if not _ID_RE.fullmatch(value):
            self.problem(line, column, f"'{value}' is not a valid id", "1-64 characters of A-Z a-z 0-9 . _ -")
            return False
        if self.cohort is not None and value not in self.cohort:
            if column == "partner_id" and value in self.circles:
                return True
            either = column == "partner_id" and bool(self.circles)
            guess = _suggest(value, [*self.cohort.by_id, *(self.circles if either else ())])
            self.problem(
                line,
                column,
                f"unknown {'person or circle' if either else 'person'} id '{value}'",
                f"did you mean '{guess}'?"
                if guess
                else "use an id from the participants file"
                + (" or a circle id from circles.csv" if either else ""),
            )
            return False
        return True

    def circle_row(self, line: int, person: PersonId, partner: str) -> str | None:
        """The circle a row answers about (None: not about a circle); a wrong circle is a problem
        (and ``""``)."""
        if partner in self.partners_of.get(person, ()):
            return None
        cohort = self.cohort
        if partner in self.circles and (
            cohort is None or partner not in cohort or partner in self.circle_of[person]
        ):
            if partner in self.circle_of.get(person, ()):
                return partner
            mine = self.circle_of.get(person, [])
            self.problem(
                line,
                "partner_id",
                f"'{person}' is not in circle '{partner}'",
                f"their circle: {', '.join(mine)}" if mine else f"'{person}' was in no circle this cycle",
            )
            return ""
        return self.led_by.get((person, partner))

    def check_pair(self, line: int, person: PersonId, partner: PersonId) -> bool:
        """Self rows, partners from another pair, and repeated rows."""
        if person == partner:
            hint = "partner_id must be the other person of the pair"
            self.problem(line, "partner_id", f"'{person}' gives feedback about themself", hint)
            return False
        partners = self.partners_of.get(person, ())
        if self.pairs is not None and partner not in partners and partner not in self.circles:
            self.problem(
                line,
                "partner_id",
                f"'{partner}' was not a partner of '{person}' this cycle",
                self._partners_hint(person, partner),
            )
            return False
        if (person, partner) in self.first_seen:
            self.problem(
                line,
                "partner_id",
                f"second row for '{person}' about '{partner}'",
                f"keep one row; the first is on line {self.first_seen[(person, partner)]}",
            )
            return False
        self.first_seen[(person, partner)] = line
        return True

    def _partners_hint(self, person: PersonId, partner: PersonId) -> str:
        mine = sorted(self.partners_of.get(person, ()))
        shared = [c for c in self.circle_of.get(person, ()) if c in self.circle_of.get(partner, ())]
        if shared:
            return f"for their circle, write the circle's id: {shared[0]}"
        if mine:
            return f"their partners were: {', '.join(mine)}"
        if self.circle_of.get(person):
            return f"their circle: {', '.join(self.circle_of[person])}"
        return f"'{person}' had no partner this cycle"


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
