"""Progress events from the library to whoever is watching (the CLI renders them on stderr).

The library never prints: each step calls ``progress(Event)``. ``NullProgress`` ignores events.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO


@dataclass(frozen=True)
class ProgressEvent:
    """A stage starting or finishing, or a solver improving (objective, bound, gap)."""

    stage: str
    status: str = "start"  # start | done | improve | info
    message: str = ""
    values: dict[str, Any] = field(default_factory=dict)


class Progress(Protocol):
    def __call__(self, event: ProgressEvent) -> None: ...


def null_progress(event: ProgressEvent) -> None:
    """Ignore progress."""


def solver_callback(progress: Progress, stage: str) -> Callable[..., None]:
    """Adapt a solver's ``(objective, bound, gap)`` callback to progress events."""

    def report(*args: Any, **kwargs: Any) -> None:
        names = ("objective", "bound", "gap")
        if args and isinstance(args[0], str):  # the matcher passes its lexicographic level first
            kwargs = {"level": args[0], **kwargs}
            args = args[1:]
        values = dict(zip(names, args, strict=False)) | kwargs
        level = values.pop("level", None)
        values = {k: v for k, v in values.items() if k in names and isinstance(v, (int, float))}
        progress(ProgressEvent(stage, "improve", message=str(level or ""), values=values))

    return report


class StderrProgress:
    """Human (or JSON-lines) progress on a stream; colour only on a terminal without NO_COLOR."""

    def __init__(self, stream: TextIO | None = None, *, as_json: bool = False, color: bool | None = None):
        import os

        self.stream = stream or sys.stderr
        self.as_json = as_json
        if color is None:
            color = self.stream.isatty() and "NO_COLOR" not in os.environ
        self.color = color
        self.started: dict[str, float] = {}
        self._last_improve = 0.0

    def _paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def __call__(self, event: ProgressEvent) -> None:
        now = time.perf_counter()
        if self.as_json:
            payload = {"stage": event.stage, "status": event.status, **event.values}
            if event.message:
                payload["message"] = event.message
            self.stream.write(json.dumps(payload, default=str) + "\n")
            self.stream.flush()
            return
        if event.status == "start":
            self.started[event.stage] = now
            tail = f": {event.message}" if event.message else ""
            self.stream.write(self._paint(f"> {event.stage}", "1") + tail + "\n")
        elif event.status == "done":
            took = now - self.started.get(event.stage, now)
            tail = f": {event.message}" if event.message else ""
            self.stream.write(f"  {event.stage} done in {took:.1f}s" + tail + "\n")
        elif event.status == "improve":
            if now - self._last_improve < 0.25:  # at most four lines a second
                return
            self._last_improve = now
            v = event.values
            parts = []
            if "objective" in v:
                parts.append(f"best {v['objective']:,.0f}")
            if "bound" in v:
                parts.append(f"bound {v['bound']:,.0f}")
            if "gap" in v:
                parts.append(f"gap {100 * v['gap']:.2f}%")
            self.stream.write(self._paint("  " + ", ".join(parts), "2") + "\n")
        else:
            self.stream.write(f"  {event.message}\n")
        self.stream.flush()


def publish_clock() -> datetime:
    """The publish clock: now, or ``SOURCE_DATE_EPOCH`` (seconds) when set, as reproducible builds
    do, so a scripted re-run gives byte-identical DTSTAMPs and report dates."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return datetime.fromtimestamp(int(epoch), UTC)
    return datetime.now(UTC)
