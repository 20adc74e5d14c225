"""GAT: learns the scanner network and exposes its attention for explanations."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.features import device_features
from ml.artifacts import load_model, save_model
from ml.explain import explain_devices
from ml.models import GATDetector
from tests.ml.builders import scanner_windows


@pytest.fixture(scope="module")
def fitted():
    graphs = scanner_windows(5)
    return GATDetector(device="cpu", progress=False, epochs=100).fit(graphs[:4]), graphs


def test_gat_ranks_scanners_first(fitted):
    detector, graphs = fitted
    graph = graphs[4]
    scores = detector.decision_function(graph)
    top = [graph.devices["id"].iloc[i] for i in np.argsort(-scores)[:4]]
    assert sorted(top) == ["10.0.0.100", "10.0.0.101", "10.0.0.102", "10.0.0.103"]


def test_gat_attention_over_peers(fitted):
    detector, graphs = fitted
    data = detector.prepare(graphs[4])
    index = data.device_ids.index("10.0.0.10")
    attention = detector.neighbour_attention(data, index)
    # 10.0.0.10 talks to the gateway and the cloud host; the rest of its attention is on itself.
    assert sorted(data.device_ids[i] for i in attention) == ["10.0.0.1", "52.1.1.1"]
    assert 0.0 < sum(attention.values()) < 1.0


def test_gat_explanation_ranked_by_attention(fitted):
    detector, graphs = fitted
    graph = graphs[4]
    features = device_features(graph.devices, graph.edges)
    data = detector.prepare(graph, features=features)
    scores, _ = detector.scores_from_data(data)
    reasons = explain_devices(detector, graph, data, features, scores, device_ids=["10.0.0.100"], model_version="gat-x")
    weights = [item["attention"] for item in reasons["10.0.0.100"]["neighbours"]]
    assert len(weights) == 5
    assert weights == sorted(weights, reverse=True)


def test_gat_saved_and_loaded(fitted, tmp_path):
    detector, graphs = fitted
    save_model(detector, directory=tmp_path)
    loaded, info = load_model("latest:gat", directory=tmp_path, device="cpu")
    assert info.metadata["hyperparameters"]["heads"] == 4
    assert np.allclose(loaded.decision_function(graphs[4]), detector.decision_function(graphs[4]))


def test_gat_heads_checked():
    with pytest.raises(ValueError, match="invalid heads 0"):
        GATDetector(heads=0, device="cpu")
