"""The DGL export matches the PyG export: node order, features, labels and edges."""

from __future__ import annotations

import math

import pytest
import torch

from graphdb import open_store
from graphdb.load import load_files
from ingest.features import FEATURES, device_features
from ml.dgl_export import data_to_dgl, to_dgl, to_dgl_batch
from ml.export import EDGE_FEATURES, to_pyg, to_pyg_batch
from ml.scaling import FeatureScaler
from tests.conftest import dataset_path
from tests.dgl.support import A, B, C, D, requires_dgl
from tests.ml.builders import scanner_windows, window_graph

pytestmark = [pytest.mark.dgl, requires_dgl]

CAPTURE_34_1 = "iot23/CTU-IoT-Malware-Capture-34-1/conn.log.labeled"
INFECTED = "192.168.1.195"


def edge_lists(graph) -> list[list[int]]:
    src, dst = graph.edges(order="eid")
    return [src.tolist(), dst.tolist()]


def test_node_order_is_device_order(hand_graph):
    graph, device_ids = to_dgl(hand_graph)
    assert device_ids == [A, B, C, D]
    assert graph.num_nodes() == 4


def test_edges_forward_then_reverse(hand_graph):
    graph, _ = to_dgl(hand_graph)
    # B -> A, the self-loop C -> C, then only A -> B: a self-loop has no reverse copy.
    assert edge_lists(graph) == [[1, 2, 0], [0, 2, 1]]
    assert graph.edata["reverse"].tolist() == [False, False, True]


def test_reverse_edge_swaps_directions(hand_graph):
    graph, _ = to_dgl(hand_graph)
    bytes_out = EDGE_FEATURES.index("bytes_out")
    assert graph.edata["feat"][0, bytes_out].item() == pytest.approx(math.log1p(10))
    assert graph.edata["feat"][2, bytes_out].item() == pytest.approx(math.log1p(1000))


def test_labels_under_originator_rule(hand_graph):
    graph, _ = to_dgl(hand_graph)
    # A received malicious flows, B sent them, C has a benign flow, D no flow.
    assert graph.ndata["label"].tolist() == [0, 1, 0, -1]
    assert graph.edata["label"].tolist() == [1, 0, 1]


def test_feature_row_of_device(hand_graph):
    graph, _ = to_dgl(hand_graph)
    assert graph.ndata["feat"].dtype == torch.float32
    assert graph.ndata["feat"][1, FEATURES.index("flows_out")].item() == pytest.approx(math.log1p(3))


def test_tensors_equal_pyg(hand_graph):
    graph, _ = to_dgl(hand_graph)
    data, _ = to_pyg(hand_graph)
    assert torch.equal(graph.ndata["feat"], data.x)
    assert torch.equal(graph.ndata["label"], data.y)
    assert torch.equal(graph.edata["feat"], data.edge_attr)
    assert torch.equal(graph.edata["label"], data.edge_label)
    assert torch.equal(graph.edata["reverse"], data.edge_reverse)


def test_scaled_features_equal_pyg(hand_graph):
    features = device_features(hand_graph.devices, hand_graph.edges)
    scaler = FeatureScaler.fit(features.to_numpy(), features=FEATURES)
    graph, _ = to_dgl(hand_graph, scaler=scaler)
    data, _ = to_pyg(hand_graph, scaler=scaler)
    assert torch.equal(graph.ndata["feat"], data.x)


def test_label_rule_any(hand_graph):
    graph, _ = to_dgl(hand_graph, label_rule="any")
    # Under rule any, A is anomalous too: it took part in B's malicious flows.
    assert graph.ndata["label"].tolist() == [1, 1, 0, -1]


def test_window_without_edges():
    graph, device_ids = to_dgl(window_graph([], devices=[A]))
    assert device_ids == [A]
    assert graph.num_nodes() == 1
    assert graph.num_edges() == 0


def test_batch_matches_pyg_batch():
    windows = scanner_windows(2)
    graph, device_ids = to_dgl_batch(windows)
    data, pyg_ids = to_pyg_batch(windows)
    assert device_ids == pyg_ids
    first, second = (len(window.devices) for window in windows)
    assert graph.num_nodes() == first + second
    assert edge_lists(graph) == data.edge_index.tolist()
    assert graph.ndata["window_index"].tolist() == [0] * first + [1] * second


def test_data_to_dgl_keeps_device(hand_graph):
    data, _ = to_pyg(hand_graph)
    graph = data_to_dgl(data)
    assert graph.device == data.x.device
    assert graph.idtype == torch.int64


@pytest.mark.slow
def test_capture_34_1_window_matches_pyg(sqlite_url):
    path = dataset_path(CAPTURE_34_1)
    with open_store(sqlite_url) as store:
        load_files(store, [path], window="1h")
        busiest = max(store.windows(), key=lambda window: window.flows)
        window = store.export_window(busiest.start)

    graph, device_ids = to_dgl(window)
    data, pyg_ids = to_pyg(window)
    # The hour from 2018-12-22 08:00 UTC contains 14,654 flows between 9 devices over 8 pairs.
    assert busiest.start == 1545465600.0
    assert graph.num_nodes() == 9
    assert graph.num_edges() == 2 * 8
    assert graph.ndata["label"][device_ids.index(INFECTED)].item() == 1
    assert device_ids == pyg_ids
    assert edge_lists(graph) == data.edge_index.tolist()
    assert torch.equal(graph.ndata["feat"], data.x)
    assert torch.equal(graph.ndata["label"], data.y)
    assert torch.equal(graph.edata["feat"], data.edge_attr)
    assert torch.equal(graph.edata["reverse"], data.edge_reverse)
