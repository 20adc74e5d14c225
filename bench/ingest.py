"""Ingest of Zeek conn logs into the SQLite store, against a bare ``pandas.read_csv`` of the same file.

Each run is a fresh interpreter writing a fresh store, so the figure covers
reading, windowing, aggregation, the duplicate check and the SQLite writes,
and the peak memory is that run's own.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bench.common import Figure, median, run_child
from bench.data import simulated_log

logger = logging.getLogger(__name__)

IOT23 = "iot23/CTU-IoT-Malware-Capture-34-1/conn.log.labeled"
SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000,)
# Runs per size; the 1M-flow file takes the longest, so it gets the fewest.
RUNS = {10_000: 5, 100_000: 3, 1_000_000: 3}


def datasets_dir() -> Path:
    from bench.common import REPO

    return Path(os.environ.get("IOTGRAPH_DATASETS", REPO.parent / "shared" / "datasets"))


def run(workdir: Path, *, quick: bool = False) -> list[Figure]:
    figures = []
    cases = [(f"simulated {size} flows", _log(workdir, size), RUNS.get(size, 3)) for size in (QUICK_SIZES if quick else SIZES)]
    real = datasets_dir() / IOT23
    if not quick and real.exists():
        cases.append(("IoT-23 CTU-IoT-Malware-Capture-34-1", real, 5))
    elif not quick:
        logger.warning("IoT-23 capture %s not found; its ingest figure is skipped (set IOTGRAPH_DATASETS)", real)

    for case, log, runs in cases:
        figures.extend(_measure(workdir, case, log, runs=1 if quick else runs))
    return figures


def _log(workdir: Path, flows: int) -> Path:
    path = workdir / f"conn-{flows}.log"
    if not path.exists():
        simulated_log(path, flows)
    return path


def _measure(workdir: Path, case: str, log: Path, *, runs: int) -> list[Figure]:
    ingests, baselines = [], []
    for number in range(runs):
        store = workdir / f"ingest-{number}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{store}{suffix}").unlink(missing_ok=True)
        ingests.append(run_child("ingest", str(log), f"sqlite:///{store}"))
        baselines.append(run_child("read_csv", str(log)))
        logger.info("ingest %s run %d: %.2f s (read_csv %.2f s)", case, number + 1, ingests[-1]["seconds"], baselines[-1]["seconds"])

    flows = ingests[0]["flows"]
    seconds = median([run["seconds"] for run in ingests])
    bare = median([run["seconds"] for run in baselines])
    size = log.stat().st_size
    return [
        Figure("ingest", case, "seconds", seconds, "s", runs, "pandas.read_csv", bare, [r["seconds"] for r in ingests],
               {"flows": flows, "file_bytes": size, "edges": ingests[0]["edges"], "windows": ingests[0]["windows"]}),
        Figure("ingest", case, "flows per second", flows / seconds, "flows/s", runs, "pandas.read_csv rows/s", flows / bare,
               [flows / r["seconds"] for r in ingests]),
        Figure("ingest", case, "peak memory", median([r["peak_rss_bytes"] for r in ingests]), "bytes", runs,
               "pandas.read_csv peak memory", median([r["peak_rss_bytes"] for r in baselines]),
               [r["peak_rss_bytes"] for r in ingests]),
    ]  # fmt: skip
