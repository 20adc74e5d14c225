"""Explanations stored with the top-ranked scores of a window.

An explanation is a JSON-ready dict with four parts:

- ``features``: the device's five features with the largest robust z-score
  against the window's devices, ``z = (value - median) / (1.4826 × MAD)``,
  computed on the model's feature scale (``log1p`` for counts). ``value``,
  ``median`` and ``previous`` are reported in natural units (flows, bytes,
  seconds, shares); ``previous`` is the device's value in ``previous_window``.
- ``neighbours``: the five neighbours whose removal changes the device's score
  most. Removing a neighbour drops every edge between the two from message
  passing while node features stay as they are. All removals of one device
  run as one forward pass over a disjoint batch of copies of the device's
  receptive field (``receptive_hops + 1`` hops, enough for degree
  normalisation to match the whole window). ``influence`` is the score minus
  the score without that neighbour, so a positive value means the neighbour
  raised the score. A GAT also reports each neighbour's ``attention`` in its
  output layer and ranks neighbours by it.
- ``edges``: the device's edges of the window in either direction, highest
  edge score first when the model scores edges, else busiest first.
- ``model_version`` and ``score``.

Floats are rounded to 6 significant digits, so stored explanations carry no
float noise such as 0.30000000000000004.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data

from graphdb.model import WindowGraph
from torch_geometric.utils import k_hop_subgraph

from ingest.features import FEATURES, natural_value
from ml.models import GraphDetector
from ml.window_scaling import robust_z

logger = logging.getLogger(__name__)

SIGNIFICANT_DIGITS = 6
# Nodes per batched forward pass of the neighbour ablations; more copies run in several passes.
MAX_BATCH_NODES = 200_000


@dataclass(frozen=True)
class PreviousFeatures:
    """A device's raw feature values in an earlier window."""

    window_start: float
    values: pd.Series


def rounded(value: float | None, digits: int = SIGNIFICANT_DIGITS) -> float | None:
    """Return ``value`` rounded to ``digits`` significant digits; None stays None."""
    if value is None:
        return None
    return float(f"{float(value):.{digits}g}")


def explain_devices(
    detector: GraphDetector,
    graph: WindowGraph,
    data: Data,
    features: pd.DataFrame,
    scores: np.ndarray,
    *,
    device_ids: Sequence[str],
    model_version: str,
    previous: Mapping[str, PreviousFeatures] | None = None,
    edge_scores: Mapping[tuple[str, str], float] | None = None,
    top_features: int = 5,
    top_neighbours: int = 5,
    top_edges: int = 5,
    max_ablations: int = 50,
) -> dict[str, dict[str, Any]]:
    """Explain the score of each device in ``device_ids`` and return the explanations by device id.

    ``data`` is the window prepared by ``detector.prepare``, ``features`` its
    unscaled feature frame and ``scores`` the detector's scores of its nodes.
    Neighbour ablation tries at most ``max_ablations`` neighbours per device,
    those exchanging the most flows with it. ``edge_scores`` maps
    ``(src, dst)`` to the edge's score when the model scores edges.
    """
    previous = previous or {}
    position = {device_id: i for i, device_id in enumerate(data.device_ids)}
    z = robust_z(features.loc[:, list(FEATURES)])
    median = features.loc[:, list(FEATURES)].median(axis=0)

    explanations = {}
    for device_id in device_ids:
        index = position[device_id]
        earlier = previous.get(device_id)
        explanations[device_id] = {
            "score": rounded(scores[index]),
            "model_version": model_version,
            "features": _feature_reasons(device_id, features, z, median, earlier, top=top_features),
            "previous_window": None if earlier is None else earlier.window_start,
            "neighbours": _neighbour_influence(
                detector, graph, data, scores, index, top=top_neighbours, max_ablations=max_ablations
            ),
            "edges": _top_edges(graph, device_id, top=top_edges, edge_scores=edge_scores),
        }
    return explanations


def _feature_reasons(
    device_id: str,
    features: pd.DataFrame,
    z: pd.DataFrame,
    median: pd.Series,
    earlier: PreviousFeatures | None,
    *,
    top: int,
) -> list[dict[str, Any]]:
    device_z = z.loc[device_id]
    order = np.argsort(-np.abs(device_z.to_numpy()), kind="stable")[:top]
    reasons = []
    for i in order:
        name = FEATURES[i]
        previous_value = None
        if earlier is not None and name in earlier.values.index:
            previous_value = natural_value(name, float(earlier.values[name]))
        reasons.append(
            {
                "name": name,
                "value": rounded(natural_value(name, float(features.at[device_id, name]))),
                "median": rounded(natural_value(name, float(median[name]))),
                "z": rounded(device_z.iloc[i]),
                "previous": rounded(previous_value),
            }
        )
    return reasons


def _neighbour_influence(
    detector: GraphDetector,
    graph: WindowGraph,
    data: Data,
    scores: np.ndarray,
    index: int,
    *,
    top: int,
    max_ablations: int,
) -> list[dict[str, Any]]:
    src, dst = data.edge_index
    touching = (src == index) | (dst == index)
    neighbours = torch.cat([src[touching], dst[touching]]).unique().tolist()
    neighbours = [n for n in neighbours if n != index]
    if not neighbours:
        return []

    # Rank candidates by the flows they exchanged with the device (both directions).
    flows = {}
    weights = data.edge_attr[touching, 0].tolist()
    for s, d, w in zip(src[touching].tolist(), dst[touching].tolist(), weights):
        other = d if s == index else s
        flows[other] = flows.get(other, 0.0) + float(np.expm1(w))
    candidates = sorted(neighbours, key=lambda n: (-flows.get(n, 0.0), n))[:max_ablations]
    if len(neighbours) > max_ablations:
        logger.debug(
            "window %s: device %s has %d neighbours; ablating the %d busiest",
            graph.window.start,
            data.device_ids[index],
            len(neighbours),
            max_ablations,
        )

    changed = _ablated_scores(detector, data, index, candidates)
    attention = detector.neighbour_attention(data, index) if hasattr(detector, "neighbour_attention") else None
    influences = []
    for neighbour, without in zip(candidates, changed):
        item = {"id": data.device_ids[neighbour], "influence": rounded(scores[index] - without)}
        if attention is not None:
            item["attention"] = rounded(attention.get(neighbour, 0.0))
        influences.append(item)
    if attention is not None:
        influences.sort(key=lambda item: (-item["attention"], item["id"]))
    else:
        influences.sort(key=lambda item: (-abs(item["influence"]), item["id"]))
    return influences[:top]


def _ablated_scores(detector: GraphDetector, data: Data, index: int, neighbours: Sequence[int]) -> np.ndarray:
    """Return node ``index``'s score with each neighbour's edges to it removed, one value per neighbour.

    Each ablation is a copy of the receptive field of ``index``. The copies
    form one disjoint batch, so one forward pass (or a few for large fields)
    scores them all. A detector that passes no messages gets its own score back.
    """
    if detector.receptive_hops == 0:
        return np.full(len(neighbours), detector.scores_from_data(data)[0][index]) if neighbours else np.zeros(0)
    subset, edge_index, mapping, edge_mask = k_hop_subgraph(
        index, detector.receptive_hops + 1, data.edge_index, relabel_nodes=True, num_nodes=data.num_nodes
    )
    centre = int(mapping[0])
    local = {int(node): i for i, node in enumerate(subset.tolist())}
    size = len(subset)
    src, dst = edge_index
    per_batch = max(1, MAX_BATCH_NODES // max(size, 1))

    others = torch.tensor([local[neighbour] for neighbour in neighbours], dtype=torch.long)
    results = []
    for first in range(0, len(neighbours), per_batch):
        chunk = others[first : first + per_batch, None]
        # One row per copy: the edges between the centre and that copy's neighbour, which the copy drops.
        between = ((src == centre) & (dst == chunk)) | ((src == chunk) & (dst == centre))
        batch = _disjoint_copies(data, subset, edge_index, edge_mask, ~between)
        scores = detector.scores_from_data(batch)[0]
        results.extend(scores[np.arange(len(chunk)) * size + centre].tolist())
    return np.asarray(results, dtype=np.float64)


def _disjoint_copies(data: Data, subset: torch.Tensor, edge_index: torch.Tensor, edge_mask: torch.Tensor, keeps: torch.Tensor) -> Data:
    """Stack copies of the subgraph ``subset`` into one graph; copy ``k`` keeps the edges where row ``k`` of ``keeps`` is True.

    The copies are built with one ``nonzero`` over all of ``keeps`` instead of
    one mask per copy; its row-major order keeps copy ``k``'s edges together
    and in their original order.
    """
    size = len(subset)
    copies = int(keeps.shape[0])
    copy_of, edge_of = keeps.nonzero(as_tuple=True)
    batch = Data(
        x=data.x[subset].repeat(copies, 1),
        edge_index=edge_index[:, edge_of] + copy_of * size,
        edge_attr=data.edge_attr[edge_mask][edge_of],
        edge_label=data.edge_label[edge_mask][edge_of],
        edge_reverse=data.edge_reverse[edge_mask][edge_of],
        y=data.y[subset].repeat(copies),
        window_index=torch.zeros(size * copies, dtype=torch.long),
    )
    batch.num_nodes = size * copies
    device_ids = data.device_ids
    batch.device_ids = [device_ids[i] for i in subset.tolist()] * copies
    batch.window_starts = list(getattr(data, "window_starts", [0.0]))[:1]
    return batch


def _top_edges(
    graph: WindowGraph, device_id: str, *, top: int, edge_scores: Mapping[tuple[str, str], float] | None = None
) -> list[dict[str, Any]]:
    edges = graph.edges
    if edges.empty:
        return []
    columns = ["src", "dst", "flows", "bytes_out", "malicious_flows"]
    mine = edges.loc[(edges["src"].astype(str) == device_id) | (edges["dst"].astype(str) == device_id), columns].copy()
    if edge_scores:
        mine["score"] = [edge_scores.get((str(s), str(d)), 0.0) for s, d in zip(mine["src"], mine["dst"])]
        mine = mine.sort_values(["score", "flows", "src", "dst"], ascending=[False, False, True, True]).head(top)
    else:
        mine = mine.sort_values(["flows", "src", "dst"], ascending=[False, True, True]).head(top)
    reasons = []
    for row in mine.itertuples(index=False):
        item = {
            "src": str(row.src),
            "dst": str(row.dst),
            "flows": int(row.flows),
            "bytes_out": int(row.bytes_out),
            "malicious_flows": int(row.malicious_flows),
        }
        if edge_scores:
            item["score"] = rounded(row.score)
        reasons.append(item)
    return reasons
