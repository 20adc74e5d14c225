"""Behavioural baseline: each device-window against the device's own earlier windows and against its window's population.

IoT devices are regular: a camera uploads to the same cloud at the same rate
every hour. A device that departs from its own past is suspicious even when
most devices of the network behave the same way, which is where population
scores fail (an inbound scan by hundreds of hosts, a botnet that infected
most cameras). Two raw scores are computed per device-window, both as the
root mean square over features of a standardised deviation:

- ``history``: ``|x - mean| / max(std, min_scale)`` against the mean and
  standard deviation of the device's last ``history_windows`` windows before
  this one. A device never seen before is compared with silence, the
  features of a device without flows, so that its first activity counts as a
  change. These first appearances get their own training CDF (``novel``),
  because a first window departs from silence far more than a known device
  departs from its past.
- ``population``: the robust z-score against the other devices of the same
  window (median and MAD per feature).

Each raw score becomes a score in [0, 1] through the empirical CDF of the
training device-windows, as for the GCN autoencoder. ``component`` selects
the score: ``history``, ``population`` or ``combined`` (their mean). Labels
are never used. The history grows as windows are scored (``observe``), so
scoring windows oldest first compares each with everything seen before it.
Once fitted, a device-window that reaches ``threshold_`` is left out of the
history of a device that has one: an infected device keeps being compared
with its behaviour before the infection instead of learning the attack as
its new normal.

NOTE: a device's first window always enters its history, else a device
flagged on first sight would be compared with silence for ever. A device
first seen while attacking therefore learns the attack as its normal.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data

from graphdb.model import WindowGraph
from ingest.features import FEATURES
from ml.models.base import GraphDetector, threshold_for_top
from ml.models.gae import reference_quantiles
from ml.window_scaling import robust_z

logger = logging.getLogger(__name__)

COMPONENTS = ("combined", "history", "population")
HISTORY_FILE = "history.npz"


class BaselineDetector(GraphDetector):
    """Unsupervised comparison with the device's own past and with its window; see the module docstring.

    ``epochs``, ``learning_rate`` and ``weight_decay`` are accepted so that
    every kind takes the same training options. The baseline has nothing to train.
    """

    kind = "baseline"
    supervised = False
    receptive_hops = 0

    def __init__(
        self,
        *,
        component: str = "combined",
        history_windows: int = 12,
        min_scale: float = 0.25,
        contamination: float = 0.05,
        alert_budget: int | None = None,
        epochs: int = 1,
        learning_rate: float = 0.0,
        weight_decay: float = 0.0,
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
        if component not in COMPONENTS:
            raise ValueError(f"invalid component {component!r}: expected one of {', '.join(COMPONENTS)}")
        if history_windows < 1:
            raise ValueError(f"invalid history_windows {history_windows}: keep at least 1 earlier window per device")
        if min_scale <= 0:
            raise ValueError(f"invalid min_scale {min_scale}: expected a positive standard deviation, e.g. 0.25")
        if not 0.0 < contamination < 0.5:
            raise ValueError(f"invalid contamination {contamination}: expected a share between 0 and 0.5, e.g. 0.05")
        if alert_budget is not None and alert_budget < 1:
            raise ValueError(f"invalid alert budget {alert_budget}: expected at least 1 alert per window")
        self.component = component
        self.history_windows = history_windows
        self.min_scale = min_scale
        self.contamination = contamination
        self.alert_budget = alert_budget
        # Device id -> [(window start, standardised feature vector)], oldest first.
        self.history_: dict[str, list[tuple[float, np.ndarray]]] = {}
        self.reference_: dict[str, np.ndarray] = {}

    def get_params(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "history_windows": self.history_windows,
            "min_scale": self.min_scale,
            "contamination": self.contamination,
            "alert_budget": self.alert_budget,
            "seed": self.seed,
            "label_rule": self.label_rule,
        }

    def _build_module(self, in_channels: int) -> torch.nn.Module:
        del in_channels
        return torch.nn.Module()

    # -- raw scores ------------------------------------------------------------

    def _silence(self) -> np.ndarray:
        """Return the standardised features of a device without flows (all raw features 0)."""
        zeros = pd.DataFrame(np.zeros((1, len(FEATURES))), columns=list(FEATURES))
        return self._fitted_scaler().transform(self.transform_features(zeros).to_numpy(), features=FEATURES)[0]

    def component_scores(self, data: Data) -> dict[str, np.ndarray]:
        """Return the raw ``history`` and ``population`` scores of every node of ``data``, and ``known``.

        ``known`` is 1.0 for a device with earlier windows in its history, 0.0
        for one compared with silence.
        """
        x = data.x.detach().cpu().numpy().astype(np.float64)
        window_index = data.window_index.cpu().numpy()
        starts = np.asarray(data.window_starts, dtype=np.float64)[window_index] if len(x) else np.zeros(0)
        history = np.zeros(len(x))
        known = np.zeros(len(x))
        population = np.zeros(len(x))
        silence = self._silence()
        for k in np.unique(window_index):
            rows = np.flatnonzero(window_index == k)
            z = robust_z(pd.DataFrame(x[rows])).to_numpy()
            population[rows] = np.sqrt((z**2).mean(axis=1))
        for i, device_id in enumerate(data.device_ids):
            past = [vector for start, vector in self.history_.get(device_id, []) if start < starts[i]]
            past = past[-self.history_windows :]
            history[i] = self._deviation(x[i], past, silence)
            known[i] = 1.0 if past else 0.0
        return {"history": history, "population": population, "known": known}

    def _deviation(self, value: np.ndarray, past: Sequence[np.ndarray], silence: np.ndarray) -> float:
        if past:
            matrix = np.vstack(past)
            mean, std = matrix.mean(axis=0), matrix.std(axis=0)
        else:
            mean, std = silence, np.zeros_like(silence)
        deviation = np.abs(value - mean) / np.maximum(std, self.min_scale)
        return float(np.sqrt((deviation**2).mean()))

    def _raw_scores(self, data: Data) -> torch.Tensor:
        components = self.component_scores(data)
        known = components["known"] > 0
        history = np.where(known, self._cdf("history", components["history"]), self._cdf("novel", components["history"]))
        population = self._cdf("population", components["population"])
        if self.component == "history":
            return torch.as_tensor(history)
        if self.component == "population":
            return torch.as_tensor(population)
        return torch.as_tensor((history + population) / 2)

    def _cdf(self, name: str, raw: np.ndarray) -> np.ndarray:
        reference = self.reference_.get(name)
        if reference is None or len(reference) == 0:
            return np.zeros_like(raw)
        return np.searchsorted(reference, raw, side="right") / len(reference)

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        # _raw_scores already maps through the training CDFs.
        return raw

    # -- fitting and history ---------------------------------------------------

    def _train(self, data: Data, train_mask: torch.Tensor, val_mask: torch.Tensor) -> None:
        del val_mask  # the threshold comes from the training scores and the contamination
        self.history_ = {}
        order = np.argsort(np.asarray(data.window_starts, dtype=np.float64), kind="stable")
        window_index = data.window_index.cpu().numpy()
        train = train_mask.cpu().numpy()
        collected: dict[str, list[np.ndarray]] = {"history": [], "novel": [], "population": []}
        windows = []
        for k in order:
            rows = np.flatnonzero(window_index == k)
            window = _select(data, rows, float(data.window_starts[k]))
            components = self.component_scores(window)
            known = components["known"][train[rows]] > 0
            collected["history"].append(components["history"][train[rows]][known])
            collected["novel"].append(components["history"][train[rows]][~known])
            collected["population"].append(components["population"][train[rows]])
            windows.append(window)
            self.observe(window)
        self.reference_ = {name: reference_quantiles(np.concatenate(parts)) for name, parts in collected.items()}

        # Scores of the training device-windows, each against the history before it.
        self.history_ = {}
        scores = []
        for k, window in zip(order, windows):
            rows = np.flatnonzero(window_index == k)
            scores.append(self._raw_scores(window).numpy()[train[rows]])
            self.observe(window)
        training_scores = np.concatenate(scores) if scores else np.zeros(0)
        if self.alert_budget is not None:
            count = self.alert_budget * len(order)
            self.threshold_source_ = f"alert budget {self.alert_budget} per window over {len(order)} training windows"
        else:
            count = int(round(self.contamination * len(training_scores)))
            self.threshold_source_ = f"contamination {self.contamination} of {len(training_scores)} training device-windows"
        self.threshold_ = threshold_for_top(training_scores, count)

        # Rebuild the history without the flagged device-windows, as scoring will.
        self.history_ = {}
        for window in windows:
            self.observe(window)
        logger.info(
            "baseline (%s) remembers %d devices, threshold %.4f (%s)",
            self.component,
            len(self.history_),
            self.threshold_,
            self.threshold_source_,
        )

    def observe(self, data: Data) -> None:
        """Add the device-windows of ``data`` below ``threshold_`` (all before fitting ends) to their devices' histories.

        An entry of the same window replaces an earlier one, so rescoring a window does not count it twice.
        """
        x = data.x.detach().cpu().numpy().astype(np.float64)
        starts = np.asarray(data.window_starts, dtype=np.float64)[data.window_index.cpu().numpy()] if len(x) else []
        normal = np.ones(len(x), dtype=bool)
        if self.threshold_ is not None and len(x):
            normal = self.scores_from_data(data)[0] < self.threshold_
        for device_id, start, vector, keep in zip(data.device_ids, starts, x, normal):
            if not keep and self.history_.get(device_id):
                continue
            entries = [entry for entry in self.history_.get(device_id, []) if entry[0] != start]
            entries.append((float(start), vector))
            entries.sort(key=lambda entry: entry[0])
            self.history_[device_id] = entries[-self.history_windows :]

    def forget(self) -> None:
        self.history_ = {}

    def decision_function_batch(self, graphs: Sequence[WindowGraph], *, features: Sequence[pd.DataFrame] | None = None) -> np.ndarray:
        """Score windows oldest first, remembering each before the next, and return the scores in the given order."""
        frames = features if features is not None else [None] * len(graphs)
        order = sorted(range(len(graphs)), key=lambda i: float(graphs[i].window.start))
        results: dict[int, np.ndarray] = {}
        for i in order:
            data = self.prepare(graphs[i], features=frames[i])
            results[i] = self.scores_from_data(data)[0]
            self.observe(data)
        parts = [results[i] for i in range(len(graphs))]
        return np.concatenate(parts) if parts else np.zeros(0)

    # -- persistence -----------------------------------------------------------

    def calibration_state(self) -> dict[str, Any]:
        return {name: values.tolist() for name, values in self.reference_.items()}

    def load_calibration_state(self, state: dict[str, Any]) -> None:
        self.reference_ = {name: np.asarray(values, dtype=np.float64) for name, values in state.items()}

    def write_artifacts(self, folder: Path) -> None:
        ids, starts, vectors = [], [], []
        for device_id, entries in self.history_.items():
            for start, vector in entries:
                ids.append(device_id)
                starts.append(start)
                vectors.append(vector)
        matrix = np.vstack(vectors) if vectors else np.zeros((0, len(FEATURES)))
        np.savez_compressed(folder / HISTORY_FILE, ids=np.asarray(ids, dtype=str), starts=np.asarray(starts), vectors=matrix)

    def read_artifacts(self, folder: Path) -> None:
        self.history_ = {}
        with np.load(folder / HISTORY_FILE, allow_pickle=False) as saved:
            for device_id, start, vector in zip(saved["ids"].tolist(), saved["starts"].tolist(), saved["vectors"]):
                self.history_.setdefault(device_id, []).append((float(start), np.asarray(vector, dtype=np.float64)))
        for entries in self.history_.values():
            entries.sort(key=lambda entry: entry[0])


def _select(data: Data, rows: np.ndarray, start: float) -> Data:
    """Return the nodes ``rows`` of a multi-window ``data`` as one window without edges (the baseline uses none)."""
    return Data(
        x=data.x[torch.as_tensor(rows)],
        edge_index=torch.zeros((2, 0), dtype=torch.long),
        window_index=torch.zeros(len(rows), dtype=torch.long),
        device_ids=[data.device_ids[i] for i in rows],
        window_starts=[start],
        num_nodes=len(rows),
    )
