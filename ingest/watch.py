"""Event time for live logs: the watermark, complete windows and late flows.

The watermark is the newest flow timestamp seen minus the allowed lateness.
A window ``[start, start + size)`` is complete once the watermark reaches
its end: flows older than the watermark are not expected any more. A flow
that still arrives for a window the watch has already closed is late. It is
ingested like any other, and the windows it belongs to are scored again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ingest.windows import check_window


class Watermark:
    """The newest flow timestamp seen and the lateness allowed behind it, in epoch seconds and seconds."""

    def __init__(self, *, lateness: float, newest: float | None = None) -> None:
        if not math.isfinite(lateness) or lateness < 0:
            raise ValueError(f"invalid lateness {lateness}: expected zero or more seconds, e.g. 30s")
        self.lateness = lateness
        self.newest = newest

    @property
    def value(self) -> float | None:
        """Return the watermark, or None before any flow was seen."""
        return None if self.newest is None else self.newest - self.lateness

    def observe(self, timestamps: Iterable[float]) -> None:
        """Move the newest timestamp forward; older timestamps leave it where it is."""
        values = np.fromiter(timestamps, dtype=np.float64)
        values = values[np.isfinite(values)]
        if len(values) == 0:
            return
        newest = float(values.max())
        if self.newest is None or newest > self.newest:
            self.newest = newest


def window_complete(start: float, *, size: float, watermark: float | None) -> bool:
    """Return whether the window starting at ``start`` ends at or before the watermark."""
    return watermark is not None and start + size <= watermark


def late_windows(timestamps: np.ndarray, *, size: float, step: float, closed_until: float | None) -> tuple[np.ndarray, list[float]]:
    """Find flows that belong to windows already closed.

    ``closed_until`` is the watermark up to which windows were closed. Returns
    a boolean mask of the late flows and the sorted starts of the closed
    windows they belong to. With sliding windows a flow belongs to
    ``size / step`` windows, and it is late when any of them is closed.
    """
    check_window(size, step)
    ts = np.asarray(timestamps, dtype=np.float64)
    if closed_until is None or len(ts) == 0:
        return np.zeros(len(ts), dtype=bool), []

    last_start = np.floor(ts / step) * step
    copies = int(round(size / step))
    late = np.zeros(len(ts), dtype=bool)
    starts: set[float] = set()
    for k in range(copies):
        window_start = last_start - k * step
        closed = window_start + size <= closed_until
        late |= closed
        starts.update(window_start[closed].tolist())
    return late, sorted(starts)
