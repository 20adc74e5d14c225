"""Edge scorers: one score per COMMUNICATED edge of a window, trained on the edges' flow labels.

``edge`` is an E-GraphSAGE-style network (after Lo et al., "E-GraphSAGE: A
Graph Neural Network based Intrusion Detection System for IoT", NOMS 2022):
a device's embedding combines its own features with the mean attributes of
its incoming edges, a ``SAGEConv`` layer mixes in the neighbours'
embeddings, and an MLP over ``[h_src, h_dst, edge_attr]`` gives the logit of
each edge. ``gbt-edge`` is the flat baseline: gradient-boosted trees on the
same ``[x_src, x_dst, edge_attr]`` without message passing.

Both are also device detectors. A device's score is the highest score of
the edges it originated (label rule ``originator``) or took part in
(``any``), 0 without such edges, so a device is flagged when one of its edges is.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.ensemble import HistGradientBoostingClassifier
from torch_geometric.data import Data
from torch_geometric.nn import SAGEConv
from torch_geometric.utils import scatter

from graphdb.model import WindowGraph
from ml.errors import TrainingDataError
from ml.export import EDGE_FEATURES
from ml.models.base import GraphDetector
from ml.models.flat import FlatDetector
from ml.models.gcn import select_threshold
from ml.progress import progress_bar

logger = logging.getLogger(__name__)


class EdgeScorer:
    """Mixin of the edge detectors: device scores from edge scores, and fitting on edge masks."""

    kind: str
    label_rule: str
    threshold_: float | None
    threshold_source_: str | None

    def _edge_probabilities(self, data: Data) -> torch.Tensor:
        """Return the probability of the malicious class for every edge of ``data`` (both directions)."""
        raise NotImplementedError

    def edge_scores_from_data(self, data: Data) -> np.ndarray:
        forward = ~data.edge_reverse
        with torch.no_grad():
            return self._edge_probabilities(data)[forward.to(data.edge_index.device)].detach().cpu().numpy().astype(np.float64)

    def _raw_scores(self, data: Data) -> torch.Tensor:
        probabilities = self._edge_probabilities(data)
        forward = ~data.edge_reverse.to(probabilities.device)
        src, dst = data.edge_index[:, forward]
        values = probabilities[forward]
        if self.label_rule == "any":
            index, values = torch.cat([src, dst]), torch.cat([values, values])
        else:
            index = src
        result = torch.zeros(data.num_nodes, dtype=values.dtype, device=values.device)
        if len(values):
            result = scatter(values, index, dim=0, dim_size=data.num_nodes, reduce="max")
        return result

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        return raw

    def _edge_masks(self, data: Data, train_mask: torch.Tensor, val_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return forward labelled edges in training and in validation: those whose source node is in each mask."""
        src = data.edge_index[0]
        usable = (~data.edge_reverse) & (data.edge_label >= 0)
        edge_train = getattr(self, "edge_train_mask_", None)
        edge_val = getattr(self, "edge_val_mask_", None)
        train = usable & (train_mask[src] if edge_train is None else _forward_mask(data, edge_train))
        validation = usable & (val_mask[src] if edge_val is None else _forward_mask(data, edge_val))
        return train, validation

    def _check_classes(self, labels: torch.Tensor) -> torch.Tensor:
        counts = torch.bincount(labels, minlength=2)
        if int(counts.min()) == 0:
            raise TrainingDataError(
                f"{self.kind} needs malicious and benign edges to train on; the training edges have "
                f"{int(counts[1])} malicious and {int(counts[0])} benign; ingest labelled flows of both kinds"
            )
        return counts

    def _set_threshold(self, labels: np.ndarray, scores: np.ndarray) -> None:
        self.threshold_, self.threshold_source_ = select_threshold(labels, scores)
        self.threshold_source_ = self.threshold_source_.replace("device-windows", "edges")
        logger.info("%s threshold %.4f (%s)", self.kind, self.threshold_, self.threshold_source_)


def _forward_mask(data: Data, forward_mask: np.ndarray) -> torch.Tensor:
    """Spread a mask over forward edges to all edges of ``data``, with False on reverse edges."""
    mask = torch.zeros(data.edge_index.shape[1], dtype=torch.bool, device=data.edge_index.device)
    forward = ~data.edge_reverse
    values = torch.as_tensor(np.asarray(forward_mask, dtype=bool), device=mask.device)
    if values.shape[0] != int(forward.sum()):
        raise ValueError(f"invalid edge mask of {values.shape[0]} entries: expected one per forward edge, {int(forward.sum())}")
    mask[forward] = values
    return mask


def fit_on_edges(
    detector: GraphDetector,
    graphs: Sequence[WindowGraph],
    *,
    edge_train_mask: np.ndarray | None,
    edge_val_mask: np.ndarray | None,
    features: Sequence[pd.DataFrame] | None = None,
    train_mask: np.ndarray | None = None,
    val_mask: np.ndarray | None = None,
) -> GraphDetector:
    """Fit an edge detector with masks over the forward edges of ``graphs`` in order, instead of node masks."""
    detector.edge_train_mask_ = edge_train_mask
    detector.edge_val_mask_ = edge_val_mask
    try:
        return detector.fit(graphs, train_mask=train_mask, val_mask=val_mask, features=features)
    finally:
        detector.edge_train_mask_ = None
        detector.edge_val_mask_ = None


class EdgeNetwork(torch.nn.Module):
    """Device embeddings from features and incoming edge attributes, then an MLP over [h_src, h_dst, edge_attr]."""

    def __init__(self, in_channels: int, *, edge_channels: int, hidden_channels: int = 32, dropout: float = 0.2) -> None:
        super().__init__()
        self.dropout = dropout
        self.embed = torch.nn.Linear(in_channels + edge_channels, hidden_channels)
        self.conv = SAGEConv(hidden_channels, hidden_channels, aggr="mean")
        self.classify = torch.nn.Sequential(
            torch.nn.Linear(2 * hidden_channels + edge_channels, hidden_channels),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden_channels, 2),
        )

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor) -> torch.Tensor:
        """Return [E, 2] logits, one row per edge of ``edge_index``."""
        src, dst = edge_index
        incoming = scatter(edge_attr, dst, dim=0, dim_size=x.shape[0], reduce="mean")
        h = F.relu(self.embed(torch.cat([x, incoming], dim=1)))
        h = F.dropout(h, p=self.dropout, training=self.training)
        h = F.relu(self.conv(h, edge_index))
        h = F.dropout(h, p=self.dropout, training=self.training)
        return self.classify(torch.cat([h[src], h[dst], edge_attr], dim=1))


class EdgeDetector(EdgeScorer, GraphDetector):
    """E-GraphSAGE-style edge classifier trained with class-weighted cross-entropy on labelled forward edges."""

    kind = "edge"
    supervised = True
    # Edge embedding layer plus one SAGEConv from each endpoint, and the device takes its out-edges' maximum.
    receptive_hops = 3

    def __init__(
        self,
        *,
        hidden_channels: int = 32,
        dropout: float = 0.2,
        epochs: int = 200,
        learning_rate: float = 0.01,
        weight_decay: float = 5e-4,
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
        self.hidden_channels = hidden_channels
        self.dropout = dropout

    def get_params(self) -> dict[str, Any]:
        return {
            "hidden_channels": self.hidden_channels,
            "dropout": self.dropout,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "seed": self.seed,
            "label_rule": self.label_rule,
        }

    def _build_module(self, in_channels: int) -> torch.nn.Module:
        return EdgeNetwork(in_channels, edge_channels=len(EDGE_FEATURES), hidden_channels=self.hidden_channels, dropout=self.dropout)

    def _edge_probabilities(self, data: Data) -> torch.Tensor:
        return torch.softmax(self._fitted_module()(data.x, data.edge_index, data.edge_attr), dim=1)[:, 1]

    def _train(self, data: Data, train_mask: torch.Tensor, val_mask: torch.Tensor) -> None:
        train, validation = self._edge_masks(data, train_mask, val_mask)
        counts = self._check_classes(data.edge_label[train])
        weight = (counts.sum() / (2.0 * counts)).to(torch.float32)
        module = self._fitted_module()
        optimizer = torch.optim.Adam(module.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        with progress_bar(self.epochs, description="training edge", enabled=self.progress) as advance:
            for _ in range(self.epochs):
                module.train()
                optimizer.zero_grad()
                logits = module(data.x, data.edge_index, data.edge_attr)
                loss = F.cross_entropy(logits[train], data.edge_label[train], weight=weight)
                loss.backward()
                optimizer.step()
                advance(f"loss {loss.item():.4f}")
        logger.info("edge trained on %d malicious and %d benign edges, final loss %.4f", counts[1], counts[0], loss.item())

        module.eval()
        with torch.no_grad():
            probabilities = self._edge_probabilities(data).cpu().numpy()
        mask = validation.cpu().numpy()
        self._set_threshold(data.edge_label.cpu().numpy()[mask], probabilities[mask])


class EdgeGradientBoostingDetector(EdgeScorer, FlatDetector):
    """Gradient-boosted trees on ``[x_src, x_dst, edge_attr]`` of each edge, without message passing."""

    kind = "gbt-edge"
    supervised = True
    receptive_hops = 1

    def __init__(self, *, max_iter: int = 200, max_leaf_nodes: int = 15, **options: Any) -> None:
        super().__init__(**options)
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "max_iter": self.max_iter, "max_leaf_nodes": self.max_leaf_nodes}

    def _edge_matrix(self, data: Data) -> np.ndarray:
        x = data.x.detach().cpu()
        src, dst = data.edge_index.detach().cpu()
        return torch.cat([x[src], x[dst], data.edge_attr.detach().cpu()], dim=1).numpy().astype(np.float64)

    def _edge_probabilities(self, data: Data) -> torch.Tensor:
        if data.edge_index.shape[1] == 0:
            return torch.zeros(0, dtype=torch.float64)
        return torch.as_tensor(self._fitted_estimator().predict_proba(self._edge_matrix(data))[:, 1])

    def _train(self, data: Data, train_mask: torch.Tensor, val_mask: torch.Tensor) -> None:
        train, validation = self._edge_masks(data, train_mask, val_mask)
        self._check_classes(data.edge_label[train])
        matrix = self._edge_matrix(data)
        labels = data.edge_label.cpu().numpy()
        self.estimator_ = HistGradientBoostingClassifier(
            max_iter=self.max_iter, max_leaf_nodes=self.max_leaf_nodes, class_weight="balanced", random_state=self.seed
        ).fit(matrix[train.cpu().numpy()], labels[train.cpu().numpy()])
        probabilities = self.estimator_.predict_proba(matrix)[:, 1]
        mask = validation.cpu().numpy()
        self._set_threshold(labels[mask], probabilities[mask])
