"""Shape of the code: no production function over ``LIMIT`` lines, and at most ``MAX_WIDE``
production functions taking more than ``PARAMS`` parameters, unless listed below with a reason."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.tree import source_files

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 80  # lines of a production function
TEST_LIMIT = 120  # lines of a test function
PARAMS = 8  # parameters of a function ("self" and "cls" not counted)
MAX_WIDE = 3  # production functions that may take more than PARAMS

# "path:function" -> why it is still long; each also says "Long on purpose" at its top, or names
# the helper whose work shortens it (the lead removes these entries as that work merges)
ALLOWED: dict[str, str] = {
    "matcher/blocks.py:block_candidates": "(helper D) the sequence of named block steps",
    "matcher/blocks.py:_chunk_scores": "(helper D) one chunk's score components",
    "matcher/blocks.py:_chunk_pairs": "(helper D) one chunk's pairs",
    "matcher/candidates.py:build_candidates": "(helper D) the candidate build",
    "matcher/candidates.py:_exact_pairs": "(helper D) the exact pair rules",
    "benchmarks/bench_serve.py:main": "(lead) a benchmark script",
    "benchmarks/bench_rematch.py:main": "(lead) a benchmark script",
    "sample_data/generate.py:generate_rows": "(lead) the generated roster's columns",
    "tests/test_cycles.py:test_three_cycles_with_feedback_churn_and_a_mid_cycle_departure": "one scenario "
    "across three cycles",
}

# "path:function" -> whose work narrows it: wide functions beyond the MAX_WIDE budget, for now
PENDING_WIDE: dict[str, str] = {
    "matcher/blocks.py:_move_sparse_counts": "(helper D)",
    "matcher/blocks.py:block_candidates": "(helper D)",
    "scheduler/slots.py:_milestones": "(helper D)",
}


def _functions() -> list[tuple[str, str, int, int, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function of the tree: path, name, lines, parameters, node."""
    out = []
    for path in source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                a = node.args
                names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
                params = len(names) + bool(a.vararg) + bool(a.kwarg) - (names[:1] in (["self"], ["cls"]))
                length = node.end_lineno - node.lineno + 1
                out.append((path.relative_to(ROOT).as_posix(), node.name, length, params, node))
    return out


def _production(path: str) -> bool:
    return not path.startswith("tests/")


def test_no_new_function_over_the_limit() -> None:
    long = [
        f"{path}: {name} ({n} lines)"
        for path, name, n, _, _ in _functions()
        if n > (LIMIT if _production(path) else TEST_LIMIT) and f"{path}:{name}" not in ALLOWED
    ]
    assert long == [], f"split these into named steps, or add them to ALLOWED with a reason: {long}"


def test_allowed_long_functions_say_why() -> None:
    source = {p: (ROOT / p).read_text(encoding="utf-8").splitlines() for p, *_ in _functions()}
    seen = set()
    for path, name, n, _, node in _functions():
        key = f"{path}:{name}"
        if key in ALLOWED and n > (LIMIT if _production(path) else TEST_LIMIT):
            seen.add(key)
            top = "\n".join(source[path][node.lineno : node.lineno + 30])
            assert "Long on purpose" in top or ALLOWED[key].startswith("("), (
                f"{key} needs its reason at the top"
            )
    assert seen == set(ALLOWED), f"no longer long, remove from ALLOWED: {sorted(set(ALLOWED) - seen)}"


def test_at_most_three_production_functions_take_more_than_eight_parameters() -> None:
    wide = [
        f"{path}:{name}" for path, name, _, params, _ in _functions() if params > PARAMS and _production(path)
    ]
    over = sorted(w for w in wide if w not in PENDING_WIDE)
    assert len(over) <= MAX_WIDE, f"group these parameters into a value (e.g. an instance): {over}"
    gone = sorted(set(PENDING_WIDE) - set(wide))
    assert gone == [], f"no longer wide, remove from PENDING_WIDE: {gone}"
