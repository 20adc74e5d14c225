"""Mini-batch training and scoring over sampled neighbourhoods, for windows too large for full-batch passes.

Full-batch training and scoring hold the whole window, and every layer's
activations for every device, in memory at once. With sampling, PyG's
``NeighborLoader`` cuts the graph into batches of ``batch_size`` seed
devices, each with at most ``num_neighbors[k]`` neighbours drawn at hop
``k``, and only one batch is in memory at a time (Hamilton et al.,
"Inductive Representation Learning on Large Graphs", NeurIPS 2017).

Sampled scores approximate full-batch scores: a device with more neighbours
than the fan-out receives messages from a sample of them only, and degree
normalisation uses the sampled degrees. ``num_neighbors`` of -1 keeps every neighbour at that hop.

``NeighborLoader`` needs torch-sparse or pyg-lib (``make sampling``). When
neither is installed, training and scoring fall back to full batch and say
so once in the log.

Sampling applies to detectors whose scores are per-device functions of the
device's neighbourhood: the GCN family (``gcn`` and the kinds that train
like it) and the GCN autoencoder. Other kinds always run full batch.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch_geometric.data import Data

from graphdb.model import WindowGraph
from ml.errors import TrainingDataError
from ml.models import GraphDetector
from ml.models.gae import GAEDetector
from ml.models.gcn import GCNDetector, select_threshold
from ml.progress import progress_bar

logger = logging.getLogger(__name__)

# Above this many device-windows, ``auto`` samples. A full-batch GCN training
# step over 1 000 000 devices and 10 000 000 message-passing edges peaked at
# 2.9 GB in BENCHMARKS.md, and below this size full batch is both exact and
# faster on a CPU.
AUTO_SAMPLING_NODES = 1_000_000
DEFAULT_BATCH_SIZE = 4096
DEFAULT_NUM_NEIGHBORS = (25, 10)

_warned_missing = False


class SamplingMode(str, Enum):
    """``auto`` samples above ``AUTO_SAMPLING_NODES`` device-windows, ``on`` always, ``off`` never."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"


@dataclass(frozen=True)
class SamplingOptions:
    """How to sample: the mode, seed devices per batch and the neighbours drawn per hop (-1: all)."""

    mode: SamplingMode = SamplingMode.AUTO
    batch_size: int = DEFAULT_BATCH_SIZE
    num_neighbors: tuple[int, ...] = DEFAULT_NUM_NEIGHBORS

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", SamplingMode(self.mode))
        if self.batch_size < 1:
            raise ValueError(f"invalid sampling batch size {self.batch_size}: expected at least 1 seed device per batch")
        if not self.num_neighbors or any(n == 0 or n < -1 for n in self.num_neighbors):
            raise ValueError(f"invalid num_neighbors {self.num_neighbors}: expected a positive count or -1 (all) per hop")


def as_options(value: SamplingOptions | SamplingMode | str | None) -> SamplingOptions:
    """Return sampling options from options, a mode or its name (``auto``, ``on``, ``off``). None means ``auto``."""
    if isinstance(value, SamplingOptions):
        return value
    try:
        return SamplingOptions(mode=SamplingMode(value or SamplingMode.AUTO))
    except ValueError:
        raise ValueError(f"invalid sampling mode {value!r}: expected auto, on or off") from None


def sampling_available() -> bool:
    """Return whether PyG can sample neighbours here (torch-sparse or pyg-lib is installed)."""
    import torch_geometric.typing

    return bool(torch_geometric.typing.WITH_TORCH_SPARSE or torch_geometric.typing.WITH_PYG_LIB)


def trains_sampled(detector: GraphDetector) -> bool:
    """Return whether sampled training supports this detector: those trained by the GCN loop."""
    return isinstance(detector, GCNDetector) and type(detector)._train is GCNDetector._train


def scores_sampled(detector: GraphDetector) -> bool:
    """Return whether sampled scoring supports this detector: per-device scores of the GCN family and the autoencoder."""
    for family in (GCNDetector, GAEDetector):
        if isinstance(detector, family):
            kind = type(detector)
            return kind._raw_scores is family._raw_scores and kind._calibrate is family._calibrate
    return False


def should_sample(options: SamplingOptions, *, num_nodes: int, supported: bool, what: str) -> bool:
    """Decide whether to sample ``what`` (training or scoring) of ``num_nodes`` device-windows, logging why not."""
    if options.mode is SamplingMode.OFF:
        return False
    if options.mode is SamplingMode.AUTO and num_nodes <= AUTO_SAMPLING_NODES:
        return False
    if not supported:
        logger.info("%s of this model kind has no sampled version; running full batch over %d device-windows", what, num_nodes)
        return False
    if not sampling_available():
        global _warned_missing
        if not _warned_missing:
            logger.warning(
                "neighbour sampling needs torch-sparse or pyg-lib, and neither is installed (run `make sampling`); "
                "running %s full batch over %d device-windows",
                what,
                num_nodes,
            )
            _warned_missing = True
        return False
    return True


# -- training --------------------------------------------------------------------


def fit_detector(
    detector: GraphDetector,
    graphs: Sequence[WindowGraph],
    *,
    train_mask: np.ndarray | None = None,
    val_mask: np.ndarray | None = None,
    features: Sequence[pd.DataFrame] | None = None,
    sampling: SamplingOptions | SamplingMode | str | None = None,
) -> GraphDetector:
    """Fit ``detector`` as ``GraphDetector.fit`` does, with mini-batches over sampled neighbourhoods when ``sampling`` selects them.

    Scaler, masks and threshold follow ``fit``, and only the training loop
    differs. One epoch passes once over the labelled training devices in
    batches of ``batch_size`` seeds.
    """
    options = as_options(sampling)
    nodes = sum(len(graph.devices) for graph in graphs)
    if not should_sample(options, num_nodes=nodes, supported=trains_sampled(detector), what="training"):
        return detector.fit(graphs, train_mask=train_mask, val_mask=val_mask, features=features)

    logger.info(
        "training %s with neighbour sampling over %d device-windows: %d seeds per batch, fan-out %s",
        detector.kind,
        nodes,
        options.batch_size,
        list(options.num_neighbors),
    )
    with _sampled_training_loop(detector, options):
        return detector.fit(graphs, train_mask=train_mask, val_mask=val_mask, features=features)


@contextmanager
def _sampled_training_loop(detector: GraphDetector, options: SamplingOptions) -> Iterator[None]:
    # An instance attribute shadows the class's full-batch loop for this one
    # fit, so the scaler, masks and data assembly of fit() stay shared.
    detector._train = lambda data, train_mask, val_mask: _train_supervised(detector, options, data, train_mask, val_mask)  # type: ignore[method-assign]  # restored below
    try:
        yield
    finally:
        del detector._train


def _train_supervised(detector: GraphDetector, options: SamplingOptions, data: Data, train_mask: torch.Tensor, val_mask: torch.Tensor) -> None:
    """Train like ``GCNDetector._train`` over sampled mini-batches of the labelled training devices, then set the threshold."""
    train = train_mask & (data.y >= 0)
    counts = torch.bincount(data.y[train], minlength=2)
    if int(counts.min()) == 0:
        raise TrainingDataError(
            f"{detector.kind} needs anomalous and normal device-windows to train on; the training nodes have "
            f"{int(counts[1])} anomalous and {int(counts[0])} normal under label rule {detector.label_rule!r}; "
            "ingest labelled flows of both kinds or train the unsupervised gae"
        )
    weight = (counts.sum() / (2.0 * counts)).to(torch.float32)

    module = detector._fitted_module()
    optimizer = torch.optim.Adam(module.parameters(), lr=detector.learning_rate, weight_decay=detector.weight_decay)
    loader = _loader(data, detector, options, nodes=train.nonzero().flatten(), shuffle=True)
    loss = torch.zeros(())
    with progress_bar(detector.epochs, description=f"training {detector.kind} (sampled)", enabled=detector.progress) as advance:
        for _ in range(detector.epochs):
            module.train()
            for batch in loader:
                batch = batch.to(detector.device)
                optimizer.zero_grad()
                logits = module(batch.x, batch.edge_index)[: batch.batch_size]
                loss = F.cross_entropy(logits, batch.y[: batch.batch_size], weight=weight.to(detector.device))
                loss.backward()
                optimizer.step()
            advance(f"loss {loss.item():.4f}")
    logger.info(
        "%s trained with sampling on %d anomalous and %d normal device-windows, final batch loss %.4f",
        detector.kind,
        counts[1],
        counts[0],
        loss.item(),
    )

    module.eval()
    validation = (val_mask & (data.y >= 0)).cpu()
    probabilities = _sampled_raw(detector, data, options, nodes=validation.nonzero().flatten())
    detector.threshold_, detector.threshold_source_ = select_threshold(data.y.cpu().numpy()[validation.numpy()], probabilities)
    logger.info("%s threshold %.4f (%s)", detector.kind, detector.threshold_, detector.threshold_source_)


# -- scoring ---------------------------------------------------------------------


def scores_from_data(
    detector: GraphDetector, data: Data, *, sampling: SamplingOptions | SamplingMode | str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Return (scores in [0, 1], raw scores) of every node, as ``GraphDetector.scores_from_data``, sampled when ``sampling`` selects it."""
    options = as_options(sampling)
    if not should_sample(options, num_nodes=data.num_nodes, supported=scores_sampled(detector), what="scoring"):
        return detector.scores_from_data(data)
    if data.num_nodes == 0:
        return np.zeros(0), np.zeros(0)
    raw = _sampled_raw(detector, data, options, nodes=torch.arange(data.num_nodes))
    return np.clip(detector._calibrate(raw), 0.0, 1.0), raw


def _sampled_raw(detector: GraphDetector, data: Data, options: SamplingOptions, *, nodes: torch.Tensor) -> np.ndarray:
    """Return the raw scores of ``nodes``, in their order, batch after batch of sampled neighbourhoods."""
    if len(nodes) == 0:
        return np.zeros(0)
    module = detector._fitted_module()
    module.eval()
    loader = _loader(data, detector, options, nodes=nodes, shuffle=False)
    parts = []
    with torch.no_grad():
        for batch in loader:
            batch = batch.to(detector.device)
            raw = detector._raw_scores(batch)[: batch.batch_size]
            parts.append(raw.detach().cpu().numpy().astype(np.float64))
    return np.concatenate(parts)


def _loader(data: Data, detector: GraphDetector, options: SamplingOptions, *, nodes: torch.Tensor, shuffle: bool):
    from torch_geometric.loader import NeighborLoader

    with warnings.catch_warnings():
        # PyG prefers pyg-lib, which has no build for every torch release, and torch-sparse samples the same neighbours.
        warnings.filterwarnings("ignore", message="Using 'NeighborSampler' without a 'pyg-lib' installation", category=UserWarning)
        return NeighborLoader(
            _lean(data),
            num_neighbors=_fan_out(detector, options),
            batch_size=options.batch_size,
            input_nodes=nodes.cpu(),
            shuffle=shuffle,
        )


def _lean(data: Data) -> Data:
    """Return the tensors the models read, without the Python lists that ``NeighborLoader`` would copy into every batch."""
    lean = Data(x=data.x.cpu(), edge_index=data.edge_index.cpu(), y=data.y.cpu())
    lean.num_nodes = data.num_nodes
    return lean


def _fan_out(detector: GraphDetector, options: SamplingOptions) -> list[int]:
    """Return one fan-out per message-passing layer, repeating the last given count for missing hops."""
    hops = max(detector.receptive_hops, 1)
    given = list(options.num_neighbors)
    return (given + [given[-1]] * hops)[:hops]
