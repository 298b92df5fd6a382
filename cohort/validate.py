"""Checks across rows of a participants file: duplicates, references and reporting lines.

Row-level checks live in ``cohort.load``; these need the whole file. They run on ``RowRefs``
(what every row says about identities and references, even rows with other errors), so a bad
cell on one line never causes a misleading "unknown id" on another.
"""

from __future__ import annotations

from typing import NamedTuple

from cohort.errors import Problem


class RowRefs(NamedTuple):
    """The identity and reference cells of one row, as trimmed text."""

    line: int
    id: str
    email: str = ""
    manager_id: str = ""
    avoid: tuple[str, ...] = ()
    prefer: tuple[str, ...] = ()


def cross_row_problems(rows: list[RowRefs], file: str) -> list[Problem]:
    """Every cross-row problem: duplicate ids and emails, unknown references, reporting cycles."""
    problems: list[Problem] = []
    first_line: dict[str, int] = {}
    first_folded: dict[str, tuple[str, int]] = {}
    first_email: dict[str, int] = {}
    for row in rows:
        if row.id:
            folded = row.id.casefold()
            if row.id in first_line:
                problems.append(
                    Problem(
                        file,
                        row.line,
                        "id",
                        f"duplicate id '{row.id}'",
                        f"first used on line {first_line[row.id]}; ids must be unique",
                    )
                )
            elif folded in first_folded:
                # Two people as 'Ana' and 'ana' read as one in emails, spreadsheets and file
                # systems that ignore case; ids are unique ignoring case, like emails.
                other, line = first_folded[folded]
                problems.append(
                    Problem(
                        file,
                        row.line,
                        "id",
                        f"id '{row.id}' differs only in case from '{other}'",
                        f"first used on line {line}; ids must be unique ignoring case",
                    )
                )
            else:
                first_line[row.id] = row.line
                first_folded[folded] = (row.id, row.line)
        key = row.email.strip().casefold()
        if key:
            if key in first_email:
                problems.append(
                    Problem(
                        file,
                        row.line,
                        "email",
                        f"duplicate email '{row.email.strip()}'",
                        f"already used on line {first_email[key]}; emails are compared "
                        "ignoring case and spaces",
                    )
                )
            else:
                first_email[key] = row.line
    for row in rows:
        for column, ids in (("avoid", row.avoid), ("prefer", row.prefer)):
            for other in ids:
                if other != row.id and other not in first_line:
                    problems.append(
                        Problem(
                            file, row.line, column, f"unknown id '{other}'", _closest_id(other, first_line)
                        )
                    )
        if row.manager_id and row.manager_id != row.id and row.manager_id not in first_line:
            problems.append(
                Problem(
                    file,
                    row.line,
                    "manager_id",
                    f"manager '{row.manager_id}' is not in this file",
                    "fine if the manager does not take part in the program",
                    severity="warning",
                )
            )
    problems.extend(_cycles(rows, first_line, file))
    return problems


def _closest_id(other: str, known: dict[str, int]) -> str:
    import difflib

    close = difflib.get_close_matches(other, list(known), n=1, cutoff=0.8) if len(known) < 20000 else []
    return f"did you mean '{close[0]}'?" if close else "use the id of a person in this file"


def _cycles(rows: list[RowRefs], first_line: dict[str, int], file: str) -> list[Problem]:
    """Reporting-line cycles (a manages b manages a), reported once on each line of the cycle."""
    manager = {r.id: r.manager_id for r in rows if r.id and r.manager_id and first_line.get(r.id) == r.line}
    problems: list[Problem] = []
    state: dict[str, int] = {}  # 1: on the current walk, 2: done
    for start in manager:
        walk: list[str] = []
        node = start
        while node in manager and state.get(node) is None:
            state[node] = 1
            walk.append(node)
            node = manager[node]
        if state.get(node) == 1:  # closed a new cycle
            cycle = walk[walk.index(node) :]
            text = " -> ".join(cycle + [cycle[0]])
            for member in cycle:
                if manager[member] == member:
                    message, hint = (
                        f"'{member}' is their own manager",
                        "leave manager_id empty or name the manager",
                    )
                else:
                    message, hint = f"reporting-line cycle: {text}", "fix manager_id on one of these lines"
                problems.append(Problem(file, first_line[member], "manager_id", message, hint))
        for visited in walk:
            state[visited] = 2
    return problems
