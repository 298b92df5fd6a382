"""The project's own source files, for tests that read the tree (not build or environment copies)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_SOURCE = {"build", "dist", "venv", "node_modules", "__pycache__"}


def source_files(pattern: str = "*.py") -> list[Path]:
    """Every file matching ``pattern`` below the checkout, leaving out build output (``pip install
    .`` leaves ``build/lib`` copies), virtual environments and hidden folders."""
    return sorted(
        p
        for p in ROOT.rglob(pattern)
        if not any(part in NOT_SOURCE or part.startswith(".") for part in p.relative_to(ROOT).parts[:-1])
    )
