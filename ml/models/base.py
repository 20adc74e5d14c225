"""The interface every graph anomaly detector shares, in the style of PyGOD and scikit-learn.

``fit(graphs)`` learns from windows, ``decision_function(graph)`` returns one
score in [0, 1] per device of a window (higher is more anomalous) and
``predict(graph)`` flags the devices whose score reaches ``threshold_``.
A detector owns its feature scaler and label rule, so it takes ``WindowGraph``
objects straight from a store.

``feature_scaling`` is ``global`` (standardise with statistics of the
training windows) or ``window`` (first express each feature against the
devices of its own window, and each edge attribute against the window's
edges, see ``ml.window_scaling``, which transfers across networks of
different size). It is set as an attribute, so every detector
kind has it without a constructor argument, and it is saved with the model.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data

from graphdb.model import WindowGraph
from ingest.features import FEATURES, device_features, device_window_labels
from ml.device import resolve_device
from ml.errors import NotFittedError
from ml.export import build_data, concat_windows
from ml.scaling import FeatureScaler
from ml.seeding import seed_everything
from ml.window_scaling import check_feature_scaling, scale_edges_within_window, scale_within_window

logger = logging.getLogger(__name__)


class GraphDetector(abc.ABC):
    """Base class of the detectors; subclasses provide the module, the training loop and calibration.

    Fitted attributes end in ``_``: ``module_``, ``scaler_``, ``threshold_``,
    ``threshold_source_`` and ``training_windows_`` (window starts).
    """

    kind: ClassVar[str]
    supervised: ClassVar[bool]
    # Message-passing layers: edges further than this many hops from a device
    # cannot change its score, so explanations ablate within that subgraph.
    receptive_hops: ClassVar[int] = 2

    def __init__(
        self,
        *,
        epochs: int,
        learning_rate: float,
        weight_decay: float,
        seed: int = 0,
        label_rule: str = "originator",
        device: str | torch.device = "auto",
        progress: bool = True,
    ) -> None:
        if epochs < 1:
            raise ValueError(f"invalid epochs {epochs}: train for at least 1 epoch")
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.seed = seed
        self.label_rule = label_rule
        self.device = resolve_device(device)
        self.progress = progress
        self.module_: torch.nn.Module | None = None
        self.scaler_: FeatureScaler | None = None
        self.threshold_: float | None = None
        self.threshold_source_: str | None = None
        self.training_windows_: list[float] = []
        self.feature_scaling = "global"

    # -- what subclasses provide ----------------------------------------------

    @abc.abstractmethod
    def get_params(self) -> dict[str, Any]:
        """Return the constructor arguments that define the model, without device and progress."""

    @abc.abstractmethod
    def _build_module(self, in_channels: int) -> torch.nn.Module: ...

    @abc.abstractmethod
    def _train(self, data: Data, train_mask: torch.Tensor, val_mask: torch.Tensor) -> None:
        """Train ``module_`` on ``data`` (already on the device) and set ``threshold_``."""

    @abc.abstractmethod
    def _raw_scores(self, data: Data) -> torch.Tensor:
        """Return one uncalibrated score per node, higher is more anomalous; the module is in eval mode."""

    @abc.abstractmethod
    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Map raw scores into [0, 1], keeping their order."""

    def calibration_state(self) -> dict[str, Any]:
        """Return what ``_calibrate`` needs besides the module, for the saved model."""
        return {}

    def load_calibration_state(self, state: dict[str, Any]) -> None:
        del state

    def write_artifacts(self, folder: Path) -> None:
        """Write fitted state that is neither module weights nor JSON, such as a scikit-learn estimator."""
        del folder

    def read_artifacts(self, folder: Path) -> None:
        """Read back what ``write_artifacts`` wrote into ``folder``."""
        del folder

    def observe(self, data: Data) -> None:
        """Remember a scored window; detectors that compare a device with its own past override this."""
        del data

    def forget(self) -> None:
        """Drop what ``observe`` remembered, before scoring another network whose device ids mean other devices."""

    def edge_scores_from_data(self, data: Data) -> np.ndarray | None:
        """Return one score in [0, 1] per forward edge of a prepared window, or None for a device-only detector.

        Forward edges are those with ``data.edge_reverse`` False, in the order
        of ``WindowGraph.edges`` (edges naming unknown devices left out).
        """
        del data
        return None

    def transform_features(self, features: pd.DataFrame) -> pd.DataFrame:
        """Apply ``feature_scaling`` to one window's ``device_features`` frame before standardisation."""
        if check_feature_scaling(self.feature_scaling) == "window":
            return scale_within_window(features)
        return features

    # -- fitting ---------------------------------------------------------------

    def fit(
        self,
        graphs: Sequence[WindowGraph],
        *,
        train_mask: np.ndarray | None = None,
        val_mask: np.ndarray | None = None,
        features: Sequence[pd.DataFrame] | None = None,
    ) -> Self:
        """Fit the scaler and the model on ``graphs``, one disjoint graph of all their device-windows.

        ``train_mask`` and ``val_mask`` are boolean over the concatenated nodes
        of ``graphs`` in order. A supervised detector trains on the labelled
        nodes of ``train_mask`` (all labelled nodes by default) and picks its
        threshold on ``val_mask``. An unsupervised one ignores labels and trains
        on every node of ``train_mask`` (all nodes by default). ``features``
        are the windows' ``device_features`` frames when the caller has them.
        """
        if not graphs:
            raise ValueError(f"{self.kind}: no windows to fit on; ingest flows or pass windows that exist")
        seed_everything(self.seed)

        if features is None:
            features = [device_features(graph.devices, graph.edges) for graph in graphs]
        elif len(features) != len(graphs):
            raise ValueError(f"{len(features)} feature frames for {len(graphs)} windows; pass one frame per window")
        labels = [device_window_labels(graph.devices, graph.edges, rule=self.label_rule) for graph in graphs]
        features = [self.transform_features(frame) for frame in features]
        matrix = np.concatenate([frame.to_numpy(dtype=np.float64) for frame in features])
        self.scaler_ = FeatureScaler.fit(matrix, features=FEATURES)
        parts = [
            self._scale_edges(build_data(graph, features=frame, labels=label, scaler=self.scaler_))
            for graph, frame, label in zip(graphs, features, labels)
        ]
        data, _ = concat_windows(parts)
        n = data.num_nodes
        train = torch.ones(n, dtype=torch.bool) if train_mask is None else _mask(train_mask, n, "train_mask")
        validation = torch.zeros(n, dtype=torch.bool) if val_mask is None else _mask(val_mask, n, "val_mask")

        self.module_ = self._build_module(len(FEATURES)).to(self.device)
        self.training_windows_ = [float(graph.window.start) for graph in graphs]
        logger.info(
            "fitting %s on %d window(s), %d device-window(s), device %s", self.kind, len(graphs), n, self.device
        )
        self._train(data.to(self.device), train.to(self.device), validation.to(self.device))
        self.module_.eval()
        return self

    # -- scoring ---------------------------------------------------------------

    def prepare(self, graph: WindowGraph, *, features: pd.DataFrame | None = None) -> Data:
        """Export one window with this detector's scaler and label rule (on the CPU).

        ``features`` is the window's ``device_features`` frame when the caller has it already.
        """
        scaler = self._fitted_scaler()
        if features is None:
            features = device_features(graph.devices, graph.edges)
        labels = device_window_labels(graph.devices, graph.edges, rule=self.label_rule)
        return self._scale_edges(build_data(graph, features=self.transform_features(features), labels=labels, scaler=scaler))

    def _scale_edges(self, data: Data) -> Data:
        """Scale one window's edge attributes within the window when ``feature_scaling`` is ``window``."""
        if self.feature_scaling == "window" and data.edge_attr.shape[0]:
            scaled = scale_edges_within_window(data.edge_attr.numpy())
            data.edge_attr = torch.as_tensor(scaled, dtype=torch.float32)
        return data

    def scores_from_data(self, data: Data) -> tuple[np.ndarray, np.ndarray]:
        """Return (scores in [0, 1], raw scores) of every node of a prepared ``Data``."""
        module = self._fitted_module()
        if data.num_nodes == 0:
            return np.zeros(0), np.zeros(0)
        # Data.to() moves tensors in place; a copy keeps the caller's data on the CPU.
        if self.device.type != "cpu":
            data = data.clone().to(self.device)
        module.eval()
        with torch.no_grad():
            raw = self._raw_scores(data).detach().cpu().numpy().astype(np.float64)
        return np.clip(self._calibrate(raw), 0.0, 1.0), raw

    def raw_scores(self, graph: WindowGraph, *, features: pd.DataFrame | None = None) -> np.ndarray:
        """Return the uncalibrated scores, which break ties between equal calibrated scores."""
        return self.scores_from_data(self.prepare(graph, features=features))[1]

    def decision_function(self, graph: WindowGraph, *, features: pd.DataFrame | None = None) -> np.ndarray:
        """Return one score in [0, 1] per device of the window, in the devices' order."""
        return self.scores_from_data(self.prepare(graph, features=features))[0]

    def decision_function_batch(
        self, graphs: Sequence[WindowGraph], *, features: Sequence[pd.DataFrame] | None = None
    ) -> np.ndarray:
        """Return the scores of several windows concatenated in order, as ``fit`` lays out their nodes."""
        frames = features if features is not None else [None] * len(graphs)
        scores = [self.decision_function(graph, features=frame) for graph, frame in zip(graphs, frames)]
        return np.concatenate(scores) if scores else np.zeros(0)

    def predict(self, graph: WindowGraph) -> np.ndarray:
        """Return True for every device whose score reaches ``threshold_``."""
        if self.threshold_ is None:
            raise NotFittedError(f"{self.kind} detector has no threshold; call fit() or load a saved model first")
        return self.decision_function(graph) >= self.threshold_

    def _fitted_module(self) -> torch.nn.Module:
        if self.module_ is None:
            raise NotFittedError(f"{self.kind} detector is not fitted; call fit() or load a saved model first")
        return self.module_

    def _fitted_scaler(self) -> FeatureScaler:
        if self.scaler_ is None:
            raise NotFittedError(f"{self.kind} detector is not fitted; call fit() or load a saved model first")
        return self.scaler_

    # -- persistence -----------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Return the JSON-ready fitted state besides the module weights."""
        return {
            "kind": self.kind,
            "hyperparameters": self.get_params(),
            "features": list(FEATURES),
            "scaler": self._fitted_scaler().to_dict(),
            "threshold": self.threshold_,
            "threshold_source": self.threshold_source_,
            "training_windows": list(self.training_windows_),
            "label_rule": self.label_rule,
            "feature_scaling": self.feature_scaling,
            "calibration": self.calibration_state(),
        }

    @classmethod
    def from_state(
        cls,
        state: dict[str, Any],
        weights: dict[str, torch.Tensor],
        *,
        device: str | torch.device = "auto",
        progress: bool = False,
    ) -> Self:
        """Rebuild a fitted detector from ``state()`` and the module's ``state_dict``."""
        detector = cls(**state["hyperparameters"], device=device, progress=progress)
        detector.scaler_ = FeatureScaler.from_dict(state["scaler"])
        detector.module_ = detector._build_module(len(detector.scaler_.features))
        detector.module_.load_state_dict(weights)
        detector.module_.to(detector.device).eval()
        detector.threshold_ = state.get("threshold")
        detector.threshold_source_ = state.get("threshold_source")
        detector.training_windows_ = list(state.get("training_windows", []))
        detector.feature_scaling = check_feature_scaling(state.get("feature_scaling", "global"))
        detector.load_calibration_state(state.get("calibration", {}))
        return detector


def _mask(values: np.ndarray, n: int, name: str) -> torch.Tensor:
    mask = np.asarray(values, dtype=bool)
    if mask.shape != (n,):
        raise ValueError(f"invalid {name} of shape {mask.shape}: expected one entry per device-window, ({n},)")
    return torch.as_tensor(mask)


def threshold_for_top(scores: np.ndarray, count: int) -> float:
    """Return the ``count``-th highest score, so that at least ``count`` scores reach it."""
    if len(scores) == 0:
        return 1.0
    ordered = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    return float(ordered[min(max(count, 1), len(ordered)) - 1])
