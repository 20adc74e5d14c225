"""Scoring of stored windows with a saved model, written back to the store with explanations."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from graphdb.model import DeviceScore
from graphdb.store import GraphStore
from ingest.features import device_features
from ml.artifacts import ModelInfo, load_model
from ml.explain import PreviousFeatures, explain_devices
from ml.models import GraphDetector
from ml.progress import progress_bar

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
) -> list[WindowScoreSummary]:
    """Score windows, oldest first, and write every device's score to the store, one transaction per window.

    ``starts=None`` scores every stored window; ``model`` is a version id,
    ``latest`` or ``latest:<kind>``. The ``explain_top_k`` highest-ranked
    devices of each window get an explanation. ``scored_at`` (epoch seconds,
    default now) is the same for every window of the call. Raises
    ModelNotFoundError and FeatureMismatchError from loading the model and
    NotFoundError for a window start that is not stored.
    """
    detector, info = load_model(model, directory=models_dir, device=device)
    ordered = sorted(float(start) for start in starts) if starts is not None else [w.start for w in store.windows()]
    scored_at = time.time() if scored_at is None else scored_at
    previous = _features_before(store, ordered[0]) if ordered else {}

    summaries = []
    with progress_bar(len(ordered), description=f"scoring with {info.version}", enabled=progress) as advance:
        for start in ordered:
            summary, current = score_window(
                store, detector, info, start, previous=previous, explain_top_k=explain_top_k, scored_at=scored_at
            )
            previous.update(current)
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
    previous: dict[str, PreviousFeatures] | None = None,
    explain_top_k: int = 20,
    scored_at: float,
) -> tuple[WindowScoreSummary, dict[str, PreviousFeatures]]:
    """Score one window with a loaded detector and write its scores.

    ``previous`` maps device ids to their features in an earlier window, for
    the explanations. Returns the summary and this window's features by
    device, which become ``previous`` for the next window.
    """
    graph = store.export_window(start)
    features = device_features(graph.devices, graph.edges)
    data = detector.prepare(graph, features=features)
    scores, raw = detector.scores_from_data(data)
    device_ids = list(data.device_ids)

    # Highest score first; the raw score breaks ties between calibrated
    # scores that saturate at 1, then the device id keeps the order stable.
    order = sorted(range(len(device_ids)), key=lambda i: (-scores[i], -raw[i], device_ids[i]))
    top_ids = [device_ids[i] for i in order[: max(explain_top_k, 0)]]
    explanations = explain_devices(
        detector, graph, data, features, scores, device_ids=top_ids, model_version=info.version, previous=previous
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
    store.write_scores(float(start), rows, info.version, scored_at=scored_at)

    summary = WindowScoreSummary(
        window_start=float(start),
        model_version=info.version,
        devices=len(rows),
        predicted=sum(1 for row in rows if row.predicted),
        max_score=float(np.max(scores)) if len(scores) else None,
        top=[(row.device_id, row.score) for row in rows[:5]],
    )
    logger.debug("window %s: %d devices, %d flagged, max score %s", start, summary.devices, summary.predicted, summary.max_score)
    current = {device_id: PreviousFeatures(float(start), features.loc[device_id]) for device_id in device_ids}
    return summary, current


def _features_before(store: GraphStore, start: float) -> dict[str, PreviousFeatures]:
    """Return the device features of the stored window just before ``start``, if there is one."""
    earlier = [window for window in store.windows(until=start) if window.start < start]
    if not earlier:
        return {}
    graph = store.export_window(earlier[-1].start)
    features = device_features(graph.devices, graph.edges)
    return {device_id: PreviousFeatures(float(earlier[-1].start), features.loc[device_id]) for device_id in features.index}
