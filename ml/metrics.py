"""Evaluation metrics for device-window anomaly scores, with undefined values made explicit.

A metric that a split cannot define (ROC-AUC on a split with one class,
precision when nothing was predicted anomalous) is reported as undefined with
its reason, never as a number such as 0.0 or 1.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.table import Table
from sklearn.metrics import average_precision_score, roc_auc_score

METRIC_NAMES: tuple[str, ...] = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc")
_TITLES = {
    "accuracy": "accuracy",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "roc_auc": "ROC-AUC",
    "pr_auc": "PR-AUC (average precision)",
}


@dataclass(frozen=True)
class Metric:
    """One metric's value, or None with the reason it is undefined."""

    name: str
    value: float | None
    undefined: str | None = None


@dataclass
class SplitMetrics:
    """Metrics of one evaluation subset (normally ``test``) of one split (``random`` or ``temporal``)."""

    split: str
    subset: str
    device_windows: int
    anomalous: int
    normal: int
    threshold: float | None
    metrics: dict[str, Metric] = field(default_factory=dict)
    windows: int | None = None
    note: str | None = None

    def value(self, name: str) -> float | None:
        return self.metrics[name].value

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "subset": self.subset,
            "windows": self.windows,
            "device_windows": self.device_windows,
            "anomalous": self.anomalous,
            "normal": self.normal,
            "threshold": self.threshold,
            "note": self.note,
            "metrics": {
                name: ({"value": metric.value} if metric.undefined is None else {"value": None, "undefined": metric.undefined})
                for name, metric in self.metrics.items()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SplitMetrics:
        metrics = {
            name: Metric(name, entry.get("value"), entry.get("undefined")) for name, entry in data.get("metrics", {}).items()
        }
        return cls(
            split=data["split"],
            subset=data["subset"],
            device_windows=data["device_windows"],
            anomalous=data["anomalous"],
            normal=data["normal"],
            threshold=data.get("threshold"),
            metrics=metrics,
            windows=data.get("windows"),
            note=data.get("note"),
        )


def evaluate(
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    threshold: float,
    split: str,
    subset: str = "test",
    windows: int | None = None,
) -> SplitMetrics:
    """Compute every metric of ``METRIC_NAMES`` on the labelled device-windows.

    ``labels`` holds 1 (anomalous), 0 (normal) or -1 (unknown, ignored);
    a device-window is predicted anomalous when its score is at least
    ``threshold``. ROC-AUC and PR-AUC use the scores themselves.
    """
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape:
        raise ValueError(f"labels of shape {labels.shape} and scores of shape {scores.shape} differ; pass one score per label")

    known = labels >= 0
    y = labels[known].astype(np.int64)
    s = scores[known]
    anomalous = int((y == 1).sum())
    normal = int((y == 0).sum())
    result = SplitMetrics(
        split=split, subset=subset, device_windows=len(y), anomalous=anomalous, normal=normal, threshold=threshold, windows=windows
    )
    if len(y) == 0:
        reason = f"{subset} split has no labelled device-windows"
        result.metrics = {name: Metric(name, None, reason) for name in METRIC_NAMES}
        return result

    predicted = s >= threshold
    tp = int((predicted & (y == 1)).sum())
    fp = int((predicted & (y == 0)).sum())
    fn = int((~predicted & (y == 1)).sum())
    one_class = None
    if anomalous == 0:
        one_class = f"{subset} split has only benign device-windows"
    elif normal == 0:
        one_class = f"{subset} split has only anomalous device-windows"

    metrics = {"accuracy": Metric("accuracy", float((predicted == (y == 1)).mean()))}
    if tp + fp == 0:
        metrics["precision"] = Metric("precision", None, f"no device-window of the {subset} split was predicted anomalous")
    else:
        metrics["precision"] = Metric("precision", tp / (tp + fp))
    if anomalous == 0:
        metrics["recall"] = Metric("recall", None, one_class)
    else:
        metrics["recall"] = Metric("recall", tp / anomalous)
    # F1 is the harmonic mean of precision and recall, so it needs both.
    missing = metrics["precision"].undefined or metrics["recall"].undefined
    if missing:
        metrics["f1"] = Metric("f1", None, missing)
    else:
        metrics["f1"] = Metric("f1", 2 * tp / (2 * tp + fp + fn))
    if one_class:
        metrics["roc_auc"] = Metric("roc_auc", None, one_class)
        metrics["pr_auc"] = Metric("pr_auc", None, one_class)
    else:
        metrics["roc_auc"] = Metric("roc_auc", float(roc_auc_score(y, s)))
        metrics["pr_auc"] = Metric("pr_auc", float(average_precision_score(y, s)))
    result.metrics = metrics
    return result


def unavailable(split: str, reason: str, *, subset: str = "test") -> SplitMetrics:
    """Return a split whose every metric is undefined for one reason, e.g. too few windows."""
    return SplitMetrics(
        split=split,
        subset=subset,
        device_windows=0,
        anomalous=0,
        normal=0,
        threshold=None,
        metrics={name: Metric(name, None, reason) for name in METRIC_NAMES},
        note=reason,
    )


def metrics_table(results: Sequence[SplitMetrics], *, title: str | None = None) -> Table:
    """Render splits side by side: one row per metric, one column per split."""
    table = Table(title=title)
    table.add_column("metric")
    for result in results:
        table.add_column(f"{result.split} ({result.subset})", overflow="fold")
    table.add_row("windows", *[("-" if r.windows is None else str(r.windows)) for r in results])
    table.add_row("device-windows (anomalous/normal)", *[f"{r.device_windows} ({r.anomalous}/{r.normal})" for r in results])
    table.add_row("threshold", *[("-" if r.threshold is None else f"{r.threshold:.4f}") for r in results])
    for name in METRIC_NAMES:
        cells = []
        for result in results:
            metric = result.metrics.get(name)
            if metric is None:
                cells.append("-")
            elif metric.value is None:
                cells.append(f"undefined: {metric.undefined}")
            else:
                cells.append(f"{metric.value:.4f}")
        table.add_row(_TITLES[name], *cells)
    return table


def metrics_to_dict(results: Sequence[SplitMetrics]) -> dict[str, Any]:
    """Return splits keyed by name, in the JSON shape saved with a model."""
    return {result.split: result.to_dict() for result in results}
