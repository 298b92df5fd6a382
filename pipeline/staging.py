"""All-or-nothing output directories, committed together with the workspace database.

Every output of a command is first written into a staging directory beside ``--out``; the
database changes and the journal entry that says "move these outputs into place" are committed
in one transaction, and only then are the files moved. A command killed at any instant leaves
the old state everywhere or a journal entry the next command rolls forward (see
``store.publication``). The ``feeds/`` folder is replaced whole (a revoked feed must disappear);
other files already in ``--out`` stay as they are.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from store import Workspace
from store import publication as journal


@contextlib.contextmanager
def staged_output(ws: Workspace, out_dir: Path) -> Iterator[Path]:
    """Yield a fresh staging directory inside one transaction of ``ws``.

    On success the transaction commits with the publication journal entry, and the staged items
    then replace those in ``out_dir``; on failure neither the database nor ``out_dir`` changes and
    the staging directory is removed.
    """
    out = Path(out_dir).absolute()
    journal.check_out_dir(out)
    with ws.transaction() as con:
        pub_id, stage = journal.register(con, out)
    committed = False
    items: list[str] = []
    try:
        with ws.transaction() as con:
            yield stage
            items = sorted(p.name for p in stage.iterdir())
            journal.mark_committed(con, pub_id, items)
            journal.crash_point("commit")
        committed = True
        journal.crash_point("committed")
    finally:
        if not committed:
            with ws.transaction() as con:
                journal.finish(con, pub_id, stage, out, "staging", [])
    with ws.transaction() as con:
        journal.finish(con, pub_id, stage, out, "committed", items)
