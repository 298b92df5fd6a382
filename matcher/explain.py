"""Plain-words explanations for any chosen set of pairs.

``describe`` works for whatever pairs were finally chosen (the solver's, or the scheduler's after
it dropped a pair), so every reason is derived from the candidate set and the chosen pairs only.

Why a mentee with candidates stayed unmatched is named by the minimum cut of the flow graph
(source -> mentee (1) -> mentor (inf) -> sink (capacity)). For a maximum matching, the source side
of a minimum cut is exactly what the residual graph reaches from the unmatched mentees: mentee ->
mentor along unchosen candidate pairs, mentor -> mentee along chosen pairs. Each connected group
of that set is a bottleneck: its mentees all compete for the seats of its mentors, which are all
taken ("12 mentees needing negotiation compete for 7 seats of 3 mentors"). The reachability is
computed with ``scipy.sparse.csgraph`` (linear time); the tests check it against
``networkx.minimum_cut``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

from cohort.model import Cohort, Person, PersonId
from cohort.program import Program
from cohort.rules import RULES
from matcher.candidates import RULE_NAMES, CandidateSet
from matcher.encode import seats
from matcher.model import COMPONENTS, Pair, Unmatched


@dataclass(frozen=True)
class Alternative:
    """Another candidate partner of a person, and why that pair was not chosen."""

    partner_id: PersonId
    partner_role: str  # the partner's side: "mentor" or "mentee"
    score: int
    components: Mapping[str, int] = field(default_factory=dict)
    why_not: str = ""


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.1f}".rstrip("0").rstrip(".") + " h"


def _list(items: Iterable[str], limit: int = 5) -> str:
    items = list(items)
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def pair_reasons(mentor: Person, mentee: Person, common_minutes: int, pinned: bool = False) -> str:
    """Why this pair is a good one, in plain words (goals, time, interests, language, ...)."""
    parts = []
    if pinned:
        parts.append("pinned by the coordinator")
    if mentee.goals:
        covered = [g for g in mentee.goals if g in set(mentor.expertise)]
        if covered:
            parts.append(f"covers {len(covered)} of {len(mentee.goals)} goals: {_list(covered)}")
        else:
            parts.append(f"covers none of {len(mentee.goals)} goal(s)")
    parts.append(f"{_hours(common_minutes)} a week in common")
    shared = [i for i in mentee.interests if i in set(mentor.interests)]
    if shared:
        parts.append(f"both enjoy {_list(shared)}")
    langs = [lang for lang in mentee.languages if lang in set(mentor.languages)]
    if langs:
        parts.append(f"speak {_list(langs)}")
    if mentor.level is not None and mentee.level is not None:
        parts.append(f"levels {mentor.level} and {mentee.level}")
    asked_by_mentee, asked_by_mentor = mentor.id in mentee.prefer, mentee.id in mentor.prefer
    if asked_by_mentee and asked_by_mentor:
        parts.append("mutual request")
    elif asked_by_mentee:
        parts.append("requested by the mentee")
    elif asked_by_mentor:
        parts.append("requested by the mentor")
    if mentor.timezone == mentee.timezone:
        parts.append("same time zone")
    else:
        parts.append(f"time zones {mentor.timezone} and {mentee.timezone}")
    return "; ".join(parts)


def _rule_label(name: str, person: Person, role: str, program: Program) -> str:
    """The catalogue's words for rule ``name`` (``cohort.rules``), with this person's details."""
    if name not in RULES:
        return name
    return RULES[name].say(
        other="mentor" if role == "mentee" else "mentee",
        languages=_list(person.languages),
        duration=program.cycle.duration_minutes,
        min_level_gap=program.rules.min_level_gap,
    )


def _exclusion_summary(counts: Mapping[str, int], person: Person, role: str, program: Program) -> str:
    other = "mentor" if role == "mentee" else "mentee"
    counts = {r: c for r, c in counts.items() if r != "self" and c}
    if not counts:
        return f"no {other} in this cohort"
    order = sorted(counts, key=lambda r: (-counts[r], RULE_NAMES.index(r) if r in RULE_NAMES else 99))
    return f"no compatible {other}: " + "; ".join(
        f"{_rule_label(r, person, role, program)}: {counts[r]}" for r in order
    )


def _components(cs: CandidateSet, k: int) -> dict[str, int]:
    return dict(zip(COMPONENTS, (int(c) for c in cs.components[k]), strict=True))


def bottlenecks(
    cs: CandidateSet, chosen: np.ndarray, active: np.ndarray
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """For each unmatched mentee index with candidates: (mentee indices, mentor indices) of its
    bottleneck group, the min-cut source side restricted to its connected group."""
    n_e, n_m = len(cs.arrays.mentees), len(cs.arrays.mentors)
    matched = np.zeros(n_e, dtype=bool)
    matched[cs.mentee[chosen]] = True
    has = np.zeros(n_e, dtype=bool)
    has[cs.mentee[active]] = True
    sources = np.nonzero(~matched & has)[0]
    if len(sources) == 0:
        return {}
    is_chosen = np.zeros(len(cs), dtype=bool)
    is_chosen[chosen] = True
    unchosen = active[~is_chosen[active]]
    super_source = n_e + n_m
    # nodes: mentees 0..n_e-1, mentors n_e..n_e+n_m-1, then a super source
    rows = np.concatenate([cs.mentee[unchosen], n_e + cs.mentor[chosen], np.full(len(sources), super_source)])
    cols = np.concatenate([n_e + cs.mentor[unchosen], cs.mentee[chosen], sources])
    graph = coo_matrix(
        (np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(super_source + 1, super_source + 1)
    ).tocsr()
    reached = breadth_first_order(graph, super_source, directed=True, return_predecessors=False)
    reached = reached[reached != super_source]
    inside = np.zeros(super_source + 1, dtype=bool)
    inside[reached] = True
    keep = inside[rows] & inside[cols]
    sub = coo_matrix(
        (np.ones(int(keep.sum()), dtype=np.int8), (rows[keep], cols[keep])),
        shape=(super_source + 1, super_source + 1),
    )
    _, label = connected_components(sub, directed=False)
    groups: dict[int, list[int]] = {}
    for node in reached.tolist():
        groups.setdefault(int(label[node]), []).append(node)
    out = {}
    for nodes in groups.values():
        arr = np.array(nodes)
        mentees, mentors = arr[arr < n_e], arr[arr >= n_e] - n_e
        for e in mentees:
            if not matched[e]:
                out[int(e)] = (mentees, mentors)
    return out


def _group_reason(
    cs: CandidateSet, group: tuple[np.ndarray, np.ndarray], seats_used: np.ndarray, cap: np.ndarray
) -> str:
    """The bottleneck of one min-cut group in plain words."""
    enc, arr = cs.encoder, cs.arrays
    g_e, g_m = group
    free = [enc.mentor_ids[m] for m in g_m[seats_used[g_m] < cap[g_m]]]
    if free:
        return (
            f"compatible mentor(s) {_list(free)} still have a free seat, but the pair was not formed "
            "by the matching"
        )
    topics = Counter(t for i in g_e.tolist() for t in arr.mentees[i].goals)
    need = f" needing {topics.most_common(1)[0][0]}" if topics else ""
    return (
        f"{len(g_e)} mentees{need} compete for {int(cap[g_m].sum())} seats of {len(g_m)} "
        f"mentor(s) ({_list(enc.mentor_ids[m] for m in g_m)}), all taken"
    )


def describe(
    cohort: Cohort,
    program: Program,
    cs: CandidateSet,
    chosen_pairs: Iterable[tuple[PersonId, PersonId]],
    *,
    mentor_capacity: Mapping[PersonId, int] | None = None,
    forbidden_pairs: Iterable[tuple[PersonId, PersonId]] = (),
) -> tuple[tuple[Pair, ...], tuple[Unmatched, ...]]:
    """Pairs with reasons, and every unmatched mentee and mentor with the binding reason."""
    chosen_list = list(chosen_pairs)
    idx = [cs.index_of(m, e) for m, e in chosen_list]
    pairs = _described_pairs(cohort, cs, chosen_list, idx)
    chosen = np.array([k for k in idx if k is not None], dtype=np.int64)
    left = _Left(cs, chosen, seats(cs.arrays, mentor_capacity), forbidden_pairs)
    return pairs, (*left.mentees(program), *left.mentors(program))


def _described_pairs(
    cohort: Cohort, cs: CandidateSet, chosen: Sequence[tuple[PersonId, PersonId]], idx: Sequence[int | None]
) -> tuple[Pair, ...]:
    """The chosen pairs with their scores and reasons (a pair that is no candidate says so)."""
    pins = set(cs.pins)
    pairs = []
    for (mid, eid), k in zip(chosen, idx, strict=False):
        if k is None:
            pairs.append(
                Pair(mid, eid, 0, {c: 0 for c in COMPONENTS}, "not a candidate pair: breaks a hard rule")
            )
            continue
        pairs.append(
            Pair(
                mid,
                eid,
                int(cs.score[k]),
                _components(cs, k),
                pair_reasons(cohort[mid], cohort[eid], int(cs.common_minutes[k]), (mid, eid) in pins),
            )
        )
    return tuple(pairs)


class _Left:
    """Who is left unmatched by the chosen candidates, and why: the candidates still allowed
    (those removed after candidate generation, by history, count as excluded), the seats used,
    and the min-cut bottlenecks."""

    def __init__(
        self,
        cs: CandidateSet,
        chosen: np.ndarray,
        cap: np.ndarray,
        forbidden_pairs: Iterable[tuple[PersonId, PersonId]],
    ):
        arr = cs.arrays
        self.cs, self.chosen, self.cap = cs, chosen, cap
        active = np.arange(len(cs), dtype=np.int64)
        self.history: Counter[int] = Counter()
        self.history_m: Counter[int] = Counter()
        banned = set()
        for a, b in forbidden_pairs:
            for x, y in ((a, b), (b, a)):
                k = cs.index_of(x, y)
                if k is not None:
                    banned.add(k)
        if banned:
            mask = np.ones(len(cs), dtype=bool)
            mask[list(banned)] = False
            active = active[mask]
            for k in banned:
                self.history[int(cs.mentee[k])] += 1
                self.history_m[int(cs.mentor[k])] += 1
        self.active = active
        self.matched_e = set(cs.mentee[chosen].tolist())
        self.seats_used = np.bincount(cs.mentor[chosen], minlength=len(arr.mentors))

    def mentees(self, program: Program) -> list[Unmatched]:
        """Every unmatched mentee: the rules that exclude all their candidates, or the bottleneck
        group they compete in."""
        cs, arr, active = self.cs, self.cs.arrays, self.active
        groups = bottlenecks(cs, self.chosen, active)
        with_cands = np.zeros(len(arr.mentees), dtype=bool)
        with_cands[cs.mentee[active]] = True
        unmatched: list[Unmatched] = []
        group_reason: dict[int, str] = {}
        for e, person in enumerate(arr.mentees):
            if e in self.matched_e:
                continue
            dropped = int(cs.dropped_by_mentee[e])
            note = (
                f"; {dropped} weaker candidate(s) left out by the best-{cs.kept_per_mentee} limit"
                if dropped
                else ""
            )
            if not with_cands[e]:
                counts = cs.exclusions(person.id, "mentee")
                if self.history[e]:
                    counts["history"] = self.history[e]
                summary = _exclusion_summary(counts, person, "mentee", program)
                unmatched.append(Unmatched(person.id, "mentee", summary + note))
                continue
            group = groups.get(e)
            if group is None:
                unmatched.append(
                    Unmatched(person.id, "mentee", "candidates exist but none was chosen" + note)
                )
                continue
            key = id(group[0])
            if key not in group_reason:
                group_reason[key] = _group_reason(cs, group, self.seats_used, self.cap)
            unmatched.append(Unmatched(person.id, "mentee", group_reason[key] + note))
        return unmatched

    def mentors(self, program: Program) -> list[Unmatched]:
        """Every mentor without a mentee: no seats, no candidate (the rules that exclude them), or
        every candidate mentee matched elsewhere."""
        cs, arr, active, cap = self.cs, self.cs.arrays, self.active, self.cap
        mentor_has = np.zeros(len(arr.mentors), dtype=bool)
        mentor_has[cs.mentor[active]] = True
        is_matched = np.zeros(len(arr.mentees), dtype=bool)
        is_matched[list(self.matched_e)] = True
        by_mentor = np.argsort(cs.mentor[active], kind="stable")
        starts = np.searchsorted(cs.mentor[active][by_mentor], np.arange(len(arr.mentors) + 1))
        unmatched: list[Unmatched] = []
        for m, person in enumerate(arr.mentors):
            if self.seats_used[m]:
                continue
            if cap[m] <= 0:
                unmatched.append(Unmatched(person.id, "mentor", "capacity 0 this cycle"))
            elif not mentor_has[m]:
                counts = cs.exclusions(person.id, "mentor")
                counts.pop("capacity", None)
                if self.history_m[m]:
                    counts["history"] = self.history_m[m]
                summary = _exclusion_summary(counts, person, "mentor", program)
                unmatched.append(Unmatched(person.id, "mentor", summary))
            else:
                cands = active[by_mentor[starts[m] : starts[m + 1]]]
                elsewhere = int(is_matched[cs.mentee[cands]].sum())
                left = len(cands) - elsewhere
                reason = f"all {elsewhere} compatible mentee(s) were matched with other mentors"
                if left:
                    reason = (
                        f"{elsewhere} compatible mentee(s) matched elsewhere, {left} left unmatched "
                        "(each one's own reason says why)"
                    )
                unmatched.append(Unmatched(person.id, "mentor", reason))
        return unmatched


def alternatives(
    cohort: Cohort,
    program: Program,
    cs: CandidateSet,
    chosen_pairs: Iterable[tuple[PersonId, PersonId]],
    person_id: PersonId,
    *,
    top: int = 5,
    mentor_capacity: Mapping[PersonId, int] | None = None,
) -> tuple[Alternative, ...]:
    """The best other candidates of ``person_id`` (either side) and why each was not chosen."""
    enc = cs.encoder
    cap = seats(cs.arrays, mentor_capacity)
    chosen = [(m, e) for m, e in chosen_pairs]
    mentor_of = {e: m for m, e in chosen}
    mentees_of: dict[PersonId, list[PersonId]] = {}
    for m, e in chosen:
        mentees_of.setdefault(m, []).append(e)

    def score(m: PersonId, e: PersonId) -> int:
        k = cs.index_of(m, e)
        return int(cs.score[k]) if k is not None else 0

    out: list[Alternative] = []
    if enc.mentee(person_id) is not None:
        own = mentor_of.get(person_id)
        own_score = score(own, person_id) if own else None
        for k in cs.of_mentee(person_id)[: top + 1]:
            m = enc.mentor_ids[cs.mentor[k]]
            if m == own:
                continue
            s = int(cs.score[k])
            taken = mentees_of.get(m, [])
            if len(taken) >= cap[cs.mentor[k]]:
                why = f"{m}'s {len(taken)} seat(s) went to " + ", ".join(
                    f"{e} (score {score(m, e)})" for e in taken
                )
                if own_score is not None and own_score >= s:
                    why += f"; your match scores {own_score}, this pair {s}"
                elif own_score is not None:
                    why += (
                        "; moving you there would leave someone else worse off or unmatched, "
                        "lowering the overall result"
                    )
            elif own_score is not None and own_score >= s:
                why = f"scores {s}, below your match with {own} ({own_score})"
            elif own_score is not None:
                why = (
                    f"{m} has a free seat, but your mentor {own} is needed by the overall optimum "
                    "(it matches more mentees or scores more in total)"
                )
            else:
                why = f"{m} has a free seat, but the pair was not formed"
            out.append(Alternative(m, "mentor", s, _components(cs, k), why))
    if enc.mentor(person_id) is not None:
        taken = mentees_of.get(person_id, [])
        ks = sorted(cs.of_mentor(person_id).tolist(), key=lambda k: -int(cs.score[k]))
        for k in ks[: top + len(taken)]:
            e = enc.mentee_ids[cs.mentee[k]]
            if e in taken:
                continue
            s = int(cs.score[k])
            other = mentor_of.get(e)
            if other:
                why = f"{e} is matched with {other} (score {score(other, e)}; with you {s})"
            else:
                why = f"{e} is unmatched; pairing you two was not part of the optimum or has no meeting slot"
            if len(taken) >= cap[cs.mentor[k]]:
                why += f"; your {len(taken)} seat(s) are full"
            out.append(Alternative(e, "mentee", s, _components(cs, k), why))
    return tuple(out[:top] if enc.mentor(person_id) is None or enc.mentee(person_id) is None else out)
