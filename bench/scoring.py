"""Scoring one window end to end (export, features, forward pass, explanations of the top devices, write-back)
against the bare model forward pass on the same tensors."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from bench.common import Figure, median, timed
from bench.windows import WINDOW_START, window_store

logger = logging.getLogger(__name__)

# (devices, devices explained per window, runs). Explanations ablate up to 50
# neighbours of each explained device over its receptive field, which hubs
# make most of the window, so with explanations the 10 000-device window
# runs once and the 100 000-device window is scored without them.
CASES = ((1_000, 20, 5), (10_000, 20, 1), (1_000, 0, 5), (10_000, 0, 5), (100_000, 0, 3))
QUICK_CASES = ((300, 20, 1), (300, 0, 1))
TRAINING_DEVICES = 3_000


def reference_model(workdir: Path, *, quick: bool = False) -> tuple[Path, str]:
    """Train the reference GCN on a synthetic window, save it, and return the models folder and the version."""
    from bench.data import synthetic_window
    from graphdb.model import Window, WindowGraph
    from ml.artifacts import save_model
    from ml.models import GCNDetector

    models = workdir / "models"
    marker = models / "bench-version.txt"
    if marker.exists():
        return models, marker.read_text().strip()
    window = synthetic_window(300 if quick else TRAINING_DEVICES, seed=1)
    devices = window.devices.sort_values("id").reset_index(drop=True)
    graph = WindowGraph(window=Window(start=WINDOW_START, end=WINDOW_START + 300), devices=devices[["id", "internal"]], edges=window.edges)
    rng = np.random.default_rng(0)
    draw = rng.random(len(devices))
    detector = GCNDetector(epochs=20 if quick else 100, device="cpu", progress=False)
    detector.fit([graph], train_mask=draw < 0.6, val_mask=(draw >= 0.6) & (draw < 0.8))
    info = save_model(detector, directory=models)
    marker.write_text(info.version)
    return models, info.version


def run(workdir: Path, *, quick: bool = False) -> list[Figure]:
    models, version = reference_model(workdir, quick=quick)
    figures = []
    for devices, explained, runs in QUICK_CASES if quick else CASES:
        figures.extend(measure(workdir, devices, models=models, version=version, explain_top_k=explained, runs=runs))
    return figures


def measure(workdir: Path, devices: int, *, models: Path, version: str, explain_top_k: int, runs: int) -> list[Figure]:
    import torch

    from ingest.features import device_features
    from ml.artifacts import load_model
    from ml.device import torch_threads_for
    from ml.scoring import score_windows

    store = window_store(workdir, devices)
    detector, _ = load_model(version, directory=models, device="cpu")
    graph = store.export_window(WINDOW_START)
    data = detector.prepare(graph)
    module = detector._fitted_module()

    def forward() -> None:
        with torch.no_grad():
            module(data.x, data.edge_index)

    totals, forwards = [], []
    for _ in range(runs):
        seconds, _ = timed(
            lambda: score_windows(store, [WINDOW_START], model=version, models_dir=models, explain_top_k=explain_top_k, device="cpu", progress=False)
        )
        totals.append(seconds)
        with torch_threads_for(data.num_edges):
            forwards.append(timed(forward)[0])

    # One more pass, step by step, to show where the time goes.
    stages = {}
    stages["export_window"], graph = timed(lambda: store.export_window(WINDOW_START))
    stages["device_features"], features = timed(lambda: device_features(graph.devices, graph.edges))
    stages["prepare"], data = timed(lambda: detector.prepare(graph, features=features))
    with torch_threads_for(data.num_edges):
        stages["forward_and_calibration"], _ = timed(lambda: detector.scores_from_data(data))
    stages["rest"] = max(median(totals) - sum(stages.values()), 0.0)
    threads = {}
    for count in (1, 2):
        before = torch.get_num_threads()
        torch.set_num_threads(count)
        threads[f"forward_{count}_threads_s"] = median([timed(forward)[0] for _ in range(3)])
        torch.set_num_threads(before)
    store.close()

    logger.info("scoring %d devices, %d explained: %.2f s (bare forward %.3f s)", data.num_nodes, explain_top_k, median(totals), median(forwards))
    extra = {"devices": int(data.num_nodes), "edges": int(len(graph.edges)), "explained": explain_top_k, "stages_s": stages, **threads}
    case = f"{devices} devices, top {explain_top_k} explained"
    return [Figure("scoring", case, "seconds", median(totals), "s", runs, "bare model forward pass", median(forwards), totals, extra)]
