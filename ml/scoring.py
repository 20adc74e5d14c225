"""Scoring of stored windows with a saved model, written back to the store with explanations.

Models that score edges (kinds ``edge`` and ``gbt-edge``) also write each
COMMUNICATED edge's score, under the same model version, and their
explanations list a device's edges by edge score.
"""

from __future__ import annotations

import logging
import time
from collections import ChainMap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from graphdb.model import DeviceScore, EdgeScore
from graphdb.store import GraphStore
from ingest.features import device_features
from ml.artifacts import ModelInfo, load_model
from ml.device import torch_threads_for
from ml.explain import PreviousFeatures, explain_devices, rounded
from ml.models import GraphDetector
from ml.progress import progress_bar
from ml.sampling import scores_from_data as sampled_scores

logger = logging.getLogger(__name__)


@dataclass
class WindowScoreSummary:
    """Summary of one scored window: device count, flagged devices and the five highest scores."""

    window_start: float
    model_version: str
    devices: int
    predicted: int
    max_score: float | None
    top: list[tuple[str, float]] = field(default_factory=list)


def score_windows(
    store: GraphStore,
    starts: Sequence[float] | None = None,
    *,
    model: str = "latest",
    models_dir: str | Path | None = None,
    explain_top_k: int = 20,
    device: str | torch.device = "auto",
    progress: bool = True,
    scored_at: float | None = None,
    sampling: str = "auto",
) -> list[WindowScoreSummary]:
    """Score windows, oldest first, and write every device's score to the store, one transaction per window.

    ``starts=None`` scores every stored window; ``model`` is a version id,
    ``latest`` or ``latest:<kind>``. The ``explain_top_k`` highest-ranked
    devices of each window get an explanation. ``scored_at`` (epoch seconds,
    default now) is the same for every window of the call. ``sampling``
    (``auto``, ``on``, ``off``) chooses scoring over sampled neighbourhoods
    for windows too large for one pass, see ``ml.sampling``. Raises
    ModelNotFoundError and FeatureMismatchError from loading the model and
    NotFoundError for a window start that is not stored.
    """
    detector, info = load_model(model, directory=models_dir, device=device)
    ordered = sorted(float(start) for start in starts) if starts is not None else [w.start for w in store.windows()]
    scored_at = time.time() if scored_at is None else scored_at
    previous: Mapping[str, PreviousFeatures] = _features_before(store, ordered[0]) if ordered else {}

    summaries = []
    with progress_bar(len(ordered), description=f"scoring with {info.version}", enabled=progress) as advance:
        for start in ordered:
            summary, current = score_window(
                store, detector, info, start, previous=previous, explain_top_k=explain_top_k, scored_at=scored_at, sampling=sampling
            )
            # Newer windows first: a device's features come from the latest window that has it.
            previous = ChainMap(current, previous)
            summaries.append(summary)
            advance(f"{summary.predicted} flagged")
    logger.info(
        "scored %d window(s) with %s: %d device-windows, %d flagged",
        len(summaries),
        info.version,
        sum(s.devices for s in summaries),
        sum(s.predicted for s in summaries),
    )
    return summaries


def score_window(
    store: GraphStore,
    detector: GraphDetector,
    info: ModelInfo,
    start: float,
    *,
    previous: Mapping[str, PreviousFeatures] | None = None,
    explain_top_k: int = 20,
    scored_at: float,
    sampling: str = "auto",
) -> tuple[WindowScoreSummary, Mapping[str, PreviousFeatures]]:
    """Score one window with a loaded detector and write its scores.

    ``previous`` maps device ids to their features in an earlier window, for
    the explanations. Returns the summary and this window's features by
    device, which become ``previous`` for the next window.
    """
    graph = store.export_window(start)
    features = device_features(graph.devices, graph.edges)
    data = detector.prepare(graph, features=features)
    with torch_threads_for(data.num_edges):
        scores, raw = sampled_scores(detector, data, sampling=sampling)
    device_ids = list(data.device_ids)

    # Highest score first; the raw score breaks ties between calibrated
    # scores that saturate at 1, then the device id keeps the order stable.
    order = sorted(range(len(device_ids)), key=lambda i: (-scores[i], -raw[i], device_ids[i]))
    top_ids = [device_ids[i] for i in order[: max(explain_top_k, 0)]]
    edge_rows = edge_scores(detector, data)
    # The ablation passes run over copies of receptive fields, small graphs that one thread serves best.
    with torch_threads_for(data.num_edges):
        explanations = explain_devices(
            detector,
            graph,
            data,
            features,
            scores,
            device_ids=top_ids,
            model_version=info.version,
            previous=previous,
            edge_scores={(row.src, row.dst): row.score for row in edge_rows} or None,
        )
    threshold = 1.0 if detector.threshold_ is None else detector.threshold_
    rows = [
        DeviceScore(
            device_id=device_ids[i],
            window_start=float(start),
            score=float(scores[i]),
            model_version=info.version,
            rank=rank,
            predicted=bool(scores[i] >= threshold),
            scored_at=scored_at,
            explanation=explanations.get(device_ids[i]),
        )
        for rank, i in enumerate(order, start=1)
    ]
    store.write_scores(float(start), rows, info.version, edge_scores=edge_rows, scored_at=scored_at)
    # Detectors that compare a device with its own past remember this window for the next.
    detector.observe(data)

    summary = WindowScoreSummary(
        window_start=float(start),
        model_version=info.version,
        devices=len(rows),
        predicted=sum(1 for row in rows if row.predicted),
        max_score=float(np.max(scores)) if len(scores) else None,
        top=[(row.device_id, row.score) for row in rows[:5]],
    )
    logger.debug("window %s: %d devices, %d flagged, max score %s", start, summary.devices, summary.predicted, summary.max_score)
    current = WindowFeatures(float(start), features)
    return summary, current


def edge_scores(detector: GraphDetector, data) -> list[EdgeScore]:
    """Return the detector's score of every forward edge of a prepared window; empty for a device-only detector."""
    values = detector.edge_scores_from_data(data)
    if values is None:
        return []
    forward = (~data.edge_reverse).nonzero().flatten()
    src, dst = data.edge_index[:, forward].tolist() if len(forward) else ([], [])
    ids = data.device_ids
    return [EdgeScore(src=ids[s], dst=ids[d], score=rounded(v)) for s, d, v in zip(src, dst, values.tolist())]


class WindowFeatures(Mapping[str, PreviousFeatures]):
    """One window's device features as ``PreviousFeatures`` by device id.

    Explanations look up only the top devices of the next window, so each
    entry is built when it is read: building all of them took seconds for a
    window of 100 000 devices.
    """

    def __init__(self, window_start: float, features: pd.DataFrame) -> None:
        self._window_start = window_start
        self._features = features

    def __getitem__(self, device_id: str) -> PreviousFeatures:
        if device_id not in self._features.index:
            raise KeyError(device_id)
        return PreviousFeatures(self._window_start, self._features.loc[device_id])

    def __iter__(self) -> Iterator[str]:
        return iter(self._features.index)

    def __len__(self) -> int:
        return len(self._features.index)


def _features_before(store: GraphStore, start: float) -> Mapping[str, PreviousFeatures]:
    """Return the device features of the stored window just before ``start``, if there is one."""
    earlier = [window for window in store.windows(until=start) if window.start < start]
    if not earlier:
        return {}
    graph = store.export_window(earlier[-1].start)
    features = device_features(graph.devices, graph.edges)
    return WindowFeatures(float(earlier[-1].start), features)
