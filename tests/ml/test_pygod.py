"""PyGOD's DOMINANT and CoLA behind the detector interface (needs the sampling extra)."""

from __future__ import annotations

import numpy as np
import pytest

from ml.artifacts import load_model, save_model
from ml.models import make_detector
from ml.models.pygod_detectors import MissingDependencyError, unavailable_reason
from tests.ml.builders import scanner_windows

REASON = unavailable_reason()
needs_pygod = pytest.mark.skipif(REASON is not None, reason=f"PyGOD detectors {REASON}")


@needs_pygod
@pytest.mark.parametrize("kind", ["dominant", "cola"])
def test_pygod_saved_and_loaded(kind, tmp_path):
    graphs = scanner_windows(3)
    detector = make_detector(kind, device="cpu", progress=False, epochs=5).fit(graphs[:2])
    save_model(detector, directory=tmp_path)
    loaded, _ = load_model(f"latest:{kind}", directory=tmp_path, device="cpu")
    scores = loaded.decision_function(graphs[2])
    assert np.allclose(scores, detector.decision_function(graphs[2]))
    assert scores.min() >= 0.0
    assert scores.max() <= 1.0


@needs_pygod
def test_dominant_threshold_from_contamination():
    graphs = scanner_windows(2)
    detector = make_detector("dominant", device="cpu", progress=False, epochs=5, contamination=0.1).fit(graphs)
    assert detector.threshold_source_ == f"contamination 0.1 of {sum(len(g.devices) for g in graphs)} training device-windows"


@pytest.mark.skipif(REASON is None, reason="pygod and torch_sparse are installed, so nothing is missing")
def test_pygod_missing_names_extra():
    with pytest.raises(MissingDependencyError, match=r"pip install 'iotgraph\[sampling\]'"):
        make_detector("dominant", device="cpu")


@needs_pygod
def test_dominant_rejects_dense_size():
    from torch_geometric.data import Data

    from ml.errors import TrainingDataError
    from ml.models.pygod_detectors import MAX_DENSE_NODES

    detector = make_detector("dominant", device="cpu", progress=False)
    with pytest.raises(TrainingDataError, match=f"above the limit of {MAX_DENSE_NODES}"):
        detector._check_size(Data(num_nodes=MAX_DENSE_NODES + 1))


@needs_pygod
def test_dominant_explained_with_ablation():
    from ingest.features import device_features
    from ml.explain import explain_devices

    graphs = scanner_windows(3, scanners=1)
    detector = make_detector("dominant", device="cpu", progress=False, epochs=5).fit(graphs[:2])
    graph = graphs[2]
    features = device_features(graph.devices, graph.edges)
    data = detector.prepare(graph, features=features)
    scores, _ = detector.scores_from_data(data)
    reasons = explain_devices(detector, graph, data, features, scores, device_ids=["10.0.0.100"], model_version="dominant-x")
    peers = set(graph.edges.loc[graph.edges["src"] == "10.0.0.100", "dst"])
    assert len(reasons["10.0.0.100"]["neighbours"]) == 5
    assert {item["id"] for item in reasons["10.0.0.100"]["neighbours"]} <= peers
