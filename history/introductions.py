"""Introductions at a cycle's end: people from a partner's earlier partners, for those who opted in.

Pure. For the cycle that just ended (``Network.target``), each person whose latest record opted in
(participants column ``introductions``) may be introduced to someone their partner of that cycle
was paired with in an earlier cycle, when every one of these holds:

* the other person opted in too (in their latest record) and is someone else;
* they share a goal: a topic in one's goals or expertise is in the other's goals or expertise;
* they never met (never paired in any role, never in one circle);
* no boundary lies between them: neither ever listed the other in ``avoid``, neither is the
  other's manager up to ``[rules] reporting_line_depth`` levels (when ``reporting_line =
  "forbid"``, as for pairs), and neither ever said no to the other (pair or circle feedback);
* the link holds: no boundary lies along it (person and partner, partner and the other).

Each person is in at most ``per_person`` introductions (both sides count: nobody is flooded).
Candidates are taken greedily, best first: most shared topics, then most partners linking them,
then the most recent link, then ids; a candidate is skipped only when one side is already full,
so the result is maximal under the cap. An introduction is one unordered pair: both are told.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cohort.model import Cohort, Person, PersonId
from matcher.candidates import reporting_pairs

PairKey = tuple[PersonId, PersonId]  # (mentor_id, mentee_id)


@dataclass(frozen=True)
class Network:
    """Who met whom over the cycles, and every boundary between people.

    ``cycles``: ``(cycle id, its pairs)`` oldest first, the target among them; ``people``: the
    latest record of everyone who may be introduced (erased people left out); ``avoid``: every id
    each person ever listed in ``avoid``; ``said_no``: people either of whom said no to the other
    (pair feedback, or about a circle the other was in); ``met``: people ever paired or in one
    circle.
    """

    target: int
    cycles: tuple[tuple[int, tuple[PairKey, ...]], ...]
    people: Mapping[PersonId, Person]
    avoid: Mapping[PersonId, frozenset[PersonId]]
    said_no: frozenset[frozenset[PersonId]]
    met: frozenset[frozenset[PersonId]]
    reporting_line: str = "forbid"  # "forbid" | "allow", as ``[rules] reporting_line``
    reporting_line_depth: int = 2


@dataclass(frozen=True)
class Introduction:
    """One proposed introduction: ``person_id`` (of the ended cycle) and ``other_id``."""

    cycle_id: int
    person_id: PersonId
    other_id: PersonId
    shared: tuple[str, ...]  # the shared topics, in ``person_id``'s order
    via: int  # how many of ``person_id``'s partners link them
    recent: int  # the latest cycle id of such a link


def topics(person: Person) -> tuple[str, ...]:
    """A person's topics: goals, then expertise (normalised terms, duplicates removed)."""
    return tuple(dict.fromkeys(person.goals + person.expertise))


def shared_topics(a: Person, b: Person) -> tuple[str, ...]:
    theirs = set(topics(b))
    return tuple(t for t in topics(a) if t in theirs)


def _partners(pairs: Sequence[PairKey]) -> dict[PersonId, set[PersonId]]:
    out: dict[PersonId, set[PersonId]] = defaultdict(set)
    for mentor, mentee in pairs:
        out[mentor].add(mentee)
        out[mentee].add(mentor)
    return out


def boundaries(net: Network) -> frozenset[frozenset[PersonId]]:
    """Unordered pairs never to be introduced: avoid lists, the reporting line, a no."""
    out: set[frozenset[PersonId]] = {frozenset((a, b)) for a, ids in net.avoid.items() for b in ids}
    if net.reporting_line == "forbid":
        everyone = Cohort(tuple(net.people[p] for p in sorted(net.people)))
        out |= {frozenset(k) for k in reporting_pairs(everyone, net.reporting_line_depth)}
    return frozenset(out | net.said_no)


def candidates(net: Network) -> dict[frozenset[PersonId], Introduction]:
    """Every allowed introduction for the target cycle (one per unordered pair, before the cap)."""
    blocked = boundaries(net)
    target = dict(net.cycles).get(net.target, ())
    order = [cid for cid, _ in net.cycles]
    earlier = net.cycles[: order.index(net.target)] if net.target in order else ()
    earlier_partners = [(cid, _partners(pairs)) for cid, pairs in earlier]
    links: dict[tuple[PersonId, PersonId], dict[PersonId, int]] = defaultdict(dict)
    for pid, partners in sorted(_partners(target).items()):
        me = net.people.get(pid)
        if me is None or not me.introductions:
            continue
        for q in sorted(partners):
            if frozenset((pid, q)) in blocked:
                continue
            for cid, known in earlier_partners:
                for other in known.get(q, ()):
                    if other != pid and frozenset((q, other)) not in blocked:
                        links[(pid, other)][q] = cid
    out: dict[frozenset[PersonId], Introduction] = {}
    for (pid, other), via in sorted(links.items()):
        me, them = net.people[pid], net.people.get(other)
        key = frozenset((pid, other))
        if them is None or not them.introductions or key in net.met or key in blocked:
            continue
        shared = shared_topics(me, them)
        if not shared:
            continue
        found = Introduction(net.target, pid, other, shared, len(via), max(via.values()))
        best = out.get(key)
        if best is None or _rank(found) < _rank(best):
            out[key] = found
    return out


def _rank(i: Introduction) -> tuple[int, int, int, PersonId, PersonId]:
    return (-len(i.shared), -i.via, -i.recent, i.person_id, i.other_id)


def propose(net: Network, per_person: int) -> tuple[Introduction, ...]:
    """The introductions of the target cycle: best first, each person in at most ``per_person``."""
    load: Counter[PersonId] = Counter()
    chosen = []
    for found in sorted(candidates(net).values(), key=_rank):
        if load[found.person_id] < per_person and load[found.other_id] < per_person:
            chosen.append(found)
            load[found.person_id] += 1
            load[found.other_id] += 1
    return tuple(sorted(chosen, key=lambda i: (i.person_id, _rank(i))))


__all__ = ["Introduction", "Network", "boundaries", "candidates", "propose", "shared_topics", "topics"]
