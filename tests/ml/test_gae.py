"""The GCN autoencoder: outlier ranking, calibration and thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from ml.models import GAEDetector
from ml.models.gae import REFERENCE_SIZE, reference_quantiles
from tests.ml.builders import regular_windows

OUTLIER = "10.0.0.5"


@pytest.fixture(scope="module")
def fitted():
    """A GAE trained on 8 clean windows, and a later window where one device scans 100 hosts."""
    graphs = regular_windows(9, outlier_window=8, outlier=OUTLIER)
    return GAEDetector(device="cpu", progress=False).fit(graphs[:8]), graphs[:8], graphs[8]


def test_outlier_ranked_first(fitted):
    detector, _, scanned = fitted
    raw = detector.raw_scores(scanned)
    assert scanned.devices["id"].iloc[int(np.argmax(raw))] == OUTLIER


def test_outlier_score_saturates(fitted):
    detector, _, scanned = fitted
    scores = detector.decision_function(scanned)
    assert scores[scanned.devices["id"].tolist().index(OUTLIER)] == 1.0


def test_scores_in_unit_interval(fitted):
    detector, training, scanned = fitted
    scores = np.concatenate([detector.decision_function(graph) for graph in [*training, scanned]])
    assert scores.min() >= 0.0
    assert scores.max() <= 1.0


def test_contamination_threshold(fitted):
    detector, training, _ = fitted
    flagged = sum(int(detector.predict(graph).sum()) for graph in training)
    device_windows = sum(len(graph.devices) for graph in training)
    # 8 windows of 14 devices: round(0.05 x 112) = 6 reach the 6th highest training score.
    assert device_windows == 112
    assert flagged == 6


def test_alert_budget_threshold():
    graphs = regular_windows(4, outlier_window=1, outlier=OUTLIER)
    detector = GAEDetector(device="cpu", progress=False, epochs=50, alert_budget=1).fit(graphs)
    flagged = sum(int(detector.predict(graph).sum()) for graph in graphs)
    assert flagged == 4
    assert detector.threshold_source_ == "alert budget 1 per window over 4 training windows"


def test_contamination_range_checked():
    with pytest.raises(ValueError, match="invalid contamination 0.7"):
        GAEDetector(contamination=0.7)


def test_reference_quantiles_bounded():
    errors = np.arange(5000, dtype=float)
    reference = reference_quantiles(errors)
    assert len(reference) == REFERENCE_SIZE
    assert reference[0] == 0.0
    assert reference[-1] == 4999.0


def test_calibration_is_empirical_cdf(fitted):
    detector, _, _ = fitted
    reference = detector.reference_errors_
    scores = detector._calibrate(np.array([reference[0] - 1.0, reference[-1], reference[-1] + 1.0]))
    assert scores.tolist() == [0.0, 1.0, 1.0]
