"""CUDA scores equal CPU scores within 1e-4; every test here needs a CUDA device."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from graphdb import GraphStore, open_store
from graphdb.load import build_batch
from graphdb.model import WindowSpec
from ml.models import GAEDetector, GCNDetector, GraphDetector
from ml.sampling import SamplingOptions, sampling_available, scores_from_data
from tests.ml.builders import WINDOW, scanner_flows, scanner_windows

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; torch found none"),
]

TOLERANCE = 1e-4


def on_device(detector: GraphDetector, device: str) -> GraphDetector:
    """Return a copy of a fitted detector loaded on ``device``, as the model registry loads it."""
    weights = {name: tensor.detach().cpu() for name, tensor in detector._fitted_module().state_dict().items()}
    return type(detector).from_state(detector.state(), weights, device=device)


@pytest.mark.parametrize("kind", [GCNDetector, GAEDetector])
def test_scores_match_cpu(kind: type[GraphDetector]) -> None:
    graphs = scanner_windows(4)
    fitted = kind(device="cpu", progress=False, epochs=30).fit(graphs)
    cpu, cuda = on_device(fitted, "cpu"), on_device(fitted, "cuda")

    for graph in graphs:
        assert np.abs(cuda.decision_function(graph) - cpu.decision_function(graph)).max() < TOLERANCE


def test_training_runs_on_cuda() -> None:
    detector = GCNDetector(device="cuda", progress=False, epochs=20).fit(scanner_windows(3))

    assert next(detector._fitted_module().parameters()).device.type == "cuda"
    assert detector.threshold_ is not None


@pytest.mark.skipif(not sampling_available(), reason="needs torch-sparse or pyg-lib for NeighborLoader (make sampling)")
def test_sampled_scores_match_cpu() -> None:
    graphs = scanner_windows(2)
    fitted = GCNDetector(device="cpu", progress=False, epochs=20).fit(graphs)
    options = SamplingOptions(mode="on", batch_size=4, num_neighbors=(-1, -1))
    cpu, cuda = on_device(fitted, "cpu"), on_device(fitted, "cuda")
    data = cpu.prepare(graphs[0])

    assert np.abs(scores_from_data(cuda, data, sampling=options)[0] - scores_from_data(cpu, data, sampling=options)[0]).max() < TOLERANCE


def filled_store(path: Path) -> GraphStore:
    store = open_store(f"sqlite:///{path}")
    spec = WindowSpec(size=WINDOW, step=WINDOW)
    store.set_window_spec(spec)
    store.upsert_batch(build_batch(scanner_flows(6), spec))
    return store


def test_stored_scores_match_cpu(tmp_path: Path) -> None:
    from ml.scoring import score_windows
    from ml.training import train

    stores = {device: filled_store(tmp_path / f"{device}.db") for device in ("cpu", "cuda")}
    train(stores["cpu"], kind="gcn", epochs=30, models_dir=tmp_path / "models", device="cpu", progress=False)

    stored: dict[str, dict[tuple[str, float], float]] = {}
    for device, store in stores.items():
        score_windows(store, model="latest", models_dir=tmp_path / "models", device=device, progress=False, scored_at=1.0)
        stored[device] = {
            (score.device_id, score.window_start): score.score
            for window in store.windows()
            for score in store.suspicious(window.start, limit=1000)
        }
        store.close()

    assert stored["cuda"].keys() == stored["cpu"].keys()
    assert max(abs(stored["cuda"][key] - stored["cpu"][key]) for key in stored["cpu"]) < TOLERANCE
