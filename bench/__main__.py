"""Run every benchmark and write the results: ``python -m bench [--quick] [--only NAME ...]``.

Without ``--quick`` the figures go to ``bench/results.json``. With it they go
to the work folder, so a smoke run never overwrites the recorded figures. The work
folder keeps generated logs and stores between runs, so a second run skips
building them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import machine
from bench.report import markdown

logger = logging.getLogger("bench")

# In run order. bench/soak.py is a separate long-running test, not part of this suite.
BENCHMARKS = ("ingest", "export", "scoring", "training", "api", "sampling")
RESULTS = Path(__file__).with_name("results.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Run the iotgraph benchmarks.")
    parser.add_argument("--quick", action="store_true", help="toy sizes, one run each: checks that every benchmark still runs")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these benchmarks")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(os.environ.get("IOTGRAPH_BENCH_DIR") or Path(tempfile.gettempdir()) / "iotgraph-bench"),
        help="folder for generated logs and stores (default IOTGRAPH_BENCH_DIR, else iotgraph-bench in the temporary folder)",
    )
    parser.add_argument("--output", type=Path, help="results file (default bench/results.json, or WORKDIR/results.json with --quick)")
    options = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options.workdir.mkdir(parents=True, exist_ok=True)
    output = options.output or (options.workdir / "results.json" if options.quick else RESULTS)
    names = options.only or BENCHMARKS

    results = {
        "date": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "command": _command(options),
        "quick": options.quick,
        "machine": machine(),
        "durations_s": {},
        "figures": [],
    }
    for name in names:
        began = time.perf_counter()
        logger.info("benchmark %s started", name)
        module = importlib.import_module(f"bench.{name}")
        figures = module.run(options.workdir, quick=options.quick)
        results["figures"].extend(figure.to_dict() for figure in figures)
        results["durations_s"][name] = time.perf_counter() - began
        logger.info("benchmark %s finished in %.0f s", name, results["durations_s"][name])
        # Written after each benchmark, so an interrupted run keeps what it measured.
        output.write_text(json.dumps(results, indent=2) + "\n")
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    logger.info("results written to %s", output)
    return 0


def _command(options: argparse.Namespace) -> str:
    words = ["python", "-m", "bench"]
    if options.quick:
        words.append("--quick")
    if options.only:
        words += ["--only", *options.only]
    return " ".join(words)


if __name__ == "__main__":
    sys.exit(main())
