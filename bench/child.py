"""Work that a benchmark runs in a fresh interpreter, so that its peak memory is its own.

    python -m bench.child ingest LOG STORE_URL
    python -m bench.child read_csv LOG
    python -m bench.child sampling NODES sampled|full SEEDS

Each prints one JSON line: the seconds the work took, what it counted and
the process's peak resident memory in bytes.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def peak_rss_bytes() -> int:
    """Return this process's peak resident memory in bytes.

    Linux keeps ``ru_maxrss`` across ``exec``, so a child forked from a large
    parent would report the parent's size. ``VmHWM`` belongs to the process
    image started by ``exec``, so it is this interpreter's own peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    # Elsewhere ru_maxrss is the best there is; Linux and BSD report it in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def ingest(log: str, url: str) -> dict:
    from graphdb import open_store
    from graphdb.load import load_files

    began = time.perf_counter()
    with open_store(url) as store:
        result = load_files(store, [log], window="5m")
        counts = store.counts()
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "flows": result.new_flows, "edges": counts.edges, "windows": counts.windows}


def read_csv(log: str) -> dict:
    """Parse the same file with one bare ``pandas.read_csv`` call: the floor any Zeek reader is compared with."""
    import pandas as pd

    began = time.perf_counter()
    frame = pd.read_csv(log, sep="\t", comment="#", header=None, na_values=["-"], low_memory=False)
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "rows": len(frame)}


def sampling(nodes: str, mode: str, seeds: str) -> dict:
    from bench.sampling import measure

    return measure(int(nodes), mode=mode, seeds=int(seeds))


COMMANDS = {"ingest": ingest, "read_csv": read_csv, "sampling": sampling}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m bench.child {{{','.join(COMMANDS)}}} ARGUMENTS...", file=sys.stderr)
        return 2
    result = COMMANDS[argv[0]](*argv[1:])
    result["peak_rss_bytes"] = peak_rss_bytes()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
