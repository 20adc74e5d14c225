"""Metrics with hand-computed values and explicit undefined cases."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

from ml.metrics import evaluate, metrics_table, metrics_to_dict, unavailable


def test_values_by_hand():
    labels = np.array([1, 1, 0, 0, 0, -1])
    scores = np.array([0.9, 0.4, 0.6, 0.1, 0.2, 0.99])
    result = evaluate(labels, scores, threshold=0.5, split="random")
    # Predicted anomalous: 0.9 (TP) and 0.6 (FP); 0.4 is a FN; the unknown node is ignored.
    assert result.device_windows == 5
    assert result.value("accuracy") == pytest.approx(3 / 5)
    assert result.value("precision") == pytest.approx(1 / 2)
    assert result.value("recall") == pytest.approx(1 / 2)
    assert result.value("f1") == pytest.approx(1 / 2)
    # Of the 6 anomalous/normal pairs, 5 rank the anomalous one higher.
    assert result.value("roc_auc") == pytest.approx(5 / 6)
    # Ranked: 0.9 (hit, precision 1), 0.6, 0.4 (hit, precision 2/3).
    assert result.value("pr_auc") == pytest.approx((1 + 2 / 3) / 2)


def test_only_benign_undefined():
    result = evaluate(np.array([0, 0, 0]), np.array([0.1, 0.7, 0.2]), threshold=0.5, split="temporal")
    reason = "test split has only benign device-windows"
    assert result.value("accuracy") == pytest.approx(2 / 3)
    assert result.value("precision") == 0.0
    assert result.metrics["recall"].undefined == reason
    assert result.metrics["f1"].undefined == reason
    assert result.metrics["roc_auc"].undefined == reason
    assert result.metrics["pr_auc"].undefined == reason
    assert result.value("roc_auc") is None


def test_only_anomalous_undefined():
    result = evaluate(np.array([1, 1]), np.array([0.9, 0.8]), threshold=0.5, split="random")
    assert result.value("recall") == 1.0
    assert result.metrics["roc_auc"].undefined == "test split has only anomalous device-windows"


def test_nothing_predicted_precision_undefined():
    result = evaluate(np.array([1, 0]), np.array([0.2, 0.1]), threshold=0.5, split="random")
    assert result.metrics["precision"].undefined == "no device-window of the test split was predicted anomalous"
    assert result.value("recall") == 0.0
    assert result.metrics["f1"].undefined == "no device-window of the test split was predicted anomalous"
    assert result.value("roc_auc") == 1.0


def test_no_labelled_device_windows():
    result = evaluate(np.array([-1, -1]), np.array([0.2, 0.1]), threshold=0.5, split="random")
    assert all(metric.undefined == "test split has no labelled device-windows" for metric in result.metrics.values())


def test_shape_mismatch_rejected():
    with pytest.raises(ValueError, match="pass one score per label"):
        evaluate(np.array([1, 0]), np.array([0.5]), threshold=0.5, split="random")


def test_table_shows_reasons():
    results = [
        evaluate(np.array([1, 0]), np.array([0.9, 0.1]), threshold=0.5, split="random"),
        unavailable("temporal", "temporal split impossible: 2 window(s), at least 3 are needed"),
    ]
    console = Console(width=300, record=True)
    console.print(metrics_table(results))
    text = console.export_text()
    assert "undefined: temporal split impossible" in text
    assert "1.0000" in text


def test_dict_shape():
    result = evaluate(np.array([0, 0]), np.array([0.1, 0.2]), threshold=0.5, split="temporal")
    data = metrics_to_dict([result])
    assert data["temporal"]["metrics"]["roc_auc"] == {"value": None, "undefined": "test split has only benign device-windows"}
    assert data["temporal"]["metrics"]["accuracy"] == {"value": 1.0}
