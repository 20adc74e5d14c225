"""Training of a detector on stored windows, with evaluation on a random and a temporal split.

Two models are fitted. The random-split model and its feature scaler are
fitted on every window. The supervised GCN trains on 60 % of
the labelled device-windows (drawn per class), chooses its threshold on 20 %
and is tested on the remaining 20 %. The unsupervised GAE trains on every
device-window without labels, takes its threshold from the contamination
rate and is tested on the same 20 %. This model is the one saved.

The temporal-split model is fitted only for its metrics. It trains on the
earliest 60 % of the windows and is tested on the latest windows, which it
never saw. The GCN chooses its threshold on the windows in between, which
also enter its feature scaler; the GAE does not use them. With overlapping (sliding) windows a flow near a boundary
can fall in both a training and a test window.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from rich.table import Table

from graphdb.model import WindowGraph
from graphdb.store import GraphStore
from ingest.features import device_features, device_window_labels
from ml.artifacts import ModelInfo, save_model
from ml.device import torch_threads_for
from ml.errors import TrainingDataError
from ml.metrics import SplitMetrics, evaluate, metrics_table, metrics_to_dict, unavailable
from ml.models import GraphDetector, make_detector
from ml.sampling import fit_detector
from ml.splits import WindowSplit, random_node_split, temporal_window_split

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """The saved model's version and registry entry, and the test metrics of both splits."""

    model_version: str
    kind: str
    model: ModelInfo
    metrics: dict[str, SplitMetrics] = field(default_factory=dict)
    windows: list[float] = field(default_factory=list)

    def metrics_dict(self) -> dict[str, Any]:
        return metrics_to_dict(list(self.metrics.values()))

    def table(self) -> Table:
        return metrics_table(list(self.metrics.values()), title=f"{self.model_version} test metrics")


def train(
    store: GraphStore,
    *,
    kind: str = "gcn",
    windows: Sequence[float] | None = None,
    models_dir: str | Path | None = None,
    seed: int = 0,
    epochs: int = 200,
    device: str | torch.device = "auto",
    progress: bool = True,
    label_rule: str = "originator",
    options: dict[str, Any] | None = None,
    sampling: str = "auto",
) -> TrainResult:
    """Fit a detector of ``kind`` on stored windows, evaluate it, save it and return the result.

    ``windows`` lists window starts; None takes every stored window.
    ``options`` go to the detector's constructor (e.g. ``hidden_channels``,
    ``contamination``). ``sampling`` (``auto``, ``on``, ``off``) chooses
    mini-batch training over sampled neighbourhoods, see ``ml.sampling``.
    Raises TrainingDataError when the store has no
    windows, or when a supervised model lacks labelled device-windows of both
    classes in the random split's training part.
    """
    starts = sorted(float(start) for start in windows) if windows is not None else [w.start for w in store.windows()]
    if not starts:
        raise TrainingDataError(f"no windows to train on in store {getattr(store, 'url', '')}; ingest flow files first")
    graphs = store.export_windows(starts)
    # Features are computed once per window and shared by both fits and their evaluation.
    features = [device_features(graph.devices, graph.edges) for graph in graphs]
    settings = {"epochs": epochs, "seed": seed, "label_rule": label_rule, "device": device, "progress": progress, **(options or {})}

    # Each window's edges pass messages in both directions.
    with torch_threads_for(2 * sum(len(graph.edges) for graph in graphs)):
        detector, random_metrics, split_note = _fit_random(graphs, features, kind=kind, seed=seed, settings=settings, sampling=sampling)
        temporal_split = temporal_window_split(starts)
        temporal_metrics = _fit_temporal(graphs, features, temporal_split, kind=kind, settings=settings, sampling=sampling)
    metrics = {"random": random_metrics, "temporal": temporal_metrics}

    evaluation = {
        "saved_model": "random split",
        "random": split_note,
        "temporal": (
            temporal_split
            if isinstance(temporal_split, str)
            else {
                "train_windows": temporal_split.train,
                "validation_windows": temporal_split.validation,
                "test_windows": temporal_split.test,
            }
        ),
    }
    info = save_model(detector, directory=models_dir, metrics=metrics_to_dict(list(metrics.values())), extra={"evaluation": evaluation})
    for result in metrics.values():
        logger.info("%s %s split: %s", info.version, result.split, _summary(result))
    return TrainResult(model_version=info.version, kind=kind, model=info, metrics=metrics, windows=starts)


def _fit_random(
    graphs: Sequence[WindowGraph],
    features: Sequence[pd.DataFrame],
    *,
    kind: str,
    seed: int,
    settings: dict[str, Any],
    sampling: str,
) -> tuple[GraphDetector, SplitMetrics, str]:
    labels = _labels(graphs, settings["label_rule"])
    split = random_node_split(labels, seed=seed)
    detector = make_detector(kind, **settings)
    if detector.supervised:
        fit_detector(detector, graphs, train_mask=split.train, val_mask=split.validation, features=features, sampling=sampling)
        note = f"per-class random 60/20/20 over {int((labels >= 0).sum())} labelled device-windows, seed {seed}"
    else:
        fit_detector(detector, graphs, features=features, sampling=sampling)
        note = (
            f"trained on all {len(labels)} device-windows without labels; "
            f"tested on a per-class random 20 % of the labelled ones, seed {seed}"
        )
    scores = detector.decision_function_batch(graphs, features=features)
    metrics = evaluate(labels[split.test], scores[split.test], threshold=detector.threshold_, split="random", windows=len(graphs))
    return detector, metrics, note


def _fit_temporal(
    graphs: Sequence[WindowGraph],
    features: Sequence[pd.DataFrame],
    split: WindowSplit | str,
    *,
    kind: str,
    settings: dict[str, Any],
    sampling: str,
) -> SplitMetrics:
    if isinstance(split, str):
        return unavailable("temporal", split)

    by_start = {float(graph.window.start): (graph, frame) for graph, frame in zip(graphs, features)}
    train = [by_start[start] for start in split.train]
    validation = [by_start[start] for start in split.validation]
    test = [by_start[start] for start in split.test]
    fitted = train + validation
    sizes = [len(graph.devices) for graph, _ in fitted]
    in_train = np.repeat([True] * len(train) + [False] * len(validation), sizes).astype(bool)

    detector = make_detector(kind, **settings)
    try:
        if detector.supervised:
            fit_detector(
                detector,
                [graph for graph, _ in fitted],
                train_mask=in_train,
                val_mask=~in_train,
                features=[frame for _, frame in fitted],
                sampling=sampling,
            )
        else:
            fit_detector(detector, [graph for graph, _ in train], features=[frame for _, frame in train], sampling=sampling)
    except TrainingDataError as error:
        logger.warning("temporal split not evaluated: %s", error)
        return unavailable("temporal", f"temporal training windows unusable: {error}")

    test_graphs = [graph for graph, _ in test]
    labels = _labels(test_graphs, settings["label_rule"])
    scores = detector.decision_function_batch(test_graphs, features=[frame for _, frame in test])
    return evaluate(labels, scores, threshold=detector.threshold_, split="temporal", windows=len(test_graphs))


def _labels(graphs: Sequence[WindowGraph], rule: str) -> np.ndarray:
    parts = [device_window_labels(graph.devices, graph.edges, rule=rule).to_numpy() for graph in graphs]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _summary(result: SplitMetrics) -> str:
    values = []
    for name, metric in result.metrics.items():
        values.append(f"{name}={metric.value:.4f}" if metric.value is not None else f"{name}=undefined")
    return ", ".join(values)
