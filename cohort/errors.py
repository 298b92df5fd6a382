"""One exception hierarchy for the whole library.

Every error carries *all* the problems found, so a coordinator fixes a spreadsheet in one pass.
The CLI maps each class to its exit code (each class's ``exit_code``; ``docs/interface.md`` section 5).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One finding about an input file: where, what, and how to fix it.

    ``line`` is the 1-based physical line of the file (the header is line 1 of a CSV); 0 means the
    problem concerns the whole file. ``column`` is the header name as ``docs/interface.md`` spells it, or a
    dotted key path for TOML files (``cycle.weeks``).
    """

    file: str
    line: int
    column: str | None
    message: str
    hint: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        col = f" column '{self.column}':" if self.column else ""
        hint = f" ({self.hint})" if self.hint else ""
        tag = "warning: " if self.severity == "warning" else ""
        return f"{where}:{col} {tag}{self.message}{hint}"

    def sort_key(self) -> tuple[str, int, str]:
        return (self.file, self.line, self.column or "")


class MentorsyncError(Exception):
    """Base of every error the library raises on purpose."""

    exit_code = 1


class UsageError(MentorsyncError):
    """The command was called wrongly (a missing workspace, a bad option value)."""

    exit_code = 2


class InputError(MentorsyncError):
    """Bad input data: carries every problem found, errors and warnings alike."""

    exit_code = 65

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems, key=Problem.sort_key)
        errors = [p for p in self.problems if p.severity == "error"]
        super().__init__(f"{len(errors)} problem(s) in the input" + (f": {errors[0]}" if errors else ""))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


class InfeasibleError(MentorsyncError):
    """No acceptable solution exists; the message says which constraint binds."""

    exit_code = 69


class StoreError(MentorsyncError):
    """The workspace is not in a state for this command: no database yet, a cycle already matched
    or closed, an unknown cycle, a database locked or from a newer version. The interface knows four
    exit codes (``docs/interface.md`` §5); these are all "the command cannot be used here as it
    stands", so 2."""

    exit_code = 2


class DeliveryError(MentorsyncError):
    """Messages could not be delivered: the SMTP server is unreachable, or refused some of them.

    Exit 69 (the contract's "no acceptable result"): nothing the server did not accept is marked
    sent, so running the command again delivers the rest."""

    exit_code = 69
