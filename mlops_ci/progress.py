"""Progress bars for long transfers and scoring runs, on standard error.

One small reporter, stdlib only (so importing it costs nothing at start-up). On a terminal it
redraws one line in place; elsewhere (a CI log, a file) it prints a plain line at most every
10 % and every ``interval`` seconds, so a log of a long upload stays short and readable.
``MLOPS_CI_PROGRESS=0`` turns it off; ``MLOPS_CI_PROGRESS=1`` forces plain lines.

    with Progress("Uploading model.skops", total=size, unit="bytes") as bar:
        for chunk in chunks:
            send(chunk)
            bar.advance(len(chunk))

The label is shown as given: callers pass names they checked (asset names, file names), never
raw text from a pull request.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Literal, TextIO

from mlops_ci.security import log_safe

Unit = Literal["bytes", "rows"]
_WIDTH = 24


def _human(amount: float, unit: Unit) -> str:
    if unit == "rows":
        return f"{int(amount):,} rows"
    for suffix in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or suffix == "GiB":
            return f"{amount:.0f} {suffix}" if suffix == "B" else f"{amount:.1f} {suffix}"
        amount /= 1024
    raise AssertionError("unreachable")


class Progress:
    """A progress reporter for one task of *total* units (None when the total is unknown)."""

    def __init__(
        self,
        label: str,
        *,
        total: float | None,
        unit: Unit = "bytes",
        stream: TextIO | None = None,
        interval: float = 5.0,
        min_total: float = 0,
    ) -> None:
        self.label = log_safe(label)
        self.total = total
        self.unit = unit
        self.done = 0.0
        self._stream = stream if stream is not None else sys.stderr
        self._interval = interval
        self._started = time.monotonic()
        self._last_print = 0.0
        self._last_tenth = -1
        setting = os.environ.get("MLOPS_CI_PROGRESS", "")
        small = total is not None and total < min_total
        self.enabled = setting != "0" and not small
        isatty = getattr(self._stream, "isatty", lambda: False)()
        self._live = self.enabled and setting != "1" and bool(isatty)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.finish(failed=exc_type is not None)

    def advance(self, amount: float) -> None:
        self.done += amount
        if not self.enabled:
            return
        now = time.monotonic()
        if self._live:
            if now - self._last_print >= 0.1:
                self._last_print = now
                self._stream.write("\r" + self._line(now))
                self._stream.flush()
            return
        tenth = int(10 * self.done / self.total) if self.total else -1
        if tenth > self._last_tenth and now - self._last_print >= self._interval:
            self._last_tenth = tenth
            self._last_print = now
            self._stream.write(self._line(now) + "\n")
            self._stream.flush()

    def finish(self, *, failed: bool = False) -> None:
        if not self.enabled:
            return
        end = " (stopped)" if failed else ""
        line = self._line(time.monotonic()) + end
        self._stream.write(("\r" + line + "\n") if self._live else line + "\n")
        self._stream.flush()
        self.enabled = False

    def _line(self, now: float) -> str:
        elapsed = max(now - self._started, 1e-9)
        rate = f"{_human(self.done / elapsed, self.unit)}/s"
        if not self.total:
            return f"{self.label}: {_human(self.done, self.unit)} ({rate})"
        fraction = min(self.done / self.total, 1.0)
        filled = int(_WIDTH * fraction)
        bar = "#" * filled + "-" * (_WIDTH - filled)
        return (
            f"{self.label} [{bar}] {fraction:4.0%} "
            f"{_human(self.done, self.unit)} of {_human(self.total, self.unit)} ({rate})"
        )
