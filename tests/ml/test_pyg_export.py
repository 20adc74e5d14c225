"""Export of windows to PyG Data: node order, edge directions, labels and batching."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ingest.features import FEATURES, device_features
from ml.export import EDGE_FEATURES, to_pyg, to_pyg_batch
from ml.scaling import FeatureScaler
from tests.ml.builders import T0, WINDOW, edge, window_graph

A, B, C = "10.0.0.2", "10.0.0.3", "10.0.0.4"


@pytest.fixture
def graph():
    return window_graph(
        [
            edge(B, A, flows=3, bytes_out=10, bytes_in=1000, pkts_out=1, pkts_in=9, malicious_flows=3),
            edge(C, C, flows=1, benign_flows=1),
        ]
    )


def test_node_order_is_device_order(graph):
    data, device_ids = to_pyg(graph)
    assert device_ids == [A, B, C]
    assert data.device_ids == [A, B, C]
    assert data.num_nodes == 3


def test_feature_matrix_shape(graph):
    data, _ = to_pyg(graph)
    assert data.x.dtype == torch.float32
    assert tuple(data.x.shape) == (3, len(FEATURES))


def test_features_row_of_device(graph):
    data, _ = to_pyg(graph)
    flows_out = FEATURES.index("flows_out")
    assert data.x[1, flows_out].item() == pytest.approx(math.log1p(3))


def test_edges_forward_then_reverse(graph):
    data, _ = to_pyg(graph)
    # B -> A, the self-loop C -> C, then only A -> B: a self-loop has no reverse copy.
    assert data.edge_index.tolist() == [[1, 2, 0], [0, 2, 1]]
    assert data.edge_reverse.tolist() == [False, False, True]


def test_reverse_edge_swaps_directions(graph):
    data, _ = to_pyg(graph)
    bytes_out = EDGE_FEATURES.index("bytes_out")
    assert data.edge_attr[0, bytes_out].item() == pytest.approx(math.log1p(10))
    assert data.edge_attr[2, bytes_out].item() == pytest.approx(math.log1p(1000))
    assert data.edge_attr[2, EDGE_FEATURES.index("reverse")].item() == 1.0


def test_labels(graph):
    data, _ = to_pyg(graph)
    assert data.y.tolist() == [0, 1, 0]
    assert data.edge_label.tolist() == [1, 0, 1]


def test_window_start(graph):
    data, _ = to_pyg(graph)
    assert data.window_start == T0
    assert data.window_index.tolist() == [0, 0, 0]


def test_scaler_standardises(graph):
    features = device_features(graph.devices, graph.edges)
    scaler = FeatureScaler.fit(features.to_numpy(), features=FEATURES)
    data, _ = to_pyg(graph, scaler=scaler)
    assert np.allclose(data.x.mean(dim=0).numpy(), 0.0, atol=1e-6)


def test_batch_offsets_nodes(graph):
    second = window_graph([edge(A, C, flows=1)], start=T0 + WINDOW)
    data, device_ids = to_pyg_batch([graph, second])
    assert device_ids == [A, B, C, A, C]
    assert data.window_index.tolist() == [0, 0, 0, 1, 1]
    assert data.window_starts == [T0, T0 + WINDOW]
    assert data.edge_index[:, 3:].tolist() == [[3, 4], [4, 3]]


def test_empty_window():
    data, device_ids = to_pyg(window_graph([], devices=[A]))
    assert device_ids == [A]
    assert tuple(data.edge_index.shape) == (2, 0)
    assert data.y.tolist() == [-1]
