"""The reference supervised detector: a two-layer graph convolutional network.

The model is the one of Kipf and Welling, "Semi-Supervised Classification
with Graph Convolutional Networks" (ICLR 2017): two ``GCNConv`` layers with
ReLU between them. Here dropout applies to the input of each layer, and Adam
minimises a cross-entropy weighted by inverse class frequency, because
anomalous device-windows are rare.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv

from ml.errors import TrainingDataError
from ml.models.base import GraphDetector
from ml.progress import progress_bar

logger = logging.getLogger(__name__)

# Used when the validation nodes cannot choose a threshold (none, or one class).
DEFAULT_THRESHOLD = 0.5


class GCN(torch.nn.Module):
    """Two ``GCNConv`` layers mapping [N, in_channels] features to [N, 2] class logits."""

    def __init__(self, in_channels: int, *, hidden_channels: int = 16, dropout: float = 0.5) -> None:
        super().__init__()
        self.dropout = dropout
        self.conv1 = GCNConv(in_channels, hidden_channels)
        self.conv2 = GCNConv(hidden_channels, 2)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        x = F.dropout(x, p=self.dropout, training=self.training)
        x = F.relu(self.conv1(x, edge_index))
        x = F.dropout(x, p=self.dropout, training=self.training)
        return self.conv2(x, edge_index)


class GCNDetector(GraphDetector):
    """Supervised GCN; the score is the softmax probability of the anomalous class.

    ``threshold_`` maximises F1 on the validation nodes. When they lack either
    class it falls back to 0.5, and ``threshold_source_`` records which rule applied.
    """

    kind = "gcn"
    supervised = True

    def __init__(
        self,
        *,
        hidden_channels: int = 16,
        dropout: float = 0.5,
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
        return GCN(in_channels, hidden_channels=self.hidden_channels, dropout=self.dropout)

    def _train(self, data: Data, train_mask: torch.Tensor, val_mask: torch.Tensor) -> None:
        train = train_mask & (data.y >= 0)
        counts = torch.bincount(data.y[train], minlength=2)
        if int(counts.min()) == 0:
            raise TrainingDataError(
                f"gcn needs anomalous and normal device-windows to train on; the training nodes have "
                f"{int(counts[1])} anomalous and {int(counts[0])} normal under label rule {self.label_rule!r}; "
                "ingest labelled flows of both kinds or train the unsupervised gae"
            )
        # Inverse class frequency, scaled so that a balanced set gets weight 1.
        weight = (counts.sum() / (2.0 * counts)).to(torch.float32)

        module = self._fitted_module()
        optimizer = torch.optim.Adam(module.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        with progress_bar(self.epochs, description="training gcn", enabled=self.progress) as advance:
            for _ in range(self.epochs):
                module.train()
                optimizer.zero_grad()
                logits = module(data.x, data.edge_index)
                loss = F.cross_entropy(logits[train], data.y[train], weight=weight)
                loss.backward()
                optimizer.step()
                advance(f"loss {loss.item():.4f}")
        logger.info("gcn trained on %d anomalous and %d normal device-windows, final loss %.4f", counts[1], counts[0], loss.item())

        module.eval()
        with torch.no_grad():
            probabilities = self._raw_scores(data).cpu().numpy()
        validation = (val_mask & (data.y >= 0)).cpu().numpy()
        self.threshold_, self.threshold_source_ = select_threshold(
            data.y.cpu().numpy()[validation], probabilities[validation]
        )
        logger.info("gcn threshold %.4f (%s)", self.threshold_, self.threshold_source_)

    def _raw_scores(self, data: Data) -> torch.Tensor:
        return torch.softmax(self._fitted_module()(data.x, data.edge_index), dim=1)[:, 1]

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        return raw


def select_threshold(labels: np.ndarray, scores: np.ndarray) -> tuple[float, str]:
    """Return the score threshold with the highest F1 on labelled validation nodes, and how it was chosen.

    Every threshold between two adjacent distinct validation scores flags
    the same nodes, so the result is the midpoint of the best such interval,
    leaving a margin on both sides. Among equal F1 the highest interval wins,
    which flags fewer devices.
    """
    positives = int((labels == 1).sum())
    if positives == 0 or positives == len(labels):
        return DEFAULT_THRESHOLD, "default 0.5: the validation nodes lack one class"

    candidates = np.unique(scores)[::-1]
    best_index, best_f1 = 0, -1.0
    for index, candidate in enumerate(candidates):
        predicted = scores >= candidate
        tp = int((predicted & (labels == 1)).sum())
        fp = int((predicted & (labels == 0)).sum())
        f1 = 2 * tp / (2 * tp + fp + (positives - tp))
        if f1 > best_f1:
            best_index, best_f1 = index, f1
    threshold = float(candidates[best_index])
    if best_index + 1 < len(candidates):
        threshold = (threshold + float(candidates[best_index + 1])) / 2
    return threshold, f"maximum F1 {best_f1:.4f} on {len(labels)} validation device-windows"
