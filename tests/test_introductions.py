"""Introductions' rules (``history.introductions``), as properties over generated histories, and
one small example per boundary."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from history.introductions import Network, candidates, propose
from tests.factories import make_person

TOPICS = ("leadership", "writing", "negotiation")


@st.composite
def networks(draw: st.DrawFn) -> tuple[Network, int]:
    n = draw(st.integers(4, 11))
    ids = [f"p{i}" for i in range(n)]
    people = {}
    for pid in ids:
        others = [x for x in ids if x != pid]
        people[pid] = make_person(
            pid,
            draw(st.sampled_from(("mentor", "mentee", "both"))),
            goals=tuple(draw(st.lists(st.sampled_from(TOPICS), min_size=1, max_size=2, unique=True))),
            expertise=tuple(draw(st.lists(st.sampled_from(TOPICS), max_size=2, unique=True))),
            introductions=draw(st.sampled_from((True, True, True, False))),  # most opt in: dense
            avoid=frozenset(draw(st.lists(st.sampled_from(others), max_size=1))),
            manager_id=draw(st.one_of(st.none(), st.sampled_from(others))),
        )
    pair = st.tuples(st.sampled_from(ids), st.sampled_from(ids)).filter(lambda p: p[0] != p[1])
    cycles = tuple(
        (cid, tuple(draw(st.lists(pair, min_size=1, max_size=12, unique=True))))
        for cid in range(1, draw(st.integers(2, 4)) + 1)
    )
    paired = sorted({frozenset(k) for _, ks in cycles for k in ks}, key=sorted)
    said_no = frozenset(draw(st.lists(st.sampled_from(paired), max_size=3)))
    circles = draw(st.lists(st.lists(st.sampled_from(ids), min_size=2, max_size=3, unique=True), max_size=2))
    met = frozenset(paired) | {frozenset((a, b)) for g in circles for a in g for b in g if a != b}
    avoid = {pid: p.avoid for pid, p in people.items()}
    net = Network(
        target=draw(st.sampled_from([cid for cid, _ in cycles])),
        cycles=cycles,
        people=people,
        avoid=avoid,
        said_no=said_no,
        met=frozenset(met),
        reporting_line=draw(st.sampled_from(("forbid", "allow"))),
        reporting_line_depth=draw(st.integers(1, 3)),
    )
    return net, draw(st.integers(1, 3))


def _managers_of(net: Network, pid: str) -> set[str]:
    """Managers up to the depth, walking participants' manager_id (independent of the matcher)."""
    out, boss, seen = set(), net.people[pid].manager_id, {pid}
    for _ in range(net.reporting_line_depth):
        if boss is None or boss in seen:
            break
        out.add(boss)
        seen.add(boss)
        boss = net.people[boss].manager_id if boss in net.people else None
    return out


def _blocked(net: Network, a: str, b: str) -> bool:
    if b in net.avoid.get(a, ()) or a in net.avoid.get(b, ()):
        return True
    if frozenset((a, b)) in net.said_no:
        return True
    return net.reporting_line == "forbid" and (b in _managers_of(net, a) or a in _managers_of(net, b))


def _topics(p) -> set[str]:  # type: ignore[no-untyped-def]
    return set(p.goals) | set(p.expertise)


def _linked(net: Network, a: str, b: str) -> bool:
    """``b`` is a partner of ``a``'s partner of the target cycle in an earlier cycle, no boundary
    along the way."""
    order = [cid for cid, _ in net.cycles]
    pairs = dict(net.cycles)
    now = {y for x, y in pairs[net.target] if x == a} | {x for x, y in pairs[net.target] if y == a}
    for q in now:
        if _blocked(net, a, q):
            continue
        for cid in order[: order.index(net.target)]:
            if any({x, y} == {q, b} for x, y in pairs[cid]) and not _blocked(net, q, b):
                return True
    return False


def _allowed(net: Network, a: str, b: str) -> bool:
    pa, pb = net.people[a], net.people[b]
    return (
        a != b
        and pa.introductions
        and pb.introductions
        and bool(_topics(pa) & _topics(pb))
        and frozenset((a, b)) not in net.met
        and not _blocked(net, a, b)
        and (_linked(net, a, b) or _linked(net, b, a))
    )


@settings(max_examples=300, deadline=None)
@given(networks())
def test_introductions_keep_every_rule_and_are_maximal_under_the_cap(case: tuple[Network, int]) -> None:
    net, cap = case
    ids = sorted(net.people)
    oracle = {frozenset((a, b)) for a in ids for b in ids if a < b and _allowed(net, a, b)}
    assert set(candidates(net)) == oracle  # sound and complete
    chosen = propose(net, cap)
    keys = [frozenset((i.person_id, i.other_id)) for i in chosen]
    assert len(keys) == len(set(keys)) and set(keys) <= oracle
    load = Counter(p for k in keys for p in k)
    assert all(n <= cap for n in load.values())
    for key in oracle - set(keys):  # skipped only when one side was already full
        assert any(load[p] == cap for p in key), sorted(key)
    for i in chosen:
        a, b = net.people[i.person_id], net.people[i.other_id]
        assert set(i.shared) == _topics(a) & _topics(b) and i.cycle_id == net.target
        assert _linked(net, i.person_id, i.other_id)  # proposed for the side whose partner links them


@settings(max_examples=100, deadline=None)
@given(networks(), st.randoms(use_true_random=False))
def test_the_same_history_in_another_order_gives_the_same_introductions(
    case: tuple[Network, int], rnd: random.Random
) -> None:
    net, cap = case
    people = list(net.people.items())
    rnd.shuffle(people)
    cycles = [(cid, tuple(rnd.sample(pairs, len(pairs)))) for cid, pairs in net.cycles]
    shuffled = Network(
        net.target,
        tuple(cycles),
        dict(people),
        net.avoid,
        net.said_no,
        net.met,
        net.reporting_line,
        net.reporting_line_depth,
    )
    assert propose(shuffled, cap) == propose(net, cap)


# --------------------------------------------------------------------------- one example per rule


def _chain(**changes: object) -> Network:
    """a was paired with q in cycle 2; q with b in cycle 1: b is in a's partner's network."""
    people = {
        "a": make_person("a", "mentee", goals=("writing",), introductions=True),
        "q": make_person("q", "mentor", expertise=("writing",)),
        "b": make_person("b", "mentee", goals=("writing", "leadership"), introductions=True),
    }
    people.update(changes.pop("people", {}))  # type: ignore[arg-type]
    base: dict[str, object] = dict(
        target=2,
        cycles=((1, (("q", "b"),)), (2, (("q", "a"),))),
        people=people,
        avoid={},
        said_no=frozenset(),
        met=frozenset({frozenset("qb"), frozenset("qa")}),
    )
    base.update(changes)
    return Network(**base)  # type: ignore[arg-type]


def test_a_partner_of_a_partner_who_shares_a_goal_is_proposed() -> None:
    (found,) = propose(_chain(), 3)
    assert (found.person_id, found.other_id, found.shared, found.via) == ("a", "b", ("writing",), 1)


def test_each_boundary_stops_an_introduction() -> None:
    assert propose(_chain(avoid={"b": frozenset({"a"})}), 3) == ()
    assert propose(_chain(said_no=frozenset({frozenset("ab")})), 3) == ()  # a "no" between them
    assert propose(_chain(said_no=frozenset({frozenset("qb")})), 3) == ()  # a "no" along the link
    assert propose(_chain(met=frozenset({frozenset("qb"), frozenset("qa"), frozenset("ab")})), 3) == ()
    boss = make_person("b", "mentee", goals=("writing",), introductions=True)
    report = make_person("a", "mentee", goals=("writing",), introductions=True, manager_id="b")
    assert propose(_chain(people={"a": report, "b": boss}), 3) == ()
    assert propose(_chain(people={"a": report, "b": boss}, reporting_line="allow"), 3) != ()
    shy = make_person("b", "mentee", goals=("writing",), introductions=False)
    assert propose(_chain(people={"b": shy}), 3) == ()
    other = make_person("b", "mentee", goals=("negotiation",), introductions=True)
    assert propose(_chain(people={"b": other}), 3) == ()
    assert propose(_chain(target=1), 3) == ()  # no earlier cycle: no network yet
