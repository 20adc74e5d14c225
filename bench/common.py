"""Timing, percentiles, child processes with their peak memory, and a description of the machine."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Figure:
    """One benchmark figure: a median over ``runs`` runs of ``value``, and the baseline measured beside it.

    ``ratio`` is value / baseline. ``samples`` keeps every run's value.
    """

    benchmark: str
    case: str
    metric: str
    value: float
    unit: str
    runs: int
    baseline: str | None = None
    baseline_value: float | None = None
    samples: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0):
            return None
        return self.value / self.baseline_value

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``call`` once; return its wall time in seconds and its result."""
    began = time.perf_counter()
    result = call()
    return time.perf_counter() - began, result


def repeat(call: Callable[[], Any], *, runs: int) -> list[float]:
    """Return the wall times in seconds of ``runs`` calls."""
    return [timed(call)[0] for _ in range(runs)]


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def percentile(values: list[float], q: float) -> float:
    """Return the ``q``-th percentile (0-100) with linear interpolation between order statistics."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def run_child(*arguments: str, timeout: float = 1800.0) -> dict[str, Any]:
    """Run ``python -m bench.child ARGUMENTS`` in a fresh interpreter and return the JSON it prints last.

    The child measures itself: its timings cover the work only, not the
    interpreter start, and ``peak_rss_bytes`` is its own peak resident memory
    (``VmHWM``), unaffected by earlier runs and by this process's size.
    """
    completed = subprocess.run(
        [sys.executable, "-m", "bench.child", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"bench.child {' '.join(arguments)} failed with exit status {completed.returncode}: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def machine() -> dict[str, Any]:
    """Describe the machine the figures come from: CPU model, cores, memory, load, software versions."""
    import numpy
    import pandas
    import torch
    import torch_geometric

    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
                break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "load_average_at_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_geometric": torch_geometric.__version__,
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
        "cuda": torch.cuda.is_available(),
        "platform": platform.platform(),
    }
