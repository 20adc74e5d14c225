"""Supervised GraphSAGE detector: inductive, so it scores windows and devices it never saw.

The model is the one of Hamilton, Ying and Leskovec, "Inductive
Representation Learning on Large Graphs" (NeurIPS 2017): two ``SAGEConv``
layers with mean aggregation. Each layer combines a device's own features
with the mean of its neighbours' through separate weights, and nothing ties
the weights to a node set, so a model fitted on some windows applies to any
other window. Training, class weighting and the threshold are those of the
reference GCN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch_geometric.nn import SAGEConv

from ml.models.gcn import GCNDetector


class GraphSAGE(torch.nn.Module):
    """Two mean-aggregating ``SAGEConv`` layers mapping [N, in_channels] features to [N, 2] class logits."""

    def __init__(self, in_channels: int, *, hidden_channels: int = 16, dropout: float = 0.5) -> None:
        super().__init__()
        self.dropout = dropout
        self.conv1 = SAGEConv(in_channels, hidden_channels, aggr="mean")
        self.conv2 = SAGEConv(hidden_channels, 2, aggr="mean")

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        x = F.dropout(x, p=self.dropout, training=self.training)
        x = F.relu(self.conv1(x, edge_index))
        x = F.dropout(x, p=self.dropout, training=self.training)
        return self.conv2(x, edge_index)


class SAGEDetector(GCNDetector):
    """Supervised GraphSAGE whose score is the softmax probability of the anomalous class."""

    kind = "sage"
    supervised = True

    def _build_module(self, in_channels: int) -> torch.nn.Module:
        return GraphSAGE(in_channels, hidden_channels=self.hidden_channels, dropout=self.dropout)
