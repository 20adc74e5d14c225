"""Edge scorers: the E-GraphSAGE-style network and gradient-boosted trees on edges."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.errors import TrainingDataError
from ml.models import EdgeDetector, EdgeGradientBoostingDetector
from ml.models.edge import fit_on_edges
from ml.scoring import score_windows
from ml.training import train
from tests.ml.builders import regular_windows, scanner_flows, scanner_windows


@pytest.fixture(scope="module", params=[EdgeDetector, EdgeGradientBoostingDetector], ids=["edge", "gbt-edge"])
def fitted(request):
    graphs = scanner_windows(5)
    return request.param(device="cpu", progress=False, epochs=100).fit(graphs[:4]), graphs


def test_edge_scores_separate_scans(fitted):
    detector, graphs = fitted
    data = detector.prepare(graphs[4])
    scores = detector.edge_scores_from_data(data)
    labels = data.edge_label[~data.edge_reverse].numpy()
    assert len(scores) == len(graphs[4].edges)
    assert scores[labels == 1].min() > scores[labels == 0].max()


def test_device_score_is_max_out_edge(fitted):
    detector, graphs = fitted
    data = detector.prepare(graphs[4])
    edge_scores = detector.edge_scores_from_data(data)
    device_scores = detector.scores_from_data(data)[0]
    src = data.edge_index[0, ~data.edge_reverse].numpy()
    scanner = data.device_ids.index("10.0.0.100")
    responder = data.device_ids.index("10.0.0.1")
    assert device_scores[scanner] == pytest.approx(edge_scores[src == scanner].max())
    assert device_scores[responder] == 0.0


def test_edge_masks_choose_training_edges():
    graphs = scanner_windows(2)
    detector = EdgeGradientBoostingDetector(device="cpu", progress=False)
    forward = sum(len(graph.edges) for graph in graphs)
    with pytest.raises(ValueError, match=f"expected one per forward edge, {forward}"):
        fit_on_edges(detector, graphs, edge_train_mask=np.ones(3, dtype=bool), edge_val_mask=np.ones(3, dtype=bool))


def test_edge_one_class_rejected():
    with pytest.raises(TrainingDataError, match="needs malicious and benign edges"):
        EdgeDetector(device="cpu", progress=False, epochs=1).fit(regular_windows(2))


def test_scoring_writes_edge_scores(make_store, tmp_path):
    torch.manual_seed(0)
    store = make_store(scanner_flows(4))
    result = train(store, kind="edge", models_dir=tmp_path, epochs=60, device="cpu", progress=False)
    [start] = [window.start for window in store.windows()][-1:]
    score_windows(store, [start], model=result.model_version, models_dir=tmp_path, device="cpu", progress=False)

    subgraph = store.neighborhood("10.0.0.100", hops=1, since=start, until=start)
    scan_edges = [item for item in subgraph.edges if item.src == "10.0.0.100"]
    assert len(scan_edges) == 20
    assert all(item.score_model_version == result.model_version for item in scan_edges)
    assert min(item.score for item in scan_edges) > 0.5

    explanation = store.explanation("10.0.0.100", start)
    top_edge = explanation.reasons["edges"][0]
    assert top_edge["src"] == "10.0.0.100"
    assert top_edge["score"] == max(item.score for item in scan_edges)
