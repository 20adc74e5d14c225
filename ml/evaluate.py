"""Evaluation of detector kinds on labelled windows, at device and edge level.

Three splits:

- ``temporal``: train on the earliest 60 % of a network's windows, choose
  thresholds on the next 20 % and test on the latest windows, never seen in
  training. Unsupervised kinds train on the first 60 % only.
- ``random``: the reference split, per-class random 60/20/20 of the labelled
  device-windows (and, for the edge kinds, of the labelled edges), with the
  model fitted on every window. Device-windows of one window share edges, so
  this split leaks and flatters every model. It is here for comparison with
  published figures.
- ``transfer``: train on every window of some networks, with thresholds
  chosen on a per-class random 20 % of their labelled device-windows, and test
  on every window of another network.

Device-level metrics score device-windows against ``device_window_labels``.
Edge-level metrics score forward edges against ``edge_labels``: the edge
kinds score edges themselves, and every other kind gives an edge the score of
the device that originated it (either endpoint's maximum under label rule
``any``). Besides ``ml.metrics.METRIC_NAMES``, each level reports the
precision at the highest recall whose false-positive rate is at most 1 %.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from graphdb.model import WindowGraph
from ingest.features import device_window_labels
from ml.errors import ModelError
from ml.evaluate_data import Dataset
from ml.export import build_data
from ml.metrics import METRIC_NAMES, Metric, SplitMetrics, evaluate, unavailable
from ml.models import GraphDetector, detector_class, make_detector
from ml.models.edge import EdgeScorer, fit_on_edges
from ml.splits import random_node_split, temporal_window_split

logger = logging.getLogger(__name__)

PRECISION_AT_FPR = "precision_at_1pct_fpr"
MAX_FPR = 0.01
EVALUATION_METRICS: tuple[str, ...] = METRIC_NAMES + (PRECISION_AT_FPR,)
LEVELS = ("device", "edge")
SPLITS = ("temporal", "random")

DEFAULT_MODELS: tuple[str, ...] = (
    "gcn",
    "gae",
    "sage",
    "gat",
    "edge",
    "dominant",
    "cola",
    "iforest",
    "gbt",
    "gbt-nbr",
    "gbt-edge",
    "baseline",
    "baseline-history",
    "baseline-population",
)
GRAPH_KINDS = frozenset({"gcn", "gae", "sage", "gat", "edge", "dominant", "cola"})
WINDOW_SUFFIX = "@window"
_ALIASES = {"baseline-history": ("baseline", {"component": "history"}), "baseline-population": ("baseline", {"component": "population"})}


@dataclass(frozen=True)
class ModelSpec:
    """A model to evaluate: display name, detector kind, constructor options and feature scaling."""

    name: str
    kind: str
    options: tuple[tuple[str, Any], ...] = ()
    feature_scaling: str = "global"

    @property
    def graph(self) -> bool:
        """True for the graph neural networks, False for the flat baselines."""
        return self.kind in GRAPH_KINDS


def model_spec(name: str) -> ModelSpec:
    """Parse a model name: a kind, ``baseline-history``/``baseline-population``, optionally ending in ``@window``.

    ``@window`` selects per-window feature scaling (see ``ml.window_scaling``).
    """
    base, scaling = (name[: -len(WINDOW_SUFFIX)], "window") if name.endswith(WINDOW_SUFFIX) else (name, "global")
    kind, options = _ALIASES.get(base, (base, {}))
    detector_class(kind)  # raises ValueError naming the known kinds
    return ModelSpec(name=name, kind=kind, options=tuple(sorted(options.items())), feature_scaling=scaling)


@dataclass
class EvaluationSettings:
    """Training options shared by every model of an evaluation."""

    epochs: int = 200
    seed: int = 0
    label_rule: str = "originator"
    device: str = "cpu"


@dataclass
class ModelResult:
    """One model's metrics on one split of one network, at device and edge level."""

    model: str
    kind: str
    graph: bool
    split: str
    dataset: str
    trained_on: str
    device: SplitMetrics
    edge: SplitMetrics
    train_seconds: float | None = None
    score_seconds: float | None = None
    skipped: str | None = None
    # Labels and scores of the evaluated device-windows and edges, for PR curves.
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    def level(self, name: str) -> SplitMetrics:
        return self.device if name == "device" else self.edge

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "kind": self.kind,
            "graph_model": self.graph,
            "split": self.split,
            "dataset": self.dataset,
            "trained_on": self.trained_on,
            "train_seconds": self.train_seconds,
            "score_seconds": self.score_seconds,
            "skipped": self.skipped,
            "device": self.device.to_dict(),
            "edge": self.edge.to_dict(),
        }


# -- metrics -------------------------------------------------------------------


def precision_at_fpr(labels: np.ndarray, scores: np.ndarray, *, max_fpr: float = MAX_FPR, subset: str = "test") -> Metric:
    """Return the precision at the lowest score threshold whose false-positive rate is at most ``max_fpr``."""
    known = np.asarray(labels) >= 0
    y = np.asarray(labels)[known]
    s = np.asarray(scores, dtype=np.float64)[known]
    positives, negatives = int((y == 1).sum()), int((y == 0).sum())
    if positives == 0 or negatives == 0:
        kind = "anomalous" if positives else "benign"
        return Metric(PRECISION_AT_FPR, None, f"{subset} split has only {kind} items" if len(y) else f"{subset} split has no labelled items")
    fpr, tpr, _ = roc_curve(y, s)
    allowed = np.flatnonzero(fpr <= max_fpr)
    best = allowed[np.argmax(tpr[allowed])]
    tp, fp = tpr[best] * positives, fpr[best] * negatives
    if tp == 0:
        return Metric(PRECISION_AT_FPR, None, f"no threshold flags an anomalous item at a false-positive rate of at most {max_fpr:.0%}")
    return Metric(PRECISION_AT_FPR, float(tp / (tp + fp)))


def level_metrics(labels: np.ndarray, scores: np.ndarray, *, threshold: float | None, split: str, windows: int) -> SplitMetrics:
    """Return ``ml.metrics.evaluate`` plus the precision at 1 % false-positive rate."""
    result = evaluate(labels, scores, threshold=1.0 if threshold is None else threshold, split=split, windows=windows)
    result.metrics[PRECISION_AT_FPR] = precision_at_fpr(labels, scores)
    return result


def skipped_result(spec: ModelSpec, *, split: str, dataset: str, trained_on: str, reason: str) -> ModelResult:
    device = unavailable(split, reason)
    device.metrics[PRECISION_AT_FPR] = Metric(PRECISION_AT_FPR, None, reason)
    edge = unavailable(split, reason)
    edge.metrics[PRECISION_AT_FPR] = Metric(PRECISION_AT_FPR, None, reason)
    return ModelResult(
        model=spec.name, kind=spec.kind, graph=spec.graph, split=split, dataset=dataset, trained_on=trained_on,
        device=device, edge=edge, skipped=reason,
    )  # fmt: skip


# -- labels and scores -------------------------------------------------------------


@dataclass
class ScoredWindow:
    """A prepared window with its device labels and scores and its forward edges' labels and scores."""

    start: float
    device_labels: np.ndarray
    device_scores: np.ndarray
    edge_labels: np.ndarray
    edge_scores: np.ndarray


def forward_edge_labels(graphs: Sequence[WindowGraph], features: Sequence[pd.DataFrame], *, label_rule: str) -> np.ndarray:
    """Return the labels of the forward edges of ``graphs``, concatenated in the export's order."""
    parts = []
    for graph, frame in zip(graphs, features):
        labels = device_window_labels(graph.devices, graph.edges, rule=label_rule)
        data = build_data(graph, features=frame, labels=labels)
        parts.append(data.edge_label[~data.edge_reverse].numpy())
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def node_labels(graphs: Sequence[WindowGraph], *, label_rule: str) -> np.ndarray:
    parts = [device_window_labels(graph.devices, graph.edges, rule=label_rule).to_numpy() for graph in graphs]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def score_graphs(detector: GraphDetector, graphs: Sequence[WindowGraph], features: Sequence[pd.DataFrame]) -> list[ScoredWindow]:
    """Score windows oldest first, letting the detector remember each, and return them in the given order."""
    order = sorted(range(len(graphs)), key=lambda i: float(graphs[i].window.start))
    scored: dict[int, ScoredWindow] = {}
    for i in order:
        data = detector.prepare(graphs[i], features=features[i])
        device_scores = detector.scores_from_data(data)[0]
        forward = ~data.edge_reverse
        edge_scores = detector.edge_scores_from_data(data)
        if edge_scores is None:
            edge_scores = originator_scores(device_scores, data.edge_index[:, forward].numpy(), label_rule=detector.label_rule)
        scored[i] = ScoredWindow(
            start=float(graphs[i].window.start),
            device_labels=data.y.numpy(),
            device_scores=device_scores,
            edge_labels=data.edge_label[forward].numpy(),
            edge_scores=edge_scores,
        )
        detector.observe(data)
    return [scored[i] for i in range(len(graphs))]


def originator_scores(device_scores: np.ndarray, edge_index: np.ndarray, *, label_rule: str) -> np.ndarray:
    """Give each edge its originator's score, or the higher endpoint score under label rule ``any``."""
    if edge_index.shape[1] == 0:
        return np.zeros(0)
    src, dst = edge_index
    if label_rule == "any":
        return np.maximum(device_scores[src], device_scores[dst])
    return device_scores[src]


def _concat(windows: Sequence[ScoredWindow], name: str) -> np.ndarray:
    parts = [getattr(window, name) for window in windows]
    return np.concatenate(parts) if parts else np.zeros(0)


# -- fitting -----------------------------------------------------------------------


def _make(spec: ModelSpec, settings: EvaluationSettings) -> GraphDetector:
    return make_detector(
        spec.kind,
        feature_scaling=spec.feature_scaling,
        epochs=settings.epochs,
        seed=settings.seed,
        label_rule=settings.label_rule,
        device=settings.device,
        progress=False,
        **dict(spec.options),
    )


def _fit(
    detector: GraphDetector,
    graphs: Sequence[WindowGraph],
    features: Sequence[pd.DataFrame],
    *,
    train_mask: np.ndarray | None,
    val_mask: np.ndarray | None,
    edge_train_mask: np.ndarray | None = None,
    edge_val_mask: np.ndarray | None = None,
) -> float:
    began = time.perf_counter()
    if not detector.supervised:
        detector.fit(graphs, features=features, train_mask=train_mask)
    elif isinstance(detector, EdgeScorer) and edge_train_mask is not None:
        fit_on_edges(detector, graphs, features=features, edge_train_mask=edge_train_mask, edge_val_mask=edge_val_mask)
    else:
        detector.fit(graphs, features=features, train_mask=train_mask, val_mask=val_mask)
    return time.perf_counter() - began


def _run(
    spec: ModelSpec,
    settings: EvaluationSettings,
    *,
    split: str,
    dataset: str,
    trained_on: str,
    fit: Callable[[ModelSpec], tuple[GraphDetector, float]],
    score: Callable[[GraphDetector], tuple[list[ScoredWindow], np.ndarray | None, np.ndarray | None, int]],
) -> ModelResult:
    """Fit and score one model, turning errors of the model or its data into a skipped result with the reason.

    ``fit`` returns the fitted detector and its fit time. ``score`` returns the
    scored windows, optional masks of the device-windows and edges to evaluate,
    and the number of windows evaluated.
    """
    try:
        detector, train_seconds = fit(spec)
        began = time.perf_counter()
        windows, device_keep, edge_keep, count = score(detector)
        score_seconds = time.perf_counter() - began
    except (ModelError, ValueError) as error:
        logger.warning("%s on %s (%s split) skipped: %s", spec.name, dataset, split, error)
        return skipped_result(spec, split=split, dataset=dataset, trained_on=trained_on, reason=str(error))

    result = ModelResult(
        model=spec.name, kind=spec.kind, graph=spec.graph, split=split, dataset=dataset, trained_on=trained_on,
        device=unavailable(split, "not computed"), edge=unavailable(split, "not computed"),
        train_seconds=train_seconds, score_seconds=score_seconds,
    )  # fmt: skip
    for level, keep in (("device", device_keep), ("edge", edge_keep)):
        labels = _concat(windows, f"{level}_labels")
        scores = _concat(windows, f"{level}_scores")
        if keep is not None:
            labels, scores = labels[keep], scores[keep]
        metrics = level_metrics(labels, scores, threshold=detector.threshold_, split=split, windows=count)
        setattr(result, level, metrics)
        result.curves[level] = (labels, scores)
    logger.info("%s on %s (%s split): device PR-AUC %s, edge PR-AUC %s", spec.name, dataset, split,
                result.device.value("pr_auc"), result.edge.value("pr_auc"))  # fmt: skip
    return result


# -- splits --------------------------------------------------------------------------


def evaluate_temporal(dataset: Dataset, specs: Sequence[ModelSpec], settings: EvaluationSettings) -> list[ModelResult]:
    """Evaluate every model on the temporal split of one network."""
    split = temporal_window_split(dataset.starts)
    if isinstance(split, str):
        return [skipped_result(spec, split="temporal", dataset=dataset.name, trained_on=dataset.name, reason=split) for spec in specs]
    by_start = {start: i for i, start in enumerate(dataset.starts)}
    train = [by_start[start] for start in split.train]
    validation = [by_start[start] for start in split.validation]
    test = [by_start[start] for start in split.test]
    graphs, features = dataset.graphs, dataset.features
    fitted = train + validation
    sizes = [len(graphs[i].devices) for i in fitted]
    in_train = np.repeat([True] * len(train) + [False] * len(validation), sizes).astype(bool)

    def fit(spec: ModelSpec) -> tuple[GraphDetector, float]:
        detector = _make(spec, settings)
        if detector.supervised:
            chosen = [graphs[i] for i in fitted], [features[i] for i in fitted]
            return detector, _fit(detector, *chosen, train_mask=in_train, val_mask=~in_train)
        return detector, _fit(detector, [graphs[i] for i in train], [features[i] for i in train], train_mask=None, val_mask=None)

    def score(detector: GraphDetector) -> tuple[list[ScoredWindow], None, None, int]:
        # Validation windows are scored too, so that history-based detectors have seen them, but only test windows count.
        windows = score_graphs(detector, [graphs[i] for i in validation + test], [features[i] for i in validation + test])
        return windows[len(validation) :], None, None, len(test)

    return [_run(spec, settings, split="temporal", dataset=dataset.name, trained_on=dataset.name, fit=fit, score=score) for spec in specs]


def evaluate_random(dataset: Dataset, specs: Sequence[ModelSpec], settings: EvaluationSettings) -> list[ModelResult]:
    """Evaluate every model on the per-class random 60/20/20 split of device-windows and of edges."""
    graphs, features = dataset.graphs, dataset.features
    nodes = random_node_split(node_labels(graphs, label_rule=settings.label_rule), seed=settings.seed)
    edges = random_node_split(forward_edge_labels(graphs, features, label_rule=settings.label_rule), seed=settings.seed)

    def fit(spec: ModelSpec) -> tuple[GraphDetector, float]:
        detector = _make(spec, settings)
        if not detector.supervised:
            return detector, _fit(detector, graphs, features, train_mask=None, val_mask=None)
        seconds = _fit(
            detector, graphs, features, train_mask=nodes.train, val_mask=nodes.validation,
            edge_train_mask=edges.train, edge_val_mask=edges.validation,
        )  # fmt: skip
        return detector, seconds

    def score(detector: GraphDetector) -> tuple[list[ScoredWindow], np.ndarray, np.ndarray, int]:
        return score_graphs(detector, graphs, features), nodes.test, edges.test, len(graphs)

    return [_run(spec, settings, split="random", dataset=dataset.name, trained_on=dataset.name, fit=fit, score=score) for spec in specs]


def fit_transfer_model(spec: ModelSpec, train: Sequence[Dataset], settings: EvaluationSettings) -> tuple[GraphDetector, float]:
    """Fit a model on every window of ``train`` as the transfer split does, and return it with its fit time."""
    graphs = [graph for dataset in train for graph in dataset.graphs]
    features = [frame for dataset in train for frame in dataset.features]
    detector = _make(spec, settings)
    if not detector.supervised:
        return detector, _fit(detector, graphs, features, train_mask=None, val_mask=None)
    nodes = random_node_split(node_labels(graphs, label_rule=settings.label_rule), seed=settings.seed)
    edges = random_node_split(forward_edge_labels(graphs, features, label_rule=settings.label_rule), seed=settings.seed)
    # Per-class random 80/20: the reference split's training and test parts train, its validation part sets the threshold.
    seconds = _fit(
        detector, graphs, features, train_mask=nodes.train | nodes.test, val_mask=nodes.validation,
        edge_train_mask=edges.train | edges.test, edge_val_mask=edges.validation,
    )  # fmt: skip
    return detector, seconds


def evaluate_transfer(
    train: Sequence[Dataset], test: Dataset, specs: Sequence[ModelSpec], settings: EvaluationSettings
) -> list[ModelResult]:
    """Train on every window of ``train`` and test on every window of ``test``, another network."""
    trained_on = "+".join(dataset.name for dataset in train)

    def fit(spec: ModelSpec) -> tuple[GraphDetector, float]:
        return fit_transfer_model(spec, train, settings)

    def score(detector: GraphDetector) -> tuple[list[ScoredWindow], None, None, int]:
        detector.forget()
        return score_graphs(detector, test.graphs, test.features), None, None, len(test.graphs)

    return [_run(spec, settings, split="transfer", dataset=test.name, trained_on=trained_on, fit=fit, score=score) for spec in specs]


def evaluate_dataset(
    dataset: Dataset, specs: Sequence[ModelSpec], settings: EvaluationSettings, *, splits: Sequence[str] = SPLITS
) -> list[ModelResult]:
    """Evaluate every model on the requested splits (``temporal``, ``random``) of one network."""
    results = []
    for name in splits:
        if name == "temporal":
            results.extend(evaluate_temporal(dataset, specs, settings))
        elif name == "random":
            results.extend(evaluate_random(dataset, specs, settings))
        else:
            raise ValueError(f"invalid split {name!r}: expected one of {', '.join(SPLITS)}")
    return results


def evaluate_matrix(datasets: Sequence[Dataset], specs: Sequence[ModelSpec], settings: EvaluationSettings) -> list[ModelResult]:
    """Train on each network and test on each other one: every ordered pair of distinct networks."""
    results = []
    for train in datasets:
        for test in datasets:
            if train is not test:
                results.extend(evaluate_transfer([train], test, specs, settings))
    return results
