"""The layers of the README's "Architecture" section, checked on every module's imports (ast).

cohort < matcher, scheduler < planner < store, feeds, pages, notify, report, changes, history < pipeline,
server < cli: a module imports only from its own package and from lower layers (the packages of
layer 3 share it and may use each other, without cycles); ``matcher`` and ``scheduler`` do not
import each other, nor ``pipeline`` and ``server`` (the HTTP app composes feeds and pages from
above); there is no import cycle between packages nor between modules; ``pipeline`` holds no
solver logic (no numpy, no OR-Tools, no solver modules); circle modules live in their homes only.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LAYERS: dict[str, int] = {
    "cohort": 0,
    "matcher": 1,
    "scheduler": 1,
    "planner": 2,
    "store": 3,
    "feeds": 3,
    "report": 3,
    "changes": 3,
    "history": 3,
    "pages": 3,
    "notify": 3,
    "pipeline": 4,
    "server": 4,
    "cli": 5,
}
SHARED_LAYER = {
    "store",
    "feeds",
    "report",
    "changes",
    "history",
    "pages",
    "notify",
}  # may import each other (no cycles)
# what pipeline/ may use of the layers below the planner: domain types, writers and the codec
PIPELINE_MAY_IMPORT = (
    "matcher.model",
    "matcher.outputs",
    "scheduler.model",
    "scheduler.outputs",
    "scheduler.codec",
    "scheduler.calendar",  # the iCalendar writer (event fingerprints)
)


def modules() -> list[tuple[str, Path]]:
    found = [("cli", ROOT / "cli.py")]
    for package in LAYERS:
        if package != "cli":
            found += [(package, p) for p in sorted((ROOT / package).rglob("*.py"))]
    return found


def imports(path: Path) -> list[tuple[str, int]]:
    """Every absolute import in ``path`` (module level or inside functions), with its line."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.module, node.lineno))
            out += [(f"{node.module}.{a.name}", node.lineno) for a in node.names]
    return out


def package_graph() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> ['file:line', ...] (other packages only)."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for package, path in modules():
        for name, line in imports(path):
            top = name.split(".")[0]
            if top in LAYERS and top != package:
                graph[package][top].append(f"{path.relative_to(ROOT)}:{line}")
    return graph


def test_every_top_level_package_has_a_layer() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "benchmarks", "sample_data"}
    assert packages <= set(LAYERS), f"place {sorted(packages - set(LAYERS))} in the README's layers"


def test_no_module_imports_a_higher_layer() -> None:
    wrong = []
    for package, targets in package_graph().items():
        for target, where in targets.items():
            same_layer_ok = package in SHARED_LAYER and target in SHARED_LAYER
            if LAYERS[target] > LAYERS[package] or (LAYERS[target] == LAYERS[package] and not same_layer_ok):
                wrong += [f"{w}: {package} imports {target}" for w in where]
    assert not wrong, "\n".join(wrong)


def test_matcher_and_scheduler_do_not_import_each_other() -> None:
    graph = package_graph()
    assert "scheduler" not in graph["matcher"], graph["matcher"]["scheduler"]
    assert "matcher" not in graph["scheduler"], graph["scheduler"]["matcher"]


def test_no_import_cycle_between_packages() -> None:
    graph = {p: set(t) for p, t in package_graph().items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path, node, nxt]))
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_graph() -> dict[str, set[str]]:
    """module -> the modules of ours it imports (``from pkg import mod`` counts as ``pkg.mod``,
    ``from pkg import name`` as ``pkg``; imports inside functions count too: a deferred import
    does not make a cycle go away)."""
    paths = {module_name(path): path for _, path in modules()}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name in paths}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    if full in paths:
                        targets.add(full)
                    elif node.module in paths:
                        targets.add(node.module)
        graph[name] = targets - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (its modules in order, the first repeated last), or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in done:
                found = visit(nxt, [*path, nxt])
                if found:
                    return found
        done.add(node)
        return None

    for node in sorted(graph):
        if node not in done:
            found = visit(node, [node])
            if found:
                return found
    return None


def test_no_import_cycle_between_modules() -> None:
    cycle = find_cycle(module_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_sees_a_cycle() -> None:
    """store.db and store.privacy imported each other before retention moved to the pipeline."""
    graph = {"store.db": {"store.lock", "store.privacy"}, "store.privacy": {"store.db"}, "store.lock": set()}
    assert find_cycle(graph) == ["store.db", "store.privacy", "store.db"]
    assert find_cycle({**graph, "store.privacy": set()}) is None


# private names still imported across modules, in files of the planner restructuring (helper A,
# issue 22): to be made public or moved where they are used, then removed from here
PRIVATE_IMPORTS_LEFT: set[tuple[str, str]] = set()


def private_imports() -> set[tuple[str, str]]:
    """``(file, module.name)`` of every ``_name`` imported from, or used through, another module."""
    found = set()
    for _, path in modules():
        rel = path.relative_to(ROOT).as_posix()
        aliases: dict[str, str] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        found.add((rel, f"{node.module}.{a.name}"))
            elif isinstance(node, ast.Import):
                aliases |= {(a.asname or a.name): a.name for a in node.names}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            private = (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            )
            if private and isinstance(node.value, ast.Name) and node.value.id in aliases:
                target = aliases[node.value.id]
                if target.split(".")[0] in LAYERS:
                    found.add((rel, f"{target}.{node.attr}"))
    return found


def test_no_private_name_is_used_across_modules() -> None:
    new = sorted(private_imports() - PRIVATE_IMPORTS_LEFT)
    assert not new, "make these public with a real name, or move the code where it is used: " + str(new)


def test_sql_lives_in_the_store() -> None:
    """Every SQL statement runs in ``store/``: the other packages call its named functions."""
    wrong = []
    for package, path in modules():
        if package == "store":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in ("execute", "executemany", "executescript"):
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not wrong, "move these statements behind a store function: " + ", ".join(wrong)


def test_pipeline_holds_no_solver_logic() -> None:
    wrong = []
    for package, path in modules():
        if package != "pipeline":
            continue
        for name, line in imports(path):
            top = name.split(".")[0]
            solver = top in ("numpy", "ortools", "scipy", "networkx")
            below = top in ("matcher", "scheduler") and not name.startswith(PIPELINE_MAY_IMPORT)
            if solver or below:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: imports {name}")
    assert not wrong, "pipeline/ loads, plans (through planner/), stores and writes:\n" + "\n".join(wrong)


# circles are planned in planner/circles/; the store, the report and the pipeline each hold one thin module
CIRCLE_HOMES = ("planner/circles/", "store/circles.py", "report/circles.py", "pipeline/circles.py")


def test_circles_live_in_one_home() -> None:
    strays = [
        path.relative_to(ROOT).as_posix()
        for _, path in modules()
        if "circle" in path.relative_to(ROOT).as_posix()
        and not path.relative_to(ROOT).as_posix().startswith(CIRCLE_HOMES)
    ]
    assert not strays, f"circle modules outside {CIRCLE_HOMES}: {strays}"


def test_the_checks_see_a_violation() -> None:
    """The parser finds imports inside functions too, so a late upward import cannot hide."""
    found = dict(imports(ROOT / "cli.py"))
    assert any(name.startswith("pipeline.") for name in found)
