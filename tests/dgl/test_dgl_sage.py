"""The DGL GraphSAGE detector: training, scoring, options and device choice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ingest.features import device_window_labels
from ml.errors import TrainingDataError
from ml.models import DGLSAGEDetector, detector_class, make_detector
from ml.models.dgl_sage import DGLSAGE, dgl_supports_cuda
from tests.dgl.support import requires_dgl
from tests.ml.builders import regular_windows, scanner_windows

pytestmark = [pytest.mark.dgl, requires_dgl]

SCANNERS = {"10.0.0.100", "10.0.0.101", "10.0.0.102", "10.0.0.103"}


def fitted(**options) -> DGLSAGEDetector:
    detector = DGLSAGEDetector(epochs=100, progress=False, device="cpu", **options)
    return detector.fit(scanner_windows(2))


def test_registered_kind():
    assert detector_class("dgl-sage") is DGLSAGEDetector


def test_scores_in_unit_interval():
    detector = fitted()
    scores = detector.decision_function(scanner_windows(3, seed=5)[2])
    assert scores.min() >= 0.0
    assert scores.max() <= 1.0


def test_separates_unseen_window():
    detector = fitted()
    window = scanner_windows(3, seed=5)[2]
    scores = dict(zip(window.devices["id"], detector.decision_function(window)))
    scanner_scores = [score for device, score in scores.items() if device in SCANNERS]
    other_scores = [score for device, score in scores.items() if device not in SCANNERS]
    assert min(scanner_scores) > max(other_scores)


def test_predict_flags_scanners():
    detector = fitted()
    window = scanner_windows(3, seed=5)[2]
    flagged = set(window.devices["id"][detector.predict(window)])
    assert flagged == SCANNERS


def test_threshold_from_validation_nodes():
    windows = scanner_windows(3)
    labels = np.concatenate([device_window_labels(w.devices, w.edges).to_numpy() for w in windows])
    sizes = [len(w.devices) for w in windows]
    validation = np.repeat([False, False, True], sizes)
    detector = DGLSAGEDetector(epochs=100, progress=False, device="cpu")
    detector.fit(windows, train_mask=~validation, val_mask=validation)
    assert (labels[validation] == 1).sum() == 4
    assert detector.threshold_source_.startswith("maximum F1 1.0000")


def test_same_seed_same_scores():
    window = scanner_windows(3, seed=5)[2]
    first = fitted(seed=3).decision_function(window)
    second = fitted(seed=3).decision_function(window)
    assert np.array_equal(first, second)


def test_aggregator_pool_trains():
    detector = fitted(aggregator="pool")
    assert detector.get_params()["aggregator"] == "pool"
    assert isinstance(detector.module_, DGLSAGE)


def test_invalid_aggregator():
    with pytest.raises(ValueError, match="invalid aggregator 'max'"):
        make_detector("dgl-sage", aggregator="max")


def test_unlabelled_windows_rejected():
    detector = DGLSAGEDetector(epochs=5, progress=False, device="cpu")
    with pytest.raises(TrainingDataError, match="0 anomalous and 0 normal"):
        detector.fit(regular_windows(2))


def test_auto_device_usable():
    detector = DGLSAGEDetector(epochs=5, progress=False)
    cuda_usable = torch.cuda.is_available() and dgl_supports_cuda()
    assert detector.device.type == ("cuda" if cuda_usable else "cpu")
