"""Check-ins: what participants tell the coordinator during a cycle, and what it adds up to.

A *check-in point* is one of a pair's check-in milestones (the ``checkin`` events of the schedule;
in a monthly series every regular meeting is one). Point ``n`` of a pair opens at the start of the
local day of its meeting and stays open, editable, until point ``n + 1`` opens (the last one until
the cycle is closed). Each person answers for each partner: did you meet since the last check-in
(``yes`` / ``no`` / ``rescheduled``), how is it going (1-5), would you like to continue after this
cycle (``yes`` / ``no`` / ``unsure``), and a private note to the coordinator. Answers are never
shown to the partner.

Everything here is pure: the store saves and loads ``CheckIn`` rows, ``web`` writes them, the CLI,
the report and ``cycle close`` read the analysis.

The rule for ``cycle close`` without a feedback file (``feedback_rows``): the last answer of each
person about each partner decides. ``yes`` and ``no`` become a feedback row with that answer (and
the rating); ``unsure`` becomes no row at all, so the pair is not carried over (continuing needs
two yeses) and not banned either (only a ``no`` bans a pair): the verdict is ``partial`` or
``none``, as if the person had not answered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from cohort.feedback import FeedbackRow
from cohort.model import PersonId

PairKey = tuple[PersonId, PersonId]  # (mentor_id, mentee_id)
MET_CHOICES: tuple[str, ...] = ("yes", "no", "rescheduled")
CONTINUE_CHOICES: tuple[str, ...] = ("yes", "no", "unsure")
NOTE_MAX = 2000  # characters
LOW_RATING = 2  # a rating at or below this is low
ONE_SIDED_GAP = 2  # the two sides' ratings at one check-in differ by at least this


@dataclass(frozen=True)
class CheckIn:
    """One person's answer about one partner at one check-in point."""

    cycle_id: int
    person_id: PersonId
    partner_id: PersonId
    number: int  # 1-based check-in point of the pair
    met: str  # one of MET_CHOICES
    rating: int  # 1-5
    wants_continue: str  # one of CONTINUE_CHOICES
    note: str = ""
    updated_at: str = ""  # UTC ISO-8601


@dataclass(frozen=True)
class Point:
    """A pair's check-in point: its number, the meeting and when answers open."""

    number: int
    meeting: datetime  # aware UTC
    opens: datetime  # aware UTC


def points_for(meetings: Iterable[datetime], zone: str) -> tuple[Point, ...]:
    """Check-in points from the check-in meetings of a pair, opening at local midnight in ``zone``."""
    tz = ZoneInfo(zone)
    out = []
    for n, start in enumerate(sorted(meetings), start=1):
        local_day = start.astimezone(tz).date()
        out.append(Point(n, start, datetime.combine(local_day, time(0), tz).astimezone(start.tzinfo)))
    return tuple(out)


def open_point(points: Sequence[Point], now: datetime) -> Point | None:
    """The point whose answers can be given or edited at ``now`` (the last one opened), or None."""
    current = None
    for p in points:
        if p.opens <= now:
            current = p
    return current


def validate_answer(met: str, rating: str, wants: str, note: str) -> list[str]:
    """What is wrong with a submitted answer, in plain words (empty: fine)."""
    problems = []
    if met not in MET_CHOICES:
        problems.append("say whether you met since the last check-in")
    if rating not in {"1", "2", "3", "4", "5"}:
        problems.append("choose how it is going, from 1 to 5")
    if wants not in CONTINUE_CHOICES:
        problems.append("say whether you would like to continue")
    if len(note) > NOTE_MAX:
        problems.append(f"the note is too long ({len(note)} characters, at most {NOTE_MAX})")
    return problems


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class PairState:
    """Where one pair stands: latest answers of each side and what looks at risk."""

    mentor_id: PersonId
    mentee_id: PersonId
    opened: int  # check-in points opened so far
    answered: Mapping[PersonId, int]  # person -> number of points they answered
    latest: Mapping[PersonId, CheckIn]  # person -> their latest answer
    risks: tuple[str, ...]  # plain words; empty when nothing looks wrong

    def as_json(self, with_notes: bool = True) -> dict[str, object]:
        return {
            "mentor_id": self.mentor_id,
            "mentee_id": self.mentee_id,
            "opened": self.opened,
            "answered": dict(self.answered),
            "latest": {
                pid: {
                    "number": c.number,
                    "met": c.met,
                    "rating": c.rating,
                    "continue": c.wants_continue,
                    **({"note": c.note} if with_notes else {}),
                    "updated_at": c.updated_at,
                }
                for pid, c in self.latest.items()
            },
            "risks": list(self.risks),
        }


@dataclass(frozen=True)
class CheckInSummary:
    """``mentorsync checkins``: response rates per point and the pairs that need a look."""

    rates: tuple[tuple[int, int, int], ...]  # (number, expected answers, answers given)
    pairs: tuple[PairState, ...]

    @property
    def at_risk(self) -> tuple[PairState, ...]:
        return tuple(p for p in self.pairs if p.risks)

    @property
    def wants_to_stop(self) -> tuple[tuple[PersonId, PersonId], ...]:
        """``(person, partner)`` whose latest answer is: would not like to continue."""
        out = []
        for p in self.pairs:
            for pid, c in sorted(p.latest.items()):
                if c.wants_continue == "no":
                    out.append((pid, c.partner_id))
        return tuple(out)

    @property
    def answers(self) -> int:
        return sum(given for _, _, given in self.rates)

    def as_json(self) -> dict[str, object]:
        return {
            "response_rates": [
                {"checkin": n, "expected": e, "answered": a, "rate": round(a / e, 3) if e else None}
                for n, e, a in self.rates
            ],
            "at_risk": [p.as_json() for p in self.at_risk],
            "wants_to_stop": [{"person_id": a, "partner_id": b} for a, b in self.wants_to_stop],
            "pairs": [p.as_json() for p in self.pairs],
        }


def summarise(
    pairs: Iterable[PairKey],
    points: Mapping[PairKey, Sequence[Point]],
    checkins: Iterable[CheckIn],
    now: datetime,
) -> CheckInSummary:
    """Response rates and risks from the cycle's pairs, their points and the stored answers.

    At risk: the pair did not meet at two check-ins in a row (every answer at both said no or
    rescheduled), someone's latest rating is low (at most ``LOW_RATING``), the two sides' ratings
    at one check-in differ by ``ONE_SIDED_GAP`` or more, or someone would not like to continue.
    """
    by_pair: dict[frozenset[PersonId], dict[int, dict[PersonId, CheckIn]]] = {}
    for c in checkins:
        by_pair.setdefault(frozenset((c.person_id, c.partner_id)), {}).setdefault(c.number, {})[
            c.person_id
        ] = c
    expected: Counter[int] = Counter()
    given: Counter[int] = Counter()
    states = []
    for mentor, mentee in sorted(pairs):
        opened = sum(1 for p in points.get((mentor, mentee), ()) if p.opens <= now)
        answers = by_pair.get(frozenset((mentor, mentee)), {})
        for n in range(1, opened + 1):
            expected[n] += 2
            given[n] += len([pid for pid in answers.get(n, {}) if pid in (mentor, mentee)])
        latest: dict[PersonId, CheckIn] = {}
        count: Counter[PersonId] = Counter()
        for n in sorted(answers):
            for pid, c in answers[n].items():
                if pid in (mentor, mentee):
                    latest[pid] = c
                    count[pid] += 1
        risks = []
        not_met = [
            n for n in sorted(answers) if answers[n] and all(c.met != "yes" for c in answers[n].values())
        ]
        if any(b == a + 1 for a, b in zip(not_met, not_met[1:], strict=False)):
            risks.append("did not meet at two check-ins in a row")
        low = sorted(pid for pid, c in latest.items() if c.rating <= LOW_RATING)
        if low:
            risks.append("low rating from " + ", ".join(low))
        for n in sorted(answers):
            both = answers[n]
            if (
                mentor in both
                and mentee in both
                and abs(both[mentor].rating - both[mentee].rating) >= ONE_SIDED_GAP
            ):
                risks.append(f"one-sided ratings at check-in {n}")
                break
        stop = sorted(pid for pid, c in latest.items() if c.wants_continue == "no")
        if stop:
            risks.append("would not like to continue: " + ", ".join(stop))
        states.append(
            PairState(
                mentor,
                mentee,
                opened,
                dict(sorted(count.items())),
                dict(sorted(latest.items())),
                tuple(risks),
            )
        )
    rates = tuple((n, expected[n], given[n]) for n in sorted(expected))
    return CheckInSummary(rates, tuple(states))


def feedback_rows(checkins: Iterable[CheckIn], pairs: Iterable[PairKey]) -> tuple[FeedbackRow, ...]:
    """Feedback rows for ``cycle close`` from the last answer of each person about each partner.

    ``yes``/``no`` give a row with that answer and the rating; ``unsure`` gives none (see the
    module docstring). Answers about someone who is not a partner are ignored.
    """
    partners = {frozenset(p) for p in pairs}
    last: dict[tuple[PersonId, PersonId], CheckIn] = {}
    for c in sorted(checkins, key=lambda c: c.number):
        if frozenset((c.person_id, c.partner_id)) in partners:
            last[(c.person_id, c.partner_id)] = c
    return tuple(
        FeedbackRow(pid, partner, c.wants_continue == "yes", c.rating, None, 0)
        for (pid, partner), c in sorted(last.items())
        if c.wants_continue != "unsure"
    )


def merge_feedback(
    from_file: Iterable[FeedbackRow], from_checkins: Iterable[FeedbackRow]
) -> tuple[FeedbackRow, ...]:
    """The file's rows, then check-in rows for every (person, partner) the file does not answer:
    where both speak about the same partner, the file wins."""
    rows = list(from_file)
    have = {(r.person_id, r.partner_id) for r in rows}
    rows += [r for r in from_checkins if (r.person_id, r.partner_id) not in have]
    return tuple(rows)
