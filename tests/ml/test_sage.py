"""GraphSAGE: learns the scanner network and scores devices and windows it never saw."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.features import device_window_labels
from ml.artifacts import load_model, save_model
from ml.metrics import evaluate
from ml.models import SAGEDetector, make_detector
from tests.ml.builders import edge, scanner_windows, window_graph


@pytest.fixture(scope="module")
def fitted():
    graphs = scanner_windows(6)
    return SAGEDetector(device="cpu", progress=False, epochs=100).fit(graphs[:4]), graphs


def renamed_network() -> list:
    """A scanner network with other addresses: 6 normal devices on 172.16.0.0/24, one scanner."""
    edges = []
    for i in range(6):
        device = f"172.16.0.{20 + i}"
        edges.append(edge(device, "172.16.0.1", flows=5, bytes_out=400, bytes_in=900, pkts_out=5, pkts_in=5, duration_sum=0.5,
                          benign_flows=5, protocols={"udp": 5}, dst_ports={"53": 5}))  # fmt: skip
        edges.append(edge(device, "34.2.2.2", flows=2, bytes_out=3000, bytes_in=9000, pkts_out=20, pkts_in=25, duration_sum=20.0,
                          benign_flows=2, protocols={"tcp": 2}, dst_ports={"443": 2}))  # fmt: skip
    for target in range(30):
        edges.append(edge("172.16.0.99", f"81.0.0.{target}", flows=1, pkts_out=2, failed_flows=1, malicious_flows=1,
                          protocols={"tcp": 1}, dst_ports={"23": 1}))  # fmt: skip
    return [window_graph(edges, start=1_800_000_000.0)]


def test_sage_unseen_windows(fitted):
    detector, graphs = fitted
    labels = np.concatenate([device_window_labels(g.devices, g.edges).to_numpy() for g in graphs[4:]])
    result = evaluate(labels, detector.decision_function_batch(graphs[4:]), threshold=detector.threshold_, split="temporal")
    assert result.value("roc_auc") == 1.0


def test_sage_unseen_devices(fitted):
    detector, _ = fitted
    [graph] = renamed_network()
    scores = dict(zip(graph.devices["id"], detector.decision_function(graph)))
    assert max(scores, key=scores.get) == "172.16.0.99"


def test_sage_flags_only_scanners(fitted):
    detector, graphs = fitted
    flagged = [device for device, hit in zip(graphs[5].devices["id"], detector.predict(graphs[5])) if hit]
    assert flagged == ["10.0.0.100", "10.0.0.101", "10.0.0.102", "10.0.0.103"]


def test_sage_saved_and_loaded(fitted, tmp_path):
    detector, graphs = fitted
    info = save_model(detector, directory=tmp_path)
    loaded, _ = load_model(f"latest:{SAGEDetector.kind}", directory=tmp_path, device="cpu")
    assert info.kind == "sage"
    assert np.allclose(loaded.decision_function(graphs[5]), detector.decision_function(graphs[5]))


def test_sage_window_scaling_saved(tmp_path):
    graphs = scanner_windows(3)
    detector = make_detector("sage", feature_scaling="window", device="cpu", progress=False, epochs=20).fit(graphs)
    save_model(detector, directory=tmp_path)
    loaded, info = load_model("latest:sage", directory=tmp_path, device="cpu")
    assert info.metadata["feature_scaling"] == "window"
    assert loaded.feature_scaling == "window"
    assert np.allclose(loaded.decision_function(graphs[2]), detector.decision_function(graphs[2]))
