"""Explanations stored with the top-ranked scores of a window.

An explanation is a JSON-ready dict with four parts:

- ``features``: the device's five features with the largest robust z-score
  against the window's devices, ``z = (value - median) / (1.4826 × MAD)``,
  computed on the model's feature scale (``log1p`` for counts). ``value``,
  ``median`` and ``previous`` are reported in natural units (flows, bytes,
  seconds, shares); ``previous`` is the device's value in ``previous_window``.
- ``neighbours``: the five neighbours whose removal changes the device's score
  most. Removing a neighbour drops every edge between the two from message
  passing, one forward pass each, while node features stay as they are.
  ``influence`` is the score minus the score without that neighbour, so a
  positive value means the neighbour raised the score.
- ``edges``: the device's busiest edges of the window, in either direction.
- ``model_version`` and ``score``.
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
from ingest.features import FEATURES, natural_value
from ml.models import GraphDetector

logger = logging.getLogger(__name__)

# 1.4826 × MAD estimates the standard deviation of normally distributed data.
# When more than half the values tie, MAD is 0, and sqrt(pi / 2) × the mean
# absolute deviation estimates it instead.
_MAD_FACTOR = 1.4826
_MEAN_AD_FACTOR = 1.2533


@dataclass(frozen=True)
class PreviousFeatures:
    """A device's raw feature values in an earlier window."""

    window_start: float
    values: pd.Series


def robust_z(features: pd.DataFrame) -> pd.DataFrame:
    """Return each device's robust z-score per feature against the devices of the same frame.

    A feature on which more than half the devices tie has MAD 0; its scale
    falls back to the mean absolute deviation, and a feature on which all
    devices are equal gets z = 0.
    """
    values = features.to_numpy(dtype=np.float64)
    if len(values) == 0:
        return features.copy()
    median = np.median(values, axis=0)
    deviation = np.abs(values - median)
    scale = _MAD_FACTOR * np.median(deviation, axis=0)
    fallback = _MEAN_AD_FACTOR * deviation.mean(axis=0)
    scale = np.where(scale > 0, scale, fallback)
    z = np.divide(values - median, scale, out=np.zeros_like(values), where=scale > 0)
    return pd.DataFrame(z, index=features.index, columns=features.columns)


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
    top_features: int = 5,
    top_neighbours: int = 5,
    top_edges: int = 5,
    max_ablations: int = 50,
) -> dict[str, dict[str, Any]]:
    """Explain the score of each device in ``device_ids`` and return the explanations by device id.

    ``data`` is the window prepared by ``detector.prepare``, ``features`` its
    unscaled feature frame and ``scores`` the detector's scores of its nodes.
    Neighbour ablation tries at most ``max_ablations`` neighbours per device,
    those exchanging the most flows with it.
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
            "score": float(scores[index]),
            "model_version": model_version,
            "features": _feature_reasons(device_id, features, z, median, earlier, top=top_features),
            "previous_window": None if earlier is None else earlier.window_start,
            "neighbours": _neighbour_influence(
                detector, graph, data, scores, index, top=top_neighbours, max_ablations=max_ablations
            ),
            "edges": _top_edges(graph, device_id, top=top_edges),
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
                "value": natural_value(name, float(features.at[device_id, name])),
                "median": natural_value(name, float(median[name])),
                "z": float(device_z.iloc[i]),
                "previous": previous_value,
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

    influences = []
    for neighbour in candidates:
        between = ((src == index) & (dst == neighbour)) | ((src == neighbour) & (dst == index))
        ablated = data.clone()
        keep = ~between
        ablated.edge_index = data.edge_index[:, keep]
        ablated.edge_attr = data.edge_attr[keep]
        ablated.edge_label = data.edge_label[keep]
        ablated.edge_reverse = data.edge_reverse[keep]
        new_score = detector.scores_from_data(ablated)[0][index]
        influences.append({"id": data.device_ids[neighbour], "influence": float(scores[index] - new_score)})
    influences.sort(key=lambda item: (-abs(item["influence"]), item["id"]))
    return influences[:top]


def _top_edges(graph: WindowGraph, device_id: str, *, top: int) -> list[dict[str, Any]]:
    edges = graph.edges
    if edges.empty:
        return []
    columns = ["src", "dst", "flows", "bytes_out", "malicious_flows"]
    mine = edges.loc[(edges["src"].astype(str) == device_id) | (edges["dst"].astype(str) == device_id), columns]
    mine = mine.sort_values(["flows", "src", "dst"], ascending=[False, True, True]).head(top)
    return [
        {
            "src": str(row.src),
            "dst": str(row.dst),
            "flows": int(row.flows),
            "bytes_out": int(row.bytes_out),
            "malicious_flows": int(row.malicious_flows),
        }
        for row in mine.itertuples(index=False)
    ]
