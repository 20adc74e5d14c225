"""Flat baselines: isolation forest and gradient-boosted trees, with and without neighbour features."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.artifacts import load_model, save_model
from ml.errors import TrainingDataError
from ml.models import GradientBoostingDetector, IsolationForestDetector, NeighbourGradientBoostingDetector
from ml.models.flat import neighbour_design_matrix
from tests.ml.builders import regular_windows, scanner_windows


def test_neighbour_matrix_by_hand():
    x = torch.tensor([[1.0, 10.0], [3.0, 30.0], [5.0, 50.0], [7.0, 70.0]])
    # 0 <-> 1, 0 <-> 2 in both directions; node 3 has no neighbours.
    edge_index = torch.tensor([[0, 1, 0, 2], [1, 0, 2, 0]])
    matrix = neighbour_design_matrix(x, edge_index)
    assert matrix[0].tolist() == [1.0, 10.0, 4.0, 40.0, 5.0, 50.0]
    assert matrix[1].tolist() == [3.0, 30.0, 1.0, 10.0, 1.0, 10.0]
    assert matrix[3].tolist() == [7.0, 70.0, 0.0, 0.0, 0.0, 0.0]


def test_iforest_outlier_scores_higher():
    graphs = regular_windows(6, outlier_window=5)
    detector = IsolationForestDetector(device="cpu", progress=False).fit(graphs[:5])
    raw_before = dict(zip(graphs[4].devices["id"], detector.raw_scores(graphs[4])))
    raw_during = dict(zip(graphs[5].devices["id"], detector.raw_scores(graphs[5])))
    assert raw_during["10.0.0.5"] > raw_before["10.0.0.5"]


def test_iforest_threshold_from_contamination():
    graphs = regular_windows(5)
    detector = IsolationForestDetector(contamination=0.1, device="cpu", progress=False).fit(graphs)
    training = detector.decision_function_batch(graphs)
    # 5 windows of 14 devices: the top round(0.1 × 70) = 7 reach the threshold.
    assert int((training >= detector.threshold_).sum()) >= 7
    assert detector.threshold_source_ == "contamination 0.1 of 70 training device-windows"


@pytest.mark.parametrize("detector_type", [GradientBoostingDetector, NeighbourGradientBoostingDetector])
def test_gbt_flags_scanners(detector_type):
    graphs = scanner_windows(5)
    detector = detector_type(device="cpu", progress=False).fit(graphs[:4])
    flagged = [device for device, hit in zip(graphs[4].devices["id"], detector.predict(graphs[4])) if hit]
    assert flagged == ["10.0.0.100", "10.0.0.101", "10.0.0.102", "10.0.0.103"]


def test_gbt_one_class_rejected():
    with pytest.raises(TrainingDataError, match="gbt needs anomalous and normal device-windows"):
        GradientBoostingDetector(device="cpu", progress=False).fit(regular_windows(2))


@pytest.mark.parametrize("kind", ["iforest", "gbt", "gbt-nbr"])
def test_flat_saved_and_loaded(kind, tmp_path):
    from ml.models import make_detector

    graphs = scanner_windows(3)
    detector = make_detector(kind, device="cpu", progress=False).fit(graphs[:2])
    info = save_model(detector, directory=tmp_path)
    loaded, _ = load_model(info.version, directory=tmp_path, device="cpu")
    assert (info.path / "estimator.joblib").is_file()
    assert np.allclose(loaded.decision_function(graphs[2]), detector.decision_function(graphs[2]))
