"""PyGOD's DOMINANT and CoLA behind the detector interface, when the optional packages are installed.

DOMINANT (Ding et al., "Deep Anomaly Detection on Attributed Networks",
SDM 2019) scores a node by how badly a GCN autoencoder reconstructs its
features and its adjacency. CoLA (Liu et al., "Anomaly Detection on
Attributed Networks via Contrastive Self-Supervised Learning", TNNLS 2021)
by how poorly the node matches its sampled neighbourhood. PyGOD samples
neighbourhoods with PyG's ``NeighborLoader``, which needs ``torch_sparse``
(or ``pyg-lib``), and both come with the ``sampling`` extra:
``pip install 'iotgraph[sampling]'``.

The wrapper follows the PyGOD 1.1 API (``fit(data)``,
``decision_function(data)``) and was run with pygod 1.1.0 and torch_sparse
0.6.18. Both detectors train on sampled batches of the disjoint graph of the
training windows.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_dense_adj

from ml.errors import ModelError, NotFittedError, TrainingDataError
from ml.models.base import GraphDetector, threshold_for_top
from ml.models.gae import reference_quantiles

logger = logging.getLogger(__name__)

ESTIMATOR_FILE = "pygod.joblib"
# PyGOD 1.1's DOMINANT stores the dense adjacency of the whole graph (4 bytes
# per device-window pair): 20,000 device-windows take 1.6 GB, 53,000 took 12 GB.
MAX_DENSE_NODES = 20_000
REQUIRED_MODULES = ("pygod", "torch_sparse")


class MissingDependencyError(ModelError):
    """An optional package that a model kind needs is not installed."""


def missing_modules() -> list[str]:
    """Return the modules of ``REQUIRED_MODULES`` that fail to import."""
    missing = []
    for name in REQUIRED_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def unavailable_reason() -> str | None:
    """Return why the PyGOD detectors cannot run here, or None when they can."""
    missing = missing_modules()
    if not missing:
        return None
    verb = "is" if len(missing) == 1 else "are"
    return f"needs {' and '.join(missing)}, which {verb} not installed; install the sampling extra: pip install 'iotgraph[sampling]'"


class PyGODDetector(GraphDetector):
    """A PyGOD detector fitted on the disjoint graph of the training windows, calibrated as the GAE is.

    Training samples ``batch_size`` seed devices with at most
    ``num_neighbours`` neighbours per hop, which bounds the activations.
    DOMINANT still holds the dense adjacency of the whole graph, so it
    rejects graphs of more than ``MAX_DENSE_NODES`` device-windows.
    """

    supervised = False
    receptive_hops = 2
    pygod_class: str
    # True when PyGOD builds the dense adjacency of the whole graph it fits or scores.
    dense_adjacency = False

    def __init__(
        self,
        *,
        hidden_channels: int = 64,
        num_layers: int = 2,
        batch_size: int = 512,
        num_neighbours: int = 10,
        contamination: float = 0.05,
        epochs: int = 100,
        learning_rate: float = 0.004,
        weight_decay: float = 0.0,
        seed: int = 0,
        label_rule: str = "originator",
        device: str | torch.device = "auto",
        progress: bool = True,
    ) -> None:
        reason = unavailable_reason()
        if reason is not None:
            raise MissingDependencyError(f"model kind {self.kind} {reason}")
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
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.batch_size = batch_size
        self.num_neighbours = num_neighbours
        self.contamination = contamination
        self.estimator_: Any = None
        self.reference_scores_: np.ndarray | None = None

    def get_params(self) -> dict[str, Any]:
        return {
            "hidden_channels": self.hidden_channels,
            "num_layers": self.num_layers,
            "batch_size": self.batch_size,
            "num_neighbours": self.num_neighbours,
            "contamination": self.contamination,
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "seed": self.seed,
            "label_rule": self.label_rule,
        }

    def _build_module(self, in_channels: int) -> torch.nn.Module:
        del in_channels
        return torch.nn.Module()

    def _check_size(self, data: Data) -> None:
        if self.dense_adjacency and data.num_nodes > MAX_DENSE_NODES:
            gigabytes = 4 * data.num_nodes**2 / 1e9
            raise TrainingDataError(
                f"{self.kind} builds a dense adjacency matrix of all {data.num_nodes} device-windows ({gigabytes:.1f} GB), "
                f"above the limit of {MAX_DENSE_NODES}; use fewer or shorter windows, or another kind"
            )

    def _train(self, data: Data, train_mask: torch.Tensor, val_mask: torch.Tensor) -> None:
        del val_mask
        self._check_size(data)
        detector_type = getattr(importlib.import_module("pygod.detector"), self.pygod_class)
        gpu = (self.device.index or 0) if self.device.type == "cuda" else -1
        self.estimator_ = detector_type(
            hid_dim=self.hidden_channels,
            num_layers=self.num_layers,
            batch_size=self.batch_size,
            num_neigh=self.num_neighbours,
            epoch=self.epochs,
            lr=self.learning_rate,
            weight_decay=self.weight_decay,
            contamination=self.contamination,
            gpu=gpu,
            verbose=0,
        )
        graph = Data(x=data.x.cpu(), edge_index=data.edge_index.cpu())
        with _quiet_sampler(), self._full_size_adjacency():
            self.estimator_.fit(graph)
        raw = self._raw_scores(data).numpy()[train_mask.cpu().numpy()]
        self.reference_scores_ = reference_quantiles(raw)
        count = int(round(self.contamination * len(raw)))
        self.threshold_ = threshold_for_top(self._calibrate(raw), count)
        self.threshold_source_ = f"contamination {self.contamination} of {len(raw)} training device-windows"

    @contextmanager
    def _full_size_adjacency(self) -> Iterator[None]:
        """Make DOMINANT's dense adjacency cover every node, trailing devices without edges included.

        PyGOD 1.1 sizes it by the largest node index in ``edge_index``, so a
        last node without edges (as in a neighbour ablation) indexes past its
        end. The override is an instance attribute, removed again so that the
        estimator pickles.
        """
        if not self.dense_adjacency:
            yield
            return
        self.estimator_.process_graph = _dense_adjacency
        try:
            yield
        finally:
            del self.estimator_.process_graph

    def _raw_scores(self, data: Data) -> torch.Tensor:
        if self.estimator_ is None:
            raise NotFittedError(f"{self.kind} detector is not fitted; call fit() or load a saved model first")
        self._check_size(data)
        # CoLA samples neighbourhoods at inference too; a fixed seed makes one window always score the same.
        state = np.random.get_state()
        with torch.random.fork_rng(), _quiet_sampler(), self._full_size_adjacency():
            torch.manual_seed(self.seed)
            np.random.seed(self.seed)
            scores = self.estimator_.decision_function(Data(x=data.x.cpu(), edge_index=data.edge_index.cpu()))
        np.random.set_state(state)
        return torch.as_tensor(np.asarray(scores, dtype=np.float64))

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        if self.reference_scores_ is None or len(self.reference_scores_) == 0:
            return np.zeros_like(raw)
        return np.searchsorted(self.reference_scores_, raw, side="right") / len(self.reference_scores_)

    def calibration_state(self) -> dict[str, Any]:
        return {"reference_scores": [] if self.reference_scores_ is None else self.reference_scores_.tolist()}

    def load_calibration_state(self, state: dict[str, Any]) -> None:
        self.reference_scores_ = np.asarray(state.get("reference_scores", []), dtype=np.float64)

    def write_artifacts(self, folder: Path) -> None:
        joblib.dump(self.estimator_, folder / ESTIMATOR_FILE)

    def read_artifacts(self, folder: Path) -> None:
        self.estimator_ = joblib.load(folder / ESTIMATOR_FILE)


def _dense_adjacency(data: Data) -> None:
    data.s = to_dense_adj(data.edge_index, max_num_nodes=data.num_nodes)[0]


@contextmanager
def _quiet_sampler() -> Iterator[None]:
    """Silence PyG's advice to install pyg-lib, which every PyGOD call repeats; torch_sparse samples correctly."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using 'NeighborSampler' without a 'pyg-lib' installation")
        yield


class DominantDetector(PyGODDetector):
    kind = "dominant"
    pygod_class = "DOMINANT"
    dense_adjacency = True


class CoLADetector(PyGODDetector):
    kind = "cola"
    pygod_class = "CoLA"
