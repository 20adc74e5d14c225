"""Synthetic stores shared by the export, scoring and API benchmarks: one window of a given number of devices."""

from __future__ import annotations

from pathlib import Path

from bench.data import WINDOW_START, fill_store, synthetic_window
from graphdb import GraphStore, open_store

EDGES_PER_DEVICE = 10.0


def window_store(workdir: Path, devices: int) -> GraphStore:
    """Return an open SQLite store holding one synthetic window of ``devices`` devices, built once per size."""
    path = workdir / f"window-{devices}.db"
    if path.exists():
        return open_store(f"sqlite:///{path}")
    partial = workdir / f"window-{devices}.partial.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    store = fill_store(f"sqlite:///{partial}", [synthetic_window(devices, EDGES_PER_DEVICE, seed=devices)])
    store.close()
    partial.rename(path)
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    return open_store(f"sqlite:///{path}")


__all__ = ["WINDOW_START", "window_store"]
