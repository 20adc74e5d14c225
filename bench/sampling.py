"""Neighbour-sampled training and scoring on graphs up to the largest this machine holds, against full batch.

The graphs are random tensors, not stored windows: a store export of
millions of devices would dominate the run, and the export benchmark
measures it already. A node's 18 features are Gaussian, and 1 % of the
nodes are anomalous and shifted on the first feature. Edges join random
nodes, and one in five goes to one of 50 hubs, as gateways and clouds do in
real windows. Each edge comes with its reverse. Full batch trains on a
random 10 % of the nodes, sampling on a fixed number of seeds.

Each size runs in a fresh interpreter (``bench.child sampling``), so peak
memory is that size's own. Full batch runs only where it fits.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from bench.common import Figure, run_child

logger = logging.getLogger(__name__)

# Nodes; message-passing edges are 10 per node (5 edges and their reverses).
SIZES = (1_000_000, 4_000_000)
QUICK_SIZES = (5_000,)
# Full batch is measured up to this size, and above it only sampling runs.
FULL_BATCH_MAX = 1_000_000
HUBS = 50
# Seeds per measured pass. On a CPU every 4096-seed batch with fan-out (25, 10)
# spans up to a million nodes, so a pass over every node of a large graph
# would take many minutes. The figures are per fixed number of seeds, and
# seeds per second scale them to a whole graph.
SEEDS = 20_000
QUICK_SEEDS = 500
# Seeds whose sampled score is compared with the full-batch score.
COMPARED_SEEDS = 20_000


def run(workdir: Path, *, quick: bool = False) -> list[Figure]:
    from ml.sampling import sampling_available

    if not sampling_available():
        logger.warning("sampling benchmark skipped: torch-sparse or pyg-lib is missing (make sampling)")
        return []
    seeds = QUICK_SEEDS if quick else SEEDS
    figures = []
    for nodes in QUICK_SIZES if quick else SIZES:
        sampled = run_child("sampling", str(nodes), "sampled", str(seeds), timeout=3600)
        full = run_child("sampling", str(nodes), "full", str(seeds), timeout=3600) if quick or nodes <= FULL_BATCH_MAX else None
        figures.extend(_figures(nodes, sampled, full))
    return figures


def random_graph(nodes: int, *, seed: int = 0) -> Any:
    """Build the random graph described above as a ``Data`` with ``x``, ``edge_index``, ``y`` and masks."""
    import torch
    from torch_geometric.data import Data

    from ingest.features import FEATURES

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(nodes, len(FEATURES), generator=generator)
    y = (torch.rand(nodes, generator=generator) < 0.01).long()
    x[:, 0] += 3.0 * y
    edges = nodes * 5
    src = torch.randint(0, nodes, (edges,), generator=generator)
    dst = torch.randint(0, nodes, (edges,), generator=generator)
    to_hub = torch.rand(edges, generator=generator) < 0.2
    dst[to_hub] = torch.randint(0, min(HUBS, nodes), (int(to_hub.sum()),), generator=generator)
    data = Data(x=x, edge_index=torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1), y=y)
    data.num_nodes = nodes
    data.train_mask = torch.rand(nodes, generator=generator) < 0.1
    return data


def measure(nodes: int, *, mode: str, seeds: int) -> dict[str, Any]:
    """Time sampled training and scoring over ``seeds`` seeds (``mode`` sampled), or full-batch training and scoring (full)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from ml.models import GCNDetector
    from ml.sampling import SamplingOptions, _sampled_raw, _train_supervised

    began = time.perf_counter()
    data = random_graph(nodes)
    result: dict[str, Any] = {"nodes": nodes, "edges": int(data.num_edges), "mode": mode, "build_s": time.perf_counter() - began}
    detector = GCNDetector(epochs=1, device="cpu", progress=False)
    detector.module_ = detector._build_module(data.num_features)
    options = SamplingOptions(mode="on")
    order = torch.randperm(nodes, generator=torch.Generator().manual_seed(1))
    picked = order[: min(seeds, nodes)]

    if mode == "sampled":
        train = torch.zeros(nodes, dtype=torch.bool)
        train[picked] = True
        # A small validation set: the threshold search scores it with sampling too.
        validation = torch.zeros(nodes, dtype=torch.bool)
        validation[order[len(picked) : len(picked) + max(len(picked) // 10, 1)]] = True
        began = time.perf_counter()
        _train_supervised(detector, options, data, train, validation)
        result["train_s"] = time.perf_counter() - began
        began = time.perf_counter()
        _sampled_raw(detector, data, options, nodes=picked)
        result["score_s"] = time.perf_counter() - began
        result.update(seeds=len(picked), batch_size=options.batch_size, num_neighbors=list(options.num_neighbors))
        return result

    module = detector._fitted_module()
    optimizer = torch.optim.Adam(module.parameters(), lr=0.01)
    began = time.perf_counter()
    module.train()
    optimizer.zero_grad()
    F.cross_entropy(module(data.x, data.edge_index)[data.train_mask], data.y[data.train_mask]).backward()
    optimizer.step()
    result["train_s"] = time.perf_counter() - began
    module.eval()
    began = time.perf_counter()
    with torch.no_grad():
        full = detector._raw_scores(data).numpy()
    result["score_s"] = time.perf_counter() - began
    compared = picked[:COMPARED_SEEDS]
    sampled = _sampled_raw(detector, data, options, nodes=compared)
    result["mean_abs_score_difference"] = float(np.abs(sampled - full[compared.numpy()]).mean())
    return result


def _figures(nodes: int, sampled: dict[str, Any], full: dict[str, Any] | None) -> list[Figure]:
    case = f"{nodes} nodes, {sampled['edges']} message edges"
    seeds = sampled["seeds"]
    extra = {
        "seeds": seeds,
        "batch_size": sampled["batch_size"],
        "num_neighbors": sampled["num_neighbors"],
        "sampled_peak_rss_bytes": sampled["peak_rss_bytes"],
        "full_peak_rss_bytes": None if full is None else full["peak_rss_bytes"],
        "mean_abs_score_difference": None if full is None else full["mean_abs_score_difference"],
        "sampled_training_seeds_per_s": seeds / sampled["train_s"],
        "sampled_scoring_seeds_per_s": seeds / sampled["score_s"],
    }
    return [
        Figure("sampling", case, f"sampled training over {seeds} seeds", sampled["train_s"], "s", 1,
               None if full is None else "full-batch training epoch (every node)", None if full is None else full["train_s"], [], extra),
        Figure("sampling", case, f"sampled scoring of {seeds} seeds", sampled["score_s"], "s", 1,
               None if full is None else "full-batch forward pass (every node)", None if full is None else full["score_s"], [], extra),
        Figure("sampling", case, "peak memory, sampled", sampled["peak_rss_bytes"], "bytes", 1,
               None if full is None else "peak memory, full batch", None if full is None else full["peak_rss_bytes"], [], extra),
    ]  # fmt: skip
