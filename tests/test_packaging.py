"""`pip install .` alone must run mentorsync: every third-party module the installed code imports
is a declared runtime dependency (not only a test extra, where the test run would hide it)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_third_party_module_is_a_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = {_norm(re.match(r"[A-Za-z0-9_.\-]+", d).group(0)) for d in project["project"]["dependencies"]}
    setup = project["tool"]["setuptools"]
    ours = {p.rstrip("*") for p in setup["packages"]["find"]["include"]} | set(setup["py-modules"])
    files = [ROOT / f"{m}.py" for m in setup["py-modules"]]
    files += [f for pkg in ours for f in (ROOT / pkg).rglob("*.py") if (ROOT / pkg).is_dir()]
    imported: dict[str, str] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and not node.level
                else []
            )
            for name in names:
                imported.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    dists = packages_distributions()
    missing = {
        f"{module} (imported in {where}; distribution {dists.get(module, ['?'])[0]})"
        for module, where in imported.items()
        if module not in sys.stdlib_module_names
        and module not in ours
        and module != "__future__"
        and not {_norm(d) for d in dists.get(module, [module])} & declared
    }
    assert not missing, f"add to [project].dependencies: {sorted(missing)}"
