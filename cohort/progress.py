"""The one progress protocol: every layer reports ``ProgressEvent``s to a ``Progress`` callable.

Defined at the ground so that solvers, writers and the pipeline share it without importing
upward; the pipeline passes a ``Progress`` down and the CLI renders the events
(``pipeline.progress.StderrProgress``). The library never prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ProgressEvent:
    """A stage starting or finishing, or a solver improving (objective, bound, gap)."""

    stage: str
    status: str = "start"  # start | done | improve | info
    message: str = ""
    values: dict[str, Any] = field(default_factory=dict)


class Progress(Protocol):
    """Receives every event; must not raise."""

    def __call__(self, event: ProgressEvent) -> None: ...


def null_progress(event: ProgressEvent) -> None:
    """Ignore progress."""


def improved(progress: Progress, stage: str, level: str, objective: float, bound: float, gap: float) -> None:
    """Report a solver's better solution: ``level`` names the objective level being solved."""
    progress(
        ProgressEvent(
            stage, "improve", message=level, values={"objective": objective, "bound": bound, "gap": gap}
        )
    )
