"""Training the reference GCN for 200 epochs on one window, against a bare PyG training loop on the same tensors."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from bench.common import Figure, median, timed
from bench.windows import WINDOW_START, window_store

logger = logging.getLogger(__name__)

SIZES = (10_000, 100_000)
QUICK_SIZES = (300,)
EPOCHS = 200
QUICK_EPOCHS = 5
# 200 epochs on 100 000 devices take minutes on two cores, so that size runs once.
RUNS = {10_000: 3, 100_000: 1}


def run(workdir: Path, *, quick: bool = False) -> list[Figure]:
    figures = []
    for devices in QUICK_SIZES if quick else SIZES:
        figures.extend(
            measure(workdir, devices, epochs=QUICK_EPOCHS if quick else EPOCHS, runs=1 if quick else RUNS.get(devices, 1))
        )
    return figures


def measure(workdir: Path, devices: int, *, epochs: int, runs: int) -> list[Figure]:
    from ml.device import torch_threads_for
    from ml.models import GCNDetector

    store = window_store(workdir, devices)
    graph = store.export_window(WINDOW_START)
    store.close()
    draw = np.random.default_rng(0).random(len(graph.devices))
    train_mask, val_mask = draw < 0.6, (draw >= 0.6) & (draw < 0.8)

    fits, bare = [], []
    # Both loops run with the thread count that iotgraph train chooses for this graph.
    with torch_threads_for(2 * len(graph.edges)) as count:
        for _ in range(runs):
            fits.append(timed(lambda: GCNDetector(epochs=epochs, device="cpu", progress=False).fit([graph], train_mask=train_mask, val_mask=val_mask))[0])
            bare.append(timed(lambda: _bare_loop(graph, train_mask, epochs=epochs))[0])
    logger.info("training on %d devices: %.1f s (bare loop %.1f s)", len(graph.devices), median(fits), median(bare))
    extra = {"devices": len(graph.devices), "edges": len(graph.edges), "epochs": epochs, "threads": count}
    return [Figure("training", f"{devices} devices", "seconds", median(fits), "s", runs, "bare PyG training loop", median(bare), fits, extra)]


def _bare_loop(graph, train_mask: np.ndarray, *, epochs: int) -> None:
    """Train the same two-layer GCN with PyG alone: the floor for iotgraph's training."""
    import torch
    import torch.nn.functional as F

    from ml.export import to_pyg
    from ml.models.gcn import GCN

    data, _ = to_pyg(graph)
    train = torch.as_tensor(train_mask) & (data.y >= 0)
    module = GCN(data.num_features)
    optimizer = torch.optim.Adam(module.parameters(), lr=0.01, weight_decay=5e-4)
    for _ in range(epochs):
        module.train()
        optimizer.zero_grad()
        F.cross_entropy(module(data.x, data.edge_index)[train], data.y[train]).backward()
        optimizer.step()
