"""The reference GCN on a separable toy network."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.features import device_window_labels
from ml.errors import NotFittedError, TrainingDataError
from ml.metrics import evaluate
from ml.models import GCNDetector
from ml.models.gcn import select_threshold
from ml.splits import random_node_split
from tests.ml.builders import regular_windows, scanner_windows


@pytest.fixture(scope="module")
def fitted():
    graphs = scanner_windows(10)
    labels = np.concatenate([device_window_labels(g.devices, g.edges).to_numpy() for g in graphs])
    split = random_node_split(labels, seed=0)
    detector = GCNDetector(device="cpu", progress=False).fit(graphs, train_mask=split.train, val_mask=split.validation)
    return detector, graphs, labels, split


def test_learns_separable_graph(fitted):
    detector, graphs, labels, split = fitted
    scores = detector.decision_function_batch(graphs)
    result = evaluate(labels[split.test], scores[split.test], threshold=detector.threshold_, split="random")
    assert result.anomalous == 8
    assert result.value("f1") >= 0.9


def test_scores_in_unit_interval(fitted):
    detector, graphs, _, _ = fitted
    scores = detector.decision_function(graphs[0])
    assert scores.min() >= 0.0
    assert scores.max() <= 1.0


def test_predict_flags_scanners(fitted):
    detector, graphs, _, _ = fitted
    flagged = [device for device, hit in zip(graphs[0].devices["id"], detector.predict(graphs[0])) if hit]
    assert flagged == ["10.0.0.100", "10.0.0.101", "10.0.0.102", "10.0.0.103"]


def test_threshold_from_validation(fitted):
    detector, _, _, _ = fitted
    assert detector.threshold_source_.startswith("maximum F1")


def test_same_seed_same_scores(fitted):
    detector, graphs, _, split = fitted
    again = GCNDetector(device="cpu", progress=False).fit(graphs, train_mask=split.train, val_mask=split.validation)
    assert np.allclose(again.decision_function(graphs[3]), detector.decision_function(graphs[3]))


def test_one_class_rejected():
    with pytest.raises(TrainingDataError, match="0 anomalous and 0 normal"):
        GCNDetector(device="cpu", progress=False, epochs=1).fit(regular_windows(2))


def test_unfitted_rejected():
    with pytest.raises(NotFittedError, match="call fit"):
        GCNDetector(device="cpu", progress=False).decision_function(regular_windows(1)[0])


def test_select_threshold_midpoint():
    threshold, source = select_threshold(np.array([1, 1, 0, 0]), np.array([0.9, 0.7, 0.5, 0.1]))
    assert threshold == pytest.approx(0.6)
    assert source == "maximum F1 1.0000 on 4 validation device-windows"


def test_select_threshold_one_class():
    threshold, source = select_threshold(np.array([0, 0]), np.array([0.9, 0.1]))
    assert threshold == 0.5
    assert source == "default 0.5: the validation nodes lack one class"
