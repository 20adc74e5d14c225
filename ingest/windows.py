"""Assignment of flows to tumbling or sliding time windows.

Windows are aligned to multiples of ``step`` since the epoch, so every file
and every store agrees on where a window starts. A window ``[start, start +
size)`` contains a flow when ``start <= ts < start + size``; with a sliding
step a flow belongs to ``size / step`` windows.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str | float | int) -> float:
    """Parse ``90``, ``30s``, ``5m``, ``1h`` or ``7d`` into seconds."""
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise ValueError(f"invalid duration {text!r}: expected a number with an optional unit ms, s, m, h or d, e.g. 5m")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"invalid duration {text!r}: it must be positive")
    return seconds


def check_window(size: float, step: float) -> None:
    if step > size:
        raise ValueError(f"window step {step:g}s is longer than the window {size:g}s; flows between windows would be lost")
    ratio = size / step
    if abs(ratio - round(ratio)) > 1e-9:
        raise ValueError(f"window {size:g}s is not a whole multiple of the step {step:g}s; choose e.g. --window 5m --step 1m")


def assign_windows(flows: pd.DataFrame, *, size: float, step: float) -> pd.DataFrame:
    """Return ``flows`` with a ``window_start`` column, one row per (flow, window) pair.

    Tumbling windows keep one row per flow; sliding windows repeat a flow once
    for each window that contains it.
    """
    check_window(size, step)
    ts = flows["ts"].to_numpy(dtype=np.float64)
    last_start = np.floor(ts / step) * step
    copies = int(round(size / step))
    if copies == 1:
        out = flows.copy()
        out["window_start"] = last_start
        return out

    parts = []
    for k in range(copies):
        part = flows.copy()
        part["window_start"] = last_start - k * step
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
