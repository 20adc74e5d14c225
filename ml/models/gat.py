"""Supervised graph attention detector whose attention weights explain which neighbours mattered.

The model is the one of Veličković et al., "Graph Attention Networks"
(ICLR 2018): a multi-head ``GATConv`` layer, ELU, and a single-head
``GATConv`` output layer. Each layer adds self-loops, so a device attends to
itself as well as to its neighbours, and the attention over a device's
incoming edges sums to 1 per head. Training, class weighting and the
threshold are those of the reference GCN.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.nn import GATConv

from ml.models.gcn import GCNDetector


class GAT(torch.nn.Module):
    """``GATConv`` with ``heads`` heads, then a one-head ``GATConv``: [N, in_channels] to [N, 2] logits."""

    def __init__(self, in_channels: int, *, hidden_channels: int = 8, heads: int = 4, dropout: float = 0.5) -> None:
        super().__init__()
        self.dropout = dropout
        self.conv1 = GATConv(in_channels, hidden_channels, heads=heads, dropout=dropout)
        self.conv2 = GATConv(hidden_channels * heads, 2, heads=1, dropout=dropout)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        return self.forward_with_attention(x, edge_index)[0]

    def forward_with_attention(self, x: torch.Tensor, edge_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return the logits, and the output layer's edge index (with self-loops) and attention [E, 1]."""
        x = F.dropout(x, p=self.dropout, training=self.training)
        x = F.elu(self.conv1(x, edge_index))
        x = F.dropout(x, p=self.dropout, training=self.training)
        logits, (attended, attention) = self.conv2(x, edge_index, return_attention_weights=True)
        return logits, attended, attention


class GATDetector(GCNDetector):
    """Supervised GAT whose score is the softmax probability of the anomalous class."""

    kind = "gat"
    supervised = True

    def __init__(self, *, hidden_channels: int = 8, heads: int = 4, **options: Any) -> None:
        super().__init__(hidden_channels=hidden_channels, **options)
        if heads < 1:
            raise ValueError(f"invalid heads {heads}: a GAT layer needs at least 1 attention head")
        self.heads = heads

    def get_params(self) -> dict[str, Any]:
        return {**super().get_params(), "heads": self.heads}

    def _build_module(self, in_channels: int) -> torch.nn.Module:
        return GAT(in_channels, hidden_channels=self.hidden_channels, heads=self.heads, dropout=self.dropout)

    def neighbour_attention(self, data: Data, index: int) -> dict[int, float]:
        """Return the output layer's attention from each neighbour into node ``index``, self-loop left out.

        Parallel edges from one neighbour (a flow in each direction gives one
        edge each way, so at most one into ``index``) add up.
        """
        module = self._fitted_module()
        module.eval()
        with torch.no_grad():
            _, edge_index, attention = module.forward_with_attention(data.x.to(self.device), data.edge_index.to(self.device))
        src, dst = edge_index.cpu()
        weights = attention.mean(dim=1).cpu()
        into = (dst == index) & (src != index)
        result: dict[int, float] = {}
        for neighbour, weight in zip(src[into].tolist(), weights[into].tolist()):
            result[neighbour] = result.get(neighbour, 0.0) + float(weight)
        return result
