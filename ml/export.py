"""Export of windows to PyTorch Geometric ``Data`` objects.

Node ``i`` is the ``i``-th row of ``WindowGraph.devices`` (sorted by id), and
``data.device_ids[i]`` is its id. ``edge_index`` lists each window edge
``src -> dst`` followed by the reverse edge ``dst -> src`` of every edge that
is not a self-loop. ``GCNConv`` passes messages from ``edge_index[0]`` to
``edge_index[1]``, so with both directions a device hears from the devices it
contacted and from those that contacted it. ``edge_reverse`` marks the added
edges, and ``edge_attr`` is always seen from ``edge_index[0]``: on a reverse
edge ``bytes_out`` is what the responder sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data

from graphdb.model import WindowGraph
from ingest.features import FEATURES, device_features, device_window_labels, edge_labels
from ml.scaling import FeatureScaler

logger = logging.getLogger(__name__)

# Edge attributes: log1p of the aggregates, then 1.0 on reverse edges.
EDGE_FEATURES: tuple[str, ...] = (
    "flows",
    "bytes_out",
    "bytes_in",
    "pkts_out",
    "pkts_in",
    "duration_sum",
    "failed_flows",
    "reverse",
)
_SWAPPED = {"bytes_out": "bytes_in", "bytes_in": "bytes_out", "pkts_out": "pkts_in", "pkts_in": "pkts_out"}


def to_pyg(
    graph: WindowGraph,
    *,
    scaler: FeatureScaler | None = None,
    label_rule: str = "originator",
) -> tuple[Data, list[str]]:
    """Export one window as a ``Data`` object and return it with its node order of device ids.

    - ``x``: float32 [N, len(FEATURES)], standardised when ``scaler`` is given.
    - ``y``: int64 [N], 1 anomalous, 0 normal, -1 unknown by ``label_rule``.
    - ``edge_attr``: float32 [E, len(EDGE_FEATURES)].
    - ``edge_label``: int64 [E], 1 malicious, 0 benign, -1 unlabelled.
    - ``window_index``: int64 [N] of zeros; ``window_starts`` is ``[graph.window.start]``.
    """
    features = device_features(graph.devices, graph.edges)
    labels = device_window_labels(graph.devices, graph.edges, rule=label_rule)
    data = build_data(graph, features=features, labels=labels, scaler=scaler)
    return data, list(data.device_ids)


def to_pyg_batch(
    graphs: Sequence[WindowGraph],
    *,
    scaler: FeatureScaler | None = None,
    label_rule: str = "originator",
) -> tuple[Data, list[str]]:
    """Export several windows as one graph of disjoint components.

    Nodes of window ``k`` follow those of window ``k - 1``; ``window_index[i]``
    is the position in ``window_starts`` of node ``i``'s window. The returned
    device ids repeat when a device appears in several windows.
    """
    parts = [to_pyg(graph, scaler=scaler, label_rule=label_rule)[0] for graph in graphs]
    return concat_windows(parts)


def concat_windows(parts: Sequence[Data]) -> tuple[Data, list[str]]:
    """Join single-window ``Data`` objects into one disjoint graph, offsetting node indices."""
    offsets = np.cumsum([0] + [part.num_nodes for part in parts])
    device_ids = [device_id for part in parts for device_id in part.device_ids]
    data = Data(
        x=_cat([part.x for part in parts], torch.zeros((0, len(FEATURES)))),
        edge_index=_cat(
            [part.edge_index + int(offset) for part, offset in zip(parts, offsets)], torch.zeros((2, 0), dtype=torch.long), dim=1
        ),
        edge_attr=_cat([part.edge_attr for part in parts], torch.zeros((0, len(EDGE_FEATURES)))),
        edge_label=_cat([part.edge_label for part in parts], torch.zeros(0, dtype=torch.long)),
        edge_reverse=_cat([part.edge_reverse for part in parts], torch.zeros(0, dtype=torch.bool)),
        y=_cat([part.y for part in parts], torch.zeros(0, dtype=torch.long)),
        window_index=_cat(
            [torch.full((part.num_nodes,), k, dtype=torch.long) for k, part in enumerate(parts)], torch.zeros(0, dtype=torch.long)
        ),
    )
    data.num_nodes = int(offsets[-1])
    data.device_ids = device_ids
    data.window_starts = [part.window_start for part in parts]
    data.feature_names = list(FEATURES)
    return data, device_ids


def build_data(
    graph: WindowGraph,
    *,
    features: pd.DataFrame,
    labels: pd.Series,
    scaler: FeatureScaler | None = None,
) -> Data:
    """Assemble a ``Data`` object from a window and its precomputed features and labels."""
    device_ids = graph.devices["id"].astype(str).tolist()
    if features.index.tolist() != device_ids:
        raise ValueError(f"feature rows of window {graph.window.start} are not in the devices' order; compute them with device_features")

    values = features.loc[:, list(FEATURES)].to_numpy(dtype=np.float64, copy=True)
    if scaler is not None:
        values = scaler.transform(values, features=FEATURES)
    edge_index, edge_attr, edge_label, edge_reverse = _edge_tensors(graph, device_ids)

    data = Data(
        x=torch.as_tensor(values, dtype=torch.float32),
        edge_index=edge_index,
        edge_attr=edge_attr,
        edge_label=edge_label,
        edge_reverse=edge_reverse,
        y=torch.as_tensor(labels.reindex(device_ids).to_numpy(dtype=np.int64, copy=True), dtype=torch.long),
        window_index=torch.zeros(len(device_ids), dtype=torch.long),
    )
    data.num_nodes = len(device_ids)
    data.device_ids = device_ids
    data.window_start = float(graph.window.start)
    data.window_starts = [float(graph.window.start)]
    data.feature_names = list(FEATURES)
    return data


def _edge_tensors(graph: WindowGraph, device_ids: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    edges = graph.edges
    # A hash index looks up a million endpoints in C; -1 marks a device missing from the list.
    position = pd.Index(device_ids)
    src_index = position.get_indexer(edges["src"].astype(str)).astype(np.int64) if not edges.empty else np.zeros(0, dtype=np.int64)
    dst_index = position.get_indexer(edges["dst"].astype(str)).astype(np.int64) if not edges.empty else np.zeros(0, dtype=np.int64)

    known = (src_index >= 0) & (dst_index >= 0)
    if not known.all():
        logger.warning(
            "window %s: %d edge(s) name devices missing from the window's device list; they are left out of the graph",
            graph.window.start,
            int((~known).sum()),
        )
    src_index, dst_index = src_index[known], dst_index[known]
    known_edges = edges.loc[known] if not edges.empty else edges

    forward = np.column_stack([_log1p_column(known_edges, name) for name in EDGE_FEATURES[:-1]] + [np.zeros(len(known_edges))])
    backward = np.column_stack(
        [_log1p_column(known_edges, _SWAPPED.get(name, name)) for name in EDGE_FEATURES[:-1]] + [np.ones(len(known_edges))]
    )
    labels = edge_labels(known_edges).to_numpy(dtype=np.int64) if len(known_edges) else np.zeros(0, dtype=np.int64)

    # A self-loop's reverse is itself; adding it would count that edge twice.
    loop = src_index == dst_index
    edge_index = np.concatenate([np.stack([src_index, dst_index]), np.stack([dst_index[~loop], src_index[~loop]])], axis=1)
    attributes = np.concatenate([forward.reshape(-1, len(EDGE_FEATURES)), backward[~loop].reshape(-1, len(EDGE_FEATURES))])
    edge_label = np.concatenate([labels, labels[~loop]])
    reverse = np.concatenate([np.zeros(len(known_edges), dtype=bool), np.ones(int((~loop).sum()), dtype=bool)])
    return (
        torch.as_tensor(edge_index, dtype=torch.long).reshape(2, -1),
        torch.as_tensor(attributes, dtype=torch.float32),
        torch.as_tensor(edge_label, dtype=torch.long),
        torch.as_tensor(reverse, dtype=torch.bool),
    )


def _log1p_column(edges: pd.DataFrame, name: str) -> np.ndarray:
    if name not in edges.columns or edges.empty:
        return np.zeros(len(edges), dtype=np.float64)
    values = pd.to_numeric(edges[name], errors="coerce").fillna(0.0).to_numpy(dtype=np.float64)
    return np.log1p(np.clip(values, 0.0, None))


def _cat(tensors: list[torch.Tensor], empty: torch.Tensor, dim: int = 0) -> torch.Tensor:
    return torch.cat(tensors, dim=dim) if tensors else empty
