"""Export of one window to a PyG ``Data`` (store read, features, tensors) against the raw SQL read of the same rows."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from bench.common import Figure, median, timed
from bench.windows import WINDOW_START, window_store

logger = logging.getLogger(__name__)

SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (300,)
RUNS = {1_000: 5, 10_000: 5, 100_000: 3}


def run(workdir: Path, *, quick: bool = False) -> list[Figure]:
    figures = []
    for devices in QUICK_SIZES if quick else SIZES:
        figures.extend(measure(workdir, devices, runs=1 if quick else RUNS.get(devices, 3)))
    return figures


def measure(workdir: Path, devices: int, *, runs: int) -> list[Figure]:
    from graphdb.sqlite_schema import EDGE_SQL_COLUMNS
    from ml.export import to_pyg

    store = window_store(workdir, devices)
    raw = sqlite3.connect(store.path)
    query = f"SELECT {', '.join(EDGE_SQL_COLUMNS)} FROM edges WHERE window_start = ? ORDER BY src, dst"

    totals, reads, stages = [], [], {"export_window": [], "to_pyg": []}
    for _ in range(runs):
        read_seconds, rows = timed(lambda: raw.execute(query, (WINDOW_START,)).fetchall())
        reads.append(read_seconds)
        del rows
        export_seconds, graph = timed(lambda: store.export_window(WINDOW_START))
        pyg_seconds, (data, _) = timed(lambda: to_pyg(graph))
        stages["export_window"].append(export_seconds)
        stages["to_pyg"].append(pyg_seconds)
        totals.append(export_seconds + pyg_seconds)
    logger.info("export of %d devices, %d edges: %.2f s (raw read %.2f s)", data.num_nodes, len(graph.edges), median(totals), median(reads))
    raw.close()
    store.close()

    extra = {
        "devices": int(data.num_nodes),
        "edges": int(len(graph.edges)),
        "stages_s": {name: median(values) for name, values in stages.items()},
    }
    return [Figure("export", f"{devices} devices", "seconds", median(totals), "s", runs, "SQL read of the same edge rows", median(reads), totals, extra)]
