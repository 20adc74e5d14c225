"""Flat baselines on exactly the device features the graph models see: isolation forest and gradient-boosted trees.

Graph models have to beat these to earn their cost. ``iforest`` is
unsupervised (Liu, Ting and Zhou, "Isolation Forest", ICDM 2008). ``gbt``
is scikit-learn's ``HistGradientBoostingClassifier`` on a device-window's own
features. ``gbt-nbr`` adds the mean and the maximum of its neighbours'
features, the relational baseline that matches many GNNs on node
classification at a fraction of the cost.

The estimators are saved with joblib (pickle) beside the empty module
weights. NOTE: loading unpickles ``estimator.joblib``, so load models only
from a models folder you trust, as with any pickle.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from ml.errors import NotFittedError, TrainingDataError
from ml.models.base import GraphDetector, threshold_for_top
from ml.models.gae import reference_quantiles
from ml.models.gcn import select_threshold

logger = logging.getLogger(__name__)

ESTIMATOR_FILE = "estimator.joblib"


class FlatDetector(GraphDetector):
    """A scikit-learn estimator behind the detector interface, with an empty placeholder as ``module_``.

    ``epochs``, ``learning_rate`` and ``weight_decay`` are accepted so that
    every kind takes the same training options. Trees and forests ignore them.
    """

    receptive_hops = 0

    def __init__(
        self,
        *,
        epochs: int = 1,
        learning_rate: float = 0.0,
        weight_decay: float = 0.0,
        seed: int = 0,
        label_rule: str = "originator",
        device: str | torch.device = "auto",
        progress: bool = True,
    ) -> None:
        super().__init__(
            epochs=epochs,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            seed=seed,
            label_rule=label_rule,
            device=device,
            progress=progress,
        )
        self.estimator_: Any = None

    def get_params(self) -> dict[str, Any]:
        return {"seed": self.seed, "label_rule": self.label_rule}

    def _build_module(self, in_channels: int) -> torch.nn.Module:
        del in_channels
        return torch.nn.Module()

    def design_matrix(self, data: Data) -> np.ndarray:
        """Return the estimator's input: one row per node of ``data``."""
        return data.x.detach().cpu().numpy().astype(np.float64)

    def _fitted_estimator(self) -> Any:
        if self.estimator_ is None:
            raise NotFittedError(f"{self.kind} detector is not fitted; call fit() or load a saved model first")
        return self.estimator_

    def write_artifacts(self, folder: Path) -> None:
        joblib.dump(self._fitted_estimator(), folder / ESTIMATOR_FILE)

    def read_artifacts(self, folder: Path) -> None:
        self.estimator_ = joblib.load(folder / ESTIMATOR_FILE)


class NeighbourFeatures:
    """Mixin: append the mean and maximum of the neighbours' features to a node's own."""

    receptive_hops = 1

    def design_matrix(self, data: Data) -> np.ndarray:
        return neighbour_design_matrix(data.x, data.edge_index).numpy().astype(np.float64)


def neighbour_design_matrix(x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
    """Return [N, 3F]: own features, mean and max of the neighbours' (zeros for a node without neighbours).

    Messages go from ``edge_index[0]`` to ``edge_index[1]``. The export lists
    both directions, so the neighbours are peers in either role.
    """
    x = x.detach().cpu()
    edge_index = edge_index.detach().cpu()
    n = x.shape[0]
    if edge_index.shape[1] == 0:
        return torch.cat([x, torch.zeros_like(x), torch.zeros_like(x)], dim=1)
    src, dst = edge_index
    mean = scatter(x[src], dst, dim=0, dim_size=n, reduce="mean")
    maximum = scatter(x[src], dst, dim=0, dim_size=n, reduce="max")
    has_neighbours = torch.zeros(n, dtype=torch.bool)
    has_neighbours[dst] = True
    maximum[~has_neighbours] = 0.0
    return torch.cat([x, mean, maximum], dim=1)


class IsolationForestDetector(FlatDetector):
    """Isolation forest on device features; calibration and threshold as the GCN autoencoder's.

    The raw score is the negated ``score_samples`` (higher is more
    anomalous). A score ``s`` means that a share ``s`` of the training
    device-windows had a raw score at most as high. ``threshold_`` flags the
    top ``contamination`` share of the training device-windows, or
    ``alert_budget`` alerts per training window on average.

    NOTE: isolation separates the few from the many. Where attacks are most
    of the device-windows (inbound scans of one host), the attackers are the
    many and score as normal.
    """

    kind = "iforest"
    supervised = False

    def __init__(self, *, n_estimators: int = 200, contamination: float = 0.05, alert_budget: int | None = None, **options: Any) -> None:
        super().__init__(**options)
        if not 0.0 < contamination < 0.5:
            raise ValueError(f"invalid contamination {contamination}: expected a share between 0 and 0.5, e.g. 0.05")
        if alert_budget is not None and alert_budget < 1:
            raise ValueError(f"invalid alert budget {alert_budget}: expected at least 1 alert per window")
        self.n_estimators = n_estimators
        self.contamination = contamination
        self.alert_budget = alert_budget
        self.reference_scores_: np.ndarray | None = None

    def get_params(self) -> dict[str, Any]:
        return {
            **super().get_params(),
            "n_estimators": self.n_estimators,
            "contamination": self.contamination,
            "alert_budget": self.alert_budget,
        }

    def _train(self, data: Data, train_mask: torch.Tensor, val_mask: torch.Tensor) -> None:
        del val_mask  # the threshold comes from the training scores and the contamination
        train = train_mask.cpu().numpy()
        matrix = self.design_matrix(data)[train]
        self.estimator_ = IsolationForest(n_estimators=self.n_estimators, random_state=self.seed).fit(matrix)
        raw = -self.estimator_.score_samples(matrix)
        self.reference_scores_ = reference_quantiles(raw)
        scores = self._calibrate(raw)
        if self.alert_budget is not None:
            windows = len(set(data.window_index[train_mask].cpu().tolist()))
            count = self.alert_budget * windows
            self.threshold_source_ = f"alert budget {self.alert_budget} per window over {windows} training windows"
        else:
            count = int(round(self.contamination * len(raw)))
            self.threshold_source_ = f"contamination {self.contamination} of {len(raw)} training device-windows"
        self.threshold_ = threshold_for_top(scores, count)
        logger.info("iforest threshold %.4f (%s)", self.threshold_, self.threshold_source_)

    def _raw_scores(self, data: Data) -> torch.Tensor:
        return torch.as_tensor(-self._fitted_estimator().score_samples(self.design_matrix(data)))

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        if self.reference_scores_ is None or len(self.reference_scores_) == 0:
            return np.zeros_like(raw)
        return np.searchsorted(self.reference_scores_, raw, side="right") / len(self.reference_scores_)

    def calibration_state(self) -> dict[str, Any]:
        return {"reference_scores": [] if self.reference_scores_ is None else self.reference_scores_.tolist()}

    def load_calibration_state(self, state: dict[str, Any]) -> None:
        self.reference_scores_ = np.asarray(state.get("reference_scores", []), dtype=np.float64)


class GradientBoostingDetector(FlatDetector):
    """Gradient-boosted trees on device features, scoring the predicted probability of the anomalous class.

    Classes are weighted by inverse frequency, and ``threshold_`` maximises
    F1 on the validation nodes as for the GCN.
    """

    kind = "gbt"
    supervised = True

    def __init__(self, *, max_iter: int = 200, max_leaf_nodes: int = 15, **options: Any) -> None:
        super().__init__(**options)
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "max_iter": self.max_iter, "max_leaf_nodes": self.max_leaf_nodes}

    def _train(self, data: Data, train_mask: torch.Tensor, val_mask: torch.Tensor) -> None:
        labels = data.y.cpu().numpy()
        train = train_mask.cpu().numpy() & (labels >= 0)
        counts = np.bincount(labels[train], minlength=2)
        if counts.min() == 0:
            raise TrainingDataError(
                f"{self.kind} needs anomalous and normal device-windows to train on; the training nodes have "
                f"{counts[1]} anomalous and {counts[0]} normal under label rule {self.label_rule!r}; "
                "ingest labelled flows of both kinds or train an unsupervised model (iforest, gae, baseline)"
            )
        matrix = self.design_matrix(data)
        self.estimator_ = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            class_weight="balanced",
            random_state=self.seed,
        ).fit(matrix[train], labels[train])
        probabilities = self.estimator_.predict_proba(matrix)[:, 1]
        validation = val_mask.cpu().numpy() & (labels >= 0)
        self.threshold_, self.threshold_source_ = select_threshold(labels[validation], probabilities[validation])
        logger.info("%s threshold %.4f (%s)", self.kind, self.threshold_, self.threshold_source_)

    def _raw_scores(self, data: Data) -> torch.Tensor:
        return torch.as_tensor(self._fitted_estimator().predict_proba(self.design_matrix(data))[:, 1])

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        return raw


class NeighbourGradientBoostingDetector(NeighbourFeatures, GradientBoostingDetector):
    """``gbt`` on a device's features plus the mean and maximum of its neighbours' features."""

    kind = "gbt-nbr"
    supervised = True
