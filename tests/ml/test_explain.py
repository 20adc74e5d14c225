"""Robust z-scores and neighbour ablation of explanations."""

from __future__ import annotations

import pandas as pd
import pytest

from ingest.features import device_features
from ml.explain import PreviousFeatures, explain_devices, robust_z
from ml.models import GCNDetector
from tests.ml.builders import scanner_windows


def test_robust_z_by_hand():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 100.0]}, index=list("vwxyz"))
    z = robust_z(frame)
    # Median 3, MAD median(|-2|, |-1|, 0, 1, 97) = 1, scale 1.4826.
    assert z.at["z", "a"] == pytest.approx(97 / 1.4826)
    assert z.at["x", "a"] == 0.0


def test_robust_z_ties_fall_back_to_mean_deviation():
    frame = pd.DataFrame({"a": [0.0, 0.0, 0.0, 4.0]}, index=list("wxyz"))
    z = robust_z(frame)
    # MAD is 0; mean absolute deviation from the median is 1, scale 1.2533.
    assert z.at["z", "a"] == pytest.approx(4 / 1.2533)


def test_robust_z_constant_feature_zero():
    z = robust_z(pd.DataFrame({"a": [2.0, 2.0]}, index=["x", "y"]))
    assert z["a"].tolist() == [0.0, 0.0]


@pytest.fixture(scope="module")
def explained():
    graphs = scanner_windows(4, scanners=1)
    detector = GCNDetector(device="cpu", progress=False, epochs=50).fit(graphs)
    graph = graphs[3]
    features = device_features(graph.devices, graph.edges)
    data = detector.prepare(graph, features=features)
    scores, _ = detector.scores_from_data(data)
    previous = {"10.0.0.100": PreviousFeatures(1.0, features.loc["10.0.0.100"] * 0)}
    reasons = explain_devices(
        detector, graph, data, features, scores, device_ids=["10.0.0.100", "10.0.0.10"], model_version="gcn-x", previous=previous
    )
    return graph, scores, reasons


def test_neighbours_are_real_peers(explained):
    graph, _, reasons = explained
    peers = set(graph.edges.loc[graph.edges["src"] == "10.0.0.100", "dst"])
    assert len(reasons["10.0.0.100"]["neighbours"]) == 5
    assert {item["id"] for item in reasons["10.0.0.100"]["neighbours"]} <= peers


def test_neighbour_count_capped():
    graphs = scanner_windows(2, scanners=1)
    detector = GCNDetector(device="cpu", progress=False, epochs=5).fit(graphs)
    graph = graphs[1]
    features = device_features(graph.devices, graph.edges)
    data = detector.prepare(graph, features=features)
    scores, _ = detector.scores_from_data(data)
    reasons = explain_devices(
        detector, graph, data, features, scores, device_ids=["10.0.0.10"], model_version="v", top_neighbours=10
    )
    # 10.0.0.10 talks to the gateway and the cloud host only.
    assert sorted(item["id"] for item in reasons["10.0.0.10"]["neighbours"]) == ["10.0.0.1", "52.1.1.1"]


def test_previous_values_reported(explained):
    _, _, reasons = explained
    assert reasons["10.0.0.100"]["previous_window"] == 1.0
    assert all(item["previous"] == 0.0 for item in reasons["10.0.0.100"]["features"])
    assert reasons["10.0.0.10"]["previous_window"] is None


def test_score_and_version(explained):
    graph, scores, reasons = explained
    index = graph.devices["id"].tolist().index("10.0.0.100")
    assert reasons["10.0.0.100"]["score"] == pytest.approx(scores[index])
    assert reasons["10.0.0.100"]["model_version"] == "gcn-x"


def test_edges_sorted_by_flows(explained):
    _, _, reasons = explained
    edges = reasons["10.0.0.10"]["edges"]
    assert [(item["dst"], item["flows"]) for item in edges] == [("10.0.0.1", 5), ("52.1.1.1", 2)]
