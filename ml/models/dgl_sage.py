"""A supervised GraphSAGE detector built on DGL.

The model is the one of Hamilton, Ying and Leskovec, "Inductive
Representation Learning on Large Graphs" (NeurIPS 2017): two
``dgl.nn.SAGEConv`` layers with ReLU between them. Each layer combines a
device's own features with an aggregate of its neighbours', so a fitted model
scores devices and windows it never saw. It trains on whole windows rather
than on the paper's sampled neighbourhoods, which serve graphs too large for
memory. Training and the threshold follow the GCN detector:
cross-entropy weighted by inverse class frequency, and the threshold that
maximises F1 on the validation nodes.

DGL is imported when a detector is created, so ``make_detector("dgl-sage")``
without DGL raises ``DGLUnavailableError`` saying how to install it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch_geometric.data import Data

from ml.dgl_export import data_to_dgl, import_dgl
from ml.errors import DeviceUnavailableError, TrainingDataError
from ml.models.base import GraphDetector
from ml.models.gcn import select_threshold
from ml.progress import progress_bar

if TYPE_CHECKING:
    import dgl

logger = logging.getLogger(__name__)

# Neighbour aggregators that dgl.nn.SAGEConv implements.
AGGREGATORS: tuple[str, ...] = ("mean", "gcn", "pool", "lstm")


class DGLSAGE(torch.nn.Module):
    """Two ``SAGEConv`` layers mapping [N, in_channels] features to [N, 2] class logits."""

    def __init__(self, in_channels: int, *, hidden_channels: int = 16, aggregator: str = "mean", dropout: float = 0.5) -> None:
        super().__init__()
        import_dgl()
        from dgl.nn import SAGEConv

        self.dropout = dropout
        self.conv1 = SAGEConv(in_channels, hidden_channels, aggregator)
        self.conv2 = SAGEConv(hidden_channels, 2, aggregator)

    def forward(self, graph: dgl.DGLGraph, x: torch.Tensor) -> torch.Tensor:
        x = F.dropout(x, p=self.dropout, training=self.training)
        x = F.relu(self.conv1(graph, x))
        x = F.dropout(x, p=self.dropout, training=self.training)
        return self.conv2(graph, x)


class DGLSAGEDetector(GraphDetector):
    """Supervised GraphSAGE on DGL, whose score is the softmax probability of the anomalous class.

    ``threshold_`` maximises F1 on the validation nodes, or is 0.5 when they
    lack either class. ``device="auto"`` uses the CPU when the installed DGL
    has no CUDA support, as the DGL wheels on PyPI do.
    """

    kind = "dgl-sage"
    supervised = True

    def __init__(
        self,
        *,
        hidden_channels: int = 16,
        aggregator: str = "mean",
        dropout: float = 0.5,
        epochs: int = 200,
        learning_rate: float = 0.01,
        weight_decay: float = 5e-4,
        seed: int = 0,
        label_rule: str = "originator",
        device: str | torch.device = "auto",
        progress: bool = True,
    ) -> None:
        import_dgl()
        if aggregator not in AGGREGATORS:
            raise ValueError(f"invalid aggregator {aggregator!r}: expected one of {', '.join(AGGREGATORS)}")
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
        self.aggregator = aggregator
        self.dropout = dropout
        if self.device.type == "cuda" and not dgl_supports_cuda():
            if str(device).strip().lower() != "auto":
                raise DeviceUnavailableError(
                    f"device {str(device)!r} requested but the installed dgl {import_dgl().__version__} has no CUDA support "
                    "(the PyPI wheels are CPU builds); use --device cpu or auto, or install a CUDA build of DGL"
                )
            logger.info("dgl-sage runs on the CPU: the installed dgl has no CUDA support")
            self.device = torch.device("cpu")

    def get_params(self) -> dict[str, Any]:
        return {
            "hidden_channels": self.hidden_channels,
            "aggregator": self.aggregator,
            "dropout": self.dropout,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "seed": self.seed,
            "label_rule": self.label_rule,
        }

    def _build_module(self, in_channels: int) -> torch.nn.Module:
        return DGLSAGE(in_channels, hidden_channels=self.hidden_channels, aggregator=self.aggregator, dropout=self.dropout)

    def _train(self, data: Data, train_mask: torch.Tensor, val_mask: torch.Tensor) -> None:
        train = train_mask & (data.y >= 0)
        counts = torch.bincount(data.y[train], minlength=2)
        if int(counts.min()) == 0:
            raise TrainingDataError(
                f"dgl-sage needs anomalous and normal device-windows to train on, but the training nodes have "
                f"{int(counts[1])} anomalous and {int(counts[0])} normal under label rule {self.label_rule!r}. "
                "Ingest labelled flows of both kinds or train the unsupervised gae"
            )
        # Inverse class frequency, scaled so that a balanced set gets weight 1.
        weight = (counts.sum() / (2.0 * counts)).to(torch.float32)

        graph = data_to_dgl(data)
        features = graph.ndata["feat"]
        module = self._fitted_module()
        optimizer = torch.optim.Adam(module.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        with progress_bar(self.epochs, description="training dgl-sage", enabled=self.progress) as advance:
            for _ in range(self.epochs):
                module.train()
                optimizer.zero_grad()
                logits = module(graph, features)
                loss = F.cross_entropy(logits[train], data.y[train], weight=weight)
                loss.backward()
                optimizer.step()
                advance(f"loss {loss.item():.4f}")
        logger.info(
            "dgl-sage trained on %d anomalous and %d normal device-windows, final loss %.4f", counts[1], counts[0], loss.item()
        )

        module.eval()
        with torch.no_grad():
            probabilities = self._raw_scores(data).cpu().numpy()
        validation = (val_mask & (data.y >= 0)).cpu().numpy()
        self.threshold_, self.threshold_source_ = select_threshold(data.y.cpu().numpy()[validation], probabilities[validation])
        logger.info("dgl-sage threshold %.4f (%s)", self.threshold_, self.threshold_source_)

    def _raw_scores(self, data: Data) -> torch.Tensor:
        graph = data_to_dgl(data)
        return torch.softmax(self._fitted_module()(graph, graph.ndata["feat"]), dim=1)[:, 1]

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        return raw


def dgl_supports_cuda() -> bool:
    """Return True when the installed DGL can place graphs on a CUDA device.

    DGL reports a CUDA device as missing both when it was built without CUDA
    and when the machine has no GPU.
    """
    dgl_module = import_dgl()
    return bool(dgl_module.ndarray.gpu(0).exist)
