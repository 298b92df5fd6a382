"""Rendering progress events on stderr for the CLI (the protocol itself is ``cohort.progress``)."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from typing import TextIO

from cohort.progress import Progress, ProgressEvent, null_progress


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


__all__ = ["Progress", "ProgressEvent", "StderrProgress", "null_progress", "publish_clock"]
