"""The unsupervised detector: a graph convolutional autoencoder of device features.

A two-layer GCN encoder embeds each device-window from its own features and
its neighbours'; an MLP decoder reconstructs the standardised features from
the embedding. The reconstruction error (mean squared error over features) is
the raw score: a device that behaves unlike the devices the model was trained
on, given its neighbourhood, reconstructs badly. Labels are never used.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv

from ml.models.base import GraphDetector, threshold_for_top
from ml.progress import progress_bar

logger = logging.getLogger(__name__)

# Training errors kept for the empirical CDF: every error up to this count,
# else this many evenly spaced quantiles, a resolution of 0.001 in score.
REFERENCE_SIZE = 1001


class GraphAutoencoder(torch.nn.Module):
    """GCN encoder [N, in] -> [N, embedding] and MLP decoder back to [N, in]."""

    def __init__(self, in_channels: int, *, hidden_channels: int = 16, embedding_channels: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = dropout
        self.conv1 = GCNConv(in_channels, hidden_channels)
        self.conv2 = GCNConv(hidden_channels, embedding_channels)
        self.decoder = torch.nn.Sequential(
            torch.nn.Linear(embedding_channels, hidden_channels),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden_channels, in_channels),
        )

    def encode(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(x, edge_index))
        x = F.dropout(x, p=self.dropout, training=self.training)
        return self.conv2(x, edge_index)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x, edge_index))


class GAEDetector(GraphDetector):
    """GCN autoencoder scored by reconstruction error, calibrated by the training errors' empirical CDF.

    The embedding (4 channels by default) is much narrower than the feature
    vector, so the decoder cannot learn the identity map, which would
    reconstruct outliers as well as normal devices.

    NOTE: one extreme device-window inside the training windows dominates the
    squared error, so the model can learn to reconstruct it. On a toy network
    a scanner seen in training scored lowest, while the same scanner in a new
    window scored highest. Train on windows believed clean where possible.

    A score ``s`` means that a share ``s`` of the training device-windows
    reconstructed at least as well; errors above every training error score 1.
    ``threshold_`` is the score of the ``k``-th worst training device-window:
    ``k = round(contamination × training device-windows)``, or with
    ``alert_budget`` set, ``k = alert_budget × training windows``, an average of
    ``alert_budget`` alerts per window.
    """

    kind = "gae"
    supervised = False

    def __init__(
        self,
        *,
        hidden_channels: int = 16,
        embedding_channels: int = 4,
        dropout: float = 0.0,
        epochs: int = 200,
        learning_rate: float = 0.005,
        weight_decay: float = 0.0,
        contamination: float = 0.05,
        alert_budget: int | None = None,
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
        if not 0.0 < contamination < 0.5:
            raise ValueError(f"invalid contamination {contamination}: expected a share between 0 and 0.5, e.g. 0.05")
        if alert_budget is not None and alert_budget < 1:
            raise ValueError(f"invalid alert budget {alert_budget}: expected at least 1 alert per window")
        self.hidden_channels = hidden_channels
        self.embedding_channels = embedding_channels
        self.dropout = dropout
        self.contamination = contamination
        self.alert_budget = alert_budget
        self.reference_errors_: np.ndarray | None = None

    def get_params(self) -> dict[str, Any]:
        return {
            "hidden_channels": self.hidden_channels,
            "embedding_channels": self.embedding_channels,
            "dropout": self.dropout,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "contamination": self.contamination,
            "alert_budget": self.alert_budget,
            "seed": self.seed,
            "label_rule": self.label_rule,
        }

    def _build_module(self, in_channels: int) -> torch.nn.Module:
        return GraphAutoencoder(
            in_channels,
            hidden_channels=self.hidden_channels,
            embedding_channels=self.embedding_channels,
            dropout=self.dropout,
        )

    def _train(self, data: Data, train_mask: torch.Tensor, val_mask: torch.Tensor) -> None:
        del val_mask  # the threshold comes from the training errors and the contamination
        module = self._fitted_module()
        optimizer = torch.optim.Adam(module.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        with progress_bar(self.epochs, description="training gae", enabled=self.progress) as advance:
            for _ in range(self.epochs):
                module.train()
                optimizer.zero_grad()
                reconstruction = module(data.x, data.edge_index)
                loss = F.mse_loss(reconstruction[train_mask], data.x[train_mask])
                loss.backward()
                optimizer.step()
                advance(f"loss {loss.item():.4f}")

        module.eval()
        with torch.no_grad():
            errors = self._raw_scores(data)[train_mask].cpu().numpy().astype(np.float64)
        self.reference_errors_ = reference_quantiles(errors)
        scores = self._calibrate(errors)
        if self.alert_budget is not None:
            windows = len(set(data.window_index[train_mask].cpu().tolist()))
            count = self.alert_budget * windows
            source = f"alert budget {self.alert_budget} per window over {windows} training windows"
        else:
            count = int(round(self.contamination * len(errors)))
            source = f"contamination {self.contamination} of {len(errors)} training device-windows"
        self.threshold_ = threshold_for_top(scores, count)
        self.threshold_source_ = source
        logger.info("gae final loss %.4f, threshold %.4f (%s)", loss.item(), self.threshold_, source)

    def _raw_scores(self, data: Data) -> torch.Tensor:
        reconstruction = self._fitted_module()(data.x, data.edge_index)
        return ((reconstruction - data.x) ** 2).mean(dim=1)

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        if self.reference_errors_ is None or len(self.reference_errors_) == 0:
            return np.zeros_like(raw)
        reference = self.reference_errors_
        return np.searchsorted(reference, raw, side="right") / len(reference)

    def calibration_state(self) -> dict[str, Any]:
        errors = [] if self.reference_errors_ is None else self.reference_errors_.tolist()
        return {"reference_errors": errors}

    def load_calibration_state(self, state: dict[str, Any]) -> None:
        self.reference_errors_ = np.asarray(state.get("reference_errors", []), dtype=np.float64)


def reference_quantiles(errors: np.ndarray) -> np.ndarray:
    """Return the sorted errors, or ``REFERENCE_SIZE`` evenly spaced quantiles of them when there are more."""
    ordered = np.sort(np.asarray(errors, dtype=np.float64))
    if len(ordered) <= REFERENCE_SIZE:
        return ordered
    return np.quantile(ordered, np.linspace(0.0, 1.0, REFERENCE_SIZE))
