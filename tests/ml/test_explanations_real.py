"""Explanations name features and peers of the window, and neighbour influence equals the score change."""

from __future__ import annotations

import pytest
import torch

from graphdb import open_store
from graphdb.load import load_files
from ingest.features import FEATURES, device_features, natural_value
from ml.explain import _ablated_scores, explain_devices
from ml.models import make_detector
from tests.conftest import dataset_path
from tests.ml.builders import scanner_windows

CAPTURE_34_1 = "iot23/CTU-IoT-Malware-Capture-34-1/conn.log.labeled"


def ablate_whole_window(detector, data, index: int, neighbour: int) -> float:
    """Score ``index`` on the whole window without the edges between it and ``neighbour``."""
    src, dst = data.edge_index
    keep = ~(((src == index) & (dst == neighbour)) | ((src == neighbour) & (dst == index)))
    ablated = data.clone()
    ablated.edge_index = data.edge_index[:, keep]
    ablated.edge_attr = data.edge_attr[keep]
    ablated.edge_label = data.edge_label[keep]
    ablated.edge_reverse = data.edge_reverse[keep]
    return float(detector.scores_from_data(ablated)[0][index])


@pytest.mark.parametrize("kind", ["gcn", "sage", "gat", "gae", "edge", "gbt-nbr"])
def test_batched_ablation_matches_whole_window(kind):
    torch.manual_seed(0)
    graphs = scanner_windows(3, scanners=2)
    detector = make_detector(kind, device="cpu", progress=False, epochs=20).fit(graphs[:2])
    data = detector.prepare(graphs[2])
    index = data.device_ids.index("10.0.0.100")
    peers = sorted({int(n) for n in data.edge_index[1, data.edge_index[0] == index]})[:6]
    batched = _ablated_scores(detector, data, index, peers)
    whole = [ablate_whole_window(detector, data, index, peer) for peer in peers]
    assert batched.tolist() == pytest.approx(whole, abs=1e-6)


@pytest.fixture(scope="module")
def explained_capture():
    path = dataset_path(CAPTURE_34_1)
    torch.manual_seed(0)
    with open_store("sqlite:///:memory:") as store:
        load_files(store, [path], window="1h")
        busiest = max(store.windows(), key=lambda window: window.flows).start
        graphs = store.export_windows([window.start for window in store.windows()])
    detector = make_detector("gcn", device="cpu", progress=False, epochs=60).fit(graphs)
    graph = next(graph for graph in graphs if graph.window.start == busiest)
    features = device_features(graph.devices, graph.edges)
    data = detector.prepare(graph, features=features)
    scores, _ = detector.scores_from_data(data)
    top = [data.device_ids[i] for i in scores.argsort()[::-1][:3]]
    reasons = explain_devices(detector, graph, data, features, scores, device_ids=top, model_version="gcn-test")
    return detector, graph, features, data, scores, reasons


def test_explained_features_exist(explained_capture):
    _, _, features, _, _, reasons = explained_capture
    for device_id, reason in reasons.items():
        for item in reason["features"]:
            assert item["name"] in FEATURES
            assert item["value"] == pytest.approx(natural_value(item["name"], features.at[device_id, item["name"]]), rel=1e-5)


def test_explained_neighbours_are_peers(explained_capture):
    _, graph, _, _, _, reasons = explained_capture
    edges = graph.edges
    for device_id, reason in reasons.items():
        peers = set(edges.loc[edges["src"] == device_id, "dst"]) | set(edges.loc[edges["dst"] == device_id, "src"])
        assert reason["neighbours"]
        assert {item["id"] for item in reason["neighbours"]} <= peers


def test_top_neighbour_influence_sign(explained_capture):
    detector, _, _, data, scores, reasons = explained_capture
    for device_id, reason in reasons.items():
        index = data.device_ids.index(device_id)
        top = reason["neighbours"][0]
        without = ablate_whole_window(detector, data, index, data.device_ids.index(top["id"]))
        assert scores[index] - without == pytest.approx(top["influence"], rel=1e-5, abs=1e-9)


def test_explanation_values_rounded(explained_capture):
    *_, reasons = explained_capture
    for reason in reasons.values():
        for item in reason["features"]:
            assert item["z"] == float(f"{item['z']:.6g}")
            assert item["median"] == float(f"{item['median']:.6g}")
