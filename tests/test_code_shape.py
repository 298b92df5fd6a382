"""Shape of the code: no function over ``LIMIT`` lines unless it says why at its top."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.tree import source_files

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 120

# name -> why it stays long; each of these also carries a "Long on purpose" comment at its top
ALLOWED: dict[str, str] = {
    "schedule": "options, components and one CP-SAT model per component share per-pair state",
    "solve": "pins, forbidden pairs, flow and CP-SAT share the candidate indices",
    "read_feedback": "collects every problem of a file at once",
    "publish": "one database transaction for tokens, history and feeds",
    "parse_program": "every section and key checked in one pass so all problems come at once",
    "block_candidates": "the sequence of named block steps sharing the block arrays and rule counts",
    "match_and_schedule": "one CP-SAT model: variables, constraints and objective share the pair-slot index",
    "augment": "first fit and chains share one set of calendars, seats and placed pairs (closures)",
    "plan": "match, schedule, repair and explain share the candidate set, bans and timings of one plan",
    "test_three_cycles_with_feedback_churn_and_a_mid_cycle_departure": "one scenario across three cycles",
}


def _functions() -> list[tuple[str, str, int, ast.FunctionDef | ast.AsyncFunctionDef]]:
    out = []
    for path in source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                length = node.end_lineno - node.lineno + 1
                out.append((path.relative_to(ROOT).as_posix(), node.name, length, node))
    return out


def test_no_new_function_over_the_limit() -> None:
    long = [
        f"{path}: {name} ({n} lines)"
        for path, name, n, _ in _functions()
        if n > LIMIT and name not in ALLOWED
    ]
    assert long == [], f"split these into named steps, or add them to ALLOWED with a reason: {long}"


def test_allowed_long_functions_say_why_at_their_top() -> None:
    source = {p: (ROOT / p).read_text(encoding="utf-8").splitlines() for p, *_ in _functions()}
    for path, name, n, node in _functions():
        if n > LIMIT and name in ALLOWED:
            top = "\n".join(source[path][node.lineno : node.lineno + 30])
            assert "Long on purpose" in top, f"{path}: {name} needs its reason at the top"
