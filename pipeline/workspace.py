"""Opening the workspace for a command: its ``program.toml``, and the program's retention applied.

Retention (``[retention] comments_days``) is applied whenever a command opens a writable
workspace, from the program the command loaded: erasing what is due belongs to the program, not to
the store, which never reads ``program.toml`` (``store.privacy.apply_retention`` does the erasing).
"""

from __future__ import annotations

from pathlib import Path

from cohort.errors import InputError
from cohort.program import Program, load_program
from store.db import Workspace
from store.privacy import apply_retention


def workspace_program(workspace: Path) -> tuple[Program, str]:
    """The workspace's ``program.toml`` (validated) and its text; defaults when there is none."""
    path = Path(workspace) / "program.toml"
    if not path.exists():
        return Program(), ""
    return load_program(path), path.read_text(encoding="utf-8-sig")


def open_workspace(
    directory: Path,
    program: Program | None = None,
    *,
    create: bool = False,
    writer: str | None = None,
) -> Workspace:
    """The workspace (see ``store.db.Workspace`` for ``create`` and ``writer``), with retention
    applied when it is writable.

    ``program``: the program the command already loaded; without one the workspace's
    ``program.toml`` is read here, and an unreadable or invalid one leaves retention for the
    next command (the command that needs the program reports the problem)."""
    ws = Workspace(directory, create=create, writer=writer)
    try:
        if not ws.readonly:
            if program is None:
                try:
                    program = workspace_program(directory)[0]
                except InputError:
                    return ws
            if program.retention.comments_days is not None:
                apply_retention(ws, program.retention.comments_days)
    except BaseException:
        ws.close(failed=True)
        raise
    return ws
